//! Start-up self-check (docs/architecture.md, rule 3): refuse to serve when the database would not
//! enforce tenant isolation for this connection.

use migration::{BYPASSRLS_FUNCTIONS, definer_search_path, roles};
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
    #[error(
        "refusing to serve: the database role {role:?} is a member of {privileged:?}, a \
         superuser or BYPASSRLS role, and could SET ROLE to it to bypass Row Level Security; \
         REVOKE {privileged} FROM {role}"
    )]
    MemberOfPrivilegedRole { role: String, privileged: String },
    #[error(
        "refusing to serve: permissive policy {policy:?} on table {table:?} is not one the \
         migrations wrote: {reason}"
    )]
    UnexpectedPolicy {
        table: String,
        policy: String,
        reason: &'static str,
    },
    #[error(
        "refusing to serve: SECURITY DEFINER function {function} is owned by {found:?}; the \
         migrations make it {expected:?}"
    )]
    DefinerOwner {
        function: String,
        found: String,
        expected: &'static str,
    },
    #[error(
        "refusing to serve: SECURITY DEFINER function {function} can be executed by {found}; \
         the migrations allow {expected}"
    )]
    DefinerAcl {
        function: String,
        found: String,
        expected: &'static str,
    },
    #[error(
        "refusing to serve: SECURITY DEFINER function {function} runs with settings {found:?}; \
         the migrations pin it to search_path = {expected}"
    )]
    DefinerSearchPath {
        function: String,
        found: Vec<String>,
        expected: &'static str,
    },
    #[error("self-check could not query the database: {0}")]
    Db(#[from] DbErr),
}

/// A tenant table (alias `c` of pg_class): the organizations table and every table with an
/// `organization_id` column.
const TENANT_TABLE: &str = "c.relnamespace = 'public'::regnamespace
    AND c.relkind IN ('r', 'p')
    AND (c.relname = 'organizations' OR EXISTS (
         SELECT 1 FROM pg_attribute a
         WHERE a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped))";

/// Checks the connected role, every tenant table and its policies, and the SECURITY DEFINER
/// functions (the only code that runs with another role's rights).
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
            format!(
                "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity,
                        pg_has_role(current_user, c.relowner, 'USAGE')
                 FROM pg_class c WHERE {TENANT_TABLE} ORDER BY c.relname"
            ),
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

    // Attributes are not inherited, but a member may SET ROLE (PostgreSQL 15 has no way to
    // grant membership without it): membership of a privileged role is as good as having it.
    let privileged = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT r.rolname::text FROM pg_roles r
             WHERE (r.rolsuper OR r.rolbypassrls) AND r.rolname <> current_user
               AND pg_has_role(current_user, r.oid, 'MEMBER')
             ORDER BY r.rolname LIMIT 1",
        ))
        .await?;
    if let Some(row) = privileged {
        return Err(SelfCheckError::MemberOfPrivilegedRole {
            role: name,
            privileged: row.try_get_by_index(0)?,
        });
    }

    // Before the checks below: an older schema fails them for want of a migration.
    let pending = crate::db::pending_migrations(db).await?;
    if !pending.is_empty() {
        return Err(SelfCheckError::PendingMigrations(pending.join(", ")));
    }
    check_policies(db).await?;
    check_definer_functions(db).await
}

/// Permissive policies are ORed: one extra policy opens whatever it allows, so each must be
/// one the migrations write (`rls::TenantTable`): named `<table>_<command>`, for that command,
/// for every role, with the tenant condition as the first conjunct of each expression.
async fn check_policies(db: &DatabaseConnection) -> Result<(), SelfCheckError> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT c.relname::text, p.polname::text, p.polcmd::text,
                        p.polroles = '{{0}}'::oid[],
                        pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
                 FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
                 WHERE p.polpermissive AND {TENANT_TABLE}
                 ORDER BY c.relname, p.polname"
            ),
        ))
        .await?;
    for row in rows {
        let table: String = row.try_get_by_index(0)?;
        let policy: String = row.try_get_by_index(1)?;
        let command: String = row.try_get_by_index(2)?;
        let to_everyone: bool = row.try_get_by_index(3)?;
        let using: Option<String> = row.try_get_by_index(4)?;
        let check: Option<String> = row.try_get_by_index(5)?;
        let column = if table == "organizations" {
            "id"
        } else {
            "organization_id"
        };
        if let Some(reason) = policy_problem(
            &table,
            &policy,
            &command,
            to_everyone,
            using.as_deref(),
            check.as_deref(),
            column,
        ) {
            return Err(SelfCheckError::UnexpectedPolicy {
                table,
                policy,
                reason,
            });
        }
    }
    Ok(())
}

/// Why a permissive policy is not one the migrations write, if it is not.
fn policy_problem(
    table: &str,
    policy: &str,
    command: &str,
    to_everyone: bool,
    using: Option<&str>,
    check: Option<&str>,
    tenant_column: &str,
) -> Option<&'static str> {
    let (suffix, needs_using, needs_check) = match command {
        "r" => ("select", true, false),
        "a" => ("insert", false, true),
        "w" => ("update", true, true),
        "d" => ("delete", true, false),
        _ => return Some("it applies to ALL commands; the migrations write one per command"),
    };
    if policy.strip_prefix(table).and_then(|p| p.strip_prefix('_')) != Some(suffix) {
        return Some("the migrations name each policy <table>_<command>");
    }
    if !to_everyone {
        return Some("it is granted to chosen roles; the migrations write policies for all");
    }
    let tenant_led = |expression: Option<&str>, needed: bool| match expression {
        Some(expression) => starts_with_tenant_condition(expression, tenant_column),
        None => !needed,
    };
    if !tenant_led(using, needs_using) {
        return Some("its USING expression does not start with the tenant condition");
    }
    if !tenant_led(check, needs_check) {
        return Some("its WITH CHECK expression does not start with the tenant condition");
    }
    None
}

/// `expression` (as `pg_get_expr` prints it, every operation parenthesised) is the tenant
/// condition alone or a top-level AND whose first operand it is.
fn starts_with_tenant_condition(expression: &str, column: &str) -> bool {
    let expression = expression.replace(
        "public.current_organization_id()",
        "current_organization_id()",
    );
    let tenant = format!("({column} = current_organization_id())");
    expression == tenant || expression.starts_with(&format!("({tenant} AND "))
}

/// Every SECURITY DEFINER function outside the system schemas is either one of the migration
/// crate's `BYPASSRLS_FUNCTIONS`, set up as it says, or an owner-owned one nobody else may
/// call (FORCE keeps the owner under the policies). Anything else (a superuser-owned function,
/// EXECUTE for PUBLIC, a search_path an attacker's objects could be found on) is refused.
async fn check_definer_functions(db: &DatabaseConnection) -> Result<(), SelfCheckError> {
    let bypassing: Vec<String> = BYPASSRLS_FUNCTIONS.iter().map(|f| f.to_string()).collect();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT p.oid::regprocedure::text, pg_get_userbyid(p.proowner)::text,
                    coalesce(p.proconfig, '{}'),
                    ARRAY(SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC'
                                 ELSE pg_get_userbyid(a.grantee)::text END
                          FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                          WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner
                          ORDER BY 1),
                    EXISTS (SELECT 1 FROM unnest($1::text[]) f WHERE to_regprocedure(f) = p.oid)
             FROM pg_proc p
             WHERE p.prosecdef
               AND p.pronamespace NOT IN ('pg_catalog'::regnamespace,
                                          'information_schema'::regnamespace)
             ORDER BY 1",
            [bypassing.into()],
        ))
        .await?;
    for row in rows {
        let function: String = row.try_get_by_index(0)?;
        let owner: String = row.try_get_by_index(1)?;
        let settings: Vec<String> = row.try_get_by_index(2)?;
        let executors: Vec<String> = row.try_get_by_index(3)?;
        let bypasses_rls: bool = row.try_get_by_index(4)?;
        let (expected_owner, allowed, expected_executors, search_path) = if bypasses_rls {
            (
                roles::AUTH,
                roles::APP,
                &[roles::APP][..],
                definer_search_path::BYPASSRLS,
            )
        } else {
            (
                roles::OWNER,
                "nobody but its owner",
                &[][..],
                definer_search_path::OWNER,
            )
        };
        if owner != expected_owner {
            return Err(SelfCheckError::DefinerOwner {
                function,
                found: owner,
                expected: expected_owner,
            });
        }
        if executors != expected_executors {
            return Err(SelfCheckError::DefinerAcl {
                function,
                found: if executors.is_empty() {
                    "nobody but its owner".to_owned()
                } else {
                    executors.join(", ")
                },
                expected: allowed,
            });
        }
        if settings != [format!("search_path={search_path}")] {
            return Err(SelfCheckError::DefinerSearchPath {
                function,
                found: settings,
                expected: search_path,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(policy: &str, command: &str, using: Option<&str>) -> Option<&'static str> {
        policy_problem(
            "leads",
            policy,
            command,
            true,
            using,
            None,
            "organization_id",
        )
    }

    #[test]
    fn the_migrations_policies_pass() {
        let tenant = "(organization_id = current_organization_id())";
        assert_eq!(problem("leads_select", "r", Some(tenant)), None);
        let notes = "((organization_id = current_organization_id()) AND \
                     ((NOT is_private) OR (author_id = current_user_id())))";
        assert_eq!(problem("leads_delete", "d", Some(notes)), None);
    }

    #[test]
    fn a_tenant_condition_that_can_be_ored_away_is_refused() {
        for using in [
            "true",
            "((organization_id = current_organization_id()) OR true)",
            "(((organization_id = current_organization_id()) AND x) OR true)",
            "(organization_id = evil.current_organization_id())",
        ] {
            assert!(
                problem("leads_select", "r", Some(using)).is_some(),
                "{using}"
            );
        }
        assert!(problem("leads_select", "r", None).is_some());
    }

    #[test]
    fn policies_are_named_for_their_table_and_command() {
        let tenant = Some("(organization_id = current_organization_id())");
        assert!(problem("leads_peek", "r", tenant).is_some());
        assert!(problem("leads_select", "d", tenant).is_some());
        assert!(problem("leads_all", "*", tenant).is_some());
        assert!(problem("lead_notes_select", "r", tenant).is_some());
    }
}
