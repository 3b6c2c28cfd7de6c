//! The JSON body of a delivery: the event (as `events` describes it) and its subject as it is
//! at delivery time.

use serde_json::{Value, json};
use uuid::Uuid;

use super::model::DeliveryRow;
use crate::{
    error::ApiResult,
    events::{EventBatch, EventCursor, EventSubjectType},
    graphql::NodeKind,
    numbers::Money,
};

/// `{"type": "<subject>.<kind>", "timestamp": ..., "data": {...}}`, serialized. A lead's event
/// carries the lead as `data.lead` (and `data.leadId`), a company's the company as
/// `data.company`, a deal's the deal as `data.deal`, a campaign's the campaign as
/// `data.campaign` (and a member's lead as `data.detailId`).
pub fn body(
    organization_id: Uuid,
    delivery: &DeliveryRow,
    events: &EventBatch,
) -> ApiResult<Vec<u8>> {
    let subject_type = EventSubjectType::from_db(&delivery.subject_type)?;
    let event = events
        .events
        .iter()
        .find(|e| e.position == delivery.event_position);
    let kind = event
        .map(|e| e.kind.as_db())
        .unwrap_or(&delivery.event_kind);
    let id = delivery.subject_id;
    let mut data = json!({
        "cursor": EventCursor { position: delivery.event_position }.encode(organization_id),
        "kind": kind.to_uppercase(),
        "subjectType": subject_type.as_db().to_uppercase(),
        "subjectId": subject_type.node_kind().id(id).0,
        "changedFields": event.map(|e| subject_type.field_names(&e.changed_fields)),
        "actorId": event.and_then(|e| e.actor_id).map(|id| NodeKind::User.id(id).0),
        "detailId": event.and_then(crate::events::detail_id).map(|id| id.0),
        "occurredAt": event.map(|e| e.occurred_at),
    });
    let (key, subject) = match subject_type {
        EventSubjectType::Lead => {
            data["leadId"] = json!(NodeKind::Lead.id(id).0);
            ("lead", events.leads.get(&id).map(lead_json))
        }
        EventSubjectType::Company => ("company", events.companies.get(&id).map(company_json)),
        EventSubjectType::Deal => ("deal", events.deals.get(&id).map(deal_json)),
        EventSubjectType::Campaign => ("campaign", events.campaigns.get(&id).map(campaign_json)),
    };
    data[key] = subject.unwrap_or(Value::Null);
    Ok(serde_json::to_vec(&json!({
        "type": format!("{}.{kind}", subject_type.as_db()),
        "timestamp": event.map(|e| e.occurred_at),
        "data": data,
    }))
    .expect("a JSON value serializes"))
}

fn lead_json(lead: &entity::leads::Model) -> Value {
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
}

fn company_json(company: &entity::companies::Model) -> Value {
    let revenue = Money::from_columns(company.annual_revenue, &company.annual_revenue_currency);
    json!({
        "id": NodeKind::Company.id(company.id).0,
        "name": company.name,
        "domain": company.domain,
        "industry": company.industry,
        "employeeCount": company.employee_count,
        "annualRevenue": money_json(revenue),
        "fortuneRank": company.fortune_rank,
        "headquartersLocation": company.headquarters_location,
        "website": company.website,
        "updatedAt": company.updated_at,
    })
}

fn money_json(money: Option<Money>) -> Value {
    json!(money.map(|m| json!({ "amount": m.amount.0.to_string(), "currency": m.currency })))
}

fn deal_json(deal: &entity::deals::Model) -> Value {
    let id = |kind: NodeKind, id: Option<Uuid>| id.map(|id| kind.id(id).0);
    json!({
        "id": NodeKind::Deal.id(deal.id).0,
        "title": deal.title,
        "status": deal.status.to_uppercase(),
        "stageId": NodeKind::PipelineStage.id(deal.stage_id).0,
        "value": money_json(Money::from_columns(deal.value, &deal.value_currency)),
        "expectedCloseDate": deal.expected_close_date,
        "leadId": id(NodeKind::Lead, deal.lead_id),
        "companyId": id(NodeKind::Company, deal.company_id),
        "ownerId": id(NodeKind::User, deal.owner_id),
        "partnerId": id(NodeKind::Partner, deal.partner_id),
        "closedAt": deal.closed_at,
        "closeReason": deal.close_reason,
        "deletedAt": deal.deleted_at,
        "updatedAt": deal.updated_at,
    })
}

fn campaign_json(campaign: &entity::campaigns::Model) -> Value {
    let budget = |amount| money_json(Money::from_columns(amount, &campaign.budget_currency));
    json!({
        "id": NodeKind::Campaign.id(campaign.id).0,
        "name": campaign.name,
        "type": campaign.campaign_type.to_uppercase(),
        "status": campaign.status.to_uppercase(),
        "startDate": campaign.start_date,
        "endDate": campaign.end_date,
        "budgetAllocated": budget(campaign.budget_allocated),
        "budgetSpent": budget(Some(campaign.budget_spent)),
        "updatedAt": campaign.updated_at,
    })
}
