//! The sales pipeline: an organization's ordered stages, its partners, and deals moving
//! through the stages.
//!
//! - A deal refers to its stage together with the stage's kind, `(organization_id, stage_id,
//!   status) → pipeline_stages (organization_id, id, kind) ON UPDATE CASCADE`: a deal's status
//!   (open, won, lost) is its stage's kind by construction, also when a stage's kind changes.
//!   A row trigger keeps `stage_entered_at` and `closed_at` (set while the status is won or
//!   lost) with them, whatever path changes the stage.
//! - Every stage a deal enters is kept in `deal_stage_changes` (from, to, by, when, and how
//!   long the deal sat in the stage it left), written by a trigger on deals, as assignments
//!   are.
//! - Deals are evented (subject `deal`): a move is `stage_changed`, a change of status
//!   `status_changed`, a change of owner `assigned`.
//! - Every organization has a pipeline: a trigger gives each new organization the default
//!   stages, and existing organizations get them here. The organizations table is under
//!   forced RLS, so the owner running this migration sees no organization; the backfill lifts
//!   FORCE for its one statement, inside the migration's transaction (whose lock on the table
//!   keeps every other session out until FORCE is back).

use sea_orm_migration::prelude::*;

use crate::{evented_table, rls::TenantTable, script_migration};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &str = r#"
CREATE TABLE pipeline_stages (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    -- 0, 1, 2, ... within the organization: the pipeline service keeps them dense.
    position        integer NOT NULL CHECK (position >= 0),
    win_probability integer NOT NULL CHECK (win_probability BETWEEN 0 AND 100),
    kind            text NOT NULL CHECK (kind IN ('open', 'won', 'lost')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    -- What deals refer to: their status is their stage's kind.
    UNIQUE (organization_id, id, kind)
);
CREATE UNIQUE INDEX pipeline_stages_name ON pipeline_stages (organization_id, lower(name));
CREATE INDEX pipeline_stages_by_position ON pipeline_stages (organization_id, position, id);

CREATE TABLE partners (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    company_name    text NOT NULL CHECK (char_length(company_name) BETWEEN 1 AND 255),
    contact_name    text NOT NULL CHECK (char_length(contact_name) BETWEEN 1 AND 150),
    email           text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    phone           text CHECK (char_length(phone) BETWEEN 1 AND 50),
    tier            text NOT NULL DEFAULT 'authorized'
                    CHECK (tier IN ('authorized', 'gold', 'platinum')),
    -- Percent of a won deal's value.
    commission_rate numeric(5, 2) CHECK (commission_rate BETWEEN 0 AND 100),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'approved', 'active', 'suspended')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id)
);
CREATE UNIQUE INDEX partners_email ON partners (organization_id, email);
CREATE INDEX partners_by_creation ON partners (organization_id, created_at, id);

CREATE TABLE deals (
    organization_id     uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id                  uuid NOT NULL DEFAULT gen_random_uuid(),
    title               text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    lead_id             uuid,
    company_id          uuid,
    stage_id            uuid NOT NULL,
    -- The stage's kind, held to it by the key below.
    status              text NOT NULL,
    value               numeric(22, 4) CHECK (value >= 0),
    value_currency      char(3) NOT NULL DEFAULT 'USD' CHECK (value_currency ~ '^[A-Z]{3}$'),
    expected_close_date date,
    owner_id            uuid,
    partner_id          uuid,
    stage_entered_at    timestamptz NOT NULL DEFAULT now(),
    -- Set while the deal is won or lost (the trigger below).
    closed_at           timestamptz,
    close_reason        text CHECK (char_length(close_reason) BETWEEN 1 AND 500),
    created_by_id       uuid,
    deleted_at          timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    CHECK ((status = 'open') = (closed_at IS NULL)),
    FOREIGN KEY (organization_id, stage_id, status)
        REFERENCES pipeline_stages (organization_id, id, kind) ON UPDATE CASCADE,
    FOREIGN KEY (organization_id, lead_id) REFERENCES leads (organization_id, id)
        ON DELETE SET NULL (lead_id),
    FOREIGN KEY (organization_id, company_id) REFERENCES companies (organization_id, id)
        ON DELETE SET NULL (company_id),
    FOREIGN KEY (organization_id, partner_id) REFERENCES partners (organization_id, id)
        ON DELETE SET NULL (partner_id),
    FOREIGN KEY (organization_id, owner_id) REFERENCES users (organization_id, id),
    FOREIGN KEY (organization_id, created_by_id) REFERENCES users (organization_id, id)
);
-- Lists (`deals(orderBy:)`), the board's columns and the deals of a lead or company.
CREATE INDEX deals_by_creation ON deals (organization_id, created_at, id);
CREATE INDEX deals_by_update ON deals (organization_id, updated_at, id);
CREATE INDEX deals_by_value ON deals (organization_id, value, id);
CREATE INDEX deals_by_close ON deals (organization_id, expected_close_date, id);
CREATE INDEX deals_by_title ON deals (organization_id, title, id);
-- The board's columns: the most valuable first.
CREATE INDEX deals_in_stage_by_value
    ON deals (organization_id, stage_id, value DESC NULLS LAST, id DESC);
CREATE INDEX deals_in_stage_by_close ON deals (organization_id, stage_id, expected_close_date, id);
CREATE INDEX deals_of_lead ON deals (organization_id, lead_id, created_at, id);
CREATE INDEX deals_of_company ON deals (organization_id, company_id, created_at, id);
CREATE INDEX deals_of_partner ON deals (organization_id, partner_id);
CREATE INDEX deals_of_owner ON deals (organization_id, owner_id);

CREATE TABLE deal_stage_changes (
    organization_id  uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    deal_id          uuid NOT NULL,
    -- Null: the deal was created in `to_stage_id`, or the stage it left was deleted since.
    from_stage_id    uuid,
    -- Null once the stage is deleted.
    to_stage_id      uuid,
    -- Null when no user acted.
    changed_by_id    uuid,
    -- How long the deal sat in the stage it left; null at creation.
    seconds_in_previous_stage bigint CHECK (seconds_in_previous_stage >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, deal_id) REFERENCES deals (organization_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (organization_id, from_stage_id) REFERENCES pipeline_stages (organization_id, id)
        ON DELETE SET NULL (from_stage_id),
    FOREIGN KEY (organization_id, to_stage_id) REFERENCES pipeline_stages (organization_id, id)
        ON DELETE SET NULL (to_stage_id),
    FOREIGN KEY (organization_id, changed_by_id) REFERENCES users (organization_id, id)
);
CREATE INDEX deal_stage_changes_by_deal
    ON deal_stage_changes (organization_id, deal_id, created_at, id);
CREATE INDEX deal_stage_changes_from ON deal_stage_changes (organization_id, from_stage_id);
CREATE INDEX deal_stage_changes_to ON deal_stage_changes (organization_id, to_stage_id);
"#;

const TRIGGERS: &str = r#"
-- A deal's clock in its stage, and its close time while won or lost.
CREATE FUNCTION deals_track_stage() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.stage_entered_at := now();
        NEW.closed_at := CASE WHEN NEW.status <> 'open' THEN now() END;
        RETURN NEW;
    END IF;
    IF NEW.stage_id IS DISTINCT FROM OLD.stage_id THEN
        NEW.stage_entered_at := now();
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        NEW.closed_at := CASE WHEN NEW.status <> 'open' THEN now() END;
    END IF;
    IF NEW.status = 'open' THEN
        NEW.close_reason := NULL;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER deals_track_stage BEFORE INSERT OR UPDATE OF stage_id, status ON deals
    FOR EACH ROW EXECUTE FUNCTION deals_track_stage();

CREATE FUNCTION record_deal_stage_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO deal_stage_changes
        (organization_id, deal_id, from_stage_id, to_stage_id, changed_by_id,
         seconds_in_previous_stage)
    VALUES (
        NEW.organization_id,
        NEW.id,
        CASE WHEN TG_OP = 'UPDATE' THEN OLD.stage_id END,
        NEW.stage_id,
        nullif(current_setting('app.current_user_id', true), '')::uuid,
        CASE WHEN TG_OP = 'UPDATE'
             THEN floor(extract(epoch FROM NEW.stage_entered_at - OLD.stage_entered_at))::bigint
        END
    );
    RETURN NULL;
END $$;
CREATE TRIGGER deals_stage_entered AFTER INSERT ON deals
    FOR EACH ROW EXECUTE FUNCTION record_deal_stage_change();
CREATE TRIGGER deals_stage_moved AFTER UPDATE OF stage_id ON deals
    FOR EACH ROW WHEN (OLD.stage_id IS DISTINCT FROM NEW.stage_id)
    EXECUTE FUNCTION record_deal_stage_change();

-- The pipeline every organization starts with: a security assessment's sale.
CREATE FUNCTION default_pipeline_stages()
RETURNS TABLE (stage_name text, stage_position integer, stage_win_probability integer,
               stage_kind text)
LANGUAGE sql IMMUTABLE AS $$
    VALUES ('Discovery', 0, 10, 'open'),
           ('Scoping', 1, 25, 'open'),
           ('Proposal', 2, 50, 'open'),
           ('Negotiation', 3, 75, 'open'),
           ('Won', 4, 100, 'won'),
           ('Lost', 5, 0, 'lost')
$$;

-- As the creating transaction (its tenant is the new organization), not as the owner.
CREATE FUNCTION create_default_pipeline() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO pipeline_stages (organization_id, name, position, win_probability, kind)
    SELECT NEW.id, s.stage_name, s.stage_position, s.stage_win_probability, s.stage_kind FROM default_pipeline_stages() s;
    RETURN NULL;
END $$;
CREATE TRIGGER organizations_default_pipeline AFTER INSERT ON organizations
    FOR EACH ROW EXECUTE FUNCTION create_default_pipeline();

ALTER TABLE organizations NO FORCE ROW LEVEL SECURITY;
INSERT INTO pipeline_stages (organization_id, name, position, win_probability, kind)
SELECT o.id, s.stage_name, s.stage_position, s.stage_win_probability, s.stage_kind
FROM organizations o CROSS JOIN default_pipeline_stages() s;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
"#;

const EVENTS: &str = r#"
ALTER TABLE events DROP CONSTRAINT events_subject_type_check;
ALTER TABLE events ADD CONSTRAINT events_subject_type_check
    CHECK (subject_type IN ('lead', 'company', 'deal'));
ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind IN
    ('created', 'updated', 'status_changed', 'assigned', 'scored', 'deleted', 'restored',
     'note_added', 'activity_logged', 'stage_changed'));
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_subject_types_check;
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_subject_types_check
    CHECK (subject_types <@ ARRAY['lead', 'company', 'deal']);
"#;

const DEAL_EVENT_KINDS: &str = r#"{"stage_id": "stage_changed", "stage_entered_at": "stage_changed", "status": "status_changed", "closed_at": "status_changed", "close_reason": "status_changed", "owner_id": "assigned"}"#;

// The owner is under the tenant policies (FORCE); this cleanup is across tenants.
const UNDO: &str = r#"
ALTER TABLE events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoints NO FORCE ROW LEVEL SECURITY;
DELETE FROM events WHERE subject_type = 'deal' OR kind = 'stage_changed';
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_subject_types_check;
UPDATE webhook_endpoints SET subject_types = array_remove(subject_types, 'deal');
ALTER TABLE events FORCE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoints FORCE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_subject_types_check
    CHECK (subject_types <@ ARRAY['lead', 'company']);
ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind IN
    ('created', 'updated', 'status_changed', 'assigned', 'scored', 'deleted', 'restored',
     'note_added', 'activity_logged'));
ALTER TABLE events DROP CONSTRAINT events_subject_type_check;
ALTER TABLE events ADD CONSTRAINT events_subject_type_check
    CHECK (subject_type IN ('lead', 'company'));
DROP TRIGGER organizations_default_pipeline ON organizations;
DROP FUNCTION create_default_pipeline();
DROP FUNCTION default_pipeline_stages();
DROP TABLE deal_stage_changes;
DROP TABLE deals;
DROP FUNCTION record_deal_stage_change();
DROP FUNCTION deals_track_stage();
DROP TABLE partners;
DROP TABLE pipeline_stages;
"#;

fn up() -> String {
    let policies = [
        TenantTable::new("pipeline_stages", "SELECT, INSERT, UPDATE, DELETE").sql(),
        TenantTable::new("partners", "SELECT, INSERT, UPDATE, DELETE").sql(),
        TenantTable::new("deals", "SELECT, INSERT, UPDATE, DELETE").sql(),
        // Written by the trigger only, as the acting transaction.
        TenantTable::new("deal_stage_changes", "SELECT, INSERT")
            .without_updated_at()
            .sql(),
    ]
    .join("\n");
    format!(
        "{TABLES}\n{TRIGGERS}\n{policies}\n{EVENTS}\n{}",
        evented_table("deals", "deal", DEAL_EVENT_KINDS)
    )
}

script_migration!(&up(), UNDO);
