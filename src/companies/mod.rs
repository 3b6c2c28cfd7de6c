//! Companies: the organizations leads work at.

mod mutation;
mod query;
mod service;
mod types;

pub use mutation::{CompanyMutation, CreateCompanyInput, UpdateCompanyInput};
pub use query::{CompanyFilter, CompanyOrderField, CompanyQuery};
pub use types::Company;
pub use types::{CompanyId, CompanyLeads};
