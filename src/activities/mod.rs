//! Activities: the communications with a lead (e-mail, call, meeting, LinkedIn, SMS).

mod graphql;
pub mod service;

pub use graphql::{Activity, ActivityMutation, LeadActivities};
