//! Changes that can end a principal are announced on the `principals` channel, so that servers
//! keeping confirmed principals in memory (`auth::verified_principals`) forget them at once: a
//! user's role or activity changed or the user deleted, a session's tokens revoked or deleted,
//! an API key revoked, its expiry changed or the key deleted. The payload is
//! `<organization>:<user>`; `*` (a TRUNCATE) means everyone. Notifications are sent at commit,
//! by whatever wrote the change: the server, a replica, a script or an operator in psql (000028
//! makes the triggers fire in replica mode too). A transaction that notifies cannot be prepared
//! for two-phase commit (`PREPARE TRANSACTION`); LeadGraph uses none.

use sea_orm_migration::prelude::*;

use crate::script_migration;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The trigger function (000028 replaced it; its undoing restores this).
pub(crate) const FUNCTION: &str = r#"
CREATE OR REPLACE FUNCTION notify_principal_change() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('principals', '*');
    ELSE
        -- TG_ARGV[0]: the column naming the user the row speaks for.
        PERFORM pg_notify('principals',
                          OLD.organization_id || ':' || (to_jsonb(OLD) ->> TG_ARGV[0]));
    END IF;
    RETURN NULL;
END
$$;
"#;

const TRIGGERS: &str = r#"
CREATE TRIGGER users_principal_change
    AFTER UPDATE OF role, is_active OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION notify_principal_change('id');
CREATE TRIGGER refresh_tokens_principal_change
    AFTER UPDATE OF revoked_at OR DELETE ON refresh_tokens
    FOR EACH ROW EXECUTE FUNCTION notify_principal_change('user_id');
CREATE TRIGGER api_keys_principal_change
    AFTER UPDATE OF revoked_at, expires_at OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION notify_principal_change('created_by');
CREATE TRIGGER users_principals_truncated AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION notify_principal_change();
CREATE TRIGGER refresh_tokens_principals_truncated AFTER TRUNCATE ON refresh_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION notify_principal_change();
CREATE TRIGGER api_keys_principals_truncated AFTER TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION notify_principal_change();
"#;

const DOWN: &str = r#"
DROP TRIGGER users_principal_change ON users;
DROP TRIGGER refresh_tokens_principal_change ON refresh_tokens;
DROP TRIGGER api_keys_principal_change ON api_keys;
DROP TRIGGER users_principals_truncated ON users;
DROP TRIGGER refresh_tokens_principals_truncated ON refresh_tokens;
DROP TRIGGER api_keys_principals_truncated ON api_keys;
DROP FUNCTION notify_principal_change();
"#;

script_migration!(&format!("{FUNCTION}{TRIGGERS}"), DOWN);
