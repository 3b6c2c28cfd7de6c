//! Webhooks: endpoints (OWNER/ADMIN manage them; the signing secret is shown once), the
//! delivery worker that reads the event log with a cursor per endpoint and POSTs signed
//! JSON (Standard Webhooks), retries with backoff and records every attempt, and the SSRF
//! guard every URL passes.

pub mod model;
mod mutation;
mod payload;
mod query;
pub mod service;
pub mod signing;
pub mod ssrf;
mod types;
mod worker;

pub use mutation::{CreateWebhookEndpointInput, UpdateWebhookEndpointInput, WebhookMutation};
pub use query::{WebhookDeliveryQuery, WebhookQuery};
pub use types::{
    DeliveryAttempts, WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint,
    WebhookEndpointHealth,
};
pub use worker::WebhookWorker;
