//! API keys for integrators: created and revoked by OWNER/ADMIN; the secret is shown once,
//! only its SHA-256 and a public prefix are stored.

mod graphql;
pub mod service;

pub use graphql::{ApiKey, ApiKeyMutation, ApiKeyQuery, CreateApiKeyInput, UpdateApiKeyInput};
