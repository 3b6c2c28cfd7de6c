//! Notes on leads. A private note is visible to its author only: the `lead_notes` policy
//! enforces it, so lists, counts and lookups all agree.

mod mutation;
pub mod service;
mod types;

pub use mutation::NoteMutation;
pub use types::{LeadNotes, Note};
