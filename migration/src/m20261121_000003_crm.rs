//! CRM tables: companies, leads, activities (the communications of the design notes) and lead
//! notes. Every reference between them is a composite foreign key that includes the tenant.

use sea_orm_migration::prelude::*;

use crate::{rls::TenantTable, run_sql};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &str = r#"
CREATE TABLE companies (
    organization_id       uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id                    uuid NOT NULL DEFAULT gen_random_uuid(),
    name                  text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
    domain                text CHECK (char_length(domain) <= 253 AND domain = lower(domain)),
    industry              text CHECK (char_length(industry) <= 100),
    employee_count        integer CHECK (employee_count >= 0),
    annual_revenue        bigint CHECK (annual_revenue >= 0),
    fortune_rank          integer CHECK (fortune_rank > 0),
    headquarters_location text CHECK (char_length(headquarters_location) <= 255),
    website               text CHECK (char_length(website) <= 500),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    UNIQUE (organization_id, domain)
);
CREATE INDEX companies_by_name ON companies (organization_id, name, id);
CREATE INDEX companies_name_search ON companies USING gin (lower(name) gin_trgm_ops);

CREATE TABLE leads (
    organization_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id                   uuid NOT NULL DEFAULT gen_random_uuid(),
    company_id           uuid,
    assigned_to_id       uuid,
    first_name           text NOT NULL CHECK (char_length(first_name) BETWEEN 1 AND 100),
    last_name            text NOT NULL CHECK (char_length(last_name) BETWEEN 1 AND 100),
    email                text NOT NULL CHECK (char_length(email) <= 254 AND email = lower(email)),
    phone                text CHECK (char_length(phone) <= 50),
    job_title            text CHECK (char_length(job_title) <= 150),
    department           text CHECK (char_length(department) <= 100),
    seniority            text CHECK (seniority IN ('c_level', 'vp', 'director', 'manager', 'individual')),
    source               text NOT NULL DEFAULT 'other' CHECK (source IN
                         ('website', 'partner', 'referral', 'linkedin', 'event', 'cold_outreach',
                          'advertising', 'other')),
    status               text NOT NULL DEFAULT 'new' CHECK (status IN
                         ('new', 'contacted', 'qualified', 'demo_scheduled', 'proposal_sent',
                          'closed_won', 'closed_lost')),
    score                integer NOT NULL DEFAULT 0 CHECK (score BETWEEN 0 AND 100),
    temperature          text NOT NULL DEFAULT 'cold' CHECK (temperature IN ('hot', 'warm', 'cold')),
    estimated_deal_value bigint CHECK (estimated_deal_value >= 0),
    -- Percent, 0 to 100.
    probability_to_close integer CHECK (probability_to_close BETWEEN 0 AND 100),
    tags                 text[] NOT NULL DEFAULT '{}',
    custom_fields        jsonb NOT NULL DEFAULT '{}'::jsonb
                         CHECK (jsonb_typeof(custom_fields) = 'object'),
    linkedin_url         text CHECK (char_length(linkedin_url) <= 500),
    expected_close_date  date,
    last_contacted_at    timestamptz,
    next_follow_up_at    timestamptz,
    deleted_at           timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, company_id)
        REFERENCES companies (organization_id, id) ON DELETE SET NULL (company_id),
    FOREIGN KEY (organization_id, assigned_to_id) REFERENCES users (organization_id, id)
);
-- One live lead per e-mail address and organization; soft-deleted ones do not count.
CREATE UNIQUE INDEX leads_email_unique ON leads (organization_id, email) WHERE deleted_at IS NULL;
-- Keyset orders over live leads: each index matches an orderBy and its id tie-breaker, and
-- is partial like the queries (otherwise the planner prefers the partial unique index above
-- and sorts the whole tenant).
CREATE INDEX leads_by_score ON leads (organization_id, score, id) WHERE deleted_at IS NULL;
CREATE INDEX leads_by_created ON leads (organization_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX leads_by_updated ON leads (organization_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX leads_by_last_name ON leads (organization_id, last_name, id) WHERE deleted_at IS NULL;
CREATE INDEX leads_by_company ON leads (organization_id, company_id, created_at, id)
    WHERE deleted_at IS NULL;
-- The trash (soft-deleted leads).
CREATE INDEX leads_deleted ON leads (organization_id, deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX leads_by_assignee ON leads (organization_id, assigned_to_id);
CREATE INDEX leads_tags ON leads USING gin (tags);
CREATE INDEX leads_search ON leads
    USING gin (lower(first_name || ' ' || last_name || ' ' || email) gin_trgm_ops);

CREATE TABLE activities (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    lead_id         uuid NOT NULL,
    user_id         uuid,
    kind            text NOT NULL CHECK (kind IN ('email', 'call', 'meeting', 'linkedin', 'sms')),
    direction       text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    subject         text CHECK (char_length(subject) <= 500),
    content         text CHECK (char_length(content) <= 20000),
    status          text NOT NULL DEFAULT 'completed'
                    CHECK (status IN ('scheduled', 'completed', 'failed', 'cancelled')),
    scheduled_at    timestamptz,
    completed_at    timestamptz,
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, lead_id) REFERENCES leads (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, user_id) REFERENCES users (organization_id, id)
);
CREATE INDEX activities_by_lead ON activities (organization_id, lead_id, created_at, id);

CREATE TABLE lead_notes (
    organization_id    uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id                 uuid NOT NULL DEFAULT gen_random_uuid(),
    lead_id            uuid NOT NULL,
    author_id          uuid NOT NULL,
    note_type          text NOT NULL DEFAULT 'general'
                       CHECK (note_type IN ('general', 'meeting', 'call', 'research', 'reminder')),
    content            text NOT NULL CHECK (char_length(content) BETWEEN 1 AND 10000),
    -- A private note is visible to its author only (enforced by the policy below).
    is_private         boolean NOT NULL DEFAULT false,
    mentioned_user_ids uuid[] NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, lead_id) REFERENCES leads (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, author_id) REFERENCES users (organization_id, id)
);
CREATE INDEX lead_notes_by_lead ON lead_notes (organization_id, lead_id, created_at, id);
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let policies = [
            TenantTable::new("companies", "SELECT, INSERT, UPDATE, DELETE"),
            // Leads are soft-deleted: no DELETE grant.
            TenantTable::new("leads", "SELECT, INSERT, UPDATE"),
            TenantTable::new("activities", "SELECT, INSERT, UPDATE, DELETE"),
            TenantTable::new("lead_notes", "SELECT, INSERT, UPDATE, DELETE")
                .visible_if("NOT is_private OR author_id = current_user_id()")
                .writable_if("author_id = current_user_id()"),
        ]
        .iter()
        .map(TenantTable::sql)
        .collect::<String>();
        run_sql(manager, &format!("{TABLES}\n{policies}")).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP TABLE lead_notes, activities, leads, companies;",
        )
        .await
    }
}
