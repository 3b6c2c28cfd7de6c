use async_graphql::{Context, InputObject, Json, Object, SimpleObject, dataloader::Loader};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{campaign_members, campaigns};
use rust_decimal::Decimal;
use sea_orm::FromQueryResult;
use std::collections::HashMap;
use uuid::Uuid;

use crate::{
    graphql::{ContextExt, LoadResult, NarrowChildren, TenantLoader, related, via},
    leads::Lead,
    numbers::{BigInt, ExactDecimal, Money},
    text_enum::value_set,
    users::User,
};

crate::text_enum! {
    #[derive(Default)]
    CampaignType {
        #[default]
        Email => "email",
        ColdOutreach => "cold_outreach",
        Content => "content",
        Social => "social",
        Event => "event",
    }
}

crate::text_enum! {
    /// Where a campaign stands: DRAFT → ACTIVE ⇄ PAUSED → COMPLETED or CANCELLED (a draft may
    /// be cancelled too).
    CampaignStatus {
        Draft => "draft",
        Active => "active",
        Paused => "paused",
        Completed => "completed",
        Cancelled => "cancelled",
    }
}

crate::text_enum! {
    /// Where a lead stands in a campaign: PENDING → CONTACTED → RESPONDED → CONVERTED, or
    /// EXCLUDED before converting.
    MemberStatus {
        Pending => "pending",
        Contacted => "contacted",
        Responded => "responded",
        Converted => "converted",
        Excluded => "excluded",
    }
}

type Stored<T> = async_graphql::Result<T>;

crate::object! {
    /// Leads targeted together, on a budget, for a time.
    Campaign(campaigns::Model) as Campaign {
        name: &str,
        description: Option<&str>,
        status: Stored<CampaignStatus>,
        start_date: Option<NaiveDate>,
        end_date: Option<NaiveDate>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
    belongs_to {
        created_by: User by created_by_id via CAMPAIGN_CREATOR,
    }
    children {
        /// Its leads, the latest added first; `filter` narrows them by status.
        members: CampaignMember by CampaignMembers | filter CampaignMemberFilter,
    }
    extra {
        async fn r#type(&self) -> async_graphql::Result<CampaignType> {
            Ok(CampaignType::from_db(&self.0.campaign_type)?)
        }
        /// The lead filter the campaign targets (`LeadFilter`'s fields), as given.
        async fn target_criteria(&self) -> Json<&serde_json::Value> {
            Json(&self.0.target_criteria)
        }
        /// Goals and KPIs, a JSON object.
        async fn goals(&self) -> Json<&serde_json::Value> {
            Json(&self.0.goals)
        }
        async fn budget_allocated(&self) -> Option<Money> {
            Money::from_columns(self.0.budget_allocated, &self.0.budget_currency)
        }
        /// What `recordCampaignSpend` added up, in the budget's currency.
        async fn budget_spent(&self) -> Option<Money> {
            Money::from_columns(Some(self.0.budget_spent), &self.0.budget_currency)
        }
        /// Members per status, conversion and budget, computed in SQL (one statement for
        /// every campaign of a page).
        async fn stats(&self, ctx: &Context<'_>) -> async_graphql::Result<CampaignStats> {
            let stats = ctx.loader()?.load_one(StatsOf(self.0.id)).await?;
            Ok(stats.map(CampaignStats::from).unwrap_or_default())
        }
    }
}

crate::tenant_rows!(
    campaigns::Model => "campaigns" as "campaign",
    campaign_members::Model => "campaign_members" as "campaign_member",
);

crate::children!(
    /// `campaign.members`.
    CampaignMembers: campaign_members::Model, by "campaign_id",
    narrowed by "status" of MemberStatus
);

#[derive(InputObject, Default)]
pub struct CampaignMemberFilter {
    /// Any of these statuses.
    pub status: Option<Vec<MemberStatus>>,
}

impl NarrowChildren for CampaignMemberFilter {
    fn only(self) -> u32 {
        value_set(&self.status.unwrap_or_default())
    }
}

/// A lead in a campaign.
pub struct CampaignMember(pub campaign_members::Model);

/// Written by hand: its pages read every column.
impl crate::graphql::ReadsColumns for CampaignMember {}

#[Object]
impl CampaignMember {
    async fn lead(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Lead>> {
        related::<Lead, { via::ANY }>(ctx, self.0.lead_id).await
    }
    async fn status(&self) -> async_graphql::Result<MemberStatus> {
        Ok(MemberStatus::from_db(&self.0.status)?)
    }
    async fn added_at(&self) -> DateTime<Utc> {
        self.0.created_at.into()
    }
    async fn contacted_at(&self) -> Option<DateTime<Utc>> {
        self.0.contacted_at.map(Into::into)
    }
    async fn responded_at(&self) -> Option<DateTime<Utc>> {
        self.0.responded_at.map(Into::into)
    }
    async fn converted_at(&self) -> Option<DateTime<Utc>> {
        self.0.converted_at.map(Into::into)
    }
    async fn excluded_at(&self) -> Option<DateTime<Utc>> {
        self.0.excluded_at.map(Into::into)
    }
}

/// Loader key: a campaign's stats.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatsOf(pub Uuid);

#[derive(Clone, FromQueryResult)]
pub struct StatsRow {
    campaign_id: Uuid,
    members: i64,
    pending: i64,
    contacted: i64,
    responded: i64,
    converted: i64,
    excluded: i64,
    conversion_rate: Option<Decimal>,
    budget_currency: String,
    budget_spent: Decimal,
    budget_remaining: Option<Decimal>,
}

impl Loader<StatsOf> for TenantLoader {
    type Value = StatsRow;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[StatsOf]) -> LoadResult<HashMap<StatsOf, StatsRow>> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let rows: Vec<StatsRow> = self
            .select(|sql, org| {
                let ids = sql.bind(ids);
                let statement = format!(
                    "SELECT c.id AS campaign_id, count(m.id) AS members,
                            count(m.id) FILTER (WHERE m.status = 'pending') AS pending,
                            count(m.id) FILTER (WHERE m.status = 'contacted') AS contacted,
                            count(m.id) FILTER (WHERE m.status = 'responded') AS responded,
                            count(m.id) FILTER (WHERE m.status = 'converted') AS converted,
                            count(m.id) FILTER (WHERE m.status = 'excluded') AS excluded,
                            round(100.0 * count(m.id) FILTER (WHERE m.status = 'converted')
                                  / nullif(count(m.id) FILTER (WHERE m.status <> 'excluded'), 0),
                                  2) AS conversion_rate,
                            c.budget_currency, c.budget_spent,
                            c.budget_allocated - c.budget_spent AS budget_remaining
                     FROM campaigns c
                     LEFT JOIN campaign_members m
                         ON m.organization_id = c.organization_id AND m.campaign_id = c.id
                     WHERE c.organization_id = {org} AND c.id = ANY({ids})
                     GROUP BY c.organization_id, c.id"
                );
                sql.push(&statement);
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (StatsOf(row.campaign_id), row))
            .collect())
    }
}

/// A campaign's members per status, its conversion and its budget.
#[derive(SimpleObject, Default)]
pub struct CampaignStats {
    pub members: BigInt,
    pub pending: BigInt,
    pub contacted: BigInt,
    pub responded: BigInt,
    pub converted: BigInt,
    pub excluded: BigInt,
    /// Percent of the members not excluded who converted, to 2 decimals; null while there
    /// are none.
    pub conversion_rate: Option<ExactDecimal>,
    pub budget_spent: Option<Money>,
    /// Allocated minus spent (negative when overspent); null without an allocated budget.
    pub budget_remaining: Option<Money>,
}

impl From<StatsRow> for CampaignStats {
    fn from(row: StatsRow) -> Self {
        Self {
            members: BigInt(row.members),
            pending: BigInt(row.pending),
            contacted: BigInt(row.contacted),
            responded: BigInt(row.responded),
            converted: BigInt(row.converted),
            excluded: BigInt(row.excluded),
            conversion_rate: row
                .conversion_rate
                .map(|rate| ExactDecimal(rate.normalize())),
            budget_spent: Money::from_columns(Some(row.budget_spent), &row.budget_currency),
            budget_remaining: Money::from_columns(row.budget_remaining, &row.budget_currency),
        }
    }
}
