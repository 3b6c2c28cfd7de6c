use async_graphql::{Context, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{deal_stage_changes, deals};

use crate::{
    companies::Company,
    graphql::{related, via},
    leads::Lead,
    numbers::{BigInt, Money},
    partners::Partner,
    pipeline::{PipelineStage, StageKind},
    users::User,
};

type Stored<T> = async_graphql::Result<T>;

crate::object! {
    /// A sale to a company: open while its stage is, then won or lost.
    Deal(deals::Model) as Deal {
        title: &str,
        /// Its stage's kind: OPEN, WON or LOST.
        status: Stored<StageKind>,
        expected_close_date: Option<NaiveDate>,
        /// When it entered its current stage.
        stage_entered_at: DateTime<Utc>,
        /// When it was won or lost; null while open.
        closed_at: Option<DateTime<Utc>>,
        /// Why it was won or lost, as `closeDeal` was told.
        close_reason: Option<&str>,
        /// Set when the deal is soft-deleted; `restoreDeal` clears it.
        deleted_at: Option<DateTime<Utc>>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
    belongs_to {
        stage: PipelineStage by stage_id,
        lead: Lead by lead_id,
        company: Company by company_id,
        /// Who sells it: an AGENT changes only the deals they own.
        owner: User by owner_id via DEAL_OWNER,
        /// The partner who brought or shares it.
        partner: Partner by partner_id,
    }
    children {
        /// Every stage the deal entered, newest first.
        stage_history: DealStageChange by DealStageChanges,
    }
    extra {
        async fn value(&self) -> Option<Money> {
            Money::from_columns(self.0.value, &self.0.value_currency)
        }
    }
}

crate::tenant_rows!(
    deals::Model => "deals" as "deal",
    deal_stage_changes::Model => "deal_stage_changes" as "deal_stage_change",
);

crate::children!(
    /// `deal.stageHistory`.
    DealStageChanges: deal_stage_changes::Model, by "deal_id"
);
crate::children!(
    /// `lead.deals`: live deals only.
    LeadDeals: deals::Model, by "lead_id", where "AND t.deleted_at IS NULL"
);
crate::children!(
    /// `company.deals`: live deals only.
    CompanyDeals: deals::Model, by "company_id", where "AND t.deleted_at IS NULL"
);

/// A deal entering a stage (`deal.stageHistory`), written by the database on every move.
pub struct DealStageChange(pub deal_stage_changes::Model);

/// Written by hand: its pages read every column.
impl crate::graphql::ReadsColumns for DealStageChange {}

#[Object]
impl DealStageChange {
    /// The stage it left; null when the deal was created in `to`, or that stage is deleted.
    async fn from(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<PipelineStage>> {
        related::<PipelineStage, { via::STAGE_FROM }>(ctx, self.0.from_stage_id).await
    }
    /// The stage it entered; null once that stage is deleted.
    async fn to(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<PipelineStage>> {
        related::<PipelineStage, { via::STAGE_TO }>(ctx, self.0.to_stage_id).await
    }
    /// Who moved it; null when the server did, on no user's behalf.
    async fn by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        related::<User, { via::STAGE_CHANGER }>(ctx, self.0.changed_by_id).await
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.created_at.into()
    }
    /// Whole seconds the deal spent in `from`; null at creation.
    async fn seconds_in_previous_stage(&self) -> Option<BigInt> {
        self.0.seconds_in_previous_stage.map(BigInt)
    }
}
