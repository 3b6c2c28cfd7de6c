use async_graphql::{Context, ID, Json, Object};
use chrono::{DateTime, Utc};
use entity::audit_logs;

use crate::{graphql::NodeKind, users::User, users::via};

pub struct AuditLog(pub audit_logs::Model);

#[Object]
impl AuditLog {
    pub async fn id(&self) -> ID {
        NodeKind::AuditLog.id(self.0.id)
    }
    /// What was done, e.g. `lead.update`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn resource_type(&self) -> &str {
        &self.0.resource_type
    }
    /// The raw UUID of the resource.
    async fn resource_id(&self) -> Option<String> {
        self.0.resource_id.map(|id| id.to_string())
    }
    /// The user who acted (for API keys, the key's creator).
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        crate::users::load::<{ via::AUDIT_ACTOR }>(ctx, self.0.actor_user_id).await
    }
    async fn api_key_id(&self) -> Option<ID> {
        self.0.actor_api_key_id.map(|id| NodeKind::ApiKey.id(id))
    }
    async fn ip_address(&self) -> Option<String> {
        self.0.ip_address.map(|ip| ip.ip().to_string())
    }
    async fn user_agent(&self) -> Option<&str> {
        self.0.user_agent.as_deref()
    }
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
    /// The fields the action set, with their new values.
    async fn changes(&self) -> Json<&serde_json::Value> {
        Json(&self.0.changes)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.into()
    }
}

crate::tenant_rows!(audit_logs::Model => "audit_logs");
