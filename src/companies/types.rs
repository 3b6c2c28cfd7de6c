use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::companies;

use super::CompanyLeads;
use crate::{
    graphql::{NodeKind, Page, child_page},
    leads::Lead,
    numbers::Money,
};

pub struct Company(pub companies::Model);

#[Object]
impl Company {
    pub async fn id(&self) -> ID {
        NodeKind::Company.id(self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Unique per organization, lower-case.
    async fn domain(&self) -> Option<&str> {
        self.0.domain.as_deref()
    }
    async fn industry(&self) -> Option<&str> {
        self.0.industry.as_deref()
    }
    async fn employee_count(&self) -> Option<i32> {
        self.0.employee_count
    }
    async fn annual_revenue(&self) -> Option<Money> {
        Money::from_columns(self.0.annual_revenue, &self.0.annual_revenue_currency)
    }
    async fn fortune_rank(&self) -> Option<i32> {
        self.0.fortune_rank
    }
    async fn is_fortune500(&self) -> bool {
        self.0.fortune_rank.is_some_and(|rank| rank <= 500)
    }
    async fn headquarters_location(&self) -> Option<&str> {
        self.0.headquarters_location.as_deref()
    }
    async fn website(&self) -> Option<&str> {
        self.0.website.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.into()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.into()
    }
    /// The company's live leads, newest first.
    #[graphql(complexity = "crate::graphql::page_cost(first, None, child_complexity)")]
    async fn leads(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Page<Lead>> {
        child_page::<CompanyLeads, _>(ctx, self.0.id, first, after, Lead).await
    }
}
