//! Deals: sales moving through the pipeline's stages, each with its lead, company, owner and
//! partner, its value, and the history of its stage moves. AGENTs change the deals they own;
//! MANAGER and above, any deal.

mod mutation;
mod query;
pub mod service;
mod types;

pub use mutation::DealMutation;
pub use query::{DealFilter, DealOrderField, DealQuery};
pub use types::{CompanyDeals, Deal, DealStageChanges, LeadDeals};
