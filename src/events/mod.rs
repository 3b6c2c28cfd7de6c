//! Lead events: the tenant's ordered log of lead changes (written by database triggers in the
//! changing transaction), the per-instance feed that wakes on `NOTIFY` and reads each new batch
//! once per tenant, and the `leadEvents` subscription that resumes from a cursor without gap or
//! duplicate. See the migration `m20261122_000005_lead_events` for the ordering guarantee.

mod credentials;
mod cursor;
mod feed;
mod graphql;
mod kind;
mod retention;
pub mod store;
mod stream;

pub use cursor::EventCursor;
pub use feed::{EventFeed, FeedSubscription};
pub use graphql::{EventQuery, EventSubscription, LeadEvent, field_names};
pub use kind::LeadEventKind;
pub use retention::{Retention, prune_expired};
pub use store::{EventBatch, EventRecord, notify_listeners};
