//! Companies: the organizations leads work at.

mod loader;
mod mutation;
mod query;
mod types;

pub use loader::{CompanyId, CompanyLeads};
pub use mutation::{CompanyMutation, CreateCompanyInput, UpdateCompanyInput};
pub use query::{CompanyFilter, CompanyOrderField, CompanyQuery};
pub use types::Company;
