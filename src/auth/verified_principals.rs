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
//! message on an open connection), and, bounded by the cache's time (and an API key's expiry,
//! by the database's clock), changes no notification announces (triggers disabled by hand) and
//! those made while a lost connection is not yet noticed (at once when PostgreSQL closes it; a
//! silent network partition may take longer). Keep the cache's time short: it is that bound.
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

/// The generations a check began in (everyone's, its organization's); its confirmation is kept
/// only if nothing of either was forgotten since.
#[derive(Clone, Copy, Debug)]
pub struct Ticket {
    everyone: u64,
    organization: u64,
}

pub struct VerifiedPrincipals {
    ttl: Duration,
    state: Mutex<State>,
}

/// Indexed by organization, so that forgetting one (after each of its writes) or one of its
/// users costs that organization's entries, not a pass over everyone's.
#[derive(Default)]
struct State {
    /// The LISTEN connection is up: notifications will tell of changes.
    listening: bool,
    /// Advanced when everything is forgotten (the organizations then start afresh).
    generation: u64,
    organizations: HashMap<Uuid, Organization>,
    /// Entries over all organizations.
    count: usize,
}

#[derive(Default)]
struct Organization {
    generation: u64,
    /// The role, and until when it may be used, by user and credential.
    entries: HashMap<(Uuid, Uuid), (Role, Instant)>,
}

impl State {
    fn forget_everyone(&mut self) {
        self.generation += 1;
        self.organizations.clear();
        self.count = 0;
    }

    /// Forgets the organization's entries `which` picks (by user), and voids its checks under way.
    fn forget(&mut self, organization_id: Uuid, which: impl Fn(&Uuid) -> bool) {
        let organization = self.organizations.entry(organization_id).or_default();
        organization.generation += 1;
        let before = organization.entries.len();
        organization
            .entries
            .retain(|(user_id, _), _| !which(user_id));
        self.count -= before - organization.entries.len();
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
        let (role, until) = state
            .organizations
            .get(&key.organization_id)?
            .entries
            .get(&(key.user_id, key.credential_id))?;
        (Instant::now() < *until).then_some(*role)
    }

    /// To take before checking `key`, if its confirmation may be kept; `None` when none may be.
    pub fn ticket(&self, key: &PrincipalKey) -> Option<Ticket> {
        let state = self.state();
        (state.listening && !self.ttl.is_zero()).then(|| Ticket {
            everyone: state.generation,
            organization: state
                .organizations
                .get(&key.organization_id)
                .map_or(0, |organization| organization.generation),
        })
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
        if !state.listening || state.generation != ticket.everyone {
            return;
        }
        if state.count >= MAX_PRINCIPALS {
            // A flood of distinct principals only costs checks, as without the cache.
            state.forget_everyone();
            return;
        }
        let organization = state.organizations.entry(key.organization_id).or_default();
        if organization.generation != ticket.organization {
            return;
        }
        let keep_for = expires_in.map_or(self.ttl, |left| left.min(self.ttl));
        let kept = organization.entries.insert(
            (key.user_id, key.credential_id),
            (role, Instant::now() + keep_for),
        );
        if kept.is_none() {
            state.count += 1;
        }
    }

    /// A notification from the `principals` channel: `<organization>:<user>`, or `*`.
    pub fn on_notification(&self, payload: &str) {
        let user = payload
            .split_once(':')
            .and_then(|(org, user)| Some((org.parse::<Uuid>().ok()?, user.parse::<Uuid>().ok()?)));
        let mut state = self.state();
        match user {
            Some((organization_id, user_id)) => {
                state.forget(organization_id, |user| *user == user_id)
            }
            // `*`, or anything unexpected: everyone.
            None => state.forget_everyone(),
        }
    }

    /// After a write of the organization's committed here: a logout, a revocation or a role
    /// change holds for the next request without waiting for its notification.
    pub fn forget_organization(&self, organization_id: Uuid) {
        self.state().forget(organization_id, |_| true);
    }

    /// The LISTEN connection is (again) up: notifications will tell of changes.
    pub fn listening(&self) {
        self.state().listening = true;
    }

    /// The LISTEN connection is down: notifications may be missed, so everything kept goes (and
    /// any check under way is not kept), and nothing is kept or used until it is back.
    pub fn not_listening(&self) {
        let mut state = self.state();
        state.forget_everyone();
        state.listening = false;
    }
}

/// Forgets an organization's principals when dropped: after a write request, even one whose
/// client went away after its COMMIT.
pub struct ForgetOrganization<'a> {
    pub principals: &'a VerifiedPrincipals,
    pub organization_id: Uuid,
}

impl Drop for ForgetOrganization<'_> {
    fn drop(&mut self) {
        self.principals.forget_organization(self.organization_id);
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
        principals.insert(principals.ticket(&key).unwrap(), key, Role::Agent, None);
        assert_eq!(principals.get(&key), Some(Role::Agent));

        let expiring = PrincipalKey::of(&identity(Uuid::new_v4(), Uuid::new_v4()));
        principals.insert(
            principals.ticket(&expiring).unwrap(),
            expiring,
            Role::Admin,
            Some(Duration::ZERO),
        );
        assert_eq!(principals.get(&expiring), None);

        let off = listening(Duration::ZERO);
        assert!(off.ticket(&key).is_none());
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
            principals.insert(principals.ticket(&key).unwrap(), key, Role::Viewer, None);
        }
        principals.on_notification(&format!("{org}:{user}"));
        assert_eq!(principals.get(&keys[0]), None);
        assert_eq!(principals.get(&keys[1]), None);
        assert_eq!(principals.get(&keys[2]), Some(Role::Viewer));

        principals.on_notification("*");
        assert_eq!(principals.get(&keys[2]), None);
    }

    #[test]
    fn a_check_that_began_before_its_organization_was_forgotten_is_not_kept() {
        let principals = listening(Duration::from_secs(60));
        let org = Uuid::new_v4();
        let key = PrincipalKey::of(&identity(org, Uuid::new_v4()));
        let other = PrincipalKey::of(&identity(Uuid::new_v4(), Uuid::new_v4()));
        let (ticket, others_ticket) = (
            principals.ticket(&key).unwrap(),
            principals.ticket(&other).unwrap(),
        );
        // The check ran on a snapshot from before a write of the organization's (or a change
        // to any of its users) committed.
        principals.forget_organization(org);
        principals.insert(ticket, key, Role::Owner, None);
        assert_eq!(principals.get(&key), None);
        // Another organization's checks are not voided by it.
        principals.insert(others_ticket, other, Role::Owner, None);
        assert_eq!(principals.get(&other), Some(Role::Owner));
        // Nor is a check begun after it.
        principals.insert(principals.ticket(&key).unwrap(), key, Role::Owner, None);
        assert_eq!(principals.get(&key), Some(Role::Owner));

        let ticket = principals.ticket(&key).unwrap();
        principals.on_notification(&format!("{org}:{}", Uuid::new_v4()));
        principals.insert(ticket, key, Role::Agent, None);
        assert_eq!(
            principals.get(&key),
            Some(Role::Owner),
            "the racing check was kept"
        );
    }

    #[test]
    fn nothing_is_kept_or_used_while_not_listening() {
        let principals = VerifiedPrincipals::new(Duration::from_secs(60));
        let key = PrincipalKey::of(&identity(Uuid::new_v4(), Uuid::new_v4()));
        assert!(principals.ticket(&key).is_none());
        principals.listening();
        let ticket = principals.ticket(&key).unwrap();
        principals.insert(ticket, key, Role::Manager, None);
        principals.not_listening();
        assert_eq!(principals.get(&key), None);
        principals.insert(ticket, key, Role::Manager, None);
        principals.listening();
        assert_eq!(principals.get(&key), None);
        // A check begun before the connection was lost is not kept once it is back.
        principals.insert(ticket, key, Role::Manager, None);
        assert_eq!(principals.get(&key), None);
    }
}
