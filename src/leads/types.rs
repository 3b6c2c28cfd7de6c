use async_graphql::{Context, ID, Json, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::leads;

use super::{LeadSource, LeadStatus, Seniority, Temperature};
use crate::{
    activities::{Activity, LeadActivities},
    companies::{Company, CompanyId},
    graphql::{ContextExt, NodeKind, Page, child_page},
    notes::{LeadNotes, Note},
    numbers::Money,
    users::User,
    users::via,
};

pub struct Lead(pub leads::Model);

#[Object]
impl Lead {
    pub async fn id(&self) -> ID {
        NodeKind::Lead.id(self.0.id)
    }
    async fn first_name(&self) -> &str {
        &self.0.first_name
    }
    async fn last_name(&self) -> &str {
        &self.0.last_name
    }
    async fn full_name(&self) -> String {
        format!("{} {}", self.0.first_name, self.0.last_name)
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    async fn job_title(&self) -> Option<&str> {
        self.0.job_title.as_deref()
    }
    async fn department(&self) -> Option<&str> {
        self.0.department.as_deref()
    }
    async fn seniority(&self) -> async_graphql::Result<Option<Seniority>> {
        Ok(self
            .0
            .seniority
            .as_deref()
            .map(Seniority::from_db)
            .transpose()?)
    }
    async fn source(&self) -> async_graphql::Result<LeadSource> {
        Ok(LeadSource::from_db(&self.0.source)?)
    }
    async fn status(&self) -> async_graphql::Result<LeadStatus> {
        Ok(LeadStatus::from_db(&self.0.status)?)
    }
    /// 0 to 100.
    async fn score(&self) -> i32 {
        self.0.score
    }
    async fn temperature(&self) -> async_graphql::Result<Temperature> {
        Ok(Temperature::from_db(&self.0.temperature)?)
    }
    async fn estimated_deal_value(&self) -> Option<Money> {
        Money::from_columns(self.0.estimated_deal_value, &self.0.estimated_deal_currency)
    }
    /// Percent, 0 to 100.
    async fn probability_to_close(&self) -> Option<i32> {
        self.0.probability_to_close
    }
    async fn tags(&self) -> &[String] {
        &self.0.tags
    }
    /// Free-form fields, a JSON object.
    async fn custom_fields(&self) -> Json<&serde_json::Value> {
        Json(&self.0.custom_fields)
    }
    async fn linkedin_url(&self) -> Option<&str> {
        self.0.linkedin_url.as_deref()
    }
    async fn expected_close_date(&self) -> Option<NaiveDate> {
        self.0.expected_close_date
    }
    async fn last_contacted_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_contacted_at.map(Into::into)
    }
    async fn next_follow_up_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_follow_up_at.map(Into::into)
    }
    /// Set when the lead is soft-deleted; `restoreLead` clears it.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at.map(Into::into)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.into()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.into()
    }
    async fn company(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Company>> {
        match self.0.company_id {
            Some(id) => Ok(ctx
                .loader()?
                .load_one(CompanyId::new(id))
                .await?
                .map(Company)),
            None => Ok(None),
        }
    }
    async fn assigned_to(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        crate::users::load::<{ via::ASSIGNEE }>(ctx, self.0.assigned_to_id).await
    }
    /// Calls, e-mails, meetings and messages with this lead, newest first.
    #[graphql(complexity = "crate::graphql::page_cost(first, None, child_complexity)")]
    async fn activities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Page<Activity>> {
        child_page::<LeadActivities, _>(ctx, self.0.id, first, after, Activity).await
    }
    /// Notes on this lead you may see (others' private notes are not), newest first.
    #[graphql(complexity = "crate::graphql::page_cost(first, None, child_complexity)")]
    async fn notes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Page<Note>> {
        child_page::<LeadNotes, _>(ctx, self.0.id, first, after, Note).await
    }
}
