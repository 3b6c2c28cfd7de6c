//! An index `(organization_id, column, id)` for every ordering a list offers that had none:
//! companies by creation and by Fortune rank, users and webhook endpoints by creation. The
//! list-ordering test holds every declared ordering to such an index.

use sea_orm_migration::prelude::*;

use crate::script_migration;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQL: &str = r#"
CREATE INDEX companies_by_created ON companies (organization_id, created_at, id);
CREATE INDEX companies_by_fortune_rank ON companies (organization_id, fortune_rank, id);
CREATE INDEX users_listing ON users (organization_id, created_at, id);
CREATE INDEX webhook_endpoints_listing ON webhook_endpoints (organization_id, created_at, id);
"#;

const UNDO: &str = r#"
DROP INDEX companies_by_created;
DROP INDEX companies_by_fortune_rank;
DROP INDEX users_listing;
DROP INDEX webhook_endpoints_listing;
"#;

script_migration!(SQL, UNDO);
