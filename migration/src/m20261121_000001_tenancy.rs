//! The tenancy primitives every policy uses: the current organization and user, read from
//! transaction-local settings, NULL (no rows) when unset.

use sea_orm_migration::prelude::*;

use crate::{roles, run_sql};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let app = roles::APP;
        run_sql(
            manager,
            &format!(
                r#"
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- nullif: a pooled connection that once ran SET LOCAL reads the setting back as '' afterwards.
CREATE FUNCTION current_organization_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.current_organization_id', true), '')::uuid $$;

CREATE FUNCTION current_user_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.current_user_id', true), '')::uuid $$;

CREATE FUNCTION set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;

GRANT USAGE ON SCHEMA public TO {app};
-- The server checks at start-up that every migration has run (/readyz too).
GRANT SELECT ON seaql_migrations TO {app};
"#
            ),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP FUNCTION set_updated_at(); DROP FUNCTION current_user_id(); \
             DROP FUNCTION current_organization_id();",
        )
        .await
    }
}
