//! Segments: saved lead filters, shared by the organization, evaluated live whenever read
//! (`segment.leads`, `segment.leadCount`: one statement for every segment of a page). Any
//! writer saves one; its creator or a MANAGER and above changes it.

mod mutation;
mod query;
mod types;

pub use mutation::SegmentMutation;
pub use query::SegmentQuery;
pub use types::Segment;
