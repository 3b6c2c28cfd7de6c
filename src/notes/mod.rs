//! Notes on leads. A private note is visible to its author only: the `lead_notes` policy
//! enforces it, so lists, counts and lookups all agree.

mod graphql;
pub mod service;

pub use graphql::{LeadNotes, Note, NoteMutation};
