//! Principals confirmed lately, kept in memory for `PRINCIPAL_CACHE_MS` (5 s by default; 0 turns
//! it off): a request whose principal (user active, session not logged out or key not revoked,
//! the user's role) was confirmed that recently opens its transaction without the check, one
//! statement fewer for PostgreSQL to run.
//!
//! It is safe only because entries are forgotten as soon as what they say may have changed:
//! - the database announces every change that can end a principal on the `principals` channel
//!   (migration 000027), whoever wrote it; this instance's LISTEN connection (the event feed's)
//!   forgets that user's entries when it arrives;
//! - a write request forgets its organization's entries once committed, so that on the instance
//!   that served it a logout, revocation or role change holds for the very next request;
//! - everything is forgotten when the LISTEN connection is lost (notifications may be missed),
//!   and nothing is kept or used until it is back;
//! - a confirmation that raced with a change is not kept: every forgetting starts a new
//!   generation, and an entry is only kept under the generation its check began in.
//!
//! What remains is the time a notification takes to reach another instance (a commit, then a
//! message on an open connection), and, bounded by the cache's time, changes no notification
//! announces and those made while a lost connection is not yet noticed (at once when
//! PostgreSQL closes it; a silent network partition may take longer).
//! Entries are bounded in number.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use uuid::Uuid;

use super::Identity;
use crate::tenancy::{Credential, Role};

/// The channel the database announces principal changes on.
pub const CHANNEL: &str = "principals";

/// Entries kept at most; past it, stale entries go, then all.
const MAX_PRINCIPALS: usize = 100_000;

/// Whom an entry speaks for: a user through one credential (session family or API key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PrincipalKey {
    organization_id: Uuid,
    user_id: Uuid,
    credential_id: Uuid,
}

impl PrincipalKey {
    pub fn of(identity: &Identity) -> Self {
        Self {
            organization_id: identity.tenant.organization_id,
            user_id: identity.tenant.user_id,
            credential_id: match &identity.credential {
                Credential::Session { family_id } => *family_id,
                Credential::ApiKey { api_key_id, .. } => *api_key_id,
            },
        }
    }
}

/// The generation a check began in; its confirmation is kept only if no forgetting came since.
#[derive(Clone, Copy, Debug)]
pub struct Ticket(u64);

pub struct VerifiedPrincipals {
    ttl: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The LISTEN connection is up: notifications will tell of changes.
    listening: bool,
    generation: u64,
    /// The role, and until when it may be used.
    entries: HashMap<PrincipalKey, (Role, Instant)>,
}

impl State {
    fn forget(&mut self, which: impl Fn(&PrincipalKey) -> bool) {
        self.generation += 1;
        self.entries.retain(|key, _| !which(key));
    }
}

impl VerifiedPrincipals {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("verified principals lock")
    }

    /// The principal's role, if it was confirmed lately and nothing since may have changed it.
    pub fn get(&self, key: &PrincipalKey) -> Option<Role> {
        let state = self.state();
        if !state.listening {
            return None;
        }
        let (role, until) = state.entries.get(key)?;
        (Instant::now() < *until).then_some(*role)
    }

    /// To take before a check whose confirmation may be kept; `None` when none may be.
    pub fn ticket(&self) -> Option<Ticket> {
        let state = self.state();
        (state.listening && !self.ttl.is_zero()).then_some(Ticket(state.generation))
    }

    /// Keeps a confirmation for the cache's time, or until `expires_in` (an API key's expiry)
    /// when that comes first; not if anything was forgotten since `ticket` was taken.
    pub fn insert(
        &self,
        ticket: Ticket,
        key: PrincipalKey,
        role: Role,
        expires_in: Option<Duration>,
    ) {
        let mut state = self.state();
        if !state.listening || state.generation != ticket.0 {
            return;
        }
        let now = Instant::now();
        if state.entries.len() >= MAX_PRINCIPALS {
            state.entries.retain(|_, (_, until)| now < *until);
            if state.entries.len() >= MAX_PRINCIPALS {
                state.entries.clear();
            }
        }
        let keep_for = expires_in.map_or(self.ttl, |left| left.min(self.ttl));
        state.entries.insert(key, (role, now + keep_for));
    }

    /// A notification from the `principals` channel: `<organization>:<user>`, or `*`.
    pub fn on_notification(&self, payload: &str) {
        let user = payload
            .split_once(':')
            .and_then(|(org, user)| Some((org.parse::<Uuid>().ok()?, user.parse::<Uuid>().ok()?)));
        let mut state = self.state();
        match user {
            Some((organization_id, user_id)) => {
                state.forget(|key| key.organization_id == organization_id && key.user_id == user_id)
            }
            // `*`, or anything unexpected: everyone.
            None => state.forget(|_| true),
        }
    }

    /// After a write of the organization's committed here: a logout, a revocation or a role
    /// change holds for the next request without waiting for its notification.
    pub fn forget_organization(&self, organization_id: Uuid) {
        self.state()
            .forget(|key| key.organization_id == organization_id);
    }

    /// The LISTEN connection is (again) up: notifications will tell of changes.
    pub fn listening(&self) {
        self.state().listening = true;
    }

    /// The LISTEN connection is down: notifications may be missed, so everything kept goes (and
    /// any check under way is not kept), and nothing is kept or used until it is back.
    pub fn not_listening(&self) {
        let mut state = self.state();
        state.forget(|_| true);
        state.listening = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::TenantSettings;

    fn identity(organization_id: Uuid, user_id: Uuid) -> Identity {
        Identity {
            tenant: TenantSettings {
                organization_id,
                user_id,
            },
            credential: Credential::Session {
                family_id: Uuid::new_v4(),
            },
        }
    }

    fn listening(ttl: Duration) -> VerifiedPrincipals {
        let principals = VerifiedPrincipals::new(ttl);
        principals.listening();
        principals
    }

    #[test]
    fn a_confirmation_is_kept_for_the_caches_time_or_until_the_key_expires() {
        let principals = listening(Duration::from_secs(60));
        let key = PrincipalKey::of(&identity(Uuid::new_v4(), Uuid::new_v4()));
        principals.insert(principals.ticket().unwrap(), key, Role::Agent, None);
        assert_eq!(principals.get(&key), Some(Role::Agent));

        let expiring = PrincipalKey::of(&identity(Uuid::new_v4(), Uuid::new_v4()));
        principals.insert(
            principals.ticket().unwrap(),
            expiring,
            Role::Admin,
            Some(Duration::ZERO),
        );
        assert_eq!(principals.get(&expiring), None);

        let off = listening(Duration::ZERO);
        assert!(off.ticket().is_none());
    }

    #[test]
    fn a_notification_forgets_that_user_everywhere_and_nobody_else() {
        let principals = listening(Duration::from_secs(60));
        let org = Uuid::new_v4();
        let (user, other) = (Uuid::new_v4(), Uuid::new_v4());
        let keys = [
            PrincipalKey::of(&identity(org, user)),
            PrincipalKey::of(&identity(org, user)),
            PrincipalKey::of(&identity(org, other)),
        ];
        for key in keys {
            principals.insert(principals.ticket().unwrap(), key, Role::Viewer, None);
        }
        principals.on_notification(&format!("{org}:{user}"));
        assert_eq!(principals.get(&keys[0]), None);
        assert_eq!(principals.get(&keys[1]), None);
        assert_eq!(principals.get(&keys[2]), Some(Role::Viewer));

        principals.on_notification("*");
        assert_eq!(principals.get(&keys[2]), None);
    }

    #[test]
    fn a_check_that_began_before_a_forgetting_is_not_kept() {
        let principals = listening(Duration::from_secs(60));
        let org = Uuid::new_v4();
        let key = PrincipalKey::of(&identity(org, Uuid::new_v4()));
        let ticket = principals.ticket().unwrap();
        // The check ran on a snapshot from before another organization's write, even.
        principals.forget_organization(Uuid::new_v4());
        principals.insert(ticket, key, Role::Owner, None);
        assert_eq!(principals.get(&key), None);
    }

    #[test]
    fn nothing_is_kept_or_used_while_not_listening() {
        let principals = VerifiedPrincipals::new(Duration::from_secs(60));
        assert!(principals.ticket().is_none());
        principals.listening();
        let key = PrincipalKey::of(&identity(Uuid::new_v4(), Uuid::new_v4()));
        let ticket = principals.ticket().unwrap();
        principals.insert(ticket, key, Role::Manager, None);
        principals.not_listening();
        assert_eq!(principals.get(&key), None);
        principals.insert(ticket, key, Role::Manager, None);
        principals.listening();
        assert_eq!(principals.get(&key), None);
    }
}
