//! Activities: the communications with a lead (e-mail, call, meeting, LinkedIn, SMS).

mod mutation;
pub mod service;
mod types;

pub use mutation::ActivityMutation;
pub use types::{Activity, ActivityKind, LeadActivities};
