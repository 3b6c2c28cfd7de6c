use async_graphql::{ID, Json};
use chrono::{DateTime, Utc};
use entity::audit_logs;

use crate::{graphql::NodeKind, users::User};

crate::object! {
    AuditLog(audit_logs::Model) as AuditLog {
        /// What was done, e.g. `lead.update`.
        action: &str,
        resource_type: &str,
        user_agent: Option<&str>,
        request_id: Option<&str>,
        /// The fields the action set, with their new values.
        changes: Json<&serde_json::Value>,
        created_at: DateTime<Utc>,
    }
    belongs_to {
        /// The user who acted (for API keys, the key's creator).
        actor: User by actor_user_id via AUDIT_ACTOR,
    }
    extra {
        /// The raw UUID of the resource.
        async fn resource_id(&self) -> Option<String> {
            self.0.resource_id.map(|id| id.to_string())
        }
        async fn api_key_id(&self) -> Option<ID> {
            self.0.actor_api_key_id.map(|id| NodeKind::ApiKey.id(id))
        }
        async fn ip_address(&self) -> Option<String> {
            self.0.ip_address.map(|ip| ip.ip().to_string())
        }
    }
}

crate::tenant_rows!(audit_logs::Model => "audit_logs" as "audit_log");
