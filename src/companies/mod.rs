//! Companies: the organizations leads work at.

mod loader;
mod mutation;
mod query;
mod types;

pub use loader::{CompanyId, CompanyLeadsPage, LEADS_OF_COMPANY};
pub use mutation::CompanyMutation;
pub use query::CompanyQuery;
pub use types::Company;
