use chrono::{DateTime, Utc};
use entity::api_keys;

use crate::{numbers::BigInt, tenancy::Scope, users::User};

crate::object! {
    ApiKey(api_keys::Model) as ApiKey {
        name: &str,
        /// The public part of the key (`lg_<prefix>_...`), to tell keys apart.
        prefix: &str,
        scopes: async_graphql::Result<Vec<Scope>>,
        /// Requests the key may make per hour; past it, RATE_LIMITED (HTTP 429) with Retry-After.
        rate_limit_per_hour: i32,
        /// When the key was last used, as of its last write (see `usageCount`).
        last_used_at: Option<DateTime<Utc>>,
        expires_at: Option<DateTime<Utc>>,
        revoked_at: Option<DateTime<Utc>>,
        created_at: DateTime<Utc>,
    }
    belongs_to {
        /// The key acts on behalf of this user.
        created_by: User by created_by via KEY_CREATOR,
    }
    extra {
        /// Requests made with the key, ever (a BigInt: it outgrows 32 bits). Written every
        /// `API_KEY_USAGE_FLUSH_MS` (5 s by default): it trails by up to that.
        async fn usage_count(&self) -> BigInt {
            BigInt(self.0.usage_count)
        }
    }
}

crate::tenant_rows!(api_keys::Model => "api_keys" as "api_key");
