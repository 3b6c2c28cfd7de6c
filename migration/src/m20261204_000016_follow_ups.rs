//! `myFollowUps`: the signed-in user's live leads with a follow-up due, soonest first, read as
//! one index range `(organization_id, assigned_to_id, next_follow_up_at, id)` whatever the
//! tenant's size.

use sea_orm_migration::prelude::*;

use crate::script_migration;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQL: &str = r#"
CREATE INDEX leads_follow_ups ON leads (organization_id, assigned_to_id, next_follow_up_at, id);
"#;

const UNDO: &str = r#"
DROP INDEX leads_follow_ups;
"#;

script_migration!(SQL, UNDO);
