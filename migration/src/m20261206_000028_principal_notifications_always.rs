//! The principal notifications of 000027, made harder to lose: the triggers fire also where
//! ordinary triggers do not (`session_replication_role = replica`: restores with
//! `--disable-triggers`, logical replication applying changes, scripts that set it), so a change
//! written that way still reaches the servers' kept principals; the function names the user by
//! its column instead of converting the whole row (a user's password hash included) to JSON; and
//! nobody but the triggers may call it.

use sea_orm_migration::prelude::*;

use crate::{m20261205_000027_principal_notifications::FUNCTION as BEFORE, script_migration};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TRIGGERS: [(&str, &str); 6] = [
    ("users", "users_principal_change"),
    ("refresh_tokens", "refresh_tokens_principal_change"),
    ("api_keys", "api_keys_principal_change"),
    ("users", "users_principals_truncated"),
    ("refresh_tokens", "refresh_tokens_principals_truncated"),
    ("api_keys", "api_keys_principals_truncated"),
];

const FUNCTION: &str = r#"
CREATE OR REPLACE FUNCTION notify_principal_change() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
    v_user uuid;
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('principals', '*');
        RETURN NULL;
    END IF;
    -- The user the row speaks for (each branch reads only its own table's column).
    IF TG_TABLE_NAME = 'users' THEN
        v_user := OLD.id;
    ELSIF TG_TABLE_NAME = 'refresh_tokens' THEN
        v_user := OLD.user_id;
    ELSE
        v_user := OLD.created_by;
    END IF;
    PERFORM pg_notify('principals', OLD.organization_id || ':' || v_user);
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION notify_principal_change() FROM PUBLIC;
"#;

fn script(function: &str, enable: &str) -> String {
    let mut sql = function.to_owned();
    for (table, trigger) in TRIGGERS {
        sql.push_str(&format!(
            "ALTER TABLE {table} ENABLE {enable}TRIGGER {trigger};\n"
        ));
    }
    sql
}

script_migration!(
    &script(FUNCTION, "ALWAYS "),
    &script(
        &format!("{BEFORE}GRANT EXECUTE ON FUNCTION notify_principal_change() TO PUBLIC;\n"),
        ""
    )
);
