//! The operators' webhook backlog metric: how many deliveries are due and not yet made, across
//! organizations. A count only, through one SECURITY DEFINER function.

use sea_orm_migration::prelude::*;

use crate::{cross_tenant_functions, run_sql};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQL: &str = r#"
CREATE FUNCTION webhook_backlog() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT count(*) FROM public.webhook_deliveries d
    WHERE d.status = 'pending' AND d.next_attempt_at <= now()
$$;
"#;

const SIGNATURES: [&str; 1] = ["webhook_backlog()"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            &format!("{SQL}\n{}", cross_tenant_functions(&SIGNATURES)),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(manager, "DROP FUNCTION webhook_backlog();").await
    }
}
