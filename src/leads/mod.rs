//! Leads: the heart of the CRM. Types, the filtered and ordered `leads` list, and the
//! mutations (create, update, soft delete, restore, assign).

mod mutation;
mod query;
pub mod service;
mod types;

pub use mutation::{CreateLeadInput, LeadMutation, UpdateLeadInput};
pub use query::{
    FollowUpQuery, LeadFilter, LeadOrderField, LeadQuery, filtered_leads, storable_filter,
    stored_filter,
};
pub use types::{
    Lead, LeadAssignment, LeadAssignments, LeadId, LeadSource, LeadStatus, Seniority, Temperature,
};

use entity::leads;
use sea_orm::FromQueryResult;
use uuid::Uuid;

use crate::{
    error::{ApiError, ApiResult},
    service::Acting,
    sql::SqlBuilder,
};

/// A live (not soft-deleted) lead of the caller's organization, or NOT_FOUND. Used by every
/// mutation that hangs something off a lead.
pub async fn find_live(acting: &Acting<'_>, id: Uuid) -> ApiResult<leads::Model> {
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(acting.organization_id());
    let id = sql.bind(id);
    sql.push(&format!(
        "SELECT * FROM leads WHERE organization_id = {org} AND id = {id} AND deleted_at IS NULL"
    ));
    leads::Model::find_by_statement(sql.build())
        .one(acting.db)
        .await?
        .ok_or(ApiError::NotFound("lead"))
}
