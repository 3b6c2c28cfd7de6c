//! The principal check of every request as a function: it runs in the batch that opens the
//! request's transaction, which the simple protocol sends unprepared, so as a plain statement
//! PostgreSQL parsed and planned it (three tables under their policies) for every request; a
//! PL/pgSQL function's statement is planned once per connection. SECURITY INVOKER: the
//! policies apply, as the caller's settings (set just before, in the same batch) say.

use sea_orm_migration::prelude::*;

use crate::{roles, script_migration};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `request_principal_role`, created or replaced: `checks` find the role into `v_role` (NULL
/// when the principal does not hold); the function then sets it and returns it.
pub(crate) fn principal_function(checks: &str) -> String {
    format!(
        "CREATE OR REPLACE FUNCTION request_principal_role(
    p_organization uuid, p_user uuid, p_family uuid, p_api_key uuid
) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public, pg_temp
AS $$
DECLARE
    v_role text;
BEGIN
{checks}
    IF v_role IS NOT NULL THEN
        PERFORM set_config('app.current_user_role', v_role, true);
    END IF;
    RETURN v_role;
END
$$;
"
    )
}

/// The user's current role when the user is active and the session (refresh-token family) or
/// API key still holds (one statement); else NULL.
pub(crate) const JOINED: &str = r#"
    SELECT u.role INTO v_role
    FROM users u
    WHERE u.organization_id = p_organization AND u.id = p_user AND u.is_active
      AND (p_family IS NULL OR EXISTS (
          SELECT 1 FROM refresh_tokens r
          WHERE r.organization_id = u.organization_id AND r.family_id = p_family
            AND r.revoked_at IS NULL))
      AND (p_api_key IS NULL OR EXISTS (
          SELECT 1 FROM api_keys k
          WHERE k.organization_id = u.organization_id AND k.id = p_api_key
            AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())));
"#;

/// The function with `checks`, callable by the app role only.
pub(crate) fn granted_principal_function(checks: &str) -> String {
    format!(
        "{}REVOKE EXECUTE ON FUNCTION request_principal_role(uuid, uuid, uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION request_principal_role(uuid, uuid, uuid, uuid) TO {};",
        principal_function(checks),
        roles::APP
    )
}

pub(crate) const UNDO: &str = "DROP FUNCTION request_principal_role(uuid, uuid, uuid, uuid);";

script_migration!(&granted_principal_function(JOINED), UNDO);
