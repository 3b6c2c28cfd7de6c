//! `subscription { leadEvents(after, filter) }` and the `leadEventCursor` query.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;

use super::{
    EventBatch, EventCursor, LeadEventKind, store,
    stream::{EventFilter, EventStream},
};
use crate::{
    auth::Identity,
    error::{ApiError, ApiResult},
    graphql::{ContextExt, NodeKind, RequestTx, decode_id},
    leads::Lead,
    tenancy::{TenantSettings, TenantTx},
    users::User,
};

/// One change to a lead, as delivered to a subscriber.
pub struct LeadEvent {
    batch: Arc<EventBatch>,
    index: usize,
    cursor: String,
}

impl LeadEvent {
    pub fn new(batch: Arc<EventBatch>, index: usize, cursor: String) -> Self {
        Self {
            batch,
            index,
            cursor,
        }
    }

    fn record(&self) -> &super::EventRecord {
        &self.batch.events[self.index]
    }
}

/// The Lead fields changed columns are exposed as, each once, in the columns' order.
pub fn field_names(columns: &[String]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(columns.len());
    for name in columns.iter().map(|c| field_name(c)) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The Lead field a changed column is exposed as.
fn field_name(column: &str) -> String {
    let column = match column {
        "company_id" => "company",
        "assigned_to_id" => "assigned_to",
        // Money is one field of two columns.
        "estimated_deal_currency" => "estimated_deal_value",
        other => other,
    };
    let mut name = String::with_capacity(column.len());
    let mut upper = false;
    for c in column.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            name.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            name.push(c);
        }
    }
    name
}

#[Object]
impl LeadEvent {
    /// Resume from here: `leadEvents(after: <this cursor>)` delivers every later event.
    async fn cursor(&self) -> &str {
        &self.cursor
    }
    async fn kind(&self) -> LeadEventKind {
        self.record().kind
    }
    async fn lead_id(&self) -> ID {
        NodeKind::Lead.id(self.record().lead_id)
    }
    /// The Lead fields the change touched (e.g. `status`, `assignedTo`).
    async fn changed_fields(&self) -> Vec<String> {
        field_names(&self.record().changed_fields)
    }
    /// The note (NOTE_ADDED) or activity (ACTIVITY_LOGGED) the event is about.
    async fn subject_id(&self) -> Option<ID> {
        let kind = match self.record().kind {
            LeadEventKind::NoteAdded => NodeKind::Note,
            LeadEventKind::ActivityLogged => NodeKind::Activity,
            _ => return None,
        };
        self.record().subject_id.map(|id| kind.id(id))
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.record().occurred_at.into()
    }
    /// Who made the change (for API keys, the key's creator); null for changes made outside
    /// any user's session.
    async fn actor(&self) -> Option<User> {
        let id = self.record().actor_id?;
        self.batch.actors.get(&id).cloned().map(User)
    }
    /// The lead as it is now (soft-deleted leads included), seen with your permissions.
    async fn lead(&self) -> Option<Lead> {
        self.batch
            .leads
            .get(&self.record().lead_id)
            .cloned()
            .map(Lead)
    }
}

/// Which events a subscription receives; every given condition must hold.
#[derive(InputObject, Default)]
pub struct LeadEventFilter {
    /// Only these kinds.
    kinds: Option<Vec<LeadEventKind>>,
    /// Only events of this lead.
    lead_id: Option<ID>,
    /// Only events of leads (currently) assigned to this user.
    assigned_to: Option<ID>,
}

impl LeadEventFilter {
    fn decode(self) -> ApiResult<EventFilter> {
        Ok(EventFilter {
            kinds: self.kinds,
            lead_id: self
                .lead_id
                .map(|id| decode_id(&id, NodeKind::Lead, "filter.leadId"))
                .transpose()?,
            assigned_to: self
                .assigned_to
                .map(|id| decode_id(&id, NodeKind::User, "filter.assignedTo"))
                .transpose()?,
        })
    }
}

#[derive(Default)]
pub struct EventSubscription;

/// Where a subscription starts: after its cursor (checked against the log's bounds), or at the
/// log's head.
async fn start_position(
    app: &crate::state::AppState,
    identity: &Identity,
    after: Option<EventCursor>,
    timeout: std::time::Duration,
) -> ApiResult<i64> {
    let tx = TenantTx::begin(&app.db, true, timeout, Some(identity.tenant)).await?;
    let bounds = store::bounds(tx.conn(), identity.tenant.organization_id).await?;
    tx.commit().await?;
    match after {
        Some(cursor) if cursor.position < bounds.pruned_through => Err(ApiError::CursorExpired),
        Some(cursor) if cursor.position > bounds.head => Err(ApiError::bad_input(
            "after",
            "this cursor is not in the event log",
        )),
        Some(cursor) => Ok(cursor.position),
        None => Ok(bounds.head),
    }
}

#[Subscription]
impl EventSubscription {
    /// Changes to your organization's leads, in order. With `after` (a cursor from an event
    /// or from `leadEventCursor`), every event after it is delivered first, then live ones:
    /// no gap, no duplicate. Without it, events from now on. Ends with RESUME_REQUIRED
    /// (resume from `extensions.cursor`) when the subscriber falls too far behind, and with
    /// UNAUTHENTICATED when its user is deactivated or its key revoked.
    async fn lead_events(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        filter: Option<LeadEventFilter>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<LeadEvent>> + use<>> {
        let principal = ctx.principal()?;
        let app = ctx.app();
        let RequestTx::PerBatch(batch_tx) = &ctx.request().tx else {
            return Err(ApiError::internal(anyhow::anyhow!(
                "subscription without a per-batch transaction"
            ))
            .into());
        };
        let organization_id = principal.organization_id;
        let filter = filter.unwrap_or_default().decode()?;
        let after = after
            .map(|cursor| EventCursor::decode(&cursor, organization_id))
            .transpose()?;
        let identity = Identity::from(principal);
        let timeout = app.limits.request_timeout;
        // Live-only subscribers join the feed at once (on a tenant this instance follows
        // already, with no statement: a reconnect storm costs the database nothing here);
        // resuming ones catch up from the log first.
        let (last, subscription) = match after {
            None => {
                let head = start_position(app, &identity, None, timeout);
                let (last, joined) = app.events.join_live(organization_id, head).await?;
                (last, Some(joined))
            }
            Some(_) => (start_position(app, &identity, after, timeout).await?, None),
        };
        let settings = app.events.settings();
        let revalidate_every = settings.revalidate_interval;
        let stream = EventStream {
            feed: app.events.clone(),
            db: app.db.clone(),
            statement_timeout: timeout,
            subscription,
            identity,
            filter,
            last,
            batch_tx: batch_tx.clone(),
            pending: Default::default(),
            revalidate: tokio::time::interval_at(
                tokio::time::Instant::now() + revalidate_every,
                revalidate_every,
            ),
            done: false,
        };
        Ok(futures::stream::unfold(stream, |mut stream| async move {
            let item = stream.next().await?;
            Some((item.map_err(Into::into), stream))
        }))
    }
}

#[derive(Default)]
pub struct EventQuery;

#[Object]
impl EventQuery {
    /// The cursor of your organization's newest lead event. Subscribing with `after:` it
    /// receives everything from now on, even if the connection drops before the first event.
    async fn lead_event_cursor(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        let principal = ctx.principal()?;
        let bounds = store::bounds(ctx.db()?, principal.organization_id).await?;
        Ok(EventCursor {
            position: bounds.head,
        }
        .encode(principal.organization_id))
    }
}

impl From<&crate::tenancy::Principal> for Identity {
    fn from(principal: &crate::tenancy::Principal) -> Self {
        Identity {
            tenant: TenantSettings {
                organization_id: principal.organization_id,
                user_id: principal.user_id,
            },
            credential: principal.credential.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{field_name, field_names};

    #[test]
    fn changed_columns_are_named_as_lead_fields() {
        assert_eq!(field_name("status"), "status");
        assert_eq!(field_name("assigned_to_id"), "assignedTo");
        assert_eq!(field_name("company_id"), "company");
        assert_eq!(field_name("probability_to_close"), "probabilityToClose");
        let money = ["estimated_deal_value", "estimated_deal_currency", "score"].map(String::from);
        assert_eq!(field_names(&money), ["estimatedDealValue", "score"]);
    }
}
