//! Campaigns and their members.
//!
//! - A campaign targets leads (`target_criteria`, a lead filter as the API took it), runs from
//!   a start to an end date on a budget (allocated and spent, in one currency), and moves
//!   through draft, active, paused, completed and cancelled; the service holds the moves to the
//!   allowed ones.
//! - A lead is a member of a campaign once (`UNIQUE (organization_id, campaign_id, lead_id)`),
//!   and moves through pending, contacted, responded, converted or excluded, each step's time
//!   kept.
//! - Campaigns are evented (subject `campaign`, its status changes `status_changed`), and so is
//!   membership, as events of the campaign naming the lead (`detail_id`): `member_added`,
//!   `member_status_changed`, `member_removed`. Adding 10,000 leads at once is one statement
//!   and one trigger firing.

use sea_orm_migration::prelude::*;

use crate::{evented_table, rls::TenantTable, script_migration};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &str = r#"
CREATE TABLE campaigns (
    organization_id  uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    name             text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
    description      text CHECK (char_length(description) BETWEEN 1 AND 5000),
    campaign_type    text NOT NULL
                     CHECK (campaign_type IN ('email', 'cold_outreach', 'content', 'social', 'event')),
    status           text NOT NULL DEFAULT 'draft'
                     CHECK (status IN ('draft', 'active', 'paused', 'completed', 'cancelled')),
    -- A LeadFilter, as the API took it.
    target_criteria  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(target_criteria) = 'object'),
    start_date       date,
    end_date         date CHECK (end_date >= start_date),
    budget_allocated numeric(22, 4) CHECK (budget_allocated >= 0),
    budget_spent     numeric(22, 4) NOT NULL DEFAULT 0 CHECK (budget_spent >= 0),
    budget_currency  char(3) NOT NULL DEFAULT 'USD' CHECK (budget_currency ~ '^[A-Z]{3}$'),
    goals            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(goals) = 'object'),
    created_by_id    uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, created_by_id) REFERENCES users (organization_id, id)
);
CREATE INDEX campaigns_by_creation ON campaigns (organization_id, created_at, id);
CREATE INDEX campaigns_by_name ON campaigns (organization_id, name, id);
CREATE INDEX campaigns_by_start ON campaigns (organization_id, start_date, id);

CREATE TABLE campaign_members (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    campaign_id     uuid NOT NULL,
    lead_id         uuid NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'contacted', 'responded', 'converted', 'excluded')),
    contacted_at    timestamptz,
    responded_at    timestamptz,
    converted_at    timestamptz,
    excluded_at     timestamptz,
    -- When the lead was added.
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    UNIQUE (organization_id, campaign_id, lead_id),
    FOREIGN KEY (organization_id, campaign_id) REFERENCES campaigns (organization_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (organization_id, lead_id) REFERENCES leads (organization_id, id)
        ON DELETE CASCADE
);
CREATE INDEX campaign_members_by_campaign
    ON campaign_members (organization_id, campaign_id, created_at, id);
CREATE INDEX campaign_members_of_lead ON campaign_members (organization_id, lead_id);
"#;

const TRIGGERS: &str = r#"
-- Membership as events of the campaign, naming the lead.
CREATE FUNCTION record_campaign_member_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM append_events(organization_id, array_agg(
            ROW('campaign', campaign_id, 'member_added', '{}', lead_id, NULL)::event_draft
            ORDER BY created_at, id))
        FROM new_rows GROUP BY organization_id;
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM append_events(n.organization_id, array_agg(
            ROW('campaign', n.campaign_id, 'member_status_changed', '{}', n.lead_id, NULL)
                ::event_draft ORDER BY n.id))
        FROM old_rows o
        JOIN new_rows n ON n.organization_id = o.organization_id AND n.id = o.id
        WHERE n.status IS DISTINCT FROM o.status
        GROUP BY n.organization_id;
    ELSE
        -- Not when the campaign itself is going (its own event says so).
        PERFORM append_events(o.organization_id, array_agg(
            ROW('campaign', o.campaign_id, 'member_removed', '{}', o.lead_id, NULL)::event_draft
            ORDER BY o.id))
        FROM old_rows o
        WHERE EXISTS (SELECT 1 FROM campaigns c
                      WHERE c.organization_id = o.organization_id AND c.id = o.campaign_id)
        GROUP BY o.organization_id;
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION record_campaign_member_events() FROM PUBLIC;
CREATE TRIGGER campaign_members_record_insert AFTER INSERT ON campaign_members
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION record_campaign_member_events();
CREATE TRIGGER campaign_members_record_update AFTER UPDATE ON campaign_members
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION record_campaign_member_events();
CREATE TRIGGER campaign_members_record_delete AFTER DELETE ON campaign_members
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION record_campaign_member_events();
"#;

const EVENTS: &str = r#"
ALTER TABLE events DROP CONSTRAINT events_subject_type_check;
ALTER TABLE events ADD CONSTRAINT events_subject_type_check
    CHECK (subject_type IN ('lead', 'company', 'deal', 'campaign'));
ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind IN
    ('created', 'updated', 'status_changed', 'assigned', 'scored', 'deleted', 'restored',
     'note_added', 'activity_logged', 'stage_changed', 'member_added', 'member_status_changed',
     'member_removed'));
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_subject_types_check;
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_subject_types_check
    CHECK (subject_types <@ ARRAY['lead', 'company', 'deal', 'campaign']);
"#;

// The owner is under the tenant policies (FORCE); this cleanup is across tenants.
const UNDO: &str = r#"
ALTER TABLE events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoints NO FORCE ROW LEVEL SECURITY;
DELETE FROM events WHERE subject_type = 'campaign';
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_subject_types_check;
UPDATE webhook_endpoints SET subject_types = array_remove(subject_types, 'campaign');
ALTER TABLE events FORCE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoints FORCE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_subject_types_check
    CHECK (subject_types <@ ARRAY['lead', 'company', 'deal']);
ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind IN
    ('created', 'updated', 'status_changed', 'assigned', 'scored', 'deleted', 'restored',
     'note_added', 'activity_logged', 'stage_changed'));
ALTER TABLE events DROP CONSTRAINT events_subject_type_check;
ALTER TABLE events ADD CONSTRAINT events_subject_type_check
    CHECK (subject_type IN ('lead', 'company', 'deal'));
DROP TABLE campaign_members;
DROP FUNCTION record_campaign_member_events();
DROP TABLE campaigns;
"#;

fn up() -> String {
    let policies = [
        TenantTable::new("campaigns", "SELECT, INSERT, UPDATE, DELETE").sql(),
        TenantTable::new("campaign_members", "SELECT, INSERT, UPDATE, DELETE").sql(),
    ]
    .join("\n");
    format!(
        "{TABLES}\n{TRIGGERS}\n{policies}\n{EVENTS}\n{}",
        evented_table("campaigns", "campaign", r#"{"status": "status_changed"}"#)
    )
}

script_migration!(&up(), UNDO);
