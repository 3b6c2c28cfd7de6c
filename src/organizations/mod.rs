//! The tenant itself: `organization` and `updateOrganization`.

mod mutation;
mod query;
pub mod service;
mod types;

pub use mutation::{OrganizationMutation, UpdateOrganizationInput};
pub use query::OrganizationQuery;
pub use types::{LeadAutoAssignment, Organization, find};
