//! Activities: the communications with a lead (e-mail, call, meeting, LinkedIn, SMS).

mod graphql;

pub use graphql::{ACTIVITIES_OF_LEAD, Activity, ActivityMutation, LeadActivitiesPage};
