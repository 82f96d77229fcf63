//! The storage operations the write algorithms need, written once for both backends inside an
//! open transaction: every statement is built from the column lists of [`crate::columns`] over
//! `QueryBuilder<DB>`, and only what truly differs between the databases is left to each
//! backend's [`Dialect`] ([`crate::pg`] with `UNNEST` arrays, [`crate::sqlite`] with chunked
//! multi-row statements). The algorithms themselves live in [`crate::store`].

use sqlx::{FromRow, QueryBuilder, postgres::PgRow, sqlite::SqliteRow};

use crate::{
    Error, Result,
    codec::{RawBlock, RawEvent},
    columns::{BLOCKS, CHECKPOINT, EVENTS, Kind, PARAMS, RUNS, RawParams, RawRun, Table, Value},
};

/// The tables an indexer writes row by row, whose secondary indexes a backfill may set aside.
const DEFERRABLE: [&str; 3] = ["events", "runs", "agents"];

/// A list of keys to match a column against.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyList<'a> {
    Int(&'a [i64]),
    Text(&'a [String]),
}

impl<'a> From<&'a [i64]> for KeyList<'a> {
    fn from(keys: &'a [i64]) -> Self {
        Self::Int(keys)
    }
}

impl<'a> From<&'a [String]> for KeyList<'a> {
    fn from(keys: &'a [String]) -> Self {
        Self::Text(keys)
    }
}

/// A stored row that decodes from either backend's rows.
pub(crate) trait Row:
    for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin
{
}

impl<T> Row for T where T: for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin
{}

/// What differs between the backends' statements; everything else is shared.
pub(crate) trait Dialect: sqlx::Database {
    /// Postgres reads amounts and JSON back as text (`::text`); SQLite stores them as text.
    const POSTGRES: bool;

    /// Appended to a value bound for a column of `kind` (Postgres casts text to `NUMERIC` and
    /// `JSON`).
    fn cast(kind: Kind) -> &'static str;

    /// `SELECT name, definition` of the non-unique indexes of the tables whose names follow
    /// (pushed with [`Dialect::push_in`] on the second string): the statement that recreates
    /// each one exactly.
    const SECONDARY_INDEXES: (&'static str, &'static str);

    /// Stream `rows` into `table` (no conflict clause) if the backend has a faster way than
    /// [`Dialect::push_rows`] statements (Postgres: `COPY`); `false`, doing nothing, if not.
    async fn copy_in<R>(
        conn: &mut Self::Connection,
        chain: i64,
        table: &Table<R>,
        rows: &[R],
    ) -> Result<bool>;

    /// Bind one value (see [`runners`]).
    fn push_value(qb: &mut QueryBuilder<Self>, value: Value);

    /// `<column> IN <keys>`, the keys bound as one value (so the statement text does not depend
    /// on how many there are).
    fn push_in(qb: &mut QueryBuilder<Self>, column: &str, keys: KeyList<'_>) -> Result<()>;

    /// How many rows of `columns` values one bulk statement may carry.
    fn rows_per_statement(columns: usize) -> usize;

    /// The rows of `INSERT INTO table (chain_id, columns…) <rows>`, at most
    /// [`Dialect::rows_per_statement`] of them.
    fn push_rows<R>(qb: &mut QueryBuilder<Self>, chain: i64, table: &Table<R>, rows: &[R]);

    async fn fetch_all<R: Row>(
        conn: &mut Self::Connection,
        qb: &mut QueryBuilder<Self>,
    ) -> Result<Vec<R>>;

    async fn fetch_optional<R: Row>(
        conn: &mut Self::Connection,
        qb: &mut QueryBuilder<Self>,
    ) -> Result<Option<R>>;

    /// Run a statement; how many rows it changed.
    async fn execute(conn: &mut Self::Connection, qb: &mut QueryBuilder<Self>) -> Result<u64>;
}

/// The binder and statement runners of a [`Dialect`] impl: the same text for both backends,
/// compiled for each one's concrete types (a generic version would need the encode and executor
/// bounds on every caller).
macro_rules! runners {
    () => {
        fn push_value(qb: &mut sqlx::QueryBuilder<Self>, value: $crate::columns::Value) {
            use $crate::columns::Value;
            match value {
                Value::Int(v) => qb.push_bind(v),
                Value::Text(v) => qb.push_bind(v),
                Value::Bool(v) => qb.push_bind(v),
            };
        }

        async fn fetch_all<R: $crate::ops::Row>(
            conn: &mut Self::Connection,
            qb: &mut sqlx::QueryBuilder<Self>,
        ) -> $crate::Result<Vec<R>> {
            Ok(qb.build_query_as().fetch_all(conn).await?)
        }

        async fn fetch_optional<R: $crate::ops::Row>(
            conn: &mut Self::Connection,
            qb: &mut sqlx::QueryBuilder<Self>,
        ) -> $crate::Result<Option<R>> {
            Ok(qb.build_query_as().fetch_optional(conn).await?)
        }

        async fn execute(
            conn: &mut Self::Connection,
            qb: &mut sqlx::QueryBuilder<Self>,
        ) -> $crate::Result<u64> {
            Ok(qb.build().execute(conn).await?.rows_affected())
        }
    };
}
pub(crate) use runners;

/// The write side's statements over an open transaction's connection.
pub(crate) struct Ops<'c, DB: Dialect>(pub(crate) &'c mut DB::Connection);

/// `SELECT <table's columns> FROM <from> WHERE chain_id = <chain>`.
fn select<DB: Dialect, R>(table: &Table<R>, from: &str, chain: i64) -> QueryBuilder<DB> {
    let mut qb = QueryBuilder::new(table.select_from(from, DB::POSTGRES));
    DB::push_value(&mut qb, chain.into());
    qb
}

/// `DELETE FROM <table> WHERE chain_id = <chain>`.
fn delete<DB: Dialect>(table: &str, chain: i64) -> QueryBuilder<DB> {
    let mut qb = QueryBuilder::new("DELETE FROM ");
    qb.push(table).push(" WHERE chain_id = ");
    DB::push_value(&mut qb, chain.into());
    qb
}

impl<DB: Dialect> Ops<'_, DB> {
    /// Insert `rows`, in as few statements as the backend allows, each ending in `conflict`;
    /// return what the statements return (`returning`, if any).
    async fn insert<R, Out: Row>(
        &mut self,
        chain: i64,
        table: &Table<R>,
        rows: &[R],
        conflict: &str,
        returning: Option<&str>,
    ) -> Result<Vec<Out>> {
        let mut out = Vec::new();
        // `chain_id` is a column of every row too.
        for chunk in rows.chunks(DB::rows_per_statement(table.columns.len() + 1)) {
            let mut qb = QueryBuilder::new("INSERT INTO ");
            qb.push(table.name).push(" (chain_id, ").push(table.names()).push(") ");
            DB::push_rows(&mut qb, chain, table, chunk);
            qb.push(conflict);
            match returning {
                Some(columns) => {
                    qb.push(" RETURNING ").push(columns);
                    out.extend(DB::fetch_all(self.0, &mut qb).await?);
                }
                None => {
                    DB::execute(self.0, &mut qb).await?;
                }
            }
        }
        Ok(out)
    }

    /// Insert or replace rows of `table`.
    pub(crate) async fn upsert<R>(
        &mut self,
        chain: i64,
        table: &Table<R>,
        rows: &[R],
    ) -> Result<()> {
        self.insert::<R, (i64,)>(chain, table, rows, &table.on_conflict_update(), None).await?;
        Ok(())
    }

    /// Every row of `table` of the chain, by key.
    pub(crate) async fn load_all<R: Row>(
        &mut self,
        chain: i64,
        table: &Table<R>,
    ) -> Result<Vec<R>> {
        let mut qb = select::<DB, _>(table, table.name, chain);
        qb.push(" ORDER BY ").push(table.key.join(", "));
        DB::fetch_all(self.0, &mut qb).await
    }

    /// The rows of `table` whose key is in `keys`.
    pub(crate) async fn load<'k, R: Row, K>(
        &mut self,
        chain: i64,
        table: &Table<R>,
        keys: &'k [K],
    ) -> Result<Vec<R>>
    where
        KeyList<'k>: From<&'k [K]>,
    {
        let mut qb = select::<DB, _>(table, table.name, chain);
        qb.push(" AND ");
        DB::push_in(&mut qb, table.key[0], keys.into())?;
        DB::fetch_all(self.0, &mut qb).await
    }

    /// Delete the rows of `table` whose key is in `keys`.
    pub(crate) async fn delete_keys<'k, R, K>(
        &mut self,
        chain: i64,
        table: &Table<R>,
        keys: &'k [K],
    ) -> Result<()>
    where
        KeyList<'k>: From<&'k [K]>,
    {
        let mut qb = delete::<DB>(table.name, chain);
        qb.push(" AND ");
        DB::push_in(&mut qb, table.key[0], keys.into())?;
        DB::execute(self.0, &mut qb).await?;
        Ok(())
    }

    /// Delete the rows of `table` whose `column` compares with `value` by `op`; how many.
    async fn delete_where(
        &mut self,
        chain: i64,
        table: &str,
        column: &str,
        op: &str,
        value: i64,
    ) -> Result<u64> {
        let mut qb = delete::<DB>(table, chain);
        qb.push(" AND ").push(column).push(op);
        DB::push_value(&mut qb, value.into());
        DB::execute(self.0, &mut qb).await
    }

    /// Insert events that are not stored yet; return the `(tx_hash, log_index)` keys inserted.
    pub(crate) async fn insert_events(
        &mut self,
        chain: i64,
        events: &[RawEvent],
    ) -> Result<Vec<(String, i64)>> {
        let conflict = EVENTS.on_conflict_ignore();
        self.insert(chain, &EVENTS, events, &conflict, Some("tx_hash, log_index")).await
    }

    /// Insert rows none of which can be stored yet (new events, runs they create) without a
    /// conflict check — `COPY` where the backend has it — inside a savepoint: `false`, with
    /// nothing inserted, if one was stored after all (the caller then takes the checked path).
    pub(crate) async fn insert_new<R>(
        &mut self,
        chain: i64,
        table: &Table<R>,
        rows: &[R],
    ) -> Result<bool> {
        self.statement("SAVEPOINT new_rows").await?;
        let inserted = match DB::copy_in(self.0, chain, table, rows).await {
            Ok(true) => Ok(()),
            Ok(false) => self.insert::<R, (i64,)>(chain, table, rows, "", None).await.map(drop),
            Err(e) => Err(e),
        };
        match inserted {
            Ok(()) => {
                self.statement("RELEASE SAVEPOINT new_rows").await?;
                Ok(true)
            }
            Err(Error::Sqlx(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                self.statement("ROLLBACK TO SAVEPOINT new_rows").await?;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    async fn statement(&mut self, sql: &str) -> Result<u64> {
        DB::execute(self.0, &mut QueryBuilder::new(sql)).await
    }

    /// Whether any chain has an event stored.
    pub(crate) async fn has_events(&mut self) -> Result<bool> {
        let mut qb = QueryBuilder::new("SELECT 1 FROM events LIMIT 1");
        Ok(DB::fetch_optional::<(i32,)>(self.0, &mut qb).await?.is_some())
    }

    /// Drop the secondary indexes of the tables a backfill writes, recording how to recreate
    /// each in `deferred_indexes`; how many.
    pub(crate) async fn defer_indexes(&mut self) -> Result<u64> {
        let tables: Vec<String> = DEFERRABLE.iter().map(|&t| t.to_owned()).collect();
        let (select, column) = DB::SECONDARY_INDEXES;
        let mut qb = QueryBuilder::new(select);
        DB::push_in(&mut qb, column, tables.as_slice().into())?;
        qb.push(" ORDER BY name");
        let indexes: Vec<(String, String)> = DB::fetch_all(self.0, &mut qb).await?;
        for (name, definition) in &indexes {
            let mut qb =
                QueryBuilder::new("INSERT INTO deferred_indexes (name, definition) VALUES (");
            DB::push_value(&mut qb, Value::Text(Some(name.clone())));
            qb.push(", ");
            DB::push_value(&mut qb, Value::Text(Some(definition.clone())));
            qb.push(")");
            DB::execute(self.0, &mut qb).await?;
            self.statement(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\""))).await?;
        }
        Ok(indexes.len() as u64)
    }

    /// Recreate every index [`Ops::defer_indexes`] dropped, and forget them; how many.
    pub(crate) async fn restore_indexes(&mut self) -> Result<u64> {
        let mut qb =
            QueryBuilder::new("SELECT name, definition FROM deferred_indexes ORDER BY name");
        let indexes: Vec<(String, String)> = DB::fetch_all(self.0, &mut qb).await?;
        for (_, definition) in &indexes {
            self.statement(definition).await?;
        }
        self.statement("DELETE FROM deferred_indexes").await?;
        Ok(indexes.len() as u64)
    }

    /// How many indexes are set aside.
    pub(crate) async fn deferred_indexes(&mut self) -> Result<i64> {
        let mut qb = QueryBuilder::new("SELECT COUNT(*) FROM deferred_indexes");
        let (count,): (i64,) = DB::fetch_optional(self.0, &mut qb).await?.unwrap_or((0,));
        Ok(count)
    }

    /// Events above `number`, any order.
    pub(crate) async fn events_above(&mut self, chain: i64, number: i64) -> Result<Vec<RawEvent>> {
        let mut qb = select::<DB, _>(&EVENTS, EVENTS.name, chain);
        qb.push(" AND block_number > ");
        DB::push_value(&mut qb, number.into());
        DB::fetch_all(self.0, &mut qb).await
    }

    /// Events of these runs or agents, or of these kinds, by `(block_number, log_index)`.
    pub(crate) async fn events_for(
        &mut self,
        chain: i64,
        runs: &[i64],
        agents: &[i64],
        kinds: &[&str],
    ) -> Result<Vec<RawEvent>> {
        let kinds: Vec<String> = kinds.iter().map(|&k| k.to_owned()).collect();
        let mut qb = select::<DB, _>(&EVENTS, EVENTS.name, chain);
        qb.push(" AND (");
        DB::push_in(&mut qb, "run_id", runs.into())?;
        qb.push(" OR ");
        DB::push_in(&mut qb, "agent_id", agents.into())?;
        qb.push(" OR ");
        DB::push_in(&mut qb, "kind", kinds.as_slice().into())?;
        qb.push(") ORDER BY block_number, log_index");
        DB::fetch_all(self.0, &mut qb).await
    }

    /// Every event of the chain, by `(block_number, log_index)`.
    pub(crate) async fn all_events(&mut self, chain: i64) -> Result<Vec<RawEvent>> {
        let mut qb = select::<DB, _>(&EVENTS, EVENTS.name, chain);
        qb.push(" ORDER BY block_number, log_index");
        DB::fetch_all(self.0, &mut qb).await
    }

    /// Delete events and blocks above `number`; return how many of each.
    pub(crate) async fn delete_above(&mut self, chain: i64, number: i64) -> Result<(u64, u64)> {
        let events = self.delete_where(chain, EVENTS.name, "block_number", " > ", number).await?;
        let blocks = self.delete_where(chain, BLOCKS.name, "number", " > ", number).await?;
        Ok((events, blocks))
    }

    pub(crate) async fn load_params(&mut self, chain: i64) -> Result<Option<RawParams>> {
        let mut qb = select::<DB, _>(&PARAMS, PARAMS.name, chain);
        DB::fetch_optional(self.0, &mut qb).await
    }

    /// Store runs that no stored row can hold yet (created by the range being committed): as
    /// [`Ops::insert_new`], else upserted.
    pub(crate) async fn insert_new_runs(&mut self, chain: i64, rows: &[RawRun]) -> Result<()> {
        if rows.is_empty() || self.insert_new(chain, &RUNS, rows).await? {
            return Ok(());
        }
        self.upsert(chain, &RUNS, rows).await
    }

    /// Write the parameters, or delete them (`None`).
    pub(crate) async fn set_params(
        &mut self,
        chain: i64,
        params: Option<&RawParams>,
    ) -> Result<()> {
        match params {
            Some(p) => self.upsert(chain, &PARAMS, std::slice::from_ref(p)).await,
            None => {
                DB::execute(self.0, &mut delete::<DB>(PARAMS.name, chain)).await?;
                Ok(())
            }
        }
    }

    /// The highest feed position of the chain (events and retractions), 0 before any.
    pub(crate) async fn last_seq(&mut self, chain: i64) -> Result<i64> {
        let mut qb = QueryBuilder::new(
            "SELECT COALESCE(MAX(seq), 0) FROM (SELECT MAX(seq) AS seq FROM events WHERE chain_id = ",
        );
        DB::push_value(&mut qb, chain.into());
        qb.push(" UNION ALL SELECT MAX(seq) AS seq FROM retractions WHERE chain_id = ");
        DB::push_value(&mut qb, chain.into());
        qb.push(") AS heads");
        let (seq,): (i64,) = DB::fetch_optional(self.0, &mut qb).await?.unwrap_or((0,));
        Ok(seq)
    }

    /// Append a retraction of every event above block `number` to the feed, newest first, from
    /// position `after + 1` on, each keeping the event's own position (`added_seq`); how many.
    /// Run before the events are deleted.
    pub(crate) async fn retract_above(
        &mut self,
        chain: i64,
        number: i64,
        after: i64,
    ) -> Result<u64> {
        let columns: Vec<&str> =
            EVENTS.columns.iter().map(|c| c.name).filter(|&name| name != "seq").collect();
        let columns = columns.join(", ");
        let mut qb = QueryBuilder::new("INSERT INTO retractions (chain_id, seq, added_seq, ");
        qb.push(&columns).push(") SELECT chain_id, ");
        DB::push_value(&mut qb, after.into());
        qb.push(" + ROW_NUMBER() OVER (ORDER BY block_number DESC, log_index DESC), seq, ")
            .push(&columns)
            .push(" FROM events WHERE chain_id = ");
        DB::push_value(&mut qb, chain.into());
        qb.push(" AND block_number > ");
        DB::push_value(&mut qb, number.into());
        DB::execute(self.0, &mut qb).await
    }

    /// Delete window blocks below `number`; return how many.
    pub(crate) async fn prune_blocks(&mut self, chain: i64, below: i64) -> Result<u64> {
        self.delete_where(chain, BLOCKS.name, "number", " < ", below).await
    }

    /// The window, highest first.
    pub(crate) async fn blocks(&mut self, chain: i64) -> Result<Vec<RawBlock>> {
        let mut qb = select::<DB, _>(&BLOCKS, BLOCKS.name, chain);
        qb.push(" ORDER BY number DESC");
        DB::fetch_all(self.0, &mut qb).await
    }

    pub(crate) async fn checkpoint(&mut self, chain: i64) -> Result<Option<RawBlock>> {
        let mut qb = select::<DB, _>(&BLOCKS, CHECKPOINT.name, chain);
        DB::fetch_optional(self.0, &mut qb).await
    }

    pub(crate) async fn set_checkpoint(
        &mut self,
        chain: i64,
        block: &RawBlock,
        now: i64,
    ) -> Result<()> {
        self.upsert(chain, &CHECKPOINT, &[(block.clone(), now)]).await
    }
}
