//! Deterministic batching for the request's DataLoader. async-graphql's DataLoader hands each
//! batch to a spawner and fires it after a short timer; spawned on the runtime, a batch can
//! fire while sibling resolvers are still registering keys, so a big page would split into
//! several statements. Here batches are queued instead and driven by the request's own task,
//! and only when the execution can make no more progress, i.e. once every resolver that can
//! run has registered its keys. A page then costs one statement per relation and depth,
//! whatever its size.

use std::{
    future::{Future, poll_fn},
    pin::pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

use futures::{Stream, StreamExt, future::BoxFuture, stream::FuturesUnordered};

#[derive(Clone, Default)]
pub struct Batches(Arc<Mutex<Vec<BoxFuture<'static, ()>>>>);

impl Batches {
    /// The spawner to give `DataLoader::new`: it queues the batch.
    pub fn spawner(&self) -> impl Fn(BoxFuture<'static, ()>) + Send + Sync + 'static {
        let queue = self.clone();
        move |batch| queue.0.lock().expect("batch queue").push(batch)
    }

    /// Runs `execution` to completion, starting queued batches whenever it is waiting.
    pub async fn drive<T>(&self, execution: impl Future<Output = T>) -> T {
        let mut execution = pin!(execution);
        let mut running = FuturesUnordered::new();
        poll_fn(|cx| self.poll_driving(&mut running, cx, |cx| execution.as_mut().poll(cx))).await
    }

    /// The same for a subscription: each item's resolution is driven like a request.
    pub fn drive_stream<S: Stream + Unpin>(self, mut items: S) -> impl Stream<Item = S::Item> {
        let mut running = FuturesUnordered::new();
        futures::stream::poll_fn(move |cx| {
            self.poll_driving(&mut running, cx, |cx| items.poll_next_unpin(cx))
        })
    }

    fn poll_driving<T>(
        &self,
        running: &mut FuturesUnordered<BoxFuture<'static, ()>>,
        cx: &mut Context<'_>,
        poll_execution: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        let waker = Arc::new(WakeFlag {
            woken: AtomicBool::new(false),
            task: cx.waker().clone(),
        });
        let flagged = Waker::from(waker.clone());
        if let Poll::Ready(output) = poll_execution(&mut Context::from_waker(&flagged)) {
            return Poll::Ready(output);
        }
        // Woken while being polled: it yielded with work left (join_all over many items
        // does), so keys may still be coming. Batches start only once it truly waits.
        if !waker.woken.load(Ordering::SeqCst) {
            running.extend(self.0.lock().expect("batch queue").drain(..));
        }
        // A finished batch wakes the execution through its results; keep polling the rest.
        while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {}
        Poll::Pending
    }
}

/// Passes wake-ups on to the task and remembers that one happened.
struct WakeFlag {
    woken: AtomicBool,
    task: Waker,
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.task.wake_by_ref();
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::HashMap, time::Duration};

    use async_graphql::dataloader::{DataLoader, Loader};

    use super::*;

    /// Records the size of every batch it is asked to load.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<usize>>);

    impl Loader<u32> for Recorder {
        type Value = u32;
        type Error = String;

        async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, String> {
            self.0.lock().unwrap().push(keys.len());
            Ok(keys.iter().map(|k| (*k, k * 2)).collect())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keys_requested_together_load_in_one_batch_however_slow_their_registration() {
        let batches = Batches::default();
        let loader = DataLoader::new(Recorder::default(), batches.spawner()).delay(Duration::ZERO);
        let values = batches
            .drive(futures::future::join_all((0..500u32).map(|k| {
                let loader = &loader;
                async move {
                    // Slow, CPU-bound work before asking: the window a timer would close.
                    std::thread::sleep(Duration::from_micros(20));
                    loader.load_one(k).await.unwrap()
                }
            })))
            .await;
        assert_eq!(values[499], Some(998));
        assert_eq!(*loader.loader().0.lock().unwrap(), vec![500]);
    }
}
