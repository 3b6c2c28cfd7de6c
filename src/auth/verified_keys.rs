//! Verified API keys, kept in memory for `API_KEY_CACHE_MS` (5 s by default; 0 turns it off): a
//! request with a key verified that recently skips the `auth_api_key` lookup, a pooled
//! connection and a round trip before its transaction. It is safe because every request's
//! principal is confirmed in its transaction, or was confirmed lately and nothing has changed
//! it since (`begin_as_principal`, `verified_principals`): not revoked, not expired, its user
//! active, their current role; so revoking a key still takes effect at once. What an entry can
//! hold stale, for up to that time, is the key's rate limit. Entries are keyed by the key's
//! SHA-256, never the key, and bounded in number.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use sha2::{Digest, Sha256};

use super::Identity;

/// Keys kept at most; past it, expired entries go, then all (a flood of distinct valid keys
/// only costs lookups, as without the cache).
const MAX_KEYS: usize = 10_000;

type KeyDigest = [u8; 32];

pub struct VerifiedKeys {
    ttl: Duration,
    entries: Mutex<HashMap<KeyDigest, (Identity, Instant)>>,
}

impl VerifiedKeys {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::default(),
        }
    }

    pub fn digest(key: &str) -> KeyDigest {
        Sha256::digest(key.as_bytes()).into()
    }

    /// Who the key speaks for, if it was verified less than the cache's time ago.
    pub fn get(&self, digest: &KeyDigest) -> Option<Identity> {
        let entries = self.entries.lock().expect("verified keys lock");
        let (identity, verified_at) = entries.get(digest)?;
        (verified_at.elapsed() < self.ttl).then(|| identity.clone())
    }

    pub fn insert(&self, digest: KeyDigest, identity: Identity) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().expect("verified keys lock");
        if entries.len() >= MAX_KEYS {
            entries.retain(|_, (_, verified_at)| verified_at.elapsed() < self.ttl);
            if entries.len() >= MAX_KEYS {
                entries.clear();
            }
        }
        entries.insert(digest, (identity, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::tenancy::{Credential, TenantSettings};

    fn identity() -> Identity {
        Identity {
            tenant: TenantSettings {
                organization_id: Uuid::new_v4(),
                user_id: Uuid::new_v4(),
            },
            credential: Credential::Session {
                family_id: Uuid::new_v4(),
            },
        }
    }

    #[test]
    fn a_key_is_kept_for_the_cache_time_only() {
        let keys = VerifiedKeys::new(Duration::from_millis(30));
        let digest = VerifiedKeys::digest("lg_abc_secret");
        keys.insert(digest, identity());
        assert!(keys.get(&digest).is_some());
        assert!(keys.get(&VerifiedKeys::digest("lg_abc_other")).is_none());
        std::thread::sleep(Duration::from_millis(40));
        assert!(keys.get(&digest).is_none());
    }

    #[test]
    fn a_zero_time_keeps_nothing() {
        let keys = VerifiedKeys::new(Duration::ZERO);
        let digest = VerifiedKeys::digest("lg_abc_secret");
        keys.insert(digest, identity());
        assert!(keys.get(&digest).is_none());
    }

    #[test]
    fn the_number_of_keys_is_bounded() {
        let keys = VerifiedKeys::new(Duration::from_secs(60));
        for n in 0..MAX_KEYS + 5 {
            keys.insert(VerifiedKeys::digest(&n.to_string()), identity());
        }
        assert!(keys.entries.lock().unwrap().len() <= MAX_KEYS);
    }
}
