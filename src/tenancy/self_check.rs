//! Start-up self-check (ARCHITECTURE.md, rule 3): refuse to serve when the database would not
//! enforce tenant isolation for this connection.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};

#[derive(Debug, thiserror::Error)]
pub enum SelfCheckError {
    #[error(
        "refusing to serve: the database role {0:?} is a superuser, which bypasses Row Level \
         Security; connect as leadgraph_app (see README)"
    )]
    Superuser(String),
    #[error(
        "refusing to serve: the database role {0:?} has BYPASSRLS, which bypasses Row Level \
         Security; connect as leadgraph_app (see README)"
    )]
    BypassRls(String),
    #[error(
        "refusing to serve: the database role {role:?} owns or can act as the owner of table \
         {table:?}, and could switch its Row Level Security off"
    )]
    OwnsTable { role: String, table: String },
    #[error("refusing to serve: table {0:?} does not have Row Level Security enabled")]
    RlsDisabled(String),
    #[error(
        "refusing to serve: table {0:?} has Row Level Security enabled but not forced \
         (ALTER TABLE ... FORCE ROW LEVEL SECURITY)"
    )]
    RlsNotForced(String),
    #[error("refusing to serve: no tenant tables found; has `leadgraph migrate up` run?")]
    NoTenantTables,
    #[error("refusing to serve: migrations pending: {0}; run `leadgraph migrate up`")]
    PendingMigrations(String),
    #[error("self-check could not query the database: {0}")]
    Db(#[from] DbErr),
}

/// Checks the connected role and every tenant table: the organizations table and every table
/// with an `organization_id` column.
pub async fn self_check(db: &DatabaseConnection) -> Result<(), SelfCheckError> {
    let backend = db.get_database_backend();
    let role = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT rolname::text, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("current role not found in pg_roles".into()))?;
    let (name, superuser, bypass): (String, bool, bool) = (
        role.try_get_by_index(0)?,
        role.try_get_by_index(1)?,
        role.try_get_by_index(2)?,
    );
    if superuser {
        return Err(SelfCheckError::Superuser(name));
    }
    if bypass {
        return Err(SelfCheckError::BypassRls(name));
    }

    let tables = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity,
                    pg_has_role(current_user, c.relowner, 'USAGE')
             FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace
               AND c.relkind IN ('r', 'p')
               AND (c.relname = 'organizations' OR EXISTS (
                    SELECT 1 FROM pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attname = 'organization_id'
                      AND NOT a.attisdropped))
             ORDER BY c.relname",
        ))
        .await?;
    if tables.is_empty() {
        return Err(SelfCheckError::NoTenantTables);
    }
    for row in tables {
        let table: String = row.try_get_by_index(0)?;
        if row.try_get_by_index::<bool>(3)? {
            return Err(SelfCheckError::OwnsTable { role: name, table });
        }
        if !row.try_get_by_index::<bool>(1)? {
            return Err(SelfCheckError::RlsDisabled(table));
        }
        if !row.try_get_by_index::<bool>(2)? {
            return Err(SelfCheckError::RlsNotForced(table));
        }
    }

    let pending = crate::db::pending_migrations(db).await?;
    if !pending.is_empty() {
        return Err(SelfCheckError::PendingMigrations(pending.join(", ")));
    }
    Ok(())
}
