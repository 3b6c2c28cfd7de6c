//! The subscriptions `events(after, filter)` (every evented resource) and `leadEvents(after,
//! filter)` (the same log, leads only), and the queries giving a cursor of the log's head.

use async_graphql::{Context, ID, InputObject, Object, Subscription};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};

use super::{
    EventCursor, EventKind, EventSubjectType, LeadEventKind, store,
    stream::{DeliveredEvent, EventSelection, EventStream},
};
use crate::{
    auth::Identity,
    campaigns::Campaign,
    companies::Company,
    deals::Deal,
    error::{ApiError, ApiResult},
    graphql::{ContextExt, Node, NodeKind, RequestTx, decode_any, decode_id},
    leads::Lead,
    tenancy::{TenantSettings, TenantTx},
    users::User,
};

/// One change to a resource, as delivered to a subscriber.
pub struct Event(DeliveredEvent);

#[Object]
impl Event {
    /// Resume from here: `events(after: <this cursor>)` delivers every later event.
    async fn cursor(&self) -> &str {
        &self.0.cursor
    }
    async fn kind(&self) -> EventKind {
        self.0.record().kind
    }
    async fn subject_type(&self) -> EventSubjectType {
        self.0.record().subject_type
    }
    async fn subject_id(&self) -> ID {
        let event = self.0.record();
        event.subject_type.node_kind().id(event.subject_id)
    }
    /// The subject as it is now, seen with your permissions; null once it no longer exists.
    async fn subject(&self) -> Option<Node> {
        let event = self.0.record();
        let batch = &self.0.batch;
        match event.subject_type {
            EventSubjectType::Lead => batch
                .leads
                .get(&event.subject_id)
                .map(|lead| Node::Lead(Lead(lead.clone()))),
            EventSubjectType::Company => batch
                .companies
                .get(&event.subject_id)
                .map(|company| Node::Company(Company(company.clone()))),
            EventSubjectType::Deal => batch
                .deals
                .get(&event.subject_id)
                .map(|deal| Node::Deal(Deal(deal.clone()))),
            EventSubjectType::Campaign => batch
                .campaigns
                .get(&event.subject_id)
                .map(|campaign| Node::Campaign(Campaign(campaign.clone()))),
        }
    }
    /// The subject's fields the change touched (e.g. `status`, `assignedTo`).
    async fn changed_fields(&self) -> Vec<String> {
        let event = self.0.record();
        event.subject_type.field_names(&event.changed_fields)
    }
    /// The note (NOTE_ADDED), activity (ACTIVITY_LOGGED) or campaign member's lead (MEMBER_...)
    /// the event is about.
    async fn detail_id(&self) -> Option<ID> {
        detail_id(self.0.record())
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.record().occurred_at.into()
    }
    /// Who made the change (for API keys, the key's creator); null for changes made outside
    /// any user's session.
    async fn actor(&self) -> Option<User> {
        actor(&self.0)
    }
}

/// The global id of the row an event is about besides its subject, if any.
pub fn detail_id(event: &store::EventRecord) -> Option<ID> {
    let kind = match event.kind {
        EventKind::NoteAdded => NodeKind::Note,
        EventKind::ActivityLogged => NodeKind::Activity,
        EventKind::MemberAdded | EventKind::MemberStatusChanged | EventKind::MemberRemoved => {
            NodeKind::Lead
        }
        _ => return None,
    };
    event.detail_id.map(|id| kind.id(id))
}

fn actor(event: &DeliveredEvent) -> Option<User> {
    let id = event.record().actor_id?;
    event.batch.actors.get(&id).cloned().map(User)
}

/// One change to a lead, as delivered to a `leadEvents` subscriber.
pub struct LeadEvent(DeliveredEvent);

#[Object]
impl LeadEvent {
    /// Resume from here: `leadEvents(after: <this cursor>)` delivers every later event.
    async fn cursor(&self) -> &str {
        &self.0.cursor
    }
    async fn kind(&self) -> async_graphql::Result<LeadEventKind> {
        let kind = self.0.record().kind;
        Option::<LeadEventKind>::from(kind)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("{kind:?} is no lead event")).into())
    }
    async fn lead_id(&self) -> ID {
        NodeKind::Lead.id(self.0.record().subject_id)
    }
    /// The Lead fields the change touched (e.g. `status`, `assignedTo`).
    async fn changed_fields(&self) -> Vec<String> {
        EventSubjectType::Lead.field_names(&self.0.record().changed_fields)
    }
    /// The note (NOTE_ADDED) or activity (ACTIVITY_LOGGED) the event is about.
    async fn subject_id(&self) -> Option<ID> {
        detail_id(self.0.record())
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.record().occurred_at.into()
    }
    /// Who made the change (for API keys, the key's creator); null for changes made outside
    /// any user's session.
    async fn actor(&self) -> Option<User> {
        actor(&self.0)
    }
    /// The lead as it is now (soft-deleted leads included), seen with your permissions.
    async fn lead(&self) -> Option<Lead> {
        self.0
            .batch
            .leads
            .get(&self.0.record().subject_id)
            .cloned()
            .map(Lead)
    }
}

/// Which events an `events` subscription receives; every given condition must hold.
#[derive(InputObject, Default)]
pub struct EventFilter {
    /// Only events of these kinds of resource.
    subject_types: Option<Vec<EventSubjectType>>,
    /// Only these kinds.
    kinds: Option<Vec<EventKind>>,
    /// Only events of this resource (a lead or a company).
    subject_id: Option<ID>,
}

impl EventFilter {
    fn decode(self) -> ApiResult<EventSelection> {
        let subject = self
            .subject_id
            .map(|id| {
                let field = "filter.subjectId";
                let (kind, uuid) =
                    decode_any(&id).map_err(|_| ApiError::bad_input(field, "malformed id"))?;
                EventSubjectType::ALL
                    .into_iter()
                    .find(|t| t.node_kind() == kind)
                    .map(|subject_type| (subject_type, uuid))
                    .ok_or_else(|| ApiError::bad_input(field, "this kind of object has no events"))
            })
            .transpose()?;
        Ok(EventSelection {
            subject_types: self.subject_types,
            kinds: self.kinds,
            subject,
            assigned_to: None,
        })
    }
}

/// Which events a `leadEvents` subscription receives; every given condition must hold.
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
    fn decode(self) -> ApiResult<EventSelection> {
        Ok(EventSelection {
            subject_types: Some(vec![EventSubjectType::Lead]),
            kinds: self
                .kinds
                .map(|kinds| {
                    kinds
                        .into_iter()
                        .map(|kind| EventKind::from_db(kind.as_db()))
                        .collect()
                })
                .transpose()?,
            subject: self
                .lead_id
                .map(|id| decode_id(&id, NodeKind::Lead, "filter.leadId"))
                .transpose()?
                .map(|id| (EventSubjectType::Lead, id)),
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
    let tx = TenantTx::begin(&app.tenants, true, timeout, Some(identity.tenant)).await?;
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

/// The subscriber's events of the log, after `after` or from now on (see `events`).
async fn subscribe(
    ctx: &Context<'_>,
    after: Option<String>,
    selection: ApiResult<EventSelection>,
) -> ApiResult<impl Stream<Item = async_graphql::Result<DeliveredEvent>> + use<>> {
    let principal = ctx.principal()?;
    let app = ctx.app();
    let RequestTx::PerBatch(batch_tx) = &ctx.request().tx else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "subscription without a per-batch transaction"
        )));
    };
    let organization_id = principal.organization_id;
    let selection = selection?;
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
    let revalidate_every = app.events.settings().revalidate_interval;
    let stream = EventStream {
        feed: app.events.clone(),
        db: app.tenants.clone(),
        statement_timeout: timeout,
        subscription,
        identity,
        selection,
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

#[Subscription]
impl EventSubscription {
    /// Changes to your organization's leads and companies, in order. With `after` (a cursor
    /// from an event or from `eventCursor`), every event after it is delivered first, then live
    /// ones: no gap, no duplicate. Without it, events from now on. Ends with RESUME_REQUIRED
    /// (resume from `extensions.cursor`) when the subscriber falls too far behind, and with
    /// UNAUTHENTICATED when its user is deactivated or its key revoked.
    async fn events(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        filter: Option<EventFilter>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Event>> + use<>> {
        let events = subscribe(ctx, after, filter.unwrap_or_default().decode()).await?;
        Ok(events.map(|event| event.map(Event)))
    }

    /// Changes to your organization's leads: `events` with `subjectTypes: [LEAD]`, on the same
    /// log and with the same cursors and promises.
    async fn lead_events(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        filter: Option<LeadEventFilter>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<LeadEvent>> + use<>> {
        let events = subscribe(ctx, after, filter.unwrap_or_default().decode()).await?;
        Ok(events.map(|event| event.map(LeadEvent)))
    }
}

#[derive(Default)]
pub struct EventQuery;

#[Object]
impl EventQuery {
    /// The cursor of your organization's newest event. Subscribing with `after:` it receives
    /// everything from now on, even if the connection drops before the first event.
    async fn event_cursor(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        head_cursor(ctx).await
    }

    /// The same cursor as `eventCursor` (one log serves both subscriptions).
    async fn lead_event_cursor(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        head_cursor(ctx).await
    }
}

async fn head_cursor(ctx: &Context<'_>) -> async_graphql::Result<String> {
    let principal = ctx.principal()?;
    let bounds = store::bounds(ctx.db()?, principal.organization_id).await?;
    Ok(EventCursor {
        position: bounds.head,
    }
    .encode(principal.organization_id))
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
