//! Lead scoring: the organization's rules (typed conditions, no code; MANAGER and above keep
//! them), each lead's score recomputed in the same transaction as what changes it (the lead,
//! its activities, its company), every change kept in `lead.scoreHistory` with its reason, and
//! `lead.scoreExplanation`, the rules that fire now. `rescoreLeads` applies a rule change to
//! existing leads: in the request for a few, else as a job the background worker (`jobs`)
//! works through in batches, its progress in `scoringJob(id)`. While an organization has no
//! active rule, scores are set by hand.

mod conditions;
pub mod jobs;
mod mutation;
mod query;
pub mod service;
mod types;

pub use conditions::{ScoringCondition, ScoringField, ScoringOperator};
pub use mutation::ScoringMutation;
pub use query::ScoringQuery;
pub use service::{Rescore, rescore};
pub use types::{
    ExplanationOf, LeadScoreChanges, ScoreChange, ScoreExplanation, ScoringJob, ScoringRule,
};
