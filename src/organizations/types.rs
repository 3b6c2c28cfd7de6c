use async_graphql::{ID, Json, Object};
use chrono::{DateTime, Utc};
use entity::organizations;
use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use crate::{
    error::{ApiError, ApiResult},
    graphql::NodeKind,
    sql::SqlBuilder,
};

crate::text_enum! {
    /// How new leads created without an assignee are assigned, among the active agents and
    /// managers.
    LeadAutoAssignment {
        /// They stay unassigned.
        None => "none",
        /// To each in turn (by user id), never two leads to one turn.
        RoundRobin => "round_robin",
        /// To whoever has the fewest open leads (not closed, not deleted).
        LeastLoaded => "least_loaded",
    }
}

crate::text_enum! {
    Plan {
        Free => "free",
        Starter => "starter",
        Professional => "professional",
        Enterprise => "enterprise",
    }
}

pub struct Organization(pub organizations::Model);

#[Object]
impl Organization {
    pub async fn id(&self) -> ID {
        NodeKind::Organization.id(self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Used to sign in: unique across LeadGraph.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn plan(&self) -> async_graphql::Result<Plan> {
        Ok(Plan::from_db(&self.0.plan)?)
    }
    /// How many leads the plan allows; null for unlimited.
    async fn lead_quota(&self) -> Option<i32> {
        self.0.lead_quota
    }
    async fn lead_auto_assignment(&self) -> async_graphql::Result<LeadAutoAssignment> {
        Ok(LeadAutoAssignment::from_db(&self.0.lead_auto_assignment)?)
    }
    async fn settings(&self) -> Json<&serde_json::Value> {
        Json(&self.0.settings)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.into()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.into()
    }
}

/// The organization row, as visible under the current tenant.
pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> ApiResult<organizations::Model> {
    let mut sql = SqlBuilder::new("");
    let id = sql.bind(id);
    sql.push(&format!("SELECT * FROM organizations WHERE id = {id}"));
    organizations::Model::find_by_statement(sql.build())
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("organization"))
}
