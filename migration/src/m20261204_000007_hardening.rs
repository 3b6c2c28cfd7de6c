//! Defence in depth, from a review of the schema as the app role (issue 10, section 5):
//!
//! - retention cannot be shortened by the caller of `prune_lead_events`;
//! - only a note's author may change or delete it;
//! - a webhook delivery cannot name another tenant's lead (composite foreign key);
//! - every index a tenant query can reach leads with organization_id (`btree_gin` lets the
//!   trigram and array indexes do so); the three left as they are serve cross-tenant lookups
//!   that only SECURITY DEFINER functions make;
//! - the pre-authentication functions take the presented secret and hash it themselves;
//! - no SECURITY DEFINER function is executable by PUBLIC;
//! - lead search is index-backed for the app role (`lead_search_ids`, see `SEARCH`).

use sea_orm_migration::prelude::*;

use crate::{cross_tenant_functions, roles, run_sql};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Retention: `prune_lead_events` refuses to keep less than a day, the least
/// `EVENT_RETENTION_DAYS` allows, so only a caller that is not the configured server asks for
/// less. Same function otherwise (CREATE OR REPLACE keeps its owner and grants).
const PRUNE: &str = r#"
CREATE OR REPLACE FUNCTION prune_lead_events(p_keep interval) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    removed bigint;
BEGIN
    -- The app role calls this across tenants: it must not be able to empty every log.
    IF p_keep IS NULL OR p_keep < interval '1 day' THEN
        RAISE EXCEPTION 'lead event retention must be at least 1 day, not %', p_keep
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Each tenant loses a prefix of its log (up to its newest expired position), so what is
    -- kept stays dense.
    WITH cut AS (
        SELECT e.organization_id, max(e.position) AS through
        FROM public.lead_events e WHERE e.occurred_at < now() - p_keep
        GROUP BY e.organization_id
    ), gone AS (
        DELETE FROM public.lead_events e USING cut c
        WHERE e.organization_id = c.organization_id AND e.position <= c.through
        RETURNING 1
    ), recorded AS (
        UPDATE public.lead_event_streams s
        SET pruned_through = greatest(s.pruned_through, c.through)
        FROM cut c WHERE s.organization_id = c.organization_id
    )
    SELECT count(*) INTO removed FROM gone;
    RETURN removed;
END
$$;
"#;

const NOTES_AND_DELIVERIES: &str = r#"
-- A colleague may read a public note, not rewrite or delete it (nor take it over by setting
-- author_id: the new row must name the caller too).
ALTER POLICY lead_notes_update ON lead_notes
    USING (organization_id = current_organization_id() AND (author_id = current_user_id()))
    WITH CHECK (organization_id = current_organization_id() AND (author_id = current_user_id()));
ALTER POLICY lead_notes_delete ON lead_notes
    USING (organization_id = current_organization_id() AND (author_id = current_user_id()));

-- A delivery names the lead of its event; like the event, it goes with the lead (leads are
-- soft-deleted: only an organization's deletion removes them).
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_lead_fkey
    FOREIGN KEY (organization_id, lead_id) REFERENCES leads (organization_id, id)
    ON DELETE CASCADE;
"#;

const UNDO_NOTES_AND_DELIVERIES: &str = r#"
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_lead_fkey;
ALTER POLICY lead_notes_update ON lead_notes
    USING (organization_id = current_organization_id()
           AND (NOT is_private OR author_id = current_user_id()))
    WITH CHECK (organization_id = current_organization_id() AND (author_id = current_user_id()));
ALTER POLICY lead_notes_delete ON lead_notes
    USING (organization_id = current_organization_id()
           AND (NOT is_private OR author_id = current_user_id()));
"#;

const INDEXES: &str = r#"
-- Tenant-led GIN indexes: btree_gin indexes the uuid column next to the trigrams or array
-- elements, so a search reads the tenant's entries only (and EXPLAIN ANALYZE shows no other
-- tenant's row counts). Trusted extension: the owner creates it, as pg_trgm. (Under RLS a
-- query's `LIKE` or `&&` never becomes an index condition, not being LEAKPROOF: the app role's
-- search goes through lead_search_ids, below.)
CREATE EXTENSION IF NOT EXISTS btree_gin;
DROP INDEX companies_name_search;
CREATE INDEX companies_name_search ON companies
    USING gin (organization_id, lower(name) gin_trgm_ops);
DROP INDEX leads_tags;
CREATE INDEX leads_tags ON leads USING gin (organization_id, tags);
DROP INDEX leads_search;
CREATE INDEX leads_search ON leads
    USING gin (organization_id, lower(first_name || ' ' || last_name || ' ' || email) gin_trgm_ops);

-- The worker claims a tenant's due deliveries in that tenant's transaction;
-- webhook_tenants_with_work reads the whole (pending-only) index.
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (organization_id, next_attempt_at)
    WHERE status = 'pending';

-- Kept cross-tenant on purpose: only a SECURITY DEFINER function looks these up without the
-- tenant (tenant queries use the (organization_id, ...) unique constraints).
COMMENT ON INDEX refresh_tokens_token_hash IS
    'Cross-tenant on purpose: used only by auth_rotate_refresh_token (SECURITY DEFINER).';
COMMENT ON INDEX api_keys_prefix IS
    'Cross-tenant on purpose: used only by auth_api_key (SECURITY DEFINER).';
COMMENT ON INDEX lead_events_by_time IS
    'Cross-tenant on purpose: used only by prune_lead_events (SECURITY DEFINER).';

-- Trigger functions fire whatever EXECUTE says; nobody needs to call them directly.
REVOKE EXECUTE ON FUNCTION lock_lead_event_stream(), lead_events_on_lead_insert(),
    lead_events_on_lead_update(), lead_events_on_activity_insert(),
    lead_events_on_note_insert() FROM PUBLIC;
"#;

/// btree_gin stays on the way down (harmless).
const UNDO_INDEXES: &str = r#"
GRANT EXECUTE ON FUNCTION lock_lead_event_stream(), lead_events_on_lead_insert(),
    lead_events_on_lead_update(), lead_events_on_activity_insert(),
    lead_events_on_note_insert() TO PUBLIC;
COMMENT ON INDEX refresh_tokens_token_hash IS NULL;
COMMENT ON INDEX api_keys_prefix IS NULL;
COMMENT ON INDEX lead_events_by_time IS NULL;
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
DROP INDEX leads_search, leads_tags, companies_name_search;
CREATE INDEX leads_search ON leads
    USING gin (lower(first_name || ' ' || last_name || ' ' || email) gin_trgm_ops);
CREATE INDEX leads_tags ON leads USING gin (tags);
CREATE INDEX companies_name_search ON companies USING gin (lower(name) gin_trgm_ops);
"#;

/// The pre-authentication functions, now given the presented secrets: the hash (SHA-256 of
/// the UTF-8 bytes, as `auth::sha256` stores it) is computed here, so a caller that only
/// knows a stored hash (a leaked backup, a log) cannot present it.
const AUTH_FUNCTIONS: &str = r#"
DROP FUNCTION auth_api_key(text, bytea);
DROP FUNCTION auth_rotate_refresh_token(bytea, bytea, timestamptz);

-- API key: returns the key's tenant, id, acting user and scopes when prefix and key match a
-- live key, and records the use. Returns no row otherwise.
CREATE FUNCTION auth_api_key(p_prefix text, p_key text)
RETURNS TABLE (organization_id uuid, api_key_id uuid, user_id uuid, scopes text[])
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE public.api_keys k
    SET usage_count = k.usage_count + 1, last_used_at = now()
    WHERE k.prefix = p_prefix
      AND k.key_hash = sha256(convert_to(p_key, 'UTF8'))
      AND k.revoked_at IS NULL
      AND (k.expires_at IS NULL OR k.expires_at > now())
    RETURNING k.organization_id, k.id, k.created_by, k.scopes
$$;

-- Refresh-token rotation. Outcomes: 'ok' (old token marked rotated, new one stored in the same
-- family), 'invalid', 'expired', 'revoked', 'inactive' (user deactivated), and 'reused': a
-- token that was already rotated was presented again, so the whole family is revoked.
CREATE FUNCTION auth_rotate_refresh_token(
    p_token text, p_new_token text, p_new_expires_at timestamptz)
RETURNS TABLE (outcome text, organization_id uuid, user_id uuid, family_id uuid)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    t public.refresh_tokens;
    active boolean;
BEGIN
    SELECT * INTO t FROM public.refresh_tokens r
    WHERE r.token_hash = sha256(convert_to(p_token, 'UTF8')) FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'invalid'::text, NULL::uuid, NULL::uuid, NULL::uuid;
        RETURN;
    END IF;
    IF t.revoked_at IS NOT NULL THEN
        RETURN QUERY SELECT 'revoked'::text, t.organization_id, t.user_id, t.family_id;
        RETURN;
    END IF;
    IF t.rotated_at IS NOT NULL THEN
        UPDATE public.refresh_tokens r SET revoked_at = now()
        WHERE r.organization_id = t.organization_id AND r.family_id = t.family_id
          AND r.revoked_at IS NULL;
        RETURN QUERY SELECT 'reused'::text, t.organization_id, t.user_id, t.family_id;
        RETURN;
    END IF;
    IF t.expires_at <= now() THEN
        RETURN QUERY SELECT 'expired'::text, t.organization_id, t.user_id, t.family_id;
        RETURN;
    END IF;
    SELECT u.is_active INTO active FROM public.users u
    WHERE u.organization_id = t.organization_id AND u.id = t.user_id;
    IF NOT coalesce(active, false) THEN
        RETURN QUERY SELECT 'inactive'::text, t.organization_id, t.user_id, t.family_id;
        RETURN;
    END IF;
    UPDATE public.refresh_tokens r SET rotated_at = now()
    WHERE r.organization_id = t.organization_id AND r.id = t.id;
    INSERT INTO public.refresh_tokens (organization_id, user_id, family_id, token_hash, expires_at)
    VALUES (t.organization_id, t.user_id, t.family_id, sha256(convert_to(p_new_token, 'UTF8')),
            p_new_expires_at);
    RETURN QUERY SELECT 'ok'::text, t.organization_id, t.user_id, t.family_id;
END
$$;
"#;

/// The hash-taking versions, as m20261121_000004_auth_functions made them.
const UNDO_AUTH_FUNCTIONS: &str = r#"
DROP FUNCTION auth_api_key(text, text);
DROP FUNCTION auth_rotate_refresh_token(text, text, timestamptz);
CREATE FUNCTION auth_api_key(p_prefix text, p_key_hash bytea)
RETURNS TABLE (organization_id uuid, api_key_id uuid, user_id uuid, scopes text[])
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE public.api_keys k
    SET usage_count = k.usage_count + 1, last_used_at = now()
    WHERE k.prefix = p_prefix
      AND k.key_hash = p_key_hash
      AND k.revoked_at IS NULL
      AND (k.expires_at IS NULL OR k.expires_at > now())
    RETURNING k.organization_id, k.id, k.created_by, k.scopes
$$;
CREATE FUNCTION auth_rotate_refresh_token(
    p_token_hash bytea, p_new_token_hash bytea, p_new_expires_at timestamptz)
RETURNS TABLE (outcome text, organization_id uuid, user_id uuid, family_id uuid)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    t public.refresh_tokens;
    active boolean;
BEGIN
    SELECT * INTO t FROM public.refresh_tokens r WHERE r.token_hash = p_token_hash FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'invalid'::text, NULL::uuid, NULL::uuid, NULL::uuid;
        RETURN;
    END IF;
    IF t.revoked_at IS NOT NULL THEN
        RETURN QUERY SELECT 'revoked'::text, t.organization_id, t.user_id, t.family_id;
        RETURN;
    END IF;
    IF t.rotated_at IS NOT NULL THEN
        UPDATE public.refresh_tokens r SET revoked_at = now()
        WHERE r.organization_id = t.organization_id AND r.family_id = t.family_id
          AND r.revoked_at IS NULL;
        RETURN QUERY SELECT 'reused'::text, t.organization_id, t.user_id, t.family_id;
        RETURN;
    END IF;
    IF t.expires_at <= now() THEN
        RETURN QUERY SELECT 'expired'::text, t.organization_id, t.user_id, t.family_id;
        RETURN;
    END IF;
    SELECT u.is_active INTO active FROM public.users u
    WHERE u.organization_id = t.organization_id AND u.id = t.user_id;
    IF NOT coalesce(active, false) THEN
        RETURN QUERY SELECT 'inactive'::text, t.organization_id, t.user_id, t.family_id;
        RETURN;
    END IF;
    UPDATE public.refresh_tokens r SET rotated_at = now()
    WHERE r.organization_id = t.organization_id AND r.id = t.id;
    INSERT INTO public.refresh_tokens (organization_id, user_id, family_id, token_hash, expires_at)
    VALUES (t.organization_id, t.user_id, t.family_id, p_new_token_hash, p_new_expires_at);
    RETURN QUERY SELECT 'ok'::text, t.organization_id, t.user_id, t.family_id;
END
$$;
"#;

/// Lead search, index-backed. Under Row Level Security the planner may use a condition of the
/// query as an index condition only when its functions are LEAKPROOF (otherwise it could see
/// rows the policies hide): `LIKE`, `lower` and `||` are not, so for the app role the trigram
/// indexes can never serve a search, and a search that matches nothing reads the whole tenant.
/// This function runs as the BYPASSRLS role, where the indexes work, and is no wider than the
/// policies: it reads the tenant from the same setting they do (`current_organization_id()`,
/// NULL: no rows) and returns only ids, which the caller's query (under RLS) turns into rows.
/// The policies on leads and companies are tenant-only; if one ever adds a condition (e.g. per
/// user), this function must add it too.
///
/// `p_pattern`: a `LIKE` pattern over lower-case text; `p_deleted`: search the trash instead of
/// live leads. One branch per part matched, each an index scan led by organization_id: name and
/// e-mail (`leads_search`), company name (`companies_name_search`, then `leads_by_company` for
/// live leads, `leads_deleted` for the trash). The statement is planned at each call with the
/// values (`EXECUTE ... USING`): a generic plan would guess the tenant's size from the average
/// one and, for a large tenant among many small ones, read it whole with `LIKE` as a filter.
/// `ROWS 10` (a search usually finds few) makes the caller's plan start from the matches and
/// fetch them by primary key, whatever the tenant's size, rather than scan the tenant's leads
/// to join them. Tests explain the statement between the `$q$` quotes.
const SEARCH: &str = r#"
CREATE FUNCTION lead_search_ids(p_pattern text, p_deleted boolean) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
ROWS 10
AS $fn$
BEGIN
    RETURN QUERY EXECUTE $q$
        SELECT l.id FROM public.leads l
        WHERE l.organization_id = $1
          AND lower(l.first_name || ' ' || l.last_name || ' ' || l.email) LIKE $2
          AND (l.deleted_at IS NOT NULL) = $3
        UNION
        SELECT l.id FROM public.leads l
        WHERE NOT $3 AND l.deleted_at IS NULL AND l.organization_id = $1
          AND l.company_id IN (SELECT c.id FROM public.companies c
                               WHERE c.organization_id = $1 AND lower(c.name) LIKE $2)
        UNION
        SELECT l.id FROM public.leads l
        WHERE $3 AND l.deleted_at IS NOT NULL AND l.organization_id = $1
          AND l.company_id IN (SELECT c.id FROM public.companies c
                               WHERE c.organization_id = $1 AND lower(c.name) LIKE $2)
    $q$ USING public.current_organization_id(), p_pattern, p_deleted;
END
$fn$;
"#;

/// The BYPASSRLS functions as of this migration (a migration must not follow the growing
/// `BYPASSRLS_FUNCTIONS` list: later migrations add functions that do not exist yet here).
const DEFINER_FUNCTIONS: [&str; 6] = [
    "auth_login_candidate(text, text)",
    "auth_api_key(text, text)",
    "auth_rotate_refresh_token(text, text, timestamptz)",
    "prune_lead_events(interval)",
    "webhook_tenants_with_work(integer)",
    "lead_search_ids(text, boolean)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let auth = roles::AUTH;
        let sql = format!(
            "{PRUNE}\n{NOTES_AND_DELIVERIES}\n{INDEXES}\n{AUTH_FUNCTIONS}\n\
             GRANT SELECT ON leads, companies TO {auth};\n{SEARCH}\n{}",
            cross_tenant_functions(&DEFINER_FUNCTIONS)
        );
        run_sql(manager, &sql).await
    }

    /// Keeps the retention floor: it refuses only what the configured server never asks for.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let auth = roles::AUTH;
        let old_signatures = [
            "auth_api_key(text, bytea)",
            "auth_rotate_refresh_token(bytea, bytea, timestamptz)",
        ];
        let sql = format!(
            "DROP FUNCTION lead_search_ids(text, boolean);\n\
             REVOKE SELECT ON leads, companies FROM {auth};\n\
             {UNDO_AUTH_FUNCTIONS}\n{}\n{UNDO_INDEXES}\n{UNDO_NOTES_AND_DELIVERIES}",
            cross_tenant_functions(&old_signatures)
        );
        run_sql(manager, &sql).await
    }
}
