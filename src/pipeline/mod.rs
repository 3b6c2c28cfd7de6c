//! The sales pipeline: the organization's ordered stages (`pipelineStages`; MANAGER and above
//! change them) and the board of its deals by stage (`pipelineBoard`). Deals themselves are
//! the `deals` module's.

mod board;
mod mutation;
mod query;
pub mod service;
mod types;

pub use board::BoardDealOrder;
pub use mutation::{PipelineMutation, stage_id};
pub use query::PipelineQuery;
pub use types::{PipelineStage, StageKind};
