//! Events: the tenant's ordered log of changes to its evented resources (leads and companies;
//! written by database triggers in the changing transaction), the per-instance feed that wakes
//! on `NOTIFY` and reads each new batch once per tenant, and the `events` and `leadEvents`
//! subscriptions that resume from a cursor without gap or duplicate. See the migrations
//! `m20261122_000005_lead_events` (ordering), `m20261204_000013_commit_positions` (numbering at
//! commit) and `m20261204_000014_generic_events` (subjects).

mod credentials;
mod cursor;
mod feed;
mod graphql;
mod kind;
mod retention;
pub mod store;
mod stream;

pub use cursor::EventCursor;
pub use feed::{EventFeed, FeedSubscription, LISTENER_NAME};
pub use graphql::{EventQuery, EventSubscription, detail_id};
pub use kind::{EventKind, EventSubjectType, LeadEventKind};
pub use retention::{Retention, prune_expired};
pub use store::{EventBatch, EventRecord, notify_listeners};
