use chrono::{DateTime, Utc};
use entity::users;

use crate::tenancy::Role;

crate::object! {
    User(users::Model) as User {
        email: &str,
        full_name: &str,
        role: async_graphql::Result<Role>,
        /// Deactivated users cannot sign in; their tokens and keys stop working at once.
        is_active: bool,
        timezone: &str,
        mfa_enabled: bool,
        last_login_at: Option<DateTime<Utc>>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
}

crate::tenant_rows!(
    // Read on every dashboard: decoded by place.
    users::Model => "users" as "user" in columns (
        organization_id, id, email, full_name, password_hash, role, is_active, timezone,
        mfa_enabled, last_login_at, login_count, deactivated_at, created_at, updated_at
    )
);
