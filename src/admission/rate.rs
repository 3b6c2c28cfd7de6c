//! Request rates per API key (its `rateLimitPerHour`) and per signed-in user
//! (`USER_RATE_LIMIT_PER_MINUTE`), as token buckets (GCRA: one timestamp per bucket, no timer).
//! A bucket holds a full window's worth of requests, refills evenly, and a request past it is
//! refused with RATE_LIMITED and the time until one more fits.
//!
//! Buckets live in this process: with N replicas behind a load balancer a caller can reach up
//! to N times its limit (README "Rate limits" states the tolerance).

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use uuid::Uuid;

use crate::error::ApiError;

/// What a bucket is for.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Bucket {
    ApiKey(Uuid),
    User(Uuid),
}

/// A request's standing against its limit, for the `RateLimit` headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub limit: u64,
    pub window: Duration,
    pub remaining: u64,
    /// Until the bucket is full again.
    pub reset: Duration,
}

impl Quota {
    /// `RateLimit-Policy` and `RateLimit` (IETF httpapi rate-limit headers, draft 9).
    pub fn headers(&self) -> [(&'static str, String); 2] {
        [
            (
                "ratelimit-policy",
                format!("\"default\";q={};w={}", self.limit, self.window.as_secs()),
            ),
            (
                "ratelimit",
                format!(
                    "\"default\";r={};t={}",
                    self.remaining,
                    self.reset.as_secs_f64().ceil() as u64
                ),
            ),
        ]
    }
}

pub struct RateLimits {
    user_per_minute: u64,
    /// Theoretical arrival time of each bucket's next request.
    buckets: Mutex<HashMap<Bucket, Instant>>,
}

impl RateLimits {
    pub fn new(user_per_minute: u64) -> Self {
        Self {
            user_per_minute: user_per_minute.max(1),
            buckets: Mutex::default(),
        }
    }

    /// Admits a signed-in user's request.
    pub fn admit_user(&self, user_id: Uuid) -> Result<Quota, ApiError> {
        self.admit(
            Bucket::User(user_id),
            self.user_per_minute,
            Duration::from_secs(60),
            Instant::now(),
        )
    }

    /// Admits a request made with an API key allowed `per_hour` requests an hour.
    pub fn admit_api_key(&self, api_key_id: Uuid, per_hour: u64) -> Result<Quota, ApiError> {
        self.admit(
            Bucket::ApiKey(api_key_id),
            per_hour.max(1),
            Duration::from_secs(3600),
            Instant::now(),
        )
    }

    fn admit(
        &self,
        bucket: Bucket,
        limit: u64,
        window: Duration,
        now: Instant,
    ) -> Result<Quota, ApiError> {
        let interval = window / limit as u32;
        let mut buckets = self.buckets.lock().expect("rate buckets");
        if buckets.len() > 100_000 {
            // Buckets whose next arrival has passed are full: forgetting them changes nothing.
            buckets.retain(|_, at| *at > now);
        }
        let next = buckets.get(&bucket).copied().unwrap_or(now).max(now);
        // Full bucket: `next == now`; each request moves `next` one interval further, and a
        // request is refused once `next` would lie more than a window ahead.
        let after = next + interval;
        if after > now + window {
            let retry_after = after - (now + window);
            return Err(ApiError::RateLimited {
                message: format!(
                    "rate limit of {limit} requests per {}s reached; retry in {}s",
                    window.as_secs(),
                    retry_after.as_secs_f64().ceil() as u64
                ),
                retry_after: retry_after.max(Duration::from_secs(1)),
            });
        }
        buckets.insert(bucket, after);
        // Requests the bucket is short of full, rounded up: time passes between requests.
        let used = (after - now)
            .as_nanos()
            .div_ceil(interval.as_nanos().max(1));
        Ok(Quota {
            limit,
            window,
            remaining: limit.saturating_sub(used as u64),
            reset: after - now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_serves_its_limit_then_refuses_until_it_refills() {
        let limits = RateLimits::new(1);
        let key = Bucket::ApiKey(Uuid::new_v4());
        let window = Duration::from_secs(60);
        let start = Instant::now();
        for i in 0..3 {
            let quota = limits.admit(key, 3, window, start).unwrap();
            assert_eq!(quota.remaining, 2 - i);
        }
        let refused = limits.admit(key, 3, window, start).unwrap_err();
        assert_eq!(refused.code(), "RATE_LIMITED");
        assert_eq!(refused.retry_after(), Some(Duration::from_secs(20)));
        // One interval later exactly one more fits.
        let later = start + Duration::from_secs(20);
        assert!(limits.admit(key, 3, window, later).is_ok());
        assert!(limits.admit(key, 3, window, later).is_err());
    }

    #[test]
    fn buckets_are_separate() {
        let limits = RateLimits::new(1);
        let now = Instant::now();
        let window = Duration::from_secs(60);
        let (a, b) = (Bucket::User(Uuid::new_v4()), Bucket::User(Uuid::new_v4()));
        limits.admit(a, 1, window, now).unwrap();
        assert!(limits.admit(a, 1, window, now).is_err());
        assert!(limits.admit(b, 1, window, now).is_ok());
    }

    #[test]
    fn headers_follow_the_draft() {
        let quota = Quota {
            limit: 100,
            window: Duration::from_secs(3600),
            remaining: 99,
            reset: Duration::from_millis(35_500),
        };
        assert_eq!(
            quota.headers(),
            [
                ("ratelimit-policy", "\"default\";q=100;w=3600".to_owned()),
                ("ratelimit", "\"default\";r=99;t=36".to_owned()),
            ]
        );
    }
}
