//! `leadgraph db-init`: as a superuser, create the three roles and the database, idempotently.
//! The role names are fixed (see `migration::roles`); the passwords come from the
//! connection URLs the server and the migrator will use.

use sea_orm::{ConnectionTrait, DbErr, Statement};

use crate::config::Secret;
use migration::roles;

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("{variable} must connect as the role {expected:?}, not {found:?}")]
    WrongRole {
        variable: &'static str,
        expected: &'static str,
        found: String,
    },
    #[error("{variable} is not a valid postgres:// URL")]
    BadUrl { variable: &'static str },
    #[error("DATABASE_URL and MIGRATION_DATABASE_URL name different databases")]
    DatabaseMismatch,
    #[error(transparent)]
    Connect(#[from] super::ConnectError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

struct Login {
    password: Option<String>,
    database: String,
}

fn parse_login(
    url: &Secret,
    variable: &'static str,
    expected: &'static str,
) -> Result<Login, BootstrapError> {
    let bad = || BootstrapError::BadUrl { variable };
    let rest = url
        .expose()
        .strip_prefix("postgres://")
        .or_else(|| url.expose().strip_prefix("postgresql://"))
        .ok_or_else(bad)?;
    let (credentials, location) = rest.rsplit_once('@').ok_or_else(bad)?;
    let (user, password) = match credentials.split_once(':') {
        Some((user, password)) => (user, Some(password.to_owned())),
        None => (credentials, None),
    };
    let database = location.split_once('/').map(|(_, db)| db).ok_or_else(bad)?;
    let database = database.split('?').next().unwrap_or_default().to_owned();
    if user != expected {
        return Err(BootstrapError::WrongRole {
            variable,
            expected,
            found: user.to_owned(),
        });
    }
    if database.is_empty() {
        return Err(bad());
    }
    Ok(Login { password, database })
}

/// A SQL string literal; role passwords cannot be bound as parameters in DDL.
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Creates (or corrects) the owner, app and auth roles and creates the database owned by the
/// owner role if it does not exist. Safe to run any number of times, also concurrently.
pub async fn bootstrap(
    admin_url: &Secret,
    app_url: &Secret,
    owner_url: &Secret,
) -> Result<String, BootstrapError> {
    let app = parse_login(app_url, "DATABASE_URL", roles::APP)?;
    let owner = parse_login(owner_url, "MIGRATION_DATABASE_URL", roles::OWNER)?;
    if app.database != owner.database {
        return Err(BootstrapError::DatabaseMismatch);
    }
    let admin = super::connect_or_explain(admin_url, &super::PoolSettings::with_size(1)).await?;
    let run = |sql: String| {
        let admin = &admin;
        async move { admin.execute_unprepared(&sql).await.map(|_| ()) }
    };
    // One bootstrap at a time per cluster: role creation is not concurrency-safe.
    run("SELECT pg_advisory_lock(7320419)".into()).await?;
    for role in [roles::OWNER, roles::APP, roles::AUTH] {
        run(format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') \
             THEN CREATE ROLE {role}; END IF; END $$"
        ))
        .await?;
    }
    let attributes = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION";
    for (login, role) in [(&owner, roles::OWNER), (&app, roles::APP)] {
        // A URL without a password leaves the role's password as it is.
        let password = login
            .password
            .as_deref()
            .map(|p| format!(" PASSWORD {}", literal(p)));
        run(format!(
            "ALTER ROLE {role} LOGIN {attributes} NOBYPASSRLS{}",
            password.unwrap_or_default()
        ))
        .await?;
    }
    run(format!(
        "ALTER ROLE {} NOLOGIN {attributes} BYPASSRLS",
        roles::AUTH
    ))
    .await?;
    // The owner hands the pre-authentication functions to the auth role.
    run(format!("GRANT {} TO {}", roles::AUTH, roles::OWNER)).await?;
    let exists = admin
        .query_one_raw(Statement::from_sql_and_values(
            admin.get_database_backend(),
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [owner.database.clone().into()],
        ))
        .await?
        .is_some();
    if !exists {
        run(format!(
            "CREATE DATABASE \"{}\" OWNER {}",
            owner.database.replace('"', ""),
            roles::OWNER
        ))
        .await?;
    }
    run("SELECT pg_advisory_unlock(7320419)".into()).await?;
    Ok(owner.database)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_is_read_from_url() {
        let login = parse_login(
            &Secret::new(
                "postgres://leadgraph_app:s3cret@127.0.0.1:5432/leadgraph?sslmode=disable",
            ),
            "DATABASE_URL",
            roles::APP,
        )
        .unwrap();
        assert_eq!(login.password.as_deref(), Some("s3cret"));
        assert_eq!(login.database, "leadgraph");
    }

    #[test]
    fn wrong_role_is_refused() {
        let err = parse_login(
            &Secret::new("postgres://postgres@h/db"),
            "DATABASE_URL",
            roles::APP,
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("leadgraph_app"));
    }

    #[test]
    fn quotes_in_passwords_are_escaped() {
        assert_eq!(literal("a'b"), "'a''b'");
    }
}
