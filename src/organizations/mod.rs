//! The tenant itself: `organization` and `updateOrganization`.

mod graphql;

pub use graphql::{Organization, OrganizationMutation, OrganizationQuery, find};
