//! The tenant itself: `organization` and `updateOrganization`.

mod graphql;
pub mod service;

pub use graphql::{
    Organization, OrganizationMutation, OrganizationQuery, UpdateOrganizationInput, find,
};
