//! Credential re-checks shared by the subscriptions of one credential: a connection may run
//! many subscriptions, and an integrator many connections with one key, so each credential is
//! checked against the database at most once per interval, whatever its subscription count.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::{
    auth::{Identity, revalidate},
    error::{ApiError, ApiResult},
    tenancy::Credential,
};

/// Organization, user, and the session family or API key.
type Key = (Uuid, Uuid, Uuid);

/// When a credential was last checked and whether it held.
type Slot = Arc<tokio::sync::Mutex<Option<(Instant, bool)>>>;

#[derive(Clone, Default)]
pub struct CredentialChecks(Arc<Mutex<HashMap<Key, Slot>>>);

impl CredentialChecks {
    /// Ok while the credential holds; UNAUTHENTICATED once it does not. A result younger
    /// than `max_age` is reused; concurrent checks of one credential wait for one query.
    pub async fn check(
        &self,
        db: &DatabaseConnection,
        identity: &Identity,
        statement_timeout: Duration,
        max_age: Duration,
    ) -> ApiResult<()> {
        let slot = self.slot(identity, max_age);
        let mut checked = slot.lock().await;
        if let Some((at, holds)) = *checked
            && at.elapsed() < max_age
        {
            return if holds {
                Ok(())
            } else {
                Err(ApiError::Unauthenticated)
            };
        }
        match revalidate(db, identity, statement_timeout).await {
            Ok(_) => {
                *checked = Some((Instant::now(), true));
                Ok(())
            }
            Err(err @ (ApiError::Unauthenticated | ApiError::InvalidCredentials(_))) => {
                *checked = Some((Instant::now(), false));
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
        let mut slots = self.0.lock().expect("credential checks");
        if !slots.contains_key(&key) {
            // Forget credentials nobody has checked for a while (their subscriptions ended).
            slots.retain(|_, slot| {
                slot.try_lock().map_or(true, |s| {
                    s.is_some_and(|(at, _)| at.elapsed() < max_age * 10)
                })
            });
        }
        slots.entry(key).or_default().clone()
    }
}
