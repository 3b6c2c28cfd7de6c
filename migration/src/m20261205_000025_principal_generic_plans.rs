//! The principal check in statements whose plans do not depend on the values. In 000024 one
//! statement tested "no session family, or its family holds" (and the same for an API key):
//! with the values known PostgreSQL folds the absent half away, so it judged a plan kept for
//! every call (a generic plan) dearer than one made for the values, and planned the statement
//! anew on every request (38 µs of the check's 71 µs, measured with pg_stat_statements). Each
//! test is now a statement of its own, taken only when its value is given: their plans are kept.

use sea_orm_migration::prelude::*;

use crate::{
    m20261205_000024_request_principal::{JOINED, principal_function},
    script_migration,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

pub(crate) const SPLIT: &str = r#"
    SELECT u.role INTO v_role
    FROM users u
    WHERE u.organization_id = p_organization AND u.id = p_user AND u.is_active;
    IF v_role IS NOT NULL AND p_family IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM refresh_tokens r
        WHERE r.organization_id = p_organization AND r.family_id = p_family
          AND r.revoked_at IS NULL)
    THEN
        v_role := NULL;
    END IF;
    IF v_role IS NOT NULL AND p_api_key IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM api_keys k
        WHERE k.organization_id = p_organization AND k.id = p_api_key
          AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now()))
    THEN
        v_role := NULL;
    END IF;
"#;

script_migration!(&principal_function(SPLIT), &principal_function(JOINED));
