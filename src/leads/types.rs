use async_graphql::Json;
use chrono::{DateTime, NaiveDate, Utc};
use entity::leads;

use crate::{
    activities::{Activity, LeadActivities},
    companies::Company,
    graphql::ById,
    notes::{LeadNotes, Note},
    numbers::Money,
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
        /// Free-form fields, a JSON object.
        async fn custom_fields(&self) -> Json<&serde_json::Value> {
            Json(&self.0.custom_fields)
        }
    }
}

pub type LeadId = ById<leads::Model>;

crate::tenant_rows!(leads::Model => "leads" as "lead");
