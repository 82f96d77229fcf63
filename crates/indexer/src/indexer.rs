//! The [`Indexer`]: backfill from the checkpoint (or the deployment block) to the head, then follow
//! the head; detect reorgs and roll back; hold the writer lock while writing.
//!
//! Each iteration indexes one block range `[from, to]` and commits its events, the derived rows,
//! the recent-block window and the checkpoint in one store transaction, so a crash at any moment
//! leaves the store at the end of some committed range; the next run starts right after it, and
//! re-fetching a range is harmless (events are keyed by `(chain_id, tx_hash, log_index)`).

use std::{
    collections::{BTreeSet, HashMap},
    future::Future,
    time::{Duration, Instant},
};

use alloy::{primitives::B256, providers::DynProvider, rpc::types::Log};
use runs_db::{BlockRef, RangeCommit, Store, WriterLock};
use runs_primitives::DeploymentManifest;
use tokio::sync::watch;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::{
    Error, Result,
    decode::{Contracts, DecodeError, decode_log},
    range::{RangeSizer, is_range_too_large},
    reorg::{extends, find_common_ancestor},
    retry::{Backoff, Retry, retry},
    rpc::{Rpc, RpcError},
};

const TARGET: &str = "runs::indexer";

/// How the indexer sizes its queries, how long a reorg it survives, how often it polls.
#[derive(Debug, Clone)]
pub struct IndexerConfig {
    /// Blocks per `eth_getLogs` query at start.
    pub start_range: u64,
    /// Largest span a query grows to after successes.
    pub max_range: u64,
    /// Smallest span a query shrinks to after "too large" errors.
    pub min_range: u64,
    /// Recent blocks whose hashes are kept to survive a reorg; also how near the head a range must
    /// be for every one of its headers to be fetched and kept.
    pub keep_blocks: u64,
    /// Wait between polls once at the head.
    pub poll_interval: Duration,
    /// Blocks behind the head to stay (0: index the head itself; reorgs are handled anyway).
    pub confirmations: u64,
    /// Timeout of one RPC request.
    pub request_timeout: Duration,
    /// Backoff between retries of failed RPC or database calls.
    pub backoff: Backoff,
    /// Concurrent header requests.
    pub header_concurrency: usize,
    /// In an initial sync (a store without any event) that starts more than `keep_blocks` below
    /// the head, set the secondary indexes aside and rebuild them before nearing the head
    /// ([`Store::defer_indexes`]): one sorted build of each costs far less than updating it for
    /// every range.
    pub defer_indexes: bool,
}

impl Default for IndexerConfig {
    fn default() -> Self {
        Self {
            start_range: 2_000,
            max_range: 50_000,
            min_range: 1,
            keep_blocks: 64,
            poll_interval: Duration::from_secs(1),
            confirmations: 0,
            request_timeout: Duration::from_secs(30),
            backoff: Backoff::default(),
            header_concurrency: 8,
            defer_indexes: true,
        }
    }
}

/// Indexes one deployment's events into a [`Store`].
#[derive(Debug)]
pub struct Indexer {
    rpc: Rpc,
    store: Store,
    chain_id: u64,
    contracts: Contracts,
    start_block: u64,
    config: IndexerConfig,
    sizer: RangeSizer,
    /// Consecutive failed `eth_getLogs` calls that were not "too large" errors.
    log_retry: Retry,
    /// The next range, read while the previous one committed (deep in a backfill).
    read_ahead: Option<ReadAhead>,
    /// What [`Indexer::progress`] reports.
    progress: watch::Sender<Progress>,
    /// The first block of the backfill under way, if any.
    backfill_from: Option<u64>,
    /// Whether the store's secondary indexes are set aside (`None` until first looked at).
    indexes_deferred: Option<bool>,
}

/// How far the indexer is, as [`Indexer::progress`] reports it after every committed range and
/// once at the head.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// The first block of the backfill under way (`indexed` once at the head).
    pub from: u64,
    /// The last committed block.
    pub indexed: u64,
    /// The block the indexer is heading for: the node's head, less the confirmations.
    pub head: u64,
}

impl Progress {
    /// Whether the indexer is still behind the head.
    pub const fn backfilling(&self) -> bool {
        self.indexed < self.head
    }
}

/// What one iteration did.
enum Step {
    /// A range was committed.
    Indexed,
    /// Nothing to do now (at the head, node lagging, a transient failure): wait and poll again.
    Wait(Duration),
    /// Something changed (a reorg rolled back, a range shrank): go again at once.
    Again,
}

impl Indexer {
    /// An indexer of `manifest`'s contracts, reading from `provider` and writing to `store`
    /// (whose migrations must have run).
    pub fn new(
        provider: DynProvider,
        store: Store,
        manifest: &DeploymentManifest,
        config: IndexerConfig,
    ) -> Self {
        let rpc =
            Rpc::new(provider, config.request_timeout, config.backoff, config.header_concurrency);
        Self {
            rpc,
            store,
            chain_id: manifest.chain_id,
            contracts: Contracts {
                run_escrow: manifest.contracts.run_escrow.address,
                stake_vault: manifest.contracts.stake_vault.address,
            },
            start_block: manifest.start_block(),
            sizer: RangeSizer::new(config.start_range, config.min_range, config.max_range),
            log_retry: Retry::new("eth_getLogs", config.backoff),
            config,
            read_ahead: None,
            progress: watch::channel(Progress::default()).0,
            backfill_from: None,
            indexes_deferred: None,
        }
    }

    /// The indexer's progress, for a caller that shows it (the CLI's progress bar). While anyone
    /// watches, the backfill's ranges are not logged one by one.
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// Index until `shutdown` completes (returns `Ok`) or a fatal error (a reorg deeper than the
    /// window, an undecodable log). Transient RPC and database failures are retried, never
    /// returned. Stopping is safe at any point: an uncommitted range is simply indexed again.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<()> {
        tokio::select! {
            biased;
            () = shutdown => {
                info!(target: TARGET, chain_id = self.chain_id, "shutting down");
                Ok(())
            }
            result = self.run_locked() => result,
        }
    }

    /// Index until the checkpoint reaches `block` (or a fatal error). For tests and one-shot
    /// backfills.
    pub async fn run_until(mut self, block: u64) -> Result<()> {
        let mut lock = self.acquire_lock().await;
        loop {
            let checkpoint = self.checkpoint().await;
            if checkpoint.is_some_and(|c| c.number >= block) {
                return Ok(());
            }
            self.step_locked(&mut lock).await?;
        }
    }

    async fn run_locked(&mut self) -> Result<()> {
        let mut lock = self.acquire_lock().await;
        loop {
            self.step_locked(&mut lock).await?;
        }
    }

    async fn step_locked(&mut self, lock: &mut WriterLock) -> Result<()> {
        if !lock.is_held().await {
            warn!(target: TARGET, chain_id = self.chain_id, "lost the writer lock; waiting for it again");
            *lock = self.acquire_lock().await;
        }
        match self.step().await? {
            Step::Indexed | Step::Again => {}
            Step::Wait(delay) => tokio::time::sleep(delay).await,
        }
        Ok(())
    }

    /// Take the writer lock, waiting (as a hot standby) while another process holds it.
    async fn acquire_lock(&self) -> WriterLock {
        let (store, chain_id) = (&self.store, self.chain_id);
        if let Some(lock) =
            retry("try_lock_writer", self.config.backoff, || store.try_lock_writer(chain_id)).await
        {
            info!(target: TARGET, chain_id, "holding the writer lock");
            return lock;
        }
        info!(target: TARGET, chain_id, "waiting for the writer lock (another indexer is writing)");
        let lock = retry("lock_writer", self.config.backoff, || store.lock_writer(chain_id)).await;
        info!(target: TARGET, chain_id, "took over the writer lock");
        lock
    }

    async fn checkpoint(&self) -> Option<BlockRef> {
        retry("read checkpoint", self.config.backoff, || self.store.checkpoint(self.chain_id)).await
    }

    async fn step(&mut self) -> Result<Step> {
        let checkpoint = self.checkpoint().await;
        let next = checkpoint.map_or(self.start_block, |c| c.number + 1);
        let head = self.rpc.head().await.saturating_sub(self.config.confirmations);

        let range = self.sizer.next_range(next, head);
        let near_head =
            range.is_none_or(|(_, to)| within_window(to, head, self.config.keep_blocks));
        self.settle_indexes(near_head).await;
        let Some((from, to)) = range else {
            self.read_ahead = None;
            self.backfill_from = None;
            let indexed = checkpoint.map_or(head, |c| c.number);
            self.report(Progress { from: indexed, indexed, head });
            // At the head: make sure what we indexed last is still canonical, since a reorg to a
            // chain of the same height shows no new block to check a parent hash against.
            if let Some(checkpoint) = checkpoint
                && let Some(node) = self.rpc.header(checkpoint.number).await
                && node.hash != checkpoint.hash
            {
                self.roll_back(&checkpoint).await?;
                return Ok(Step::Again);
            }
            return Ok(Step::Wait(self.config.poll_interval));
        };

        // A range read ahead during the previous commit is used only if it builds on exactly
        // the checkpoint that commit left (same number and hash); otherwise it is read again.
        let ahead = self.read_ahead.take().filter(|ahead| {
            checkpoint == Some(ahead.parent) && ahead.range.from == from && ahead.range.to <= head
        });
        let range = match ahead {
            Some(ahead) => ahead.range,
            None => {
                let fetch = fetch_range(
                    &self.rpc,
                    self.contracts,
                    self.config.keep_blocks,
                    (from, to, head),
                    checkpoint.as_ref(),
                );
                match fetch.await {
                    Fetch::Ready(range) => range,
                    Fetch::Missing => {
                        debug!(target: TARGET, from, to, head, "node does not have the range yet; waiting");
                        return Ok(Step::Wait(self.config.poll_interval));
                    }
                    Fetch::Fork => {
                        if let Some(checkpoint) = checkpoint {
                            self.roll_back(&checkpoint).await?;
                        }
                        return Ok(Step::Again);
                    }
                    Fetch::LogsFailed(err) => return Ok(self.logs_failed(from, to, &err)),
                    Fetch::Inconsistent(why) => {
                        self.log_retry.succeeded();
                        // The chain moved under us between requests; the next iteration sees the
                        // new chain.
                        warn!(target: TARGET, from, to, why, "chain changed while fetching the range; retrying it");
                        return Ok(Step::Again);
                    }
                    Fetch::Undecodable { block, source } => {
                        return Err(Error::Decode { block, source });
                    }
                }
            }
        };
        self.log_retry.succeeded();
        self.sizer.grow();

        // Deep in the backfill, read the next range while this one commits: the node and the
        // database then work at the same time instead of in turn. Only ranges the near-head rules
        // do not apply to are read ahead; a read-ahead that fails in any way is dropped and the
        // next step reads the range again through the checks above.
        let next_range = self
            .sizer
            .next_range(range.to.saturating_add(1), head)
            .filter(|&(_, next_to)| !within_window(next_to, head, self.config.keep_blocks));
        let read_ahead = {
            let (rpc, contracts, keep_blocks) =
                (self.rpc.clone(), self.contracts, self.config.keep_blocks);
            let parent = range.commit.checkpoint;
            async move {
                let (from, to) = next_range?;
                match fetch_range(&rpc, contracts, keep_blocks, (from, to, head), Some(&parent))
                    .await
                {
                    Fetch::Ready(range) => Some(ReadAhead { parent, range }),
                    _ => None,
                }
            }
        };
        let (committed, read_ahead) =
            tokio::join!(self.commit(range.from, range.to, head, &range.commit), read_ahead);
        committed?;
        self.read_ahead = read_ahead;
        Ok(Step::Indexed)
    }

    /// Set the secondary indexes aside at the start of a deep initial sync (see
    /// [`IndexerConfig::defer_indexes`]), and rebuild them before a range near the head is
    /// committed. Whether they are set aside is read from the store, so a restarted backfill
    /// carries on without them and whichever indexer nears the head first rebuilds them.
    async fn settle_indexes(&mut self, near_head: bool) {
        let (store, backoff) = (&self.store, self.config.backoff);
        let deferred = match self.indexes_deferred {
            Some(deferred) => deferred,
            None => {
                let mut deferred =
                    retry("read deferred indexes", backoff, || store.deferred_indexes()).await > 0;
                if !deferred
                    && !near_head
                    && self.config.defer_indexes
                    && !retry("look for stored events", backoff, || store.has_events()).await
                {
                    // Only a speed-up: if it fails (a role that may write rows but not drop
                    // indexes, say), the backfill goes on with the indexes in place.
                    deferred = match store.defer_indexes().await {
                        Ok(count) => count > 0,
                        Err(err) => {
                            warn!(target: TARGET, %err, "could not set the secondary indexes aside; backfilling with them");
                            false
                        }
                    };
                }
                deferred
            }
        };
        if deferred && near_head {
            retry("rebuild indexes", backoff, || store.restore_indexes()).await;
        }
        self.indexes_deferred = Some(deferred && !near_head);
    }

    fn logs_failed(&mut self, from: u64, to: u64, err: &RpcError) -> Step {
        let message = err.to_string();
        // A timeout is how a slow provider says "too much" too: a smaller range is the cure.
        if is_range_too_large(&message) || matches!(err, RpcError::Timeout(_)) {
            let before = self.sizer.current();
            if self.sizer.shrink() {
                info!(target: TARGET, from, to, span = self.sizer.current(), was = before, "range too large; halving");
                return Step::Again;
            }
        }
        let _range = info_span!(target: TARGET, "range", from, to).entered();
        Step::Wait(self.log_retry.failed(&message))
    }

    async fn commit(&mut self, from: u64, to: u64, head: u64, commit: &RangeCommit) -> Result<()> {
        let started = Instant::now();
        let (store, chain_id) = (&self.store, self.chain_id);
        let stats = Retry::new("commit (rolled back)", self.config.backoff)
            .run(runs_db::Error::is_transient, || store.commit_range(chain_id, commit))
            .instrument(info_span!(target: TARGET, "range", from, to))
            .await?;
        let backfill_from = *self.backfill_from.get_or_insert(from);
        self.report(Progress { from: backfill_from, indexed: to, head });
        // A watcher shows the backfill; logging each range too would only scroll past it.
        if to >= head || self.progress.receiver_count() == 0 {
            info!(
                target: TARGET,
                chain_id = self.chain_id,
                from,
                to,
                head,
                logs = commit.events.len(),
                inserted = stats.events_inserted,
                ms = started.elapsed().as_millis() as u64,
                "indexed range"
            );
        }
        Ok(())
    }

    /// The block after `checkpoint` does not build on it: find the fork point in the stored window
    /// and undo everything above it.
    async fn roll_back(&mut self, checkpoint: &BlockRef) -> Result<()> {
        let (store, chain_id) = (&self.store, self.chain_id);
        let stored =
            retry("read recent blocks", self.config.backoff, || store.recent_blocks(chain_id))
                .await;
        let node: HashMap<u64, B256> = self
            .rpc
            .headers(stored.iter().map(|b| b.number))
            .await
            .into_iter()
            .filter_map(|(n, h)| h.map(|h| (n, h.hash)))
            .collect();
        let Some(ancestor) = find_common_ancestor(&stored, &node) else {
            return Err(Error::ReorgTooDeep {
                checkpoint: *checkpoint,
                window: stored.len(),
                oldest: stored.iter().map(|b| b.number).min().unwrap_or(checkpoint.number),
            });
        };
        let stats = Retry::new("rollback (rolled back)", self.config.backoff)
            .run(runs_db::Error::is_transient, || store.rollback_to(chain_id, &ancestor))
            .await?;
        warn!(
            target: TARGET,
            chain_id,
            depth = checkpoint.number - ancestor.number,
            ancestor = ancestor.number,
            events_deleted = stats.events_deleted,
            runs_rebuilt = stats.runs_rebuilt,
            agents_rebuilt = stats.agents_rebuilt,
            "reorg: rolled back to the common ancestor"
        );
        Ok(())
    }

    /// Tell the watchers, if anything changed.
    fn report(&self, progress: Progress) {
        self.progress.send_if_modified(|current| {
            let changed = *current != progress;
            *current = progress;
            changed
        });
    }
}

/// One block range read from the node, checked and decoded, ready to commit.
#[derive(Debug)]
struct FetchedRange {
    from: u64,
    to: u64,
    commit: RangeCommit,
}

/// A range read during the previous range's commit, and the checkpoint it builds on.
#[derive(Debug)]
struct ReadAhead {
    parent: BlockRef,
    range: Box<FetchedRange>,
}

/// What reading one range from the node gave.
enum Fetch {
    /// The range, read from one chain that builds on the given parent.
    Ready(Box<FetchedRange>),
    /// The node does not have a block of the range (yet).
    Missing,
    /// The range's first block does not build on the parent: a reorg.
    Fork,
    /// `eth_getLogs` failed.
    LogsFailed(RpcError),
    /// The chain changed between requests.
    Inconsistent(&'static str),
    /// A log with a known event topic did not decode.
    Undecodable { block: u64, source: DecodeError },
}

/// Reads `[from, to]` (with the node's head at `head`) for a commit on top of `parent`: the end
/// headers first (an empty log result is only trusted once the node has `to`), the logs, then the
/// headers the commit needs (every block near the head, for the reorg window; otherwise the ends
/// and the blocks whose logs lack a timestamp), checked to come from one chain, and decoded.
async fn fetch_range(
    rpc: &Rpc,
    contracts: Contracts,
    keep_blocks: u64,
    (from, to, head): (u64, u64, u64),
    parent: Option<&BlockRef>,
) -> Fetch {
    let Some(to_before) = rpc.header(to).await else {
        return Fetch::Missing;
    };
    let Some(first) = rpc.header(from).await else {
        return Fetch::Missing;
    };
    if let Some(parent) = parent
        && !extends(parent, &first)
    {
        return Fetch::Fork;
    }

    let logs = match rpc.logs(contracts.addresses(), from, to).await {
        Ok(logs) => logs,
        Err(err) => return Fetch::LogsFailed(err),
    };

    let near_head = within_window(to, head, keep_blocks);
    let mut wanted: BTreeSet<u64> = [from, to].into();
    if near_head {
        wanted.extend(from..=to);
    } else {
        wanted.extend(
            logs.iter().filter(|l| l.block_timestamp.is_none()).filter_map(|l| l.block_number),
        );
    }
    let headers = rpc.headers(wanted).await;
    let Some(headers) =
        headers.into_iter().map(|(n, h)| h.map(|h| (n, h))).collect::<Option<HashMap<_, _>>>()
    else {
        return Fetch::Missing;
    };
    if let Err(why) = consistent(&headers, &to_before, &logs) {
        return Fetch::Inconsistent(why);
    }

    let mut events = Vec::with_capacity(logs.len());
    for log in logs.iter().filter(|log| !log.removed) {
        let block = log.block_number.unwrap_or_default();
        let timestamp = match log.block_timestamp {
            Some(timestamp) => timestamp,
            None => headers.get(&block).map(|h| h.timestamp).unwrap_or_default(),
        };
        match decode_log(log, &contracts, timestamp) {
            Ok(Some(event)) => events.push(event),
            Ok(None) => {
                debug!(target: TARGET, block, topic = ?log.topic0(), "skipped a log the read side does not use")
            }
            Err(source) => return Fetch::Undecodable { block, source },
        }
    }

    let mut blocks: Vec<BlockRef> =
        if near_head { headers.values().copied().collect() } else { vec![first, headers[&to]] };
    blocks.sort_by_key(|b| b.number);
    let commit = RangeCommit { events, blocks, checkpoint: headers[&to], keep_blocks };
    Fetch::Ready(Box::new(FetchedRange { from, to, commit }))
}

/// Whether a range ending at `to` lies within the reorg window of `head`: such a range keeps
/// every header, is not read ahead, and is committed with the secondary indexes in place.
const fn within_window(to: u64, head: u64, keep_blocks: u64) -> bool {
    to.saturating_add(keep_blocks) >= head
}

/// Checks that the headers and logs of a range were read from one chain: `to` did not change
/// while fetching, consecutive headers link, and every log's block hash is its header's hash.
fn consistent(
    headers: &HashMap<u64, BlockRef>,
    to_before: &BlockRef,
    logs: &[Log],
) -> std::result::Result<(), &'static str> {
    if headers.get(&to_before.number).map(|h| h.hash) != Some(to_before.hash) {
        return Err("the range's last block changed");
    }
    for header in headers.values() {
        if let Some(parent) = header.number.checked_sub(1).and_then(|n| headers.get(&n))
            && header.parent_hash != parent.hash
        {
            return Err("headers do not link");
        }
    }
    for log in logs {
        if let (Some(number), Some(hash)) = (log.block_number, log.block_hash)
            && let Some(header) = headers.get(&number)
            && header.hash != hash
        {
            return Err("a log's block hash differs from the header's");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{LogData, b256};

    use super::*;

    /// The indexer runs on multi-threaded runtimes (`tokio::spawn`), so its future must be `Send`.
    #[allow(dead_code)]
    fn runs_are_send(a: Indexer, b: Indexer) {
        fn send<T: Send>(_: T) {}
        send(a.run(std::future::pending()));
        send(b.run_until(1));
    }

    fn block(number: u64, fork: u8) -> BlockRef {
        let hash = |n: u64, f: u8| {
            let mut bytes = [f; 32];
            bytes[24..].copy_from_slice(&n.to_be_bytes());
            B256::from(bytes)
        };
        BlockRef {
            number,
            hash: hash(number, fork),
            parent_hash: hash(number - 1, fork),
            timestamp: number,
        }
    }

    #[test]
    fn consistency_catches_a_chain_that_moved_between_requests() {
        let headers: HashMap<u64, BlockRef> = (5..=8).map(|n| (n, block(n, 0))).collect();
        let mut log = Log {
            inner: alloy::primitives::Log { address: Default::default(), data: LogData::default() },
            block_number: Some(6),
            block_hash: Some(block(6, 0).hash),
            ..Default::default()
        };
        assert_eq!(consistent(&headers, &block(8, 0), std::slice::from_ref(&log)), Ok(()));
        assert!(consistent(&headers, &block(8, 1), &[]).is_err(), "`to` changed");
        log.block_hash =
            Some(b256!("0x00000000000000000000000000000000000000000000000000000000000000ff"));
        assert!(consistent(&headers, &block(8, 0), &[log]).is_err(), "log from another fork");
        let mut broken = headers;
        broken.insert(7, block(7, 1));
        assert!(consistent(&broken, &block(8, 0), &[]).is_err(), "headers do not link");
    }
}
