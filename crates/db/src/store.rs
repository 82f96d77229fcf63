//! The [`Store`]: one type over the Postgres and SQLite backends, with the indexer's write API.
//! The write algorithms are written once over [`Ops`] and run inside one transaction per call.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::{Path, PathBuf},
    str::FromStr,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use runs_primitives::{Address, AgentId, ChainEvent, MarketEvent, RunId};
use sqlx::{
    PgPool, Postgres, Sqlite, SqlitePool,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use tracing::{debug, info};

use crate::{
    AgentRow, BlockRef, ChainParams, CommitStats, CreditRow, Error, RangeCommit, Result,
    RollbackStats, RunRow, Snapshot, WriterLock,
    codec::{RawBlock, RawEvent, addr_text, int, uint},
    columns::{AGENTS, BLOCKS, CREDITS, EVENTS, RUNS, RawAgent, RawCredit, RawParams, RawRun},
    lock,
    ops::{Dialect, Ops},
    read::Reader,
    readpool::{PING_IF_IDLE_FOR, PgReadPool},
    reduce::{PARAM_KINDS, apply_agent, apply_credit, apply_params, apply_run, credit_account},
};

/// The SQLite file used when no database URL is given, relative to the working directory.
pub const DEFAULT_SQLITE_PATH: &str = ".runs/runs.db";

/// How long a SQLite statement waits for another connection's write lock before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// SQLite's `cache_size` of each connection (negative: in KiB), 32 MiB.
const SQLITE_CACHE_KIB: &str = "-32768";

/// The kinds whose events fold into `credits`.
const CREDIT_KINDS: [&str; 2] = ["CreditAdded", "CreditWithdrawn"];

/// Connections in the Postgres pool for writes and migrations (one indexer writes at a time).
const PG_POOL_SIZE: u32 = 8;

/// Connections for [`Reader`]s: four per core, at least 8. A request holds its connection while
/// the server decodes the rows and builds the answer, not only while Postgres works, so the
/// database needs more connections than cores to stay busy; with the server and Postgres on 2
/// cores, 8 gave about the throughput of 4 with more headroom for the two-statement run reads
/// (bench/api.sh).
fn read_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    u32::try_from(cores * 4).unwrap_or(u32::MAX).max(8)
}

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Postgres.
    Postgres,
    /// An embedded SQLite file.
    Sqlite,
}

/// The indexed data of one or more chains, in Postgres or SQLite. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) inner: Inner,
}

#[derive(Debug, Clone)]
pub(crate) enum Inner {
    /// The pool serves writes and migrations; `reads` the [`crate::read::Reader`]s.
    Postgres {
        pool: PgPool,
        reads: Arc<PgReadPool>,
    },
    Sqlite {
        pool: SqlitePool,
        path: PathBuf,
    },
}

/// Run `$body` with `$ops` bound to the backend's [`Ops`] inside a fresh transaction, and commit
/// it only if `$body` succeeds (dropping an uncommitted transaction rolls it back).
macro_rules! in_transaction {
    ($store:expr, |$ops:ident| $body:expr) => {
        match &$store.inner {
            Inner::Postgres { pool, .. } => {
                let mut tx = pool.begin().await?;
                let out = {
                    let mut $ops = Ops::<Postgres>(&mut *tx);
                    $body.await?
                };
                tx.commit().await?;
                out
            }
            Inner::Sqlite { pool, .. } => {
                // IMMEDIATE takes the write lock up front, so a transaction that reads before it
                // writes never fails to upgrade its lock halfway.
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = {
                    let mut $ops = Ops::<Sqlite>(&mut *tx);
                    $body.await?
                };
                tx.commit().await?;
                out
            }
        }
    };
}

/// The Postgres pool: bounded, with a bounded wait, and a liveness check only for connections
/// that sat idle (sqlx's default pings before every acquire, a round trip per checkout; a
/// connection in steady use has just proved itself, and a dead one fails its statement and is
/// discarded).
fn pg_pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(PG_POOL_SIZE)
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_IF_IDLE_FOR {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

impl Store {
    /// Connect: `None` → the SQLite file [`DEFAULT_SQLITE_PATH`] (directory created),
    /// `postgres://`/`postgresql://` → Postgres, `sqlite://path` (or `sqlite:path`) → that SQLite
    /// file (created, with its directory). SQLite runs in WAL mode with a busy timeout.
    pub async fn connect(database_url: Option<&str>) -> Result<Self> {
        let Some(url) = database_url else {
            return Self::connect_sqlite(Path::new(DEFAULT_SQLITE_PATH)).await;
        };
        let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
        match scheme {
            "postgres" | "postgresql" => {
                let pool = pg_pool_options().connect(url).await?;
                info!(target: "runs::db", backend = "postgres", "connected");
                Ok(Self::postgres(pool))
            }
            "sqlite" => {
                let options = SqliteConnectOptions::from_str(url)?;
                Self::connect_sqlite(options.get_filename()).await
            }
            other => Err(Error::UnsupportedUrl { scheme: other.to_owned() }),
        }
    }

    /// Like [`Store::connect`], for a process that only reads (`runs serve`): its Postgres
    /// connections always use the generic plan of a prepared statement
    /// (`plan_cache_mode = force_generic_plan`). The API binds every value of a listing,
    /// including the LIMIT, so under the default `auto` mode Postgres judges the generic plan
    /// dearer and plans again on every execution, which costs more than running the indexed
    /// query itself (bench/api.sh). Not for the indexer: its `block_number > $n` range deletes
    /// would get a sequential scan as their generic plan.
    pub async fn connect_reader(database_url: Option<&str>) -> Result<Self> {
        match database_url {
            Some(url) if url.starts_with("postgres:") || url.starts_with("postgresql:") => {
                let options = PgConnectOptions::from_str(url)?
                    .options([("plan_cache_mode", "force_generic_plan")]);
                let pool = pg_pool_options().connect_with(options).await?;
                info!(target: "runs::db", backend = "postgres", "connected (reader)");
                Ok(Self::postgres(pool))
            }
            _ => Self::connect(database_url).await,
        }
    }

    /// Open (creating if needed) the SQLite database at `path`.
    pub async fn connect_sqlite(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                action: "create directory",
                path: dir.to_owned(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed range survives power loss, not only a killed process.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            // A page cache of 32 MiB per connection instead of SQLite's 2 MiB: a backfill keeps
            // rereading the pages of the tables and indexes it grows, and with the larger cache a
            // 100k-event backfill ran 7% faster (side by side, every round faster).
            .pragma("cache_size", SQLITE_CACHE_KIB);
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        info!(target: "runs::db", backend = "sqlite", path = %path.display(), "connected");
        Ok(Self { inner: Inner::Sqlite { pool, path: path.to_owned() } })
    }

    fn postgres(pool: PgPool) -> Self {
        let reads = PgReadPool::new((*pool.connect_options()).clone(), read_pool_size());
        Self { inner: Inner::Postgres { pool, reads } }
    }

    /// A [`Reader`] on a connection of its own (waits while every read connection is busy).
    pub async fn reader(&self) -> Result<Reader> {
        Ok(match &self.inner {
            Inner::Postgres { reads, .. } => Reader::postgres(reads.acquire().await?),
            Inner::Sqlite { pool, .. } => Reader::sqlite(pool.acquire().await?),
        })
    }

    /// Which backend this store uses.
    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Postgres { .. } => Backend::Postgres,
            Inner::Sqlite { .. } => Backend::Sqlite,
        }
    }

    /// The Postgres pool, for tests that inspect the database directly.
    #[cfg(feature = "test-utils")]
    pub fn pg_pool(&self) -> Option<&PgPool> {
        match &self.inner {
            Inner::Postgres { pool, .. } => Some(pool),
            Inner::Sqlite { .. } => None,
        }
    }

    /// The SQLite database file, for messages.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.inner {
            Inner::Sqlite { path, .. } => Some(path),
            Inner::Postgres { .. } => None,
        }
    }

    /// The SQLite pool, for tests that inspect the database directly.
    #[cfg(feature = "test-utils")]
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.inner {
            Inner::Sqlite { pool, .. } => Some(pool),
            Inner::Postgres { .. } => None,
        }
    }

    /// Run this backend's migrations (a no-op when they are all applied).
    pub async fn migrate(&self) -> Result<()> {
        match &self.inner {
            Inner::Postgres { pool, .. } => {
                sqlx::migrate!("./migrations/postgres").run(pool).await?
            }
            Inner::Sqlite { pool, .. } => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
        }
        Ok(())
    }

    /// Close the pools, waiting for connections to finish.
    pub async fn close(&self) {
        match &self.inner {
            Inner::Postgres { pool, reads } => {
                reads.close().await;
                pool.close().await;
            }
            Inner::Sqlite { pool, .. } => pool.close().await,
        }
    }

    /// The last fully indexed block of `chain_id`, if any.
    pub async fn checkpoint(&self, chain_id: u64) -> Result<Option<BlockRef>> {
        let chain = int("chain_id", chain_id)?;
        let raw = in_transaction!(self, |ops| ops.checkpoint(chain));
        raw.map(|b| b.decode("checkpoint")).transpose()
    }

    /// The stored recent-block window of `chain_id`, highest first.
    pub async fn recent_blocks(&self, chain_id: u64) -> Result<Vec<BlockRef>> {
        let chain = int("chain_id", chain_id)?;
        let raw = in_transaction!(self, |ops| ops.blocks(chain));
        raw.iter().map(|b| b.decode("blocks")).collect()
    }

    /// Commit one indexed range in one transaction: store the new events, apply only those to the
    /// derived rows, store the blocks, prune the window and set the checkpoint. Committing the
    /// same range again changes nothing (the checkpoint never moves backwards here; only
    /// [`Store::rollback_to`] lowers it).
    pub async fn commit_range(&self, chain_id: u64, commit: &RangeCommit) -> Result<CommitStats> {
        let chain = int("chain_id", chain_id)?;
        let stats = in_transaction!(self, |ops| commit_range(&mut ops, chain, commit));
        debug!(
            target: "runs::db",
            chain_id,
            checkpoint = commit.checkpoint.number,
            inserted = stats.events_inserted,
            skipped = stats.events_skipped,
            runs = stats.runs_written,
            agents = stats.agents_written,
            "committed range"
        );
        Ok(stats)
    }

    /// Undo everything above `ancestor` in one transaction: delete those events and blocks,
    /// rebuild the rows they touched from the remaining events, and set the checkpoint to
    /// `ancestor`.
    pub async fn rollback_to(&self, chain_id: u64, ancestor: &BlockRef) -> Result<RollbackStats> {
        let chain = int("chain_id", chain_id)?;
        let stats = in_transaction!(self, |ops| rollback_to(&mut ops, chain, ancestor));
        info!(
            target: "runs::db",
            chain_id,
            ancestor = ancestor.number,
            events = stats.events_deleted,
            blocks = stats.blocks_deleted,
            runs = stats.runs_rebuilt,
            agents = stats.agents_rebuilt,
            "rolled back"
        );
        Ok(stats)
    }

    /// Whether any chain has an event stored (an indexer into a store without any is an initial
    /// sync).
    pub async fn has_events(&self) -> Result<bool> {
        Ok(in_transaction!(self, |ops| ops.has_events()))
    }

    /// Set aside the secondary indexes of `events`, `runs` and `agents` for a backfill: drop them
    /// and record, in the same transaction, the statements that recreate them; how many. Primary
    /// keys and unique indexes stay. Reads that would use them scan instead until
    /// [`Store::restore_indexes`]; writes no longer update them row by row.
    pub async fn defer_indexes(&self) -> Result<u64> {
        let count = in_transaction!(self, |ops| ops.defer_indexes());
        info!(target: "runs::db", indexes = count, "secondary indexes set aside for the backfill");
        Ok(count)
    }

    /// Rebuild every index [`Store::defer_indexes`] set aside, in one transaction; how many.
    pub async fn restore_indexes(&self) -> Result<u64> {
        let started = std::time::Instant::now();
        let count = in_transaction!(self, |ops| ops.restore_indexes());
        if count > 0 {
            info!(
                target: "runs::db",
                indexes = count,
                ms = started.elapsed().as_millis() as u64,
                "secondary indexes rebuilt"
            );
        }
        Ok(count)
    }

    /// How many secondary indexes are set aside (see [`Store::defer_indexes`]).
    pub async fn deferred_indexes(&self) -> Result<u64> {
        let count = in_transaction!(self, |ops| ops.deferred_indexes());
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// Wait until this process is the only writer of `chain_id`.
    pub async fn lock_writer(&self, chain_id: u64) -> Result<WriterLock> {
        match &self.inner {
            Inner::Postgres { pool, .. } => {
                lock::lock_postgres(pool, chain_id, true).await?.ok_or_else(unreachable_lock_state)
            }
            Inner::Sqlite { path, .. } => {
                lock::lock_file(path, chain_id, true).await?.ok_or_else(unreachable_lock_state)
            }
        }
    }

    /// Take the writer lock of `chain_id` if no one holds it.
    pub async fn try_lock_writer(&self, chain_id: u64) -> Result<Option<WriterLock>> {
        match &self.inner {
            Inner::Postgres { pool, .. } => lock::lock_postgres(pool, chain_id, false).await,
            Inner::Sqlite { path, .. } => lock::lock_file(path, chain_id, false).await,
        }
    }

    /// Everything indexed for `chain_id`, sorted, for comparisons.
    pub async fn snapshot(&self, chain_id: u64) -> Result<Snapshot> {
        let chain = int("chain_id", chain_id)?;
        let (events, runs, agents, params, credits) =
            in_transaction!(self, |ops| load_everything(&mut ops, chain));
        let mut snapshot = Snapshot {
            events: events.iter().map(RawEvent::decode).collect::<Result<_>>()?,
            runs: runs.iter().map(RawRun::decode).collect::<Result<_>>()?,
            agents: agents.iter().map(RawAgent::decode).collect::<Result<_>>()?,
            params: params.as_ref().map(RawParams::decode).transpose()?,
            credits: credits.iter().map(RawCredit::decode).collect::<Result<_>>()?,
        };
        // Sorted here rather than by SQL collation, so both backends agree.
        snapshot.events.sort_by_key(|e| (e.position.block_number, e.position.log_index));
        snapshot.runs.sort_by_key(|r| r.run_id);
        snapshot.agents.sort_by_key(|a| a.agent_id);
        snapshot.credits.sort_by_key(|c| c.account);
        Ok(snapshot)
    }
}

fn unreachable_lock_state() -> Error {
    // A blocking acquisition returns only once it holds the lock.
    Error::Io {
        action: "acquire writer lock",
        path: PathBuf::new(),
        source: std::io::Error::other("lock wait ended without the lock"),
    }
}

fn now_unix() -> i64 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    i64::try_from(secs).unwrap_or(i64::MAX)
}

async fn load_everything<DB: Dialect>(
    ops: &mut Ops<'_, DB>,
    chain: i64,
) -> Result<(Vec<RawEvent>, Vec<RawRun>, Vec<RawAgent>, Option<RawParams>, Vec<RawCredit>)> {
    Ok((
        ops.all_events(chain).await?,
        ops.load_all(chain, &RUNS).await?,
        ops.load_all(chain, &AGENTS).await?,
        ops.load_params(chain).await?,
        ops.load_all(chain, &CREDITS).await?,
    ))
}

/// The derived rows a batch of events touches, folded in memory.
#[derive(Debug, Default)]
struct Fold {
    runs: BTreeMap<RunId, Option<RunRow>>,
    agents: BTreeMap<AgentId, Option<AgentRow>>,
    credits: BTreeMap<Address, Option<CreditRow>>,
    params: Option<ChainParams>,
}

impl Fold {
    /// Apply one event to every tracked row it is about. Agents see the parameters in force
    /// before the event, as the vault does. Every event about an agent and a run finds the run
    /// tracked too: both paths track the run of every agent event they apply.
    fn apply(&mut self, ev: &ChainEvent) {
        // Agents see the run as it stood before the event (its reservation, a conceded dispute).
        if let Some(slot) = ev.event.agent_id().and_then(|id| self.agents.get_mut(&id)) {
            let none = ChainParams::default();
            let run = ev.event.run_id().and_then(|id| self.runs.get(&id)).and_then(Option::as_ref);
            *slot = apply_agent(slot.take(), ev, self.params.as_ref().unwrap_or(&none), run);
        }
        if let Some(slot) = ev.event.run_id().and_then(|id| self.runs.get_mut(&id)) {
            *slot = apply_run(slot.take(), ev);
        }
        if let Some(slot) = credit_account(&ev.event).and_then(|a| self.credits.get_mut(&a)) {
            *slot = apply_credit(slot.take(), ev);
        }
        self.params = apply_params(self.params.take(), ev);
    }

    /// Track (not yet loaded) every row `ev` is about.
    fn track(&mut self, ev: &ChainEvent) {
        if let Some(id) = ev.event.run_id() {
            self.runs.insert(id, None);
        }
        if let Some(id) = ev.event.agent_id() {
            self.agents.insert(id, None);
        }
        if let Some(account) = credit_account(&ev.event) {
            self.credits.insert(account, None);
        }
    }

    fn run_keys(&self) -> Result<Vec<i64>> {
        self.runs.keys().map(|id| int("runs.run_id", id.get())).collect()
    }

    fn agent_keys(&self) -> Result<Vec<i64>> {
        self.agents.keys().map(|id| int("agents.agent_id", id.get())).collect()
    }

    fn credit_keys(&self) -> Vec<String> {
        self.credits.keys().copied().map(addr_text).collect()
    }

    fn raw_runs(&self) -> Result<Vec<RawRun>> {
        self.runs.values().flatten().map(RawRun::encode).collect()
    }

    fn raw_agents(&self) -> Result<Vec<RawAgent>> {
        self.agents.values().flatten().map(RawAgent::encode).collect()
    }

    fn raw_credits(&self) -> Result<Vec<RawCredit>> {
        self.credits.values().flatten().map(RawCredit::encode).collect()
    }
}

async fn commit_range<DB: Dialect>(
    ops: &mut Ops<'_, DB>,
    chain: i64,
    commit: &RangeCommit,
) -> Result<CommitStats> {
    let mut events: Vec<&ChainEvent> = commit.events.iter().collect();
    events.sort_by_key(|e| (e.position.block_number, e.position.log_index));
    // A log listed twice in one batch has the same position, so duplicates are now adjacent.
    events.dedup_by_key(|e| (e.position.block_number, e.position.log_index, e.position.tx_hash));
    let mut raw: Vec<RawEvent> =
        events.iter().map(|e| RawEvent::encode(e)).collect::<Result<_>>()?;
    // Feed positions in chain order, after every position already given out. An event that is
    // already stored keeps its own; the one it would have taken stays unused (positions only
    // grow, they need not be dense).
    let last = ops.last_seq(chain).await?;
    let posters = posters_of(ops, chain, &events).await?;
    for ((seq, event), chain_event) in (last + 1..).zip(raw.iter_mut()).zip(&events) {
        event.seq = seq;
        event.poster = chain_event.event.run_id().and_then(|id| posters.get(&id).cloned());
    }

    // A range above the checkpoint holds no stored event (a commit stores its events with its
    // checkpoint, and a rollback deletes every event above the one it sets), so its rows go in
    // without a conflict check; should one still collide, the checked insert takes over.
    let current = ops.checkpoint(chain).await?;
    let above = |number: i64| current.as_ref().is_none_or(|c| number > c.number);
    let fresh: Vec<&ChainEvent> = if raw.iter().all(|e| above(e.block_number))
        && ops.insert_new(chain, &EVENTS, &raw).await?
    {
        events.clone()
    } else {
        let inserted: HashSet<(String, i64)> =
            ops.insert_events(chain, &raw).await?.into_iter().collect();
        events
            .iter()
            .zip(&raw)
            .filter(|(_, r)| inserted.contains(&(r.tx_hash.clone(), r.log_index)))
            .map(|(e, _)| *e)
            .collect()
    };
    let mut stats = CommitStats {
        events_inserted: fresh.len() as u64,
        events_skipped: (commit.events.len() - fresh.len()) as u64,
        ..CommitStats::default()
    };

    if !fresh.is_empty() {
        let mut fold = Fold::default();
        for ev in &fresh {
            fold.track(ev);
        }
        // A run created by a fresh event is not stored yet: only the others are loaded.
        let created: HashSet<RunId> = fresh
            .iter()
            .filter_map(|ev| match ev.event {
                MarketEvent::RunCreated { run_id, .. } => Some(run_id),
                _ => None,
            })
            .collect();
        let stored: Vec<i64> = fold
            .runs
            .keys()
            .filter(|id| !created.contains(id))
            .map(|id| int("runs.run_id", id.get()))
            .collect::<Result<_>>()?;
        for raw in ops.load(chain, &RUNS, &stored).await? {
            let row = raw.decode()?;
            fold.runs.insert(row.run_id, Some(row));
        }
        for raw in ops.load(chain, &AGENTS, &fold.agent_keys()?).await? {
            let row = raw.decode()?;
            fold.agents.insert(row.agent_id, Some(row));
        }
        for raw in ops.load(chain, &CREDITS, &fold.credit_keys()).await? {
            let row = raw.decode()?;
            fold.credits.insert(row.account, Some(row));
        }
        let params_before = ops.load_params(chain).await?.map(|p| p.decode()).transpose()?;
        fold.params = params_before.clone();

        for ev in &fresh {
            fold.apply(ev);
        }

        let runs = fold.raw_runs()?;
        let agents = fold.raw_agents()?;
        // The runs this range created were not stored (their `RunCreated` was not): they go in
        // as new rows, the others replace theirs.
        let created: HashSet<i64> =
            created.iter().map(|id| int("runs.run_id", id.get())).collect::<Result<_>>()?;
        let runs_written = runs.len() as u64;
        let (new_runs, changed_runs): (Vec<RawRun>, Vec<RawRun>) =
            runs.into_iter().partition(|run| created.contains(&run.run_id));
        ops.insert_new_runs(chain, &new_runs).await?;
        ops.upsert(chain, &RUNS, &changed_runs).await?;
        ops.upsert(chain, &AGENTS, &agents).await?;
        ops.upsert(chain, &CREDITS, &fold.raw_credits()?).await?;
        if fold.params != params_before {
            ops.set_params(
                chain,
                fold.params.as_ref().map(RawParams::encode).transpose()?.as_ref(),
            )
            .await?;
        }
        stats.runs_written = runs_written;
        stats.agents_written = agents.len() as u64;
    }

    // The checkpoint only moves forward here, so re-committing an old range is a no-op.
    let checkpoint = RawBlock::encode(&commit.checkpoint)?;
    let mut blocks: Vec<RawBlock> =
        commit.blocks.iter().map(RawBlock::encode).collect::<Result<_>>()?;
    blocks.push(checkpoint.clone());
    blocks.sort_by_key(|b| b.number);
    blocks.dedup_by_key(|b| b.number);
    let head = match &current {
        Some(current) if current.number > checkpoint.number => current.number,
        _ => {
            ops.set_checkpoint(chain, &checkpoint, now_unix()).await?;
            checkpoint.number
        }
    };
    let keep_from = head.saturating_sub(i64::try_from(commit.keep_blocks).unwrap_or(i64::MAX));
    blocks.retain(|b| b.number >= keep_from && b.number <= head);
    ops.upsert(chain, &BLOCKS, &blocks).await?;
    stats.blocks_pruned = ops.prune_blocks(chain, keep_from).await?;
    Ok(stats)
}

/// The poster of every run `events` are about: from the batch's own `RunCreated`, else from the
/// stored run.
async fn posters_of<DB: Dialect>(
    ops: &mut Ops<'_, DB>,
    chain: i64,
    events: &[&ChainEvent],
) -> Result<HashMap<RunId, String>> {
    let mut posters = HashMap::new();
    for ev in events {
        if let MarketEvent::RunCreated { run_id, poster, .. } = &ev.event {
            posters.insert(*run_id, addr_text(*poster));
        }
    }
    let mut missing: Vec<i64> = Vec::new();
    for ev in events {
        if let Some(id) = ev.event.run_id()
            && !posters.contains_key(&id)
        {
            missing.push(int("runs.run_id", id.get())?);
        }
    }
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        for run in ops.load(chain, &RUNS, &missing).await? {
            posters.insert(RunId(uint("runs", "run_id", run.run_id)?), run.poster);
        }
    }
    Ok(posters)
}

async fn rollback_to<DB: Dialect>(
    ops: &mut Ops<'_, DB>,
    chain: i64,
    ancestor: &BlockRef,
) -> Result<RollbackStats> {
    let ancestor_raw = RawBlock::encode(ancestor)?;
    let removed = ops.events_above(chain, ancestor_raw.number).await?;

    let mut fold = Fold::default();
    for raw in &removed {
        fold.track(&raw.decode()?);
    }
    // Every removed event is retracted in the feed, newest first, before it goes.
    let last = ops.last_seq(chain).await?;
    ops.retract_above(chain, ancestor_raw.number, last).await?;
    let (events_deleted, blocks_deleted) = ops.delete_above(chain, ancestor_raw.number).await?;

    // Replay what remains of the touched rows, interleaved with every parameter event (they are
    // rebuilt whole, and agents depend on the parameters in force), through the same reducers as
    // the incremental path.
    let mut kinds: Vec<&str> = PARAM_KINDS.to_vec();
    if !fold.credits.is_empty() {
        kinds.extend(CREDIT_KINDS);
    }
    // Rebuilding an agent replays its claims, and each needs its run (the reservation): track
    // the runs of every remaining event of the touched agents too.
    let agent_keys = fold.agent_keys()?;
    if !agent_keys.is_empty() {
        for raw in ops.events_for(chain, &[], &agent_keys, &[]).await? {
            if let Some(id) = raw.decode()?.event.run_id() {
                fold.runs.insert(id, None);
            }
        }
    }
    let run_keys = fold.run_keys()?;
    let credit_keys = fold.credit_keys();
    let replay = ops.events_for(chain, &run_keys, &agent_keys, &kinds).await?;
    let mut replay: Vec<ChainEvent> = replay.iter().map(RawEvent::decode).collect::<Result<_>>()?;
    replay.sort_by_key(|e| (e.position.block_number, e.position.log_index));
    for ev in &replay {
        fold.apply(ev);
    }

    ops.delete_keys(chain, &RUNS, &run_keys).await?;
    ops.delete_keys(chain, &AGENTS, &agent_keys).await?;
    ops.delete_keys(chain, &CREDITS, &credit_keys).await?;
    ops.upsert(chain, &RUNS, &fold.raw_runs()?).await?;
    ops.upsert(chain, &AGENTS, &fold.raw_agents()?).await?;
    ops.upsert(chain, &CREDITS, &fold.raw_credits()?).await?;
    ops.set_params(chain, fold.params.as_ref().map(RawParams::encode).transpose()?.as_ref())
        .await?;
    ops.set_checkpoint(chain, &ancestor_raw, now_unix()).await?;
    // The ancestor itself stays in the window: the next block's parent must match it.
    ops.upsert(chain, &BLOCKS, std::slice::from_ref(&ancestor_raw)).await?;

    Ok(RollbackStats {
        events_deleted,
        blocks_deleted,
        runs_rebuilt: run_keys.len() as u64,
        agents_rebuilt: agent_keys.len() as u64,
    })
}
