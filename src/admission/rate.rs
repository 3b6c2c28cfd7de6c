//! Request rates per API key (its `rateLimitPerHour`) and per signed-in user
//! (`USER_RATE_LIMIT_PER_MINUTE`), as token buckets (GCRA: one timestamp per bucket, no timer).
//! A bucket holds a full window's worth of requests, refills evenly, and a request past it is
//! refused with RATE_LIMITED and the time until one more fits.
//!
//! Alone (`RATE_LIMIT_SYNC_MS=0`) a process decides from its own count. Shared (the default),
//! the buckets live in the database and each replica admits requests out of a grant: at each
//! sync ([`super::RateSync`], about once per interval while it serves) it reports what it used,
//! gives back what it did not, and is granted its share (by live replicas) of what the bucket
//! has left, counted as used until it comes back. Grants come out of the locked bucket row one
//! after the other, so the replicas together never admit more than the limit. A request
//! finding no grant here asks for one and waits for the next sync (milliseconds; it holds no
//! connection); it is refused only when the sync grants nothing. While the database cannot be
//! reached, each replica limits on its own count.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use tokio::sync::{Notify, watch};
use uuid::Uuid;

use crate::error::ApiError;

/// What a bucket is for.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Bucket {
    ApiKey(Uuid),
    User(Uuid),
}

impl Bucket {
    /// Its name in the shared table.
    pub fn name(&self) -> String {
        match self {
            Self::ApiKey(id) => format!("key:{id}"),
            Self::User(id) => format!("user:{id}"),
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        let (kind, id) = name.split_once(':')?;
        let id = Uuid::parse_str(id).ok()?;
        match kind {
            "key" => Some(Self::ApiKey(id)),
            "user" => Some(Self::User(id)),
            _ => None,
        }
    }
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

/// What a sync reports of one bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usage {
    pub bucket: Bucket,
    /// Admitted since the last sync.
    pub used: u64,
    /// Granted at the last sync (the shared bucket counts it as used until reported).
    pub granted: u64,
    /// Whether to be granted a share until the next sync.
    pub want: bool,
    pub interval: Duration,
    pub window: Duration,
}

/// What a sync granted one bucket.
#[derive(Clone, Debug)]
pub struct Grant {
    pub bucket: Bucket,
    pub granted: u64,
    /// How far the shared bucket's theoretical arrival time lies ahead, grants included.
    pub ahead: Duration,
}

struct BucketState {
    /// This process's own GCRA state: what decides alone when sharing fails.
    tat: Instant,
    interval: Duration,
    window: Duration,
    /// Admitted since the last sync took the count.
    used: u64,
    /// This replica's grant from the last sync.
    granted: u64,
    /// Requests waiting for a grant.
    waiting: u64,
    /// Requests a sync admitted out of its grant while they waited, not yet collected: they
    /// are counted as used already, so the next sync cannot take them back.
    tickets: u64,
    /// The last admission here: a share stays wanted for a while after it.
    last_used: Option<Instant>,
    /// As of the last sync: when the shared bucket, grants included, is full again.
    shared_full_at: Option<Instant>,
}

#[derive(Default)]
struct State {
    buckets: HashMap<Bucket, BucketState>,
    /// The last sync failed: each replica limits on its own until one succeeds.
    degraded: bool,
}

/// How this process takes part in sharing.
struct Sharing {
    interval: Duration,
    /// Asks the sync loop for a sync now.
    wake: Notify,
    /// Counts finished sync attempts; waiters watch it.
    synced: watch::Sender<u64>,
}

/// What admission decided without waiting.
#[derive(Debug)]
enum Decision {
    Admitted(Quota),
    Refused(ApiError),
    /// This replica has no share of the bucket left; the next sync may grant one.
    NeedsGrant,
}

pub struct RateLimits {
    user_per_minute: u64,
    state: Mutex<State>,
    sharing: Option<Sharing>,
}

impl RateLimits {
    /// Limits of this process alone.
    pub fn new(user_per_minute: u64) -> Self {
        Self {
            user_per_minute: user_per_minute.max(1),
            state: Mutex::default(),
            sharing: None,
        }
    }

    /// Limits shared with the other replicas, synced every `interval` by a [`super::RateSync`].
    pub fn shared(user_per_minute: u64, interval: Duration) -> Self {
        Self {
            sharing: Some(Sharing {
                interval,
                wake: Notify::new(),
                synced: watch::channel(0).0,
            }),
            ..Self::new(user_per_minute)
        }
    }

    /// Admits a signed-in user's request.
    pub async fn admit_user(&self, user_id: Uuid) -> Result<Quota, ApiError> {
        let window = Duration::from_secs(60);
        self.admit(Bucket::User(user_id), self.user_per_minute, window)
            .await
    }

    /// Admits a request made with an API key allowed `per_hour` requests an hour.
    pub async fn admit_api_key(&self, api_key_id: Uuid, per_hour: u64) -> Result<Quota, ApiError> {
        let window = Duration::from_secs(3600);
        self.admit(Bucket::ApiKey(api_key_id), per_hour.max(1), window)
            .await
    }

    /// Decides, waiting for at most two syncs when this replica needs a grant (the first may
    /// have been under way before the request asked). Holds no connection: this runs before
    /// the request takes one.
    async fn admit(&self, bucket: Bucket, limit: u64, window: Duration) -> Result<Quota, ApiError> {
        let deadline = tokio::time::Instant::now() + GRANT_WAIT;
        let mut syncs_waited = 0;
        loop {
            let mut synced = self.sharing.as_ref().map(|s| s.synced.subscribe());
            let last_chance = syncs_waited >= 2;
            match self.decide(bucket, limit, window, Instant::now(), last_chance) {
                Decision::Admitted(quota) => return Ok(quota),
                Decision::Refused(err) => return Err(err),
                Decision::NeedsGrant => {}
            }
            let (Some(sharing), Some(synced)) = (&self.sharing, synced.as_mut()) else {
                unreachable!("only shared limits need grants");
            };
            sharing.wake.notify_one();
            let synced = tokio::time::timeout_at(deadline, synced.changed()).await;
            if let Some(quota) = self.stop_waiting(bucket, limit, Instant::now()) {
                return Ok(quota);
            }
            if synced.is_err() {
                // The sync is stuck: decide as if alone rather than fail the request.
                return self.decide_alone(bucket, limit, window, Instant::now());
            }
            syncs_waited += 1;
        }
    }

    /// A waiting request leaves the queue, with a ticket if a sync left one.
    fn stop_waiting(&self, bucket: Bucket, limit: u64, now: Instant) -> Option<Quota> {
        let mut state = self.state.lock().expect("rate state");
        let bucket = state.buckets.get_mut(&bucket)?;
        bucket.waiting = bucket.waiting.saturating_sub(1);
        if bucket.tickets == 0 {
            return None;
        }
        bucket.tickets -= 1;
        let after = bucket.tat.max(now) + bucket.interval;
        Some(bucket.admit_here(after, limit, now))
    }

    fn decide(
        &self,
        bucket: Bucket,
        limit: u64,
        window: Duration,
        now: Instant,
        last_chance: bool,
    ) -> Decision {
        let mut state = self.state.lock().expect("rate state");
        let sharing = self.sharing.is_some() && !state.degraded;
        let bucket = Self::bucket(&mut state, bucket, limit, window, now);
        let Some(after) = bucket.local_after(now) else {
            return Decision::Refused(refusal(limit, window, bucket.local_wait(now)));
        };
        if !sharing {
            bucket.used += 1;
            return Decision::Admitted(bucket.admit_here(after, limit, now));
        }
        if bucket.used < bucket.granted {
            bucket.used += 1;
            let mut quota = bucket.admit_here(after, limit, now);
            // What is left everywhere: unreserved, plus this replica's unused grant.
            if let Some(full_at) = bucket.shared_full_at {
                let ahead = full_at.saturating_duration_since(now);
                let unreserved = requests_in(window.saturating_sub(ahead), bucket.interval);
                quota.remaining = (unreserved + bucket.granted - bucket.used).min(limit);
                quota.reset = quota.reset.max(ahead);
            }
            return Decision::Admitted(quota);
        }
        if !last_chance {
            bucket.waiting += 1;
            return Decision::NeedsGrant;
        }
        // Nothing was granted: the bucket is full, or the other replicas hold what is left.
        let interval = self.sharing.as_ref().map_or(window, |s| s.interval);
        let full_for = bucket
            .shared_full_at
            .map(|full_at| (full_at + bucket.interval).saturating_duration_since(now + window))
            .unwrap_or_default();
        Decision::Refused(refusal(limit, window, full_for.max(interval)))
    }

    /// Decides on this process's own count only.
    fn decide_alone(
        &self,
        bucket: Bucket,
        limit: u64,
        window: Duration,
        now: Instant,
    ) -> Result<Quota, ApiError> {
        let mut state = self.state.lock().expect("rate state");
        let bucket = Self::bucket(&mut state, bucket, limit, window, now);
        match bucket.local_after(now) {
            Some(after) => {
                bucket.used += 1;
                Ok(bucket.admit_here(after, limit, now))
            }
            None => Err(refusal(limit, window, bucket.local_wait(now))),
        }
    }

    fn bucket(
        state: &mut State,
        bucket: Bucket,
        limit: u64,
        window: Duration,
        now: Instant,
    ) -> &mut BucketState {
        let interval = interval_of(window, limit);
        if state.buckets.len() > 100_000 {
            // Buckets full here with nothing to report change nothing when forgotten.
            state
                .buckets
                .retain(|_, b| b.tat > now || b.has_report(now));
        }
        let state = state.buckets.entry(bucket).or_insert_with(|| BucketState {
            tat: now,
            interval,
            window,
            used: 0,
            granted: 0,
            waiting: 0,
            tickets: 0,
            last_used: None,
            shared_full_at: None,
        });
        // The key's limit may have been changed since.
        state.interval = interval;
        state.window = window;
        state
    }

    /// Waits until a sync is due: as soon as a request asks for a grant (what is asked while a
    /// sync runs goes into the next one), or every interval while there is use to report.
    pub async fn sync_due(&self) {
        let Some(sharing) = &self.sharing else {
            return std::future::pending().await;
        };
        loop {
            tokio::select! {
                _ = sharing.wake.notified() => return,
                _ = tokio::time::sleep(sharing.interval) => {
                    let state = self.state.lock().expect("rate state");
                    let now = Instant::now();
                    if state.buckets.values().any(|b| b.has_report(now)) {
                        return;
                    }
                }
            }
        }
    }

    /// Takes what the next sync reports: the buckets used, granted or wanted since the last.
    pub fn take_usage(&self) -> Vec<Usage> {
        let mut state = self.state.lock().expect("rate state");
        let now = Instant::now();
        state
            .buckets
            .iter_mut()
            .filter(|(_, b)| b.has_report(now))
            .map(|(bucket, b)| {
                let want = b.wants_share(now);
                // A bucket in use keeps half of its unused grant through the sync (still
                // counted as used in the shared bucket): requests arriving meanwhile are
                // admitted from it instead of each waiting for the sync to come back, and a
                // replica holds at most about twice its share. An idle one gives all back.
                let kept = if want {
                    b.granted.saturating_sub(b.used) / 2
                } else {
                    0
                };
                let usage = Usage {
                    bucket: *bucket,
                    used: b.used,
                    granted: b.granted - kept,
                    want,
                    interval: b.interval,
                    window: b.window,
                };
                (b.used, b.granted) = (0, kept);
                usage
            })
            .collect()
    }

    /// Puts back what a failed sync could not report.
    pub fn give_back(&self, usage: Vec<Usage>) {
        let mut state = self.state.lock().expect("rate state");
        for usage in usage {
            if let Some(bucket) = state.buckets.get_mut(&usage.bucket) {
                bucket.used += usage.used;
                bucket.granted += usage.granted;
            }
        }
    }

    /// Takes in a sync's grants, made at `now`.
    pub fn apply(&self, grants: Vec<Grant>, now: Instant) {
        let Some(sharing) = &self.sharing else {
            return;
        };
        {
            let mut state = self.state.lock().expect("rate state");
            state.degraded = false;
            for grant in grants {
                if let Some(bucket) = state.buckets.get_mut(&grant.bucket) {
                    // Requests admitted meanwhile (from what it kept, or while deciding
                    // alone) count against it.
                    bucket.granted += grant.granted;
                    bucket.shared_full_at = Some(now + grant.ahead);
                    // The waiting requests are served first, before another sync can start.
                    let served = bucket
                        .waiting
                        .saturating_sub(bucket.tickets)
                        .min(bucket.granted.saturating_sub(bucket.used));
                    bucket.used += served;
                    bucket.tickets += served;
                }
            }
        }
        sharing.synced.send_modify(|n| *n += 1);
    }

    /// A sync failed: until one succeeds, each replica limits on its own.
    pub fn sync_failed(&self) {
        let Some(sharing) = &self.sharing else {
            return;
        };
        self.state.lock().expect("rate state").degraded = true;
        sharing.synced.send_modify(|n| *n += 1);
    }
}

/// How long a request waits for a grant before it decides on this process's count alone.
const GRANT_WAIT: Duration = Duration::from_secs(2);

/// How long after its last request here a bucket keeps asking for a share.
const KEEP_SHARE: Duration = Duration::from_secs(60);

impl BucketState {
    /// Where this process's own count moves with one more request, if it fits.
    fn local_after(&self, now: Instant) -> Option<Instant> {
        // Full bucket: `tat == now`; each request moves it one interval further, and a
        // request is refused once it would lie more than a window ahead.
        let after = self.tat.max(now) + self.interval;
        (after <= now + self.window).then_some(after)
    }

    /// Until one more request fits this process's own count.
    fn local_wait(&self, now: Instant) -> Duration {
        (self.tat.max(now) + self.interval).saturating_duration_since(now + self.window)
    }

    /// Moves this process's own count (the caller counts the request as used).
    fn admit_here(&mut self, after: Instant, limit: u64, now: Instant) -> Quota {
        self.tat = after;
        self.last_used = Some(now);
        // Requests the bucket is short of full, rounded up: time passes between requests.
        let used = (after - now)
            .as_nanos()
            .div_ceil(self.interval.as_nanos().max(1));
        Quota {
            limit,
            window: self.window,
            remaining: limit.saturating_sub(used as u64),
            reset: after - now,
        }
    }

    /// A share is wanted while the bucket is in use here: then a request finds one waiting
    /// rather than waits for a sync.
    fn wants_share(&self, now: Instant) -> bool {
        self.waiting > 0
            || self
                .last_used
                .is_some_and(|at| now.saturating_duration_since(at) < KEEP_SHARE)
    }

    fn has_report(&self, now: Instant) -> bool {
        self.used > 0 || self.granted > 0 || self.wants_share(now)
    }
}

/// The time between two requests of a bucket allowing `limit` per `window`.
fn interval_of(window: Duration, limit: u64) -> Duration {
    Duration::from_nanos((window.as_nanos() / u128::from(limit.max(1))).max(1) as u64)
}

/// Whole requests `span` holds at one per `interval`.
fn requests_in(span: Duration, interval: Duration) -> u64 {
    (span.as_nanos() / interval.as_nanos().max(1)) as u64
}

fn refusal(limit: u64, window: Duration, retry_after: Duration) -> ApiError {
    ApiError::RateLimited {
        message: format!(
            "rate limit of {limit} requests per {}s reached; retry in {}s",
            window.as_secs(),
            retry_after.as_secs_f64().ceil() as u64
        ),
        retry_after: retry_after.max(Duration::from_secs(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    /// A sync's answer for one bucket: `granted` requests, the shared bucket (grants included)
    /// full again in `ahead_secs`.
    fn grant(bucket: Bucket, granted: u64, ahead_secs: u64) -> Vec<Grant> {
        vec![Grant {
            bucket,
            granted,
            ahead: Duration::from_secs(ahead_secs),
        }]
    }

    /// A shared user bucket allowing `limit` a minute whose first request waited for a sync
    /// that granted `granted` (full again in `ahead_secs`), and was then served from it.
    fn first_request_served(
        limit: u64,
        granted: u64,
        ahead_secs: u64,
    ) -> (RateLimits, Bucket, Instant) {
        let limits = RateLimits::shared(1, Duration::from_secs(1));
        let key = Bucket::User(Uuid::new_v4());
        let now = Instant::now();
        let _ = limits.decide(key, limit, MINUTE, now, false);
        limits.take_usage();
        limits.apply(grant(key, granted, ahead_secs), now);
        limits.stop_waiting(key, limit, now).expect("its ticket");
        (limits, key, now)
    }

    fn admitted(decision: Decision) -> Quota {
        match decision {
            Decision::Admitted(quota) => quota,
            other => panic!("expected admission, got {other:?}"),
        }
    }

    fn refused(decision: Decision) -> ApiError {
        match decision {
            Decision::Refused(err) => err,
            other => panic!("expected refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_full_bucket_serves_its_limit_then_refuses_until_it_refills() {
        let limits = RateLimits::new(1);
        let key = Bucket::ApiKey(Uuid::new_v4());
        let start = Instant::now();
        for i in 0..3 {
            let quota = admitted(limits.decide(key, 3, MINUTE, start, false));
            assert_eq!(quota.remaining, 2 - i);
        }
        let refusal = refused(limits.decide(key, 3, MINUTE, start, false));
        assert_eq!(refusal.code(), "RATE_LIMITED");
        assert_eq!(refusal.retry_after(), Some(Duration::from_secs(20)));
        // One interval later exactly one more fits.
        let later = start + Duration::from_secs(20);
        admitted(limits.decide(key, 3, MINUTE, later, false));
        refused(limits.decide(key, 3, MINUTE, later, false));
    }

    #[test]
    fn buckets_are_separate() {
        let limits = RateLimits::new(1);
        let now = Instant::now();
        let (a, b) = (Bucket::User(Uuid::new_v4()), Bucket::User(Uuid::new_v4()));
        admitted(limits.decide(a, 1, MINUTE, now, false));
        refused(limits.decide(a, 1, MINUTE, now, false));
        admitted(limits.decide(b, 1, MINUTE, now, false));
    }

    #[test]
    fn bucket_names_round_trip() {
        for bucket in [Bucket::ApiKey(Uuid::new_v4()), Bucket::User(Uuid::new_v4())] {
            assert_eq!(Bucket::from_name(&bucket.name()), Some(bucket));
        }
        assert_eq!(Bucket::from_name("team:x"), None);
    }

    #[test]
    fn a_shared_bucket_admits_only_what_this_replica_was_granted() {
        let limits = RateLimits::shared(1, Duration::from_secs(1));
        let key = Bucket::ApiKey(Uuid::new_v4());
        let now = Instant::now();
        assert!(matches!(
            limits.decide(key, 60, MINUTE, now, false),
            Decision::NeedsGrant
        ));
        let asked = limits.take_usage();
        assert_eq!(
            (asked[0].used, asked[0].granted, asked[0].want),
            (0, 0, true)
        );
        // Granted 3; the shared bucket, grants included, is full again in 50 s.
        limits.apply(grant(key, 3, 50), now);
        // The waiting request was served first.
        limits.stop_waiting(key, 60, now).expect("its ticket");
        let quota = admitted(limits.decide(key, 60, MINUTE, now, false));
        // 10 unreserved (60 s - 50 s, one per second) and 1 of the grant.
        assert_eq!(quota.remaining, 11);
        admitted(limits.decide(key, 60, MINUTE, now, false));
        assert!(matches!(
            limits.decide(key, 60, MINUTE, now, false),
            Decision::NeedsGrant
        ));
        // The report: three used of three granted, and more wanted.
        let report = limits.take_usage();
        assert_eq!(
            (report[0].used, report[0].granted, report[0].want),
            (3, 3, true)
        );
        // Nothing granted while other replicas hold the rest: refused until the next sync.
        limits.apply(grant(key, 0, 50), now);
        let refusal = refused(limits.decide(key, 60, MINUTE, now, true));
        assert_eq!(refusal.retry_after(), Some(Duration::from_secs(1)));
        // Nothing granted because the bucket is full: refused until one request fits.
        limits.apply(grant(key, 0, 75), now);
        let refusal = refused(limits.decide(key, 60, MINUTE, now, true));
        assert_eq!(refusal.retry_after(), Some(Duration::from_secs(16)));
    }

    #[test]
    fn a_waiting_request_keeps_what_a_sync_granted_it_even_if_the_next_sync_starts_first() {
        let limits = RateLimits::shared(1, Duration::from_secs(1));
        let key = Bucket::User(Uuid::new_v4());
        let now = Instant::now();
        assert!(matches!(
            limits.decide(key, 60, MINUTE, now, false),
            Decision::NeedsGrant
        ));
        limits.take_usage();
        limits.apply(grant(key, 4, 4), now);
        // The next sync takes the grant back (but half of the three unused, kept) before the
        // waiting request runs again...
        let report = limits.take_usage();
        assert_eq!((report[0].used, report[0].granted), (1, 3));
        // ...but its ticket was set aside, counted as used.
        let quota = limits.stop_waiting(key, 60, now).expect("a ticket");
        assert_eq!(quota.limit, 60);
        assert!(limits.stop_waiting(key, 60, now).is_none());
    }

    #[test]
    fn an_unused_grant_is_given_back_and_an_idle_bucket_reports_nothing() {
        let (limits, key, now) = first_request_served(60, 5, 5);
        // One used, five granted: it is in use, so it keeps half of the four unused through
        // the sync, gives back the other two and wants a share again.
        let report = limits.take_usage();
        assert_eq!(
            (report[0].used, report[0].granted, report[0].want),
            (1, 3, true)
        );
        limits.apply(vec![], now);
        let state = limits.state.lock().unwrap();
        let bucket = &state.buckets[&key];
        assert!(bucket.has_report(now + Duration::from_secs(59)));
        // Unused for a minute: no share is wanted, so the next sync takes back all it holds
        // (the two kept), and none is wanted again.
        let later = now + KEEP_SHARE;
        assert!(!bucket.wants_share(later));
        assert_eq!((bucket.used, bucket.granted), (0, 2));
        assert!(bucket.has_report(later));
    }

    #[test]
    fn a_bucket_in_use_is_served_from_what_it_kept_while_a_sync_is_under_way() {
        let (limits, key, now) = first_request_served(600, 100, 1);
        // A sync starts: 99 unused, 49 kept, 50 given back.
        let report = limits.take_usage();
        assert_eq!((report[0].used, report[0].granted), (1, 51));
        // Meanwhile 49 requests are admitted without waiting; the 50th waits for the sync.
        for _ in 0..49 {
            admitted(limits.decide(key, 600, MINUTE, now, false));
        }
        assert!(matches!(
            limits.decide(key, 600, MINUTE, now, false),
            Decision::NeedsGrant
        ));
        // The sync's grant adds to what was kept; the 49 and the waiting one count against
        // the sum (49 + 10), of which the next sync keeps half the unused nine.
        limits.apply(grant(key, 10, 1), now);
        limits.stop_waiting(key, 600, now).expect("its ticket");
        let report = limits.take_usage();
        assert_eq!((report[0].used, report[0].granted), (50, 55));
    }

    #[test]
    fn a_failed_sync_is_reported_again_and_meanwhile_each_replica_limits_on_its_own() {
        let limits = RateLimits::shared(1, Duration::from_secs(1));
        let key = Bucket::User(Uuid::new_v4());
        let now = Instant::now();
        let _ = limits.decide(key, 10, MINUTE, now, false);
        let report = limits.take_usage();
        limits.give_back(report.clone());
        limits.sync_failed();
        for _ in 0..10 {
            admitted(limits.decide(key, 10, MINUTE, now, false));
        }
        refused(limits.decide(key, 10, MINUTE, now, false));
        let again = limits.take_usage();
        assert_eq!((again[0].used, again[0].want), (10, true));
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
