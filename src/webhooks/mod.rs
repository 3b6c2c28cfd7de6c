//! Webhooks: endpoints (OWNER/ADMIN manage them; the signing secret is shown once), the
//! delivery worker that reads the event log with a cursor per endpoint and POSTs signed
//! JSON (Standard Webhooks), retries with backoff and records every attempt, and the SSRF
//! guard every URL passes.

mod graphql;
pub mod model;
mod payload;
pub mod service;
pub mod signing;
pub mod ssrf;
mod types;
mod worker;

pub use graphql::{
    CreateWebhookEndpointInput, UpdateWebhookEndpointInput, WebhookDeliveryQuery, WebhookMutation,
    WebhookQuery,
};
pub use types::{
    DeliveryAttempts, WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint,
    WebhookEndpointHealth,
};
pub use worker::WebhookWorker;
