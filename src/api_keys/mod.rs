//! API keys for integrators: created and revoked by OWNER/ADMIN; the secret is shown once,
//! only its SHA-256 and a public prefix are stored.

mod mutation;
mod query;
pub mod service;
mod types;

pub use mutation::{ApiKeyMutation, CreateApiKeyInput, UpdateApiKeyInput};
pub use query::ApiKeyQuery;
pub use types::ApiKey;
