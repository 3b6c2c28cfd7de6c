//! Webhooks: endpoints an organization registers, one delivery row per (endpoint, event) and
//! one attempt row per HTTP try. The delivery worker schedules deliveries from the lead event
//! log (each endpoint keeps its own cursor), claims them with a lease under
//! `FOR UPDATE SKIP LOCKED` so replicas never deliver the same one concurrently, and records
//! every attempt. All of it is tenant-scoped; the only cross-tenant step is
//! `webhook_tenants_with_work`, which names the organizations that have something to do.

use sea_orm_migration::prelude::*;

use crate::{cross_tenant_functions, rls::TenantTable, roles, run_sql};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &str = r#"
CREATE TABLE webhook_endpoints (
    organization_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id                   uuid NOT NULL DEFAULT gen_random_uuid(),
    url                  text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2000),
    description          text CHECK (char_length(description) <= 500),
    -- Lead event kinds delivered; empty means every kind.
    event_kinds          text[] NOT NULL DEFAULT '{}',
    -- The HMAC key (whsec_...). Needed in clear to sign; shown to clients once, at creation.
    signing_secret       text NOT NULL,
    is_active            boolean NOT NULL DEFAULT true,
    -- 'failing' after repeated consecutive failures; back to 'healthy' on the next success.
    health               text NOT NULL DEFAULT 'healthy' CHECK (health IN ('healthy', 'failing')),
    consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    -- The last event position turned into deliveries for this endpoint.
    event_cursor         bigint NOT NULL DEFAULT 0 CHECK (event_cursor >= 0),
    created_by           uuid,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, created_by) REFERENCES users (organization_id, id)
);

CREATE TABLE webhook_deliveries (
    organization_id  uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    endpoint_id      uuid NOT NULL,
    event_position   bigint NOT NULL,
    event_kind       text NOT NULL,
    lead_id          uuid NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed')),
    attempt_count    integer NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    -- Claimed by a worker until then; an expired lease (a crashed worker) is claimed again.
    lease_until      timestamptz,
    last_status_code integer,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    UNIQUE (organization_id, endpoint_id, event_position),
    FOREIGN KEY (organization_id, endpoint_id)
        REFERENCES webhook_endpoints (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, event_position)
        REFERENCES lead_events (organization_id, position) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_by_endpoint
    ON webhook_deliveries (organization_id, endpoint_id, created_at, id);
-- The worker's queue, across tenants.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';

CREATE TABLE webhook_attempts (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    delivery_id     uuid NOT NULL,
    status_code     integer,
    error           text CHECK (char_length(error) <= 1000),
    duration_ms     integer NOT NULL CHECK (duration_ms >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, delivery_id)
        REFERENCES webhook_deliveries (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_attempts_by_delivery
    ON webhook_attempts (organization_id, delivery_id, created_at, id);
"#;

const WORK_FUNCTION: &str = r#"
-- The organizations whose webhooks have work: deliveries due, or active endpoints behind the
-- event log. Returns ids only; the work itself runs in each tenant's own transaction.
CREATE FUNCTION webhook_tenants_with_work(p_limit integer) RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT organization_id FROM (
        SELECT d.organization_id FROM public.webhook_deliveries d
        JOIN public.webhook_endpoints e
            ON e.organization_id = d.organization_id AND e.id = d.endpoint_id AND e.is_active
        WHERE d.status = 'pending' AND d.next_attempt_at <= now()
          AND (d.lease_until IS NULL OR d.lease_until < now())
        UNION
        SELECT e.organization_id FROM public.webhook_endpoints e
        JOIN public.lead_event_streams s ON s.organization_id = e.organization_id
        WHERE e.is_active AND e.event_cursor < s.head
    ) t
    LIMIT p_limit
$$;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let auth = roles::AUTH;
        let policies: String = [
            TenantTable::new("webhook_endpoints", "SELECT, INSERT, UPDATE, DELETE"),
            TenantTable::new("webhook_deliveries", "SELECT, INSERT, UPDATE"),
            TenantTable::new("webhook_attempts", "SELECT, INSERT").without_updated_at(),
        ]
        .iter()
        .map(TenantTable::sql)
        .collect();
        let ownership = format!(
            r#"
GRANT SELECT ON webhook_deliveries, webhook_endpoints TO {auth};
{}"#,
            cross_tenant_functions(&["webhook_tenants_with_work(integer)"])
        );
        run_sql(
            manager,
            &format!("{TABLES}\n{policies}\n{WORK_FUNCTION}\n{ownership}"),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP FUNCTION webhook_tenants_with_work(integer);
             DROP TABLE webhook_attempts, webhook_deliveries, webhook_endpoints;",
        )
        .await
    }
}
