//! One subscriber's event stream. It keeps the last position it delivered and relies on the
//! log being dense: an event at or below it is a duplicate and skipped, a batch starting
//! beyond the next position means events to read from the log first. So a subscriber that
//! resumes from a cursor reads the log (page by page, at its own pace) until it has caught up,
//! then joins the instance's feed, with neither gap nor duplicate at the seam.

use std::{collections::VecDeque, sync::Arc, time::Duration};

use crate::tenancy::TenantPool;
use uuid::Uuid;

use super::{
    EventCursor, EventFeed, EventKind, EventSubjectType, FeedSubscription,
    store::{self, EventBatch, EventRecord},
};
use crate::{
    auth::Identity,
    error::{ApiError, ApiResult},
    tenancy::LazyTenantTx,
};

/// What a subscriber asked to receive; every condition given must hold.
#[derive(Clone, Debug, Default)]
pub struct EventSelection {
    pub subject_types: Option<Vec<EventSubjectType>>,
    pub kinds: Option<Vec<EventKind>>,
    pub subject: Option<(EventSubjectType, Uuid)>,
    /// Only events of leads (currently) assigned to this user.
    pub assigned_to: Option<Uuid>,
}

impl EventSelection {
    fn matches(&self, batch: &EventBatch, index: usize) -> bool {
        let event = &batch.events[index];
        self.subject_types
            .as_ref()
            .is_none_or(|types| types.contains(&event.subject_type))
            && self.kinds.as_ref().is_none_or(|k| k.contains(&event.kind))
            && self
                .subject
                .is_none_or(|subject| subject == (event.subject_type, event.subject_id))
            && self.assigned_to.is_none_or(|user| {
                event
                    .lead_id()
                    .and_then(|id| batch.leads.get(&id))
                    .is_some_and(|lead| lead.assigned_to_id == Some(user))
            })
    }
}

/// One event as delivered to a subscriber: its batch (which holds the rows it names), where
/// it is in the batch, and the cursor to resume after it.
pub struct DeliveredEvent {
    pub batch: Arc<EventBatch>,
    index: usize,
    pub cursor: String,
}

impl DeliveredEvent {
    pub fn record(&self) -> &EventRecord {
        &self.batch.events[self.index]
    }
}

pub struct EventStream {
    pub feed: EventFeed,
    pub db: TenantPool,
    pub statement_timeout: Duration,
    pub identity: Identity,
    pub selection: EventSelection,
    /// The last position delivered (or skipped as not for this subscriber).
    pub last: i64,
    /// The per-batch transaction the subscription's loaders use; closed between batches.
    pub batch_tx: Arc<LazyTenantTx>,
    pub subscription: Option<FeedSubscription>,
    pub pending: VecDeque<(Arc<EventBatch>, usize)>,
    pub revalidate: tokio::time::Interval,
    pub done: bool,
}

impl EventStream {
    fn organization_id(&self) -> Uuid {
        self.identity.tenant.organization_id
    }

    fn cursor(&self) -> String {
        EventCursor {
            position: self.last,
        }
        .encode(self.organization_id())
    }

    /// The next event for this subscriber; an error ends the stream.
    pub async fn next(&mut self) -> Option<ApiResult<DeliveredEvent>> {
        if self.done {
            return None;
        }
        match self.advance().await {
            Ok(Some(event)) => Some(Ok(event)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(err) => {
                self.done = true;
                Some(Err(err))
            }
        }
    }

    async fn advance(&mut self) -> ApiResult<Option<DeliveredEvent>> {
        let user_id = self.identity.tenant.user_id;
        loop {
            while let Some((batch, at)) = self.pending.pop_front() {
                if at + 1 < batch.events.len() {
                    self.pending.push_front((batch.clone(), at + 1));
                }
                let event = &batch.events[at];
                if event.position <= self.last {
                    continue;
                }
                self.last = event.position;
                if event.visible_to(user_id) && self.selection.matches(&batch, at) {
                    let cursor = self.cursor();
                    return Ok(Some(DeliveredEvent {
                        batch,
                        index: at,
                        cursor,
                    }));
                }
            }
            // Everything read so far is delivered: the loaders' transaction is done with.
            self.batch_tx.close().await?;
            let batch = match self.subscription.as_mut() {
                None => self.catch_up().await?,
                Some(subscription) => {
                    tokio::select! {
                        batch = subscription.recv() => match batch {
                            Some(batch) => Some(batch),
                            None => {
                                return Err(ApiError::ResumeRequired {
                                    reason: if subscription.overflowed() {
                                        "this subscription fell too far behind and was closed"
                                    } else {
                                        "the server is shutting down"
                                    },
                                    cursor: self.cursor(),
                                });
                            }
                        },
                        _ = self.revalidate.tick() => {
                            let max_age = self.feed.settings().revalidate_interval;
                            let checked = self
                                .feed
                                .credentials()
                                .check(&self.db, &self.identity, self.statement_timeout, max_age)
                                .await;
                            match checked {
                                Ok(_) => {}
                                Err(err @ (ApiError::Unauthenticated
                                | ApiError::InvalidCredentials(_))) => return Err(err),
                                // The database is away (a restart, a failover): no verdict on
                                // the credential, so the subscription waits for it.
                                Err(err) => {
                                    tracing::warn!(error = %err, "cannot re-check a subscriber's credential now");
                                }
                            }
                            None
                        }
                    }
                }
            };
            if let Some(batch) = batch {
                self.accept(batch).await?;
            }
        }
    }

    /// Not yet on the feed: reads the next page of the log; once a page comes back short the
    /// log is (nearly) caught up and the subscriber joins the feed.
    async fn catch_up(&mut self) -> ApiResult<Option<Arc<EventBatch>>> {
        let size = self.feed.settings().batch_size;
        let page = self.read_after(self.last, size).await?;
        if (page.events.len() as u64) < size {
            let seen = page.last_position().unwrap_or(self.last);
            self.subscription = Some(self.feed.subscribe(self.organization_id(), seen));
        }
        Ok((!page.events.is_empty()).then(|| Arc::new(page)))
    }

    /// Queues a batch from the feed, first reading from the log whatever lies between the
    /// last delivered position and the batch.
    async fn accept(&mut self, batch: Arc<EventBatch>) -> ApiResult<()> {
        let Some(first) = batch.first_position() else {
            return Ok(());
        };
        let mut from = self.last.max(self.queued_through());
        while first > from + 1 {
            let missing = ((first - from - 1) as u64).min(self.feed.settings().batch_size);
            let page = self.read_after(from, missing).await?;
            let Some(last) = page.last_position() else {
                break;
            };
            from = last;
            self.pending.push_back((Arc::new(page), 0));
        }
        self.pending.push_back((batch, 0));
        Ok(())
    }

    fn queued_through(&self) -> i64 {
        self.pending
            .back()
            .and_then(|(b, _)| b.last_position())
            .unwrap_or(i64::MIN)
    }

    async fn read_after(&self, after: i64, limit: u64) -> ApiResult<EventBatch> {
        store::read_batch(
            &self.db,
            self.organization_id(),
            after,
            limit,
            self.statement_timeout,
        )
        .await
    }
}
