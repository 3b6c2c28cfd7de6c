//! Every assignment of a lead is kept (`lead.assignmentHistory`): from whom, to whom, by whom,
//! why and when. A row trigger on `leads` writes it, so no path that assigns a lead (the API,
//! a worker, an import, auto-assignment) can forget to. "By" is the transaction's user; the
//! reason, when the assigning service gives one, the transaction-local `app.assignment_reason`.

use sea_orm_migration::prelude::*;

use crate::{rls::TenantTable, script_migration};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = r#"
CREATE TABLE lead_assignments (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    lead_id         uuid NOT NULL,
    -- Null: the lead was unassigned before (from) or is unassigned now (to).
    from_user_id    uuid,
    to_user_id      uuid,
    -- Null when no user acted (the server's own work).
    assigned_by_id  uuid,
    reason          text CHECK (char_length(reason) BETWEEN 1 AND 500),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, lead_id) REFERENCES leads (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, from_user_id) REFERENCES users (organization_id, id),
    FOREIGN KEY (organization_id, to_user_id) REFERENCES users (organization_id, id),
    FOREIGN KEY (organization_id, assigned_by_id) REFERENCES users (organization_id, id)
);
CREATE INDEX lead_assignments_by_lead ON lead_assignments (organization_id, lead_id, created_at, id);

CREATE FUNCTION record_lead_assignment() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO lead_assignments
        (organization_id, lead_id, from_user_id, to_user_id, assigned_by_id, reason)
    VALUES (
        NEW.organization_id,
        NEW.id,
        CASE WHEN TG_OP = 'UPDATE' THEN OLD.assigned_to_id END,
        NEW.assigned_to_id,
        nullif(current_setting('app.current_user_id', true), '')::uuid,
        nullif(current_setting('app.assignment_reason', true), '')
    );
    RETURN NULL;
END $$;

CREATE TRIGGER leads_assigned AFTER INSERT ON leads
    FOR EACH ROW WHEN (NEW.assigned_to_id IS NOT NULL)
    EXECUTE FUNCTION record_lead_assignment();
CREATE TRIGGER leads_reassigned AFTER UPDATE OF assigned_to_id ON leads
    FOR EACH ROW WHEN (OLD.assigned_to_id IS DISTINCT FROM NEW.assigned_to_id)
    EXECUTE FUNCTION record_lead_assignment();
"#;

const UNDO: &str = r#"
DROP TRIGGER leads_assigned ON leads;
DROP TRIGGER leads_reassigned ON leads;
DROP FUNCTION record_lead_assignment();
DROP TABLE lead_assignments;
"#;

/// Written by the trigger only, as the acting transaction: no UPDATE or DELETE.
fn policies() -> String {
    TenantTable::new("lead_assignments", "SELECT, INSERT")
        .without_updated_at()
        .sql()
}

script_migration!(&format!("{TABLE}\n{}", policies()), UNDO);
