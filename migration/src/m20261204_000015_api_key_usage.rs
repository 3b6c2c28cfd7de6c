//! The API-key lookup only reads: the server counts a key's uses in memory and writes them
//! every few seconds (`src/auth/usage.rs`), instead of an UPDATE of the key's row (and a WAL
//! flush) on every request. Same signature, owner and grants.

use sea_orm_migration::prelude::*;

use crate::script_migration;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQL: &str = r#"
CREATE OR REPLACE FUNCTION auth_api_key(p_prefix text, p_key text)
RETURNS TABLE (organization_id uuid, api_key_id uuid, user_id uuid, scopes text[],
               rate_limit_per_hour integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT k.organization_id, k.id, k.created_by, k.scopes, k.rate_limit_per_hour
    FROM public.api_keys k
    WHERE k.prefix = p_prefix
      AND k.key_hash = sha256(convert_to(p_key, 'UTF8'))
      AND k.revoked_at IS NULL
      AND (k.expires_at IS NULL OR k.expires_at > now())
$$;
"#;

const UNDO: &str = r#"
CREATE OR REPLACE FUNCTION auth_api_key(p_prefix text, p_key text)
RETURNS TABLE (organization_id uuid, api_key_id uuid, user_id uuid, scopes text[],
               rate_limit_per_hour integer)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE public.api_keys k
    SET usage_count = k.usage_count + 1, last_used_at = now()
    WHERE k.prefix = p_prefix
      AND k.key_hash = sha256(convert_to(p_key, 'UTF8'))
      AND k.revoked_at IS NULL
      AND (k.expires_at IS NULL OR k.expires_at > now())
    RETURNING k.organization_id, k.id, k.created_by, k.scopes, k.rate_limit_per_hour
$$;
"#;

script_migration!(SQL, UNDO);
