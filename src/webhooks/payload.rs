//! The JSON body of a delivery: the event (as `leadEvents` describes it) and the lead as it
//! is at delivery time.

use serde_json::{Value, json};
use uuid::Uuid;

use super::model::DeliveryRow;
use crate::{
    events::{EventBatch, EventCursor},
    graphql::NodeKind,
};

/// `{"type": "lead.<kind>", "timestamp": ..., "data": {...}}`, serialized.
pub fn body(organization_id: Uuid, delivery: &DeliveryRow, events: &EventBatch) -> Vec<u8> {
    let event = events
        .events
        .iter()
        .find(|e| e.position == delivery.event_position);
    let lead = events.leads.get(&delivery.lead_id).map(|lead| {
        json!({
            "id": NodeKind::Lead.id(lead.id).0,
            "firstName": lead.first_name,
            "lastName": lead.last_name,
            "email": lead.email,
            "status": lead.status.to_uppercase(),
            "score": lead.score,
            "temperature": lead.temperature.to_uppercase(),
            "companyId": lead.company_id.map(|id| NodeKind::Company.id(id).0),
            "assignedToId": lead.assigned_to_id.map(|id| NodeKind::User.id(id).0),
            "tags": lead.tags,
            "deletedAt": lead.deleted_at,
            "updatedAt": lead.updated_at,
        })
    });
    let kind = event
        .map(|e| e.kind.as_db())
        .unwrap_or(&delivery.event_kind);
    let data = json!({
        "cursor": EventCursor { position: delivery.event_position }.encode(organization_id),
        "kind": kind.to_uppercase(),
        "leadId": NodeKind::Lead.id(delivery.lead_id).0,
        "changedFields": event.map(|e| crate::events::field_names(&e.changed_fields)),
        "actorId": event.and_then(|e| e.actor_id).map(|id| NodeKind::User.id(id).0),
        "occurredAt": event.map(|e| e.occurred_at),
        "lead": lead.unwrap_or(Value::Null),
    });
    serde_json::to_vec(&json!({
        "type": format!("lead.{kind}"),
        "timestamp": event.map(|e| e.occurred_at),
        "data": data,
    }))
    .expect("a JSON value serializes")
}
