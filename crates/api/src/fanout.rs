//! One poll of the feed per process for all of its event streams.
//!
//! A stream catches up from the database with its own filter, then takes the items every other
//! stream takes: one task per process reads the new feed items (unfiltered, once per
//! `ApiConfig::stream_poll`) and broadcasts them, and each stream keeps those its filter
//! matches ([`FeedFilter::matches`], the same predicate as the feed's SQL). So a thousand idle
//! streams cost one statement per poll instead of a thousand, and a new item reaches all of
//! them at once. Each batch says where it starts; a stream that sees a batch start past what it
//! has covered (it subscribed while the poller skipped ahead, or it fell behind the broadcast's
//! buffer) catches up from the database again, so no item can fall between the two. Nothing is
//! kept that a replica on the same database could disagree on.

use std::{
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use runs_db::{Store, read::FeedFilter, read::FeedItem};
use tokio::sync::broadcast;

use crate::dto::FeedEvent;

/// Batches the broadcast holds for a stream that has not taken them yet; a stream further
/// behind reads the database instead.
const BUFFER: usize = 1_024;

/// Items the poller reads per statement.
const PAGE: u32 = 1_000;

/// Every feed item after position `after`, in feed order, up to the last item's position, each
/// with its JSON (serialised once for every stream).
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) after: u64,
    pub(crate) items: Vec<(FeedItem, String)>,
}

/// The broadcast of new feed items, and its poller (started by the first subscriber).
#[derive(Debug)]
pub(crate) struct Fanout {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    tx: broadcast::Sender<Arc<Batch>>,
    started: Mutex<bool>,
}

impl Fanout {
    pub(crate) fn new() -> Self {
        let (tx, _) = broadcast::channel(BUFFER);
        Self { shared: Arc::new(Shared { tx, started: Mutex::new(false) }) }
    }

    /// Every batch from now on (subscribe before catching up from the database).
    pub(crate) fn subscribe(
        &self,
        store: &Store,
        chain_id: u64,
        poll: Duration,
    ) -> broadcast::Receiver<Arc<Batch>> {
        let rx = self.shared.tx.subscribe();
        let mut started = self.shared.started.lock().unwrap_or_else(|e| e.into_inner());
        if !*started {
            *started = true;
            tokio::spawn(poll_feed(Arc::downgrade(&self.shared), store.clone(), chain_id, poll));
        }
        rx
    }
}

/// Reads the feed after the last position it saw, every `poll`, and broadcasts what is new;
/// ends when the state is dropped.
async fn poll_feed(shared: Weak<Shared>, store: Store, chain_id: u64, poll: Duration) {
    let mut head = None;
    loop {
        let Some(shared) = shared.upgrade() else { return };
        if let Err(err) = step(&shared, &store, chain_id, &mut head).await {
            tracing::warn!(target: "runs::api", error = %err, "event stream: reading the feed failed; retrying");
        }
        drop(shared);
        tokio::time::sleep(poll).await;
    }
}

async fn step(
    shared: &Shared,
    store: &Store,
    chain_id: u64,
    head: &mut Option<u64>,
) -> runs_db::Result<()> {
    let mut reader = store.reader().await?;
    // With no stream listening, only remember where the feed is (a stream that subscribes
    // meanwhile sees the next batch start past it and reads the gap from the database).
    let Some(mut after) = head.filter(|_| shared.tx.receiver_count() > 0) else {
        let last = reader.last_seq(chain_id).await?;
        *head = Some(last);
        // A stream that subscribed before this first look (and caught up to less) must learn
        // that the broadcast continues from here: an empty batch marks the gap it re-reads.
        if shared.tx.receiver_count() > 0 {
            let _ = shared.tx.send(Arc::new(Batch { after: last, items: Vec::new() }));
        }
        return Ok(());
    };
    loop {
        let items = reader.feed(chain_id, after, PAGE, &FeedFilter::default()).await?;
        let Some(last) = items.last() else { break };
        let start = std::mem::replace(&mut after, last.seq);
        let full = items.len() >= PAGE as usize;
        let items = items
            .into_iter()
            .map(|item| {
                let json = serde_json::to_string(&FeedEvent::new(chain_id, &item));
                (item, json.unwrap_or_default())
            })
            .collect();
        // No receiver left is not an error: the next step only remembers the position.
        let _ = shared.tx.send(Arc::new(Batch { after: start, items }));
        if !full {
            break;
        }
    }
    *head = Some(after);
    Ok(())
}
