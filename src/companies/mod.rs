//! Companies: the organizations leads work at.

mod loader;
mod mutation;
mod query;
pub mod service;
mod types;

pub use loader::{CompanyId, CompanyLeads};
pub use mutation::{CompanyMutation, CreateCompanyInput, UpdateCompanyInput};
pub use query::{CompanyFilter, CompanyOrderField, CompanyQuery};
pub use types::Company;
