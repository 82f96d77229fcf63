//! The read side of the store, for the REST API: filtered and sorted run listings (offset pages or
//! keyset pages), one run with its event history, agents and their slash history, the parameters
//! and the indexed head, all through a [`Reader`] (one connection per request). Reads never open
//! a write transaction, so they never wait for the indexer.
//!
//! Every statement is assembled from constant SQL fragments chosen by `match` on typed filters and
//! sort keys, with every value bound ([`sqlx::QueryBuilder::push_bind`]); no input text ever
//! reaches the SQL. Each combination of filters is a distinct, cached prepared statement, so the
//! planner sees concrete predicates and uses the `runs_*_idx` indexes.

use runs_primitives::{AgentId, ChainEvent, RunId, RunState, Usdc};
use std::sync::LazyLock;

use sqlx::{FromRow, QueryBuilder, pool::PoolConnection};

use crate::{
    AgentRow, BlockRef, ChainParams, Result, RunRow,
    codec::{RawBlock, RawEvent, addr_text, amount_text, int, parse_text, uint},
    columns::{AGENTS, BLOCKS, EVENTS, PARAMS, RUNS, RawAgent, RawParams, RawRun},
    readpool::PgReadConn,
};

/// Which feed items [`Reader::feed`] returns (every field optional; empty = no constraint).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedFilter {
    /// Only these event types (contract event names, e.g. `Claimed`).
    pub kinds: Vec<String>,
    /// Only events about this run.
    pub run_id: Option<RunId>,
    /// Only events about this agent.
    pub agent_id: Option<AgentId>,
    /// Only events about runs this address posted.
    pub poster: Option<runs_primitives::Address>,
}

impl FeedFilter {
    /// Whether `item` passes this filter: the predicate the feed's SQL applies
    /// (`push_feed_branch`), for filtering items already read (the stream's fan-out).
    pub fn matches(&self, item: &FeedItem) -> bool {
        let event = &item.event.event;
        (self.kinds.is_empty() || self.kinds.iter().any(|k| k == event.name()))
            && self.run_id.is_none_or(|r| event.run_id() == Some(r))
            && self.agent_id.is_none_or(|a| event.agent_id() == Some(a))
            && self.poster.is_none_or(|p| item.poster == Some(p))
    }
}

/// One item of the event feed: an event as it was committed, or its retraction by a reorg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedItem {
    /// Its position in the chain's feed; only grows.
    pub seq: u64,
    /// Whether this retracts the event (a reorg removed it) rather than adds it.
    pub removed: bool,
    /// The event.
    pub event: ChainEvent,
    /// The poster of the event's run, when it is about a run.
    pub poster: Option<runs_primitives::Address>,
}

/// A feed row: the event's columns and whether it is a retraction.
#[derive(Debug, sqlx::FromRow)]
struct RawFeedItem {
    #[sqlx(flatten)]
    event: RawEvent,
    removed: bool,
}

/// Which runs a listing returns (all fields optional; `None` = no constraint).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RunFilter {
    /// Only runs in this state.
    pub state: Option<RunState>,
    /// Only runs whose reward is at least this.
    pub min_reward: Option<Usdc>,
    /// Only runs whose reward is at most this.
    pub max_reward: Option<Usdc>,
    /// Only runs created by this poster.
    pub poster: Option<runs_primitives::Address>,
    /// Only runs held (or last held) by this agent.
    pub claimed_by: Option<AgentId>,
}

/// The column a listing is ordered by; ties are broken by run id in the same direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum RunSort {
    /// Block time of RunCreated.
    #[default]
    CreatedAt,
    /// Reward.
    Reward,
    /// Deadline.
    Deadline,
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SortOrder {
    /// Smallest first.
    Asc,
    /// Largest first.
    #[default]
    Desc,
}

/// The sort value of one run, as a keyset cursor carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortValue {
    /// `created_at` or `deadline` (unix seconds).
    Time(u64),
    /// `reward`.
    Amount(Usdc),
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStart {
    /// Skip this many rows (page-number paging).
    Offset(u64),
    /// Start right after the row with this sort value and run id (keyset paging: as cheap for a
    /// deep page as for the first).
    After(SortValue, RunId),
}

/// One page request over the runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunQuery {
    /// Which runs.
    pub filter: RunFilter,
    /// Ordered by.
    pub sort: RunSort,
    /// In which direction.
    pub order: SortOrder,
    /// Where the page starts.
    pub start: PageStart,
    /// At most this many rows.
    pub limit: u32,
}

/// A run and what the read side joins to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunView {
    /// The run.
    pub run: RunRow,
    /// The active stake of the run's agent (None without an agent).
    pub agent_stake: Option<Usdc>,
    /// That agent's stake pending withdrawal (which a slash can also take).
    pub agent_pending: Option<Usdc>,
}

impl RunView {
    /// This run's value for `sort`, for building the next keyset cursor.
    pub fn sort_value(&self, sort: RunSort) -> SortValue {
        match sort {
            RunSort::CreatedAt => SortValue::Time(self.run.created_at),
            RunSort::Reward => SortValue::Amount(self.run.reward),
            RunSort::Deadline => SortValue::Time(self.run.deadline),
        }
    }
}

/// Backend-specific fragments; everything else in the statements is shared.
struct Fragments {
    /// Appended to a bound amount (Postgres compares `NUMERIC`, SQLite padded text).
    numeric: &'static str,
    /// The select list of a run joined with its agent's stake (`FROM RUN_FROM`).
    run_columns: &'static LazyLock<String>,
    run_count: &'static str,
    agent_select: &'static LazyLock<String>,
    event_select: &'static LazyLock<String>,
    params_select: &'static LazyLock<String>,
    /// The event columns without `SELECT … FROM` (for the feed's tables), and the same with a
    /// retraction's `added_seq` as `seq` (a removed event where it was added).
    event_columns: &'static LazyLock<String>,
    added_columns: &'static LazyLock<String>,
    /// `removed` of a live event and of a retraction.
    live: &'static str,
    retracted: &'static str,
}

/// The run columns of [`crate::columns::RUNS`] plus the claiming agent's stake.
fn run_view_columns(postgres: bool) -> String {
    let amount = |column: &str| {
        if postgres { format!("a.{column}::text") } else { format!("a.{column}") }
    };
    format!(
        "{}, {} AS agent_stake, {} AS agent_pending",
        RUNS.qualified_select_list("r.", postgres),
        amount("stake"),
        amount("pending_unstake"),
    )
}

static PG_RUN_COLUMNS: LazyLock<String> = LazyLock::new(|| run_view_columns(true));
static SQLITE_RUN_COLUMNS: LazyLock<String> = LazyLock::new(|| run_view_columns(false));
static PG_AGENT_SELECT: LazyLock<String> = LazyLock::new(|| AGENTS.select_from("agents", true));
static SQLITE_AGENT_SELECT: LazyLock<String> =
    LazyLock::new(|| AGENTS.select_from("agents", false));
static PG_EVENT_SELECT: LazyLock<String> = LazyLock::new(|| EVENTS.select_from("events", true));
static SQLITE_EVENT_SELECT: LazyLock<String> =
    LazyLock::new(|| EVENTS.select_from("events", false));
static PG_EVENT_COLUMNS: LazyLock<String> = LazyLock::new(|| EVENTS.select_list(true));
static SQLITE_EVENT_COLUMNS: LazyLock<String> = LazyLock::new(|| EVENTS.select_list(false));
static PG_ADDED_COLUMNS: LazyLock<String> = LazyLock::new(|| added_columns(true));
static SQLITE_ADDED_COLUMNS: LazyLock<String> = LazyLock::new(|| added_columns(false));

/// The event columns of a retraction as the event was added: its `added_seq` as `seq`.
fn added_columns(postgres: bool) -> String {
    let list = EVENTS.select_list(postgres);
    let (rest, last) = list.rsplit_once(", ").unwrap_or(("", &list));
    assert_eq!(last, "seq", "seq is the last event column");
    format!("{rest}, added_seq AS seq")
}
static PG_PARAMS_SELECT: LazyLock<String> =
    LazyLock::new(|| PARAMS.select_from("chain_params", true));
static SQLITE_PARAMS_SELECT: LazyLock<String> =
    LazyLock::new(|| PARAMS.select_from("chain_params", false));
/// Block columns have no casts, so one text serves both backends.
static HEAD_SELECT: LazyLock<String> = LazyLock::new(|| BLOCKS.select_from("checkpoint", false));

const PG: Fragments = Fragments {
    numeric: "::numeric",
    run_columns: &PG_RUN_COLUMNS,
    run_count: "SELECT COUNT(*) FROM runs r WHERE r.chain_id = ",
    agent_select: &PG_AGENT_SELECT,
    event_select: &PG_EVENT_SELECT,
    params_select: &PG_PARAMS_SELECT,
    event_columns: &PG_EVENT_COLUMNS,
    added_columns: &PG_ADDED_COLUMNS,
    live: "FALSE",
    retracted: "TRUE",
};

const SQLITE: Fragments = Fragments {
    numeric: "",
    run_columns: &SQLITE_RUN_COLUMNS,
    run_count: "SELECT COUNT(*) FROM runs r WHERE r.chain_id = ",
    agent_select: &SQLITE_AGENT_SELECT,
    event_select: &SQLITE_EVENT_SELECT,
    params_select: &SQLITE_PARAMS_SELECT,
    event_columns: &SQLITE_EVENT_COLUMNS,
    added_columns: &SQLITE_ADDED_COLUMNS,
    live: "0",
    retracted: "1",
};

/// The tables behind [`Fragments::run_columns`], up to the chain id to bind.
const RUN_FROM: &str = " FROM runs r \
     LEFT JOIN agents a ON a.chain_id = r.chain_id AND a.agent_id = r.agent_id \
     WHERE r.chain_id = ";

/// `SELECT <indexed head>, <run columns> FROM runs … WHERE r.chain_id = $chain`: the head comes
/// from uncorrelated subqueries, which both backends evaluate once per statement, so the rows and
/// the block they are reported at are read in one snapshot and one round trip.
fn push_run_select<DB>(qb: &mut QueryBuilder<DB>, d: &Fragments, chain: i64)
where
    DB: sqlx::Database,
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    // The checkpoint's columns, each as `head_<column>` ([`RawHead`]).
    for column in BLOCKS.columns {
        qb.push("(SELECT ").push(column.name).push(" FROM checkpoint WHERE chain_id = ");
        qb.push_bind(chain).push(") AS head_").push(column.name).push(", ");
    }
    qb.push(d.run_columns.as_str()).push(RUN_FROM).push_bind(chain);
}

/// Run `$body` once per backend with `$conn` the reader's connection, `$db` the sqlx database
/// type and `$d` the [`Fragments`]: the statements are written once and compiled for both.
macro_rules! on_backend {
    ($reader:expr, |$conn:ident, $db:ident, $d:ident| $body:expr) => {{
        match &mut $reader.conn {
            ReaderConn::Postgres(read) => {
                type $db = sqlx::Postgres;
                let $d = &PG;
                // `$body` returns early on error, leaving the connection marked busy.
                let out = {
                    let $conn = read.start();
                    $body
                };
                read.done();
                out
            }
            ReaderConn::Sqlite(conn) => {
                type $db = sqlx::Sqlite;
                let $conn = &mut **conn;
                let $d = &SQLITE;
                $body
            }
        }
    }};
}

/// The indexed head as [`push_run_select`] reads it, on every row (`head_<column>`); decoded from
/// one row of a statement (they all carry the same).
#[derive(Debug, sqlx::FromRow)]
struct RawHead {
    head_number: Option<i64>,
    head_hash: Option<String>,
    head_parent_hash: Option<String>,
    head_timestamp: Option<i64>,
}

impl RawHead {
    fn decode(self) -> Result<Option<BlockRef>> {
        match (self.head_number, self.head_hash, self.head_parent_hash, self.head_timestamp) {
            (Some(number), Some(hash), Some(parent_hash), Some(timestamp)) => {
                RawBlock { number, hash, parent_hash, timestamp }.decode("checkpoint").map(Some)
            }
            _ => Ok(None),
        }
    }
}

/// Runs the statement of a [`push_run_select`] and decodes its rows, and the head from the first
/// row only (decoding it from each of a page's rows was a tenth of the column reads).
macro_rules! fetch_runs_at_head {
    ($qb:expr, $conn:expr) => {{
        let rows = $qb.build().fetch_all($conn).await?;
        let head = rows.first().map(<RawHead as FromRow<_>>::from_row).transpose()?;
        let views = rows
            .iter()
            .map(<RawRunView as FromRow<_>>::from_row)
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
        (head, views)
    }};
}

/// Rows and the indexed head they were read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtHead<T> {
    /// The last indexed block when the rows were read (None before anything is indexed).
    pub head: Option<BlockRef>,
    /// The rows.
    pub rows: T,
}

/// One `runs` row joined with its agent's stake.
#[derive(Debug, sqlx::FromRow)]
struct RawRunView {
    #[sqlx(flatten)]
    run: RawRun,
    agent_stake: Option<String>,
    agent_pending: Option<String>,
}

impl RawRunView {
    fn decode(&self) -> Result<RunView> {
        let amount = |column, text: &Option<String>| {
            text.as_deref().map(|t| crate::codec::parse_amount("agents", column, t)).transpose()
        };
        Ok(RunView {
            run: self.run.decode()?,
            agent_stake: amount("stake", &self.agent_stake)?,
            agent_pending: amount("pending_unstake", &self.agent_pending)?,
        })
    }
}

/// Append the filter's predicates (after `WHERE r.chain_id = ?`).
fn push_filter<DB>(qb: &mut QueryBuilder<DB>, d: &Fragments, filter: &RunFilter) -> Result<()>
where
    DB: sqlx::Database,
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    if let Some(state) = filter.state {
        qb.push(" AND r.state = ").push_bind(state.as_str().to_owned());
    }
    if let Some(min) = filter.min_reward {
        qb.push(" AND r.reward >= ").push_bind(amount_text(min)).push(d.numeric);
    }
    if let Some(max) = filter.max_reward {
        qb.push(" AND r.reward <= ").push_bind(amount_text(max)).push(d.numeric);
    }
    if let Some(poster) = filter.poster {
        qb.push(" AND r.poster = ").push_bind(addr_text(poster));
    }
    if let Some(agent) = filter.claimed_by {
        qb.push(" AND r.agent_id = ").push_bind(int("runs.agent_id", agent.get())?);
    }
    Ok(())
}

/// One part of the feed: which columns of which table, positioned by which column.
struct FeedBranch<'a> {
    columns: &'a str,
    table: &'a str,
    position: &'a str,
    removed: &'a str,
}

/// `SELECT <columns>, <removed> AS removed FROM <table> WHERE chain_id = ? AND <position> > ?
/// <filters> ORDER BY <position> LIMIT ?`: one part of the feed, read in order by its
/// `(chain_id, <position>)` index.
fn push_feed_branch<DB>(
    qb: &mut QueryBuilder<DB>,
    branch: &FeedBranch<'_>,
    chain: i64,
    after: i64,
    limit: u32,
    filter: &FeedFilter,
) -> Result<()>
where
    DB: sqlx::Database,
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    qb.push("SELECT ").push(branch.columns).push(", ").push(branch.removed);
    qb.push(" AS removed FROM ").push(branch.table).push(" WHERE chain_id = ").push_bind(chain);
    qb.push(" AND ").push(branch.position).push(" > ").push_bind(after);
    if !filter.kinds.is_empty() {
        qb.push(" AND kind IN (");
        let mut kinds = qb.separated(", ");
        for kind in &filter.kinds {
            kinds.push_bind(kind.clone());
        }
        qb.push(")");
    }
    if let Some(run) = filter.run_id {
        qb.push(" AND run_id = ").push_bind(int("events.run_id", run.get())?);
    }
    if let Some(agent) = filter.agent_id {
        qb.push(" AND agent_id = ").push_bind(int("events.agent_id", agent.get())?);
    }
    if let Some(poster) = filter.poster {
        qb.push(" AND poster = ").push_bind(addr_text(poster));
    }
    qb.push(" ORDER BY ").push(branch.position).push(" LIMIT ").push_bind(i64::from(limit));
    Ok(())
}

fn sort_column(sort: RunSort) -> &'static str {
    match sort {
        RunSort::CreatedAt => "r.created_at",
        RunSort::Reward => "r.reward",
        RunSort::Deadline => "r.deadline",
    }
}

/// Append the keyset predicate, ORDER BY, LIMIT and OFFSET.
fn push_page<DB>(qb: &mut QueryBuilder<DB>, d: &Fragments, query: &RunQuery) -> Result<()>
where
    DB: sqlx::Database,
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let column = sort_column(query.sort);
    let offset = match query.start {
        PageStart::Offset(offset) => offset,
        PageStart::After(value, run_id) => {
            // A row comparison, which both backends evaluate against the (…, sort, run_id)
            // indexes as a range scan.
            qb.push(" AND (").push(column).push(", r.run_id) ");
            qb.push(match query.order {
                SortOrder::Asc => "> (",
                SortOrder::Desc => "< (",
            });
            match value {
                SortValue::Time(t) => qb.push_bind(int("cursor", t)?),
                SortValue::Amount(a) => qb.push_bind(amount_text(a)).push(d.numeric),
            };
            qb.push(", ").push_bind(int("cursor", run_id.get())?).push(")");
            0
        }
    };
    qb.push(" ORDER BY ").push(column);
    qb.push(match query.order {
        SortOrder::Asc => " ASC, r.run_id ASC",
        SortOrder::Desc => " DESC, r.run_id DESC",
    });
    qb.push(" LIMIT ").push_bind(i64::from(query.limit));
    if offset > 0 {
        qb.push(" OFFSET ").push_bind(int("offset", offset)?);
    }
    Ok(())
}

/// One connection for the reads of one request: every statement of a request goes over the
/// same connection, so a request waits for a connection once, not once per statement. Dropping
/// the reader returns the connection. Reads never open a transaction, so they never wait for the
/// indexer (each statement sees the latest committed index). Made by [`crate::Store::reader`].
#[derive(Debug)]
pub struct Reader {
    conn: ReaderConn,
}

#[derive(Debug)]
enum ReaderConn {
    Postgres(PgReadConn),
    Sqlite(PoolConnection<sqlx::Sqlite>),
}

impl Reader {
    pub(crate) fn postgres(conn: PgReadConn) -> Self {
        Self { conn: ReaderConn::Postgres(conn) }
    }

    pub(crate) fn sqlite(conn: PoolConnection<sqlx::Sqlite>) -> Self {
        Self { conn: ReaderConn::Sqlite(conn) }
    }
}

impl Reader {
    /// Whether the database answers (`SELECT 1`).
    pub async fn ping(&mut self) -> Result<()> {
        on_backend!(self, |conn, Db, _d| {
            sqlx::query_scalar::<Db, i32>("SELECT 1").fetch_one(conn).await?;
        });
        Ok(())
    }

    /// The chains that have a checkpoint, in id order.
    pub async fn indexed_chains(&mut self) -> Result<Vec<u64>> {
        let ids: Vec<i64> = on_backend!(self, |conn, Db, _d| {
            sqlx::query_scalar::<Db, i64>("SELECT chain_id FROM checkpoint ORDER BY chain_id")
                .fetch_all(conn)
                .await?
        });
        ids.into_iter().map(|id| uint("checkpoint", "chain_id", id)).collect()
    }

    /// The last fully indexed block of `chain_id`, read without a transaction (the API's view of
    /// freshness; [`Store::checkpoint`] is the writer's).
    pub async fn indexed_head(&mut self, chain_id: u64) -> Result<Option<BlockRef>> {
        let chain = int("chain_id", chain_id)?;
        let raw: Option<RawBlock> = on_backend!(self, |conn, Db, _d| {
            let mut qb = QueryBuilder::<Db>::new(HEAD_SELECT.as_str());
            qb.push_bind(chain);
            qb.build_query_as::<RawBlock>().fetch_optional(conn).await?
        });
        raw.map(|b| b.decode("checkpoint")).transpose()
    }

    /// The parameters in force on `chain_id`, once any parameter event was indexed.
    pub async fn chain_params(&mut self, chain_id: u64) -> Result<Option<ChainParams>> {
        let chain = int("chain_id", chain_id)?;
        let raw: Option<RawParams> = on_backend!(self, |conn, Db, d| {
            let mut qb = QueryBuilder::<Db>::new(d.params_select.as_str());
            qb.push_bind(chain);
            qb.build_query_as::<RawParams>().fetch_optional(conn).await?
        });
        raw.map(|p| p.decode()).transpose()
    }

    /// One page of runs (at most `query.limit` rows), with their agents' stake, and the indexed
    /// head they were read at (one statement; a second one for the head when the page is empty).
    pub async fn list_runs(
        &mut self,
        chain_id: u64,
        query: &RunQuery,
    ) -> Result<AtHead<Vec<RunView>>> {
        let chain = int("chain_id", chain_id)?;
        let (head, raw) = on_backend!(self, |conn, Db, d| {
            let mut qb = QueryBuilder::<Db>::new("SELECT ");
            push_run_select(&mut qb, d, chain);
            push_filter(&mut qb, d, &query.filter)?;
            push_page(&mut qb, d, query)?;
            fetch_runs_at_head!(qb, conn)
        });
        let head = match head {
            Some(head) => head.decode()?,
            None => self.indexed_head(chain_id).await?,
        };
        let rows = raw.iter().map(RawRunView::decode).collect::<Result<_>>()?;
        Ok(AtHead { head, rows })
    }

    /// How many runs match `filter`.
    pub async fn count_runs(&mut self, chain_id: u64, filter: &RunFilter) -> Result<u64> {
        let chain = int("chain_id", chain_id)?;
        let count: i64 = on_backend!(self, |conn, Db, d| {
            let mut qb = QueryBuilder::<Db>::new(d.run_count);
            qb.push_bind(chain);
            push_filter(&mut qb, d, filter)?;
            qb.build_query_scalar::<i64>().fetch_one(conn).await?
        });
        uint("runs", "count", count)
    }

    /// One run with its agent's stake, and the indexed head it was read at (one statement; a
    /// second one for the head when there is no such run).
    pub async fn get_run(
        &mut self,
        chain_id: u64,
        run_id: RunId,
    ) -> Result<AtHead<Option<RunView>>> {
        let chain = int("chain_id", chain_id)?;
        let id = int("runs.run_id", run_id.get())?;
        let (head, raw) = on_backend!(self, |conn, Db, d| {
            let mut qb = QueryBuilder::<Db>::new("SELECT ");
            push_run_select(&mut qb, d, chain);
            qb.push(" AND r.run_id = ").push_bind(id);
            fetch_runs_at_head!(qb, conn)
        });
        match (head, raw.first()) {
            (Some(head), Some(raw)) => {
                Ok(AtHead { head: head.decode()?, rows: Some(raw.decode()?) })
            }
            _ => Ok(AtHead { head: self.indexed_head(chain_id).await?, rows: None }),
        }
    }

    /// Every stored event about `run_id`, in chain order.
    pub async fn feed(
        &mut self,
        chain_id: u64,
        after: u64,
        limit: u32,
        filter: &FeedFilter,
    ) -> Result<Vec<FeedItem>> {
        let chain = int("chain_id", chain_id)?;
        let after = int("after", after)?;
        let raw: Vec<RawFeedItem> = on_backend!(self, |conn, Db, d| {
            // The live events, the removed ones where they were added, and their retractions.
            let branches = [
                (d.event_columns.as_str(), "events", "seq", d.live),
                (d.added_columns.as_str(), "retractions", "added_seq", d.live),
                (d.event_columns.as_str(), "retractions", "seq", d.retracted),
            ];
            let mut qb = QueryBuilder::<Db>::new("SELECT * FROM (");
            for (i, (columns, table, position, removed)) in branches.into_iter().enumerate() {
                if i > 0 {
                    qb.push(" UNION ALL SELECT * FROM (");
                }
                let branch = FeedBranch { columns, table, position, removed };
                push_feed_branch(&mut qb, &branch, chain, after, limit, filter)?;
                qb.push(") AS b").push(i.to_string());
            }
            qb.push(" ORDER BY seq LIMIT ").push_bind(i64::from(limit));
            qb.build_query_as::<RawFeedItem>().fetch_all(conn).await?
        });
        raw.iter()
            .map(|item| {
                Ok(FeedItem {
                    seq: uint("events", "seq", item.event.seq)?,
                    removed: item.removed,
                    event: item.event.decode()?,
                    poster: item
                        .event
                        .poster
                        .as_deref()
                        .map(|p| parse_text("events", "poster", p))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// The highest feed position of the chain (0 before any event).
    pub async fn last_seq(&mut self, chain_id: u64) -> Result<u64> {
        let chain = int("chain_id", chain_id)?;
        let (seq,): (i64,) = on_backend!(self, |conn, Db, _d| {
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT COALESCE(MAX(seq), 0) FROM (SELECT MAX(seq) AS seq FROM events WHERE chain_id = ",
            );
            qb.push_bind(chain);
            qb.push(" UNION ALL SELECT MAX(seq) AS seq FROM retractions WHERE chain_id = ");
            qb.push_bind(chain).push(") AS heads");
            qb.build_query_as::<(i64,)>().fetch_one(conn).await?
        });
        uint("events", "seq", seq)
    }

    /// The stored events of `run_id`, in chain order.
    pub async fn run_events(&mut self, chain_id: u64, run_id: RunId) -> Result<Vec<ChainEvent>> {
        let chain = int("chain_id", chain_id)?;
        let id = int("events.run_id", run_id.get())?;
        let raw: Vec<RawEvent> = on_backend!(self, |conn, Db, d| {
            let mut qb = QueryBuilder::<Db>::new(d.event_select.as_str());
            qb.push_bind(chain)
                .push(" AND run_id = ")
                .push_bind(id)
                .push(" ORDER BY block_number, log_index");
            qb.build_query_as::<RawEvent>().fetch_all(conn).await?
        });
        raw.iter().map(RawEvent::decode).collect()
    }

    /// The stored events of `kind` (a contract event name, e.g. `"StakeSlashed"`) about
    /// `agent_id`, in chain order.
    pub async fn agent_events(
        &mut self,
        chain_id: u64,
        agent_id: AgentId,
        kind: AgentEventKind,
    ) -> Result<Vec<ChainEvent>> {
        let chain = int("chain_id", chain_id)?;
        let id = int("events.agent_id", agent_id.get())?;
        let raw: Vec<RawEvent> = on_backend!(self, |conn, Db, d| {
            let mut qb = QueryBuilder::<Db>::new(d.event_select.as_str());
            qb.push_bind(chain)
                .push(" AND agent_id = ")
                .push_bind(id)
                .push(" AND kind = ")
                .push_bind(kind.name().to_owned())
                .push(" ORDER BY block_number, log_index");
            qb.build_query_as::<RawEvent>().fetch_all(conn).await?
        });
        raw.iter().map(RawEvent::decode).collect()
    }

    /// Whether `agent_id` was ever slashed on `run_id` (the escrow's `slashedOnRun`).
    pub async fn slashed_on_run(
        &mut self,
        chain_id: u64,
        run_id: RunId,
        agent_id: AgentId,
    ) -> Result<bool> {
        let chain = int("chain_id", chain_id)?;
        let run = int("events.run_id", run_id.get())?;
        let agent = int("events.agent_id", agent_id.get())?;
        let found: Option<i64> = on_backend!(self, |conn, Db, _d| {
            let mut qb = QueryBuilder::<Db>::new("SELECT run_id FROM events WHERE chain_id = ");
            qb.push_bind(chain)
                .push(" AND run_id = ")
                .push_bind(run)
                .push(" AND agent_id = ")
                .push_bind(agent)
                .push(" AND kind = 'Slashed' LIMIT 1");
            qb.build_query_scalar::<i64>().fetch_optional(conn).await?
        });
        Ok(found.is_some())
    }

    /// One page of agents by id.
    pub async fn list_agents(
        &mut self,
        chain_id: u64,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<AgentRow>> {
        let chain = int("chain_id", chain_id)?;
        let offset = int("offset", offset)?;
        let raw: Vec<RawAgent> = on_backend!(self, |conn, Db, d| {
            let mut qb = QueryBuilder::<Db>::new(d.agent_select.as_str());
            qb.push_bind(chain)
                .push(" ORDER BY agent_id LIMIT ")
                .push_bind(i64::from(limit))
                .push(" OFFSET ")
                .push_bind(offset);
            qb.build_query_as::<RawAgent>().fetch_all(conn).await?
        });
        raw.iter().map(RawAgent::decode).collect()
    }

    /// How many agents are registered.
    pub async fn count_agents(&mut self, chain_id: u64) -> Result<u64> {
        let chain = int("chain_id", chain_id)?;
        let count: i64 = on_backend!(self, |conn, Db, _d| {
            let mut qb = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM agents WHERE chain_id = ");
            qb.push_bind(chain);
            qb.build_query_scalar::<i64>().fetch_one(conn).await?
        });
        uint("agents", "count", count)
    }

    /// One agent.
    pub async fn get_agent(
        &mut self,
        chain_id: u64,
        agent_id: AgentId,
    ) -> Result<Option<AgentRow>> {
        let chain = int("chain_id", chain_id)?;
        let id = int("agents.agent_id", agent_id.get())?;
        let raw: Option<RawAgent> = on_backend!(self, |conn, Db, d| {
            let mut qb = QueryBuilder::<Db>::new(d.agent_select.as_str());
            qb.push_bind(chain).push(" AND agent_id = ").push_bind(id);
            qb.build_query_as::<RawAgent>().fetch_optional(conn).await?
        });
        raw.as_ref().map(RawAgent::decode).transpose()
    }

    /// The disputed runs `arbitrator` rules on (every run with a dispute, resolved or not), by id.
    pub async fn arbitrator_runs(
        &mut self,
        chain_id: u64,
        arbitrator: runs_primitives::Address,
    ) -> Result<Vec<RunRow>> {
        let chain = int("chain_id", chain_id)?;
        let (_, raw) = on_backend!(self, |conn, Db, d| {
            let mut qb = QueryBuilder::<Db>::new("SELECT ");
            push_run_select(&mut qb, d, chain);
            qb.push(" AND r.arbitrator = ")
                .push_bind(addr_text(arbitrator))
                .push(" AND r.dispute IS NOT NULL ORDER BY r.run_id");
            fetch_runs_at_head!(qb, conn)
        });
        raw.iter().map(|r| r.run.decode()).collect()
    }
}

/// The agent event kinds the read side lists (a closed set, so the kind is never user text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentEventKind {
    /// `StakeVault.StakeForfeited`: the agent's forfeits (slashes, abandons, lost disputes).
    StakeForfeited,
    /// `StakeVault.Staked`.
    Staked,
}

impl AgentEventKind {
    /// The contract event name stored in `events.kind`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::StakeForfeited => "StakeForfeited",
            Self::Staked => "Staked",
        }
    }
}
