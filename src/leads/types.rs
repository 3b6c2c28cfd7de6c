use async_graphql::{Context, Json, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{lead_assignments, leads};

use crate::{
    activities::{Activity, LeadActivities},
    companies::Company,
    deals::{Deal, LeadDeals},
    graphql::{ById, ContextExt, related, via},
    notes::{LeadNotes, Note},
    numbers::Money,
    scoring::{ExplanationOf, LeadScoreChanges, ScoreChange, ScoreExplanation},
    users::User,
};

crate::text_enum! {
    /// Where a lead is in the sales pipeline.
    LeadStatus {
        New => "new",
        Contacted => "contacted",
        Qualified => "qualified",
        DemoScheduled => "demo_scheduled",
        ProposalSent => "proposal_sent",
        ClosedWon => "closed_won",
        ClosedLost => "closed_lost",
    }
}

crate::text_enum! {
    Temperature {
        Hot => "hot",
        Warm => "warm",
        Cold => "cold",
    }
}

crate::text_enum! {
    Seniority {
        CLevel => "c_level",
        Vp => "vp",
        Director => "director",
        Manager => "manager",
        Individual => "individual",
    }
}

crate::text_enum! {
    LeadSource {
        Website => "website",
        Partner => "partner",
        Referral => "referral",
        Linkedin => "linkedin",
        Event => "event",
        ColdOutreach => "cold_outreach",
        Advertising => "advertising",
        Other => "other",
    }
}

type Stored<T> = async_graphql::Result<T>;

crate::object! {
    Lead(leads::Model) as Lead {
        first_name: &str,
        last_name: &str,
        email: &str,
        phone: Option<&str>,
        job_title: Option<&str>,
        department: Option<&str>,
        seniority: Stored<Option<Seniority>>,
        source: Stored<LeadSource>,
        status: Stored<LeadStatus>,
        /// 0 to 100.
        score: i32,
        temperature: Stored<Temperature>,
        /// Percent, 0 to 100.
        probability_to_close: Option<i32>,
        tags: &[String],
        linkedin_url: Option<&str>,
        expected_close_date: Option<NaiveDate>,
        last_contacted_at: Option<DateTime<Utc>>,
        next_follow_up_at: Option<DateTime<Utc>>,
        /// Set when the lead is soft-deleted; `restoreLead` clears it.
        deleted_at: Option<DateTime<Utc>>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
    belongs_to {
        company: Company by company_id,
        assigned_to: User by assigned_to_id via ASSIGNEE,
    }
    children {
        /// Calls, e-mails, meetings and messages with this lead, newest first.
        activities: Activity by LeadActivities,
        /// The lead's live deals, newest first.
        deals: Deal by LeadDeals,
        /// Every change of its score, newest first.
        score_history: ScoreChange by LeadScoreChanges,
        /// Every assignment of this lead, newest first.
        assignment_history: LeadAssignment by LeadAssignments,
        /// Notes on this lead you may see (others' private notes are not), newest first.
        notes: Note by LeadNotes,
    }
    extra {
        async fn full_name(&self) -> String {
            format!("{} {}", self.0.first_name, self.0.last_name)
        }
        async fn estimated_deal_value(&self) -> Option<Money> {
            Money::from_columns(self.0.estimated_deal_value, &self.0.estimated_deal_currency)
        }
        /// The organization's active scoring rules that fire for this lead now.
        async fn score_explanation(
            &self,
            ctx: &async_graphql::Context<'_>,
        ) -> async_graphql::Result<ScoreExplanation> {
            let fired = ctx.loader()?.load_one(ExplanationOf(self.0.id)).await?;
            Ok(ScoreExplanation::of(fired.unwrap_or_default()))
        }
        /// Free-form fields, a JSON object.
        async fn custom_fields(&self) -> Json<&serde_json::Value> {
            Json(&self.0.custom_fields)
        }
    }
}

pub type LeadId = ById<leads::Model>;

crate::tenant_rows!(
    // Read on every dashboard: decoded by place.
    leads::Model => "leads" as "lead" in columns (
        organization_id, id, company_id, assigned_to_id, first_name, last_name, email, phone,
        job_title, department, seniority, source, status, score, temperature,
        estimated_deal_value, probability_to_close, tags, custom_fields, linkedin_url,
        expected_close_date, last_contacted_at, next_follow_up_at, deleted_at, created_at,
        updated_at, estimated_deal_currency
    )
);

crate::tenant_rows!(lead_assignments::Model => "lead_assignments" as "lead_assignment");

crate::children!(
    /// `lead.assignmentHistory`.
    LeadAssignments: lead_assignments::Model, by "lead_id"
);

/// One assignment of a lead (`lead.assignmentHistory`), written by the database whenever a
/// lead's assignee changes.
pub struct LeadAssignment(pub lead_assignments::Model);

/// Written by hand: its pages read every column.
impl crate::graphql::ReadsColumns for LeadAssignment {}

#[Object]
impl LeadAssignment {
    /// Who had the lead before; null when nobody had.
    async fn from(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        related::<User, { via::ASSIGNED_FROM }>(ctx, self.0.from_user_id).await
    }
    /// Who has it since; null when it was unassigned.
    async fn to(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        related::<User, { via::ASSIGNED_TO }>(ctx, self.0.to_user_id).await
    }
    /// Who assigned it; null when the server did, on no user's behalf.
    async fn by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        related::<User, { via::ASSIGNED_BY }>(ctx, self.0.assigned_by_id).await
    }
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.created_at.into()
    }
}
