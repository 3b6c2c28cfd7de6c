//! Credential checks shared by the WebSocket connections and subscriptions of one credential:
//! a connection may run many subscriptions, and an integrator many connections with one key,
//! so each credential is checked against the database at most once per interval, whatever its
//! connection and subscription count. Checks of different credentials run at most
//! `concurrency` at a time, so a reconnect storm (every client of a deploy at once) queues here
//! instead of taking the whole pool from HTTP requests.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::{
    auth::{Identity, revalidate},
    error::{ApiError, ApiResult},
    tenancy::{Credential, Principal, TenantPool},
};

/// Organization, user, and the session family or API key.
type Key = (Uuid, Uuid, Uuid);

/// When a credential was last checked and what it proved (`None`: it no longer holds).
type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Option<Principal>)>>>;

#[derive(Clone)]
pub struct CredentialChecks {
    slots: Arc<Mutex<Slots>>,
    running: Arc<Semaphore>,
}

#[derive(Default)]
struct Slots {
    by_credential: HashMap<Key, Slot>,
    /// Size after the last pruning: the map is pruned when it has doubled since, so pruning
    /// costs O(1) per insertion on average.
    pruned_at: usize,
}

impl CredentialChecks {
    pub fn new(concurrency: usize) -> Self {
        Self {
            slots: Arc::default(),
            running: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// The principal while the credential holds; UNAUTHENTICATED once it does not. A result
    /// younger than `max_age` is reused; concurrent checks of one credential wait for one query.
    pub async fn check(
        &self,
        pool: &TenantPool,
        identity: &Identity,
        statement_timeout: Duration,
        max_age: Duration,
    ) -> ApiResult<Principal> {
        let slot = self.slot(identity, max_age);
        let mut checked = slot.lock().await;
        if let Some((at, proved)) = &*checked
            && at.elapsed() < max_age
        {
            return proved.clone().ok_or(ApiError::Unauthenticated);
        }
        let _turn = self.running.acquire().await.map_err(ApiError::internal)?;
        match revalidate(pool, identity, statement_timeout).await {
            Ok(principal) => {
                *checked = Some((Instant::now(), Some(principal.clone())));
                Ok(principal)
            }
            Err(err @ (ApiError::Unauthenticated | ApiError::InvalidCredentials(_))) => {
                *checked = Some((Instant::now(), None));
                Err(err)
            }
            // A database hiccup is not a verdict on the credential.
            Err(err) => Err(err),
        }
    }

    fn slot(&self, identity: &Identity, max_age: Duration) -> Slot {
        let credential = match &identity.credential {
            Credential::Session { family_id } => *family_id,
            Credential::ApiKey { api_key_id, .. } => *api_key_id,
        };
        let key = (
            identity.tenant.organization_id,
            identity.tenant.user_id,
            credential,
        );
        let mut slots = self.slots.lock().expect("credential checks");
        if !slots.by_credential.contains_key(&key)
            && slots.by_credential.len() >= (2 * slots.pruned_at).max(64)
        {
            // Forget credentials nobody has checked for a while (their subscriptions ended).
            slots.by_credential.retain(|_, slot| {
                slot.try_lock().map_or(true, |s| {
                    s.as_ref()
                        .is_some_and(|(at, _)| at.elapsed() < max_age * 10)
                })
            });
            slots.pruned_at = slots.by_credential.len();
        }
        slots.by_credential.entry(key).or_default().clone()
    }
}
