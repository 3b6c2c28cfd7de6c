//! Fair shares of the connection pool. The pool is the concurrency ceiling of every tenant
//! together, so one tenant may run at most its share of requests at once; the rest of its
//! requests wait briefly for a turn, then are refused with RATE_LIMITED while every other
//! tenant is still served.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use crate::error::ApiError;

pub struct TenantShares {
    per_tenant: usize,
    wait: Duration,
    running: Mutex<HashMap<Uuid, Arc<Semaphore>>>,
}

/// A request's turn; the tenant's slot is free again when it is dropped.
pub struct Turn {
    _slot: OwnedSemaphorePermit,
}

impl TenantShares {
    /// `per_tenant` requests of one organization at once; a request waits at most `wait`.
    pub fn new(per_tenant: usize, wait: Duration) -> Self {
        Self {
            per_tenant: per_tenant.max(1),
            wait,
            running: Mutex::default(),
        }
    }

    /// From the pool size and the share of it one tenant may hold, in percent.
    pub fn of_pool(pool_size: u32, percent: u32, wait: Duration) -> Self {
        Self::new((pool_size * percent / 100) as usize, wait)
    }

    /// How many requests of one organization may run at once.
    pub fn per_tenant(&self) -> usize {
        self.per_tenant
    }

    pub async fn turn(&self, organization_id: Uuid) -> Result<Turn, ApiError> {
        let slots = {
            let mut running = self.running.lock().expect("tenant shares lock");
            if running.len() > 1024 {
                // Forget tenants with nothing running (only the map holds their semaphore).
                running.retain(|_, slots| Arc::strong_count(slots) > 1);
            }
            running
                .entry(organization_id)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_tenant)))
                .clone()
        };
        match tokio::time::timeout(self.wait, slots.acquire_owned()).await {
            Ok(Ok(slot)) => Ok(Turn { _slot: slot }),
            Ok(Err(closed)) => Err(ApiError::internal(closed)),
            Err(_) => Err(ApiError::RateLimited {
                message: format!(
                    "this organization already runs {} requests at once; try again shortly",
                    self.per_tenant
                ),
                retry_after: Duration::from_secs(1),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tenant_past_its_share_waits_then_is_refused_while_others_run() {
        let shares = TenantShares::new(2, Duration::from_millis(20));
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let first = shares.turn(a).await.unwrap();
        let _second = shares.turn(a).await.unwrap();
        let refused = shares.turn(a).await.err().unwrap();
        assert_eq!(refused.code(), "RATE_LIMITED");
        assert!(shares.turn(b).await.is_ok());
        drop(first);
        assert!(shares.turn(a).await.is_ok());
    }

    #[test]
    fn every_tenant_gets_at_least_one_turn() {
        assert_eq!(TenantShares::of_pool(1, 50, Duration::ZERO).per_tenant, 1);
        assert_eq!(TenantShares::of_pool(10, 50, Duration::ZERO).per_tenant, 5);
    }
}
