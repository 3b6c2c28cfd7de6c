//! The only ways around RLS: three narrow SECURITY DEFINER functions for the lookups that must
//! happen before the organization is known (login, API key, refresh-token rotation). They
//! belong to the `leadgraph_auth` role (BYPASSRLS, NOLOGIN, owns nothing else), run with a fixed
//! search_path, return only what authentication needs, and only the app role may call them.

use sea_orm_migration::prelude::*;

use crate::{cross_tenant_functions, roles, run_sql};

#[derive(DeriveMigrationName)]
pub struct Migration;

const FUNCTIONS: &str = r#"
-- Login: the candidate user for an organization slug and e-mail. The password is verified by
-- the server (argon2id), which also spends the same time when no user is found.
CREATE FUNCTION auth_login_candidate(p_slug text, p_email text)
RETURNS TABLE (organization_id uuid, user_id uuid, password_hash text, is_active boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT u.organization_id, u.id, u.password_hash, u.is_active
    FROM public.organizations o
    JOIN public.users u ON u.organization_id = o.id
    WHERE o.slug = p_slug AND u.email = lower(p_email)
$$;

-- API key: returns the key's tenant, id, acting user and scopes when prefix and hash match a
-- live key, and records the use. Returns no row otherwise.
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

-- Refresh-token rotation. Outcomes: 'ok' (old token marked rotated, new one stored in the same
-- family), 'invalid', 'expired', 'revoked', 'inactive' (user deactivated), and 'reused': a
-- token that was already rotated was presented again, so the whole family is revoked.
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

const SIGNATURES: [&str; 3] = [
    "auth_login_candidate(text, text)",
    "auth_api_key(text, bytea)",
    "auth_rotate_refresh_token(bytea, bytea, timestamptz)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let auth = roles::AUTH;
        let sql = format!(
            r#"
GRANT SELECT ON organizations, users TO {auth};
GRANT SELECT, UPDATE ON api_keys TO {auth};
GRANT SELECT, INSERT, UPDATE ON refresh_tokens TO {auth};
{FUNCTIONS}
{}"#,
            cross_tenant_functions(&SIGNATURES)
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let auth = roles::AUTH;
        let drops: String = SIGNATURES
            .iter()
            .map(|f| format!("DROP FUNCTION {f};\n"))
            .collect();
        run_sql(
            manager,
            &format!(
                "{drops}REVOKE ALL ON organizations, users, api_keys, refresh_tokens FROM {auth};"
            ),
        )
        .await
    }
}
