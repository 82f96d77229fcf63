//! SQLite statements: bulk writes are multi-row `INSERT ... VALUES` statements in chunks that
//! stay under SQLite's bound-parameter limit, inside the caller's one transaction; key lists are
//! bound as one JSON array and expanded with `json_each`, so every statement text is static.

// Statement texts built at run time are made only of the static column names in
// `crate::columns`: no input reaches them, hence `AssertSqlSafe`.
use sqlx::{AssertSqlSafe, QueryBuilder, Sqlite, SqliteConnection, sqlite::SqliteRow};

use crate::{
    Result,
    codec::{RawAgent, RawBlock, RawCredit, RawEvent, RawParams, RawRun},
    columns::{AGENTS, RUNS, Table, Value},
    ops::{BLOCK_COLUMNS, CREDIT_COLUMNS, EVENT_COLUMNS, Keys, Ops},
};

/// The SQLite [`Ops`] over an open transaction's connection.
pub(crate) struct SqliteOps<'c>(pub(crate) &'c mut SqliteConnection);

/// SQLite's default limit of bound parameters per statement is 32766 (since 3.32); stay below.
const MAX_PARAMS: usize = 30_000;

fn rows_per_chunk(columns: usize) -> usize {
    MAX_PARAMS / columns
}

fn json_keys<T: serde::Serialize>(keys: &[T]) -> Result<String> {
    Ok(serde_json::to_string(keys)?)
}

impl Ops for SqliteOps<'_> {
    async fn insert_events(
        &mut self,
        chain: i64,
        events: &[RawEvent],
    ) -> Result<Vec<(String, i64)>> {
        let mut inserted = Vec::with_capacity(events.len());
        for chunk in events.chunks(rows_per_chunk(11)) {
            let mut qb = QueryBuilder::<Sqlite>::new("INSERT INTO events (");
            qb.push(EVENT_COLUMNS).push(") ");
            qb.push_values(chunk, |mut b, e| {
                b.push_bind(chain)
                    .push_bind(e.block_number)
                    .push_bind(e.block_hash.clone())
                    .push_bind(e.block_timestamp)
                    .push_bind(e.tx_hash.clone())
                    .push_bind(e.log_index)
                    .push_bind(e.address.clone())
                    .push_bind(e.kind.clone())
                    .push_bind(e.run_id)
                    .push_bind(e.agent_id)
                    .push_bind(e.payload.clone());
            });
            qb.push(" ON CONFLICT (chain_id, tx_hash, log_index) DO NOTHING RETURNING tx_hash, log_index");
            let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(&mut *self.0).await?;
            inserted.extend(rows);
        }
        Ok(inserted)
    }

    async fn events_above(&mut self, chain: i64, number: i64) -> Result<Vec<RawEvent>> {
        Ok(sqlx::query_as(
            "SELECT block_number, block_hash, block_timestamp, tx_hash, log_index, address, kind, \
                 run_id, agent_id, payload \
             FROM events WHERE chain_id = ?1 AND block_number > ?2",
        )
        .bind(chain)
        .bind(number)
        .fetch_all(&mut *self.0)
        .await?)
    }

    async fn events_for(
        &mut self,
        chain: i64,
        runs: &[i64],
        agents: &[i64],
        kinds: &[&str],
    ) -> Result<Vec<RawEvent>> {
        Ok(sqlx::query_as(
            "SELECT block_number, block_hash, block_timestamp, tx_hash, log_index, address, kind, \
                 run_id, agent_id, payload \
             FROM events \
             WHERE chain_id = ?1 \
               AND (run_id IN (SELECT value FROM json_each(?2)) \
                 OR agent_id IN (SELECT value FROM json_each(?3)) \
                 OR kind IN (SELECT value FROM json_each(?4))) \
             ORDER BY block_number, log_index",
        )
        .bind(chain)
        .bind(json_keys(runs)?)
        .bind(json_keys(agents)?)
        .bind(json_keys(kinds)?)
        .fetch_all(&mut *self.0)
        .await?)
    }

    async fn all_events(&mut self, chain: i64) -> Result<Vec<RawEvent>> {
        Ok(sqlx::query_as(
            "SELECT block_number, block_hash, block_timestamp, tx_hash, log_index, address, kind, \
                 run_id, agent_id, payload \
             FROM events WHERE chain_id = ?1 ORDER BY block_number, log_index",
        )
        .bind(chain)
        .fetch_all(&mut *self.0)
        .await?)
    }

    async fn delete_above(&mut self, chain: i64, number: i64) -> Result<(u64, u64)> {
        let events = sqlx::query("DELETE FROM events WHERE chain_id = ?1 AND block_number > ?2")
            .bind(chain)
            .bind(number)
            .execute(&mut *self.0)
            .await?
            .rows_affected();
        let blocks = sqlx::query("DELETE FROM blocks WHERE chain_id = ?1 AND number > ?2")
            .bind(chain)
            .bind(number)
            .execute(&mut *self.0)
            .await?
            .rows_affected();
        Ok((events, blocks))
    }

    async fn load_runs(&mut self, chain: i64, ids: Keys<'_, i64>) -> Result<Vec<RawRun>> {
        load(&mut *self.0, chain, &RUNS, ids).await
    }

    async fn load_agents(&mut self, chain: i64, ids: Keys<'_, i64>) -> Result<Vec<RawAgent>> {
        load(&mut *self.0, chain, &AGENTS, ids).await
    }

    async fn load_params(&mut self, chain: i64) -> Result<Option<RawParams>> {
        Ok(sqlx::query_as(
            "SELECT fee_bps, claim_timeout, review_period, min_stake, unstake_cooldown, \
                 strikes_to_ban, established_completions, established_age, treasury, paused, \
                 terms_version, dispute_window, ruling_period, arbitrator, staking_paused \
             FROM chain_params WHERE chain_id = ?1",
        )
        .bind(chain)
        .fetch_optional(&mut *self.0)
        .await?)
    }

    async fn load_credits(
        &mut self,
        chain: i64,
        accounts: Keys<'_, String>,
    ) -> Result<Vec<RawCredit>> {
        let query = match accounts {
            Keys::All => sqlx::query_as(
                "SELECT account, amount FROM credits WHERE chain_id = ?1 ORDER BY account",
            )
            .bind(chain),
            Keys::Only(accounts) => sqlx::query_as(
                "SELECT account, amount FROM credits \
                 WHERE chain_id = ?1 AND account IN (SELECT value FROM json_each(?2))",
            )
            .bind(chain)
            .bind(json_keys(accounts)?),
        };
        Ok(query.fetch_all(&mut *self.0).await?)
    }

    async fn upsert_runs(&mut self, chain: i64, rows: &[RawRun]) -> Result<()> {
        upsert(&mut *self.0, chain, &RUNS, rows).await
    }

    async fn upsert_agents(&mut self, chain: i64, rows: &[RawAgent]) -> Result<()> {
        upsert(&mut *self.0, chain, &AGENTS, rows).await
    }

    async fn set_params(&mut self, chain: i64, params: Option<&RawParams>) -> Result<()> {
        let Some(p) = params else {
            sqlx::query("DELETE FROM chain_params WHERE chain_id = ?1")
                .bind(chain)
                .execute(&mut *self.0)
                .await?;
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO chain_params (chain_id, fee_bps, claim_timeout, review_period, \
                 min_stake, unstake_cooldown, strikes_to_ban, established_completions, \
                 established_age, treasury, paused, terms_version, dispute_window, ruling_period, \
                 arbitrator, staking_paused) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) \
             ON CONFLICT (chain_id) DO UPDATE SET \
                 fee_bps = excluded.fee_bps, claim_timeout = excluded.claim_timeout, \
                 review_period = excluded.review_period, min_stake = excluded.min_stake, \
                 unstake_cooldown = excluded.unstake_cooldown, \
                 strikes_to_ban = excluded.strikes_to_ban, \
                 established_completions = excluded.established_completions, \
                 established_age = excluded.established_age, treasury = excluded.treasury, \
                 paused = excluded.paused, terms_version = excluded.terms_version, \
                 dispute_window = excluded.dispute_window, ruling_period = excluded.ruling_period, \
                 arbitrator = excluded.arbitrator, staking_paused = excluded.staking_paused",
        )
        .bind(chain)
        .bind(p.fee_bps)
        .bind(p.claim_timeout)
        .bind(p.review_period)
        .bind(&p.min_stake)
        .bind(p.unstake_cooldown)
        .bind(p.strikes_to_ban)
        .bind(p.established_completions)
        .bind(p.established_age)
        .bind(&p.treasury)
        .bind(p.paused)
        .bind(p.terms_version)
        .bind(p.dispute_window)
        .bind(p.ruling_period)
        .bind(&p.arbitrator)
        .bind(p.staking_paused)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn upsert_credits(&mut self, chain: i64, rows: &[RawCredit]) -> Result<()> {
        for chunk in rows.chunks(rows_per_chunk(3)) {
            let mut qb = QueryBuilder::<Sqlite>::new("INSERT INTO credits (");
            qb.push(CREDIT_COLUMNS).push(") ");
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(chain).push_bind(r.account.clone()).push_bind(r.amount.clone());
            });
            qb.push(" ON CONFLICT (chain_id, account) DO UPDATE SET amount = excluded.amount");
            qb.build().execute(&mut *self.0).await?;
        }
        Ok(())
    }

    async fn delete_runs(&mut self, chain: i64, ids: &[i64]) -> Result<()> {
        sqlx::query(
            "DELETE FROM runs WHERE chain_id = ?1 AND run_id IN (SELECT value FROM json_each(?2))",
        )
        .bind(chain)
        .bind(json_keys(ids)?)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn delete_agents(&mut self, chain: i64, ids: &[i64]) -> Result<()> {
        sqlx::query(
            "DELETE FROM agents \
             WHERE chain_id = ?1 AND agent_id IN (SELECT value FROM json_each(?2))",
        )
        .bind(chain)
        .bind(json_keys(ids)?)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn delete_credits(&mut self, chain: i64, accounts: &[String]) -> Result<()> {
        sqlx::query(
            "DELETE FROM credits \
             WHERE chain_id = ?1 AND account IN (SELECT value FROM json_each(?2))",
        )
        .bind(chain)
        .bind(json_keys(accounts)?)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn upsert_blocks(&mut self, chain: i64, blocks: &[RawBlock]) -> Result<()> {
        for chunk in blocks.chunks(rows_per_chunk(5)) {
            let mut qb = QueryBuilder::<Sqlite>::new("INSERT INTO blocks (");
            qb.push(BLOCK_COLUMNS).push(") ");
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(chain)
                    .push_bind(r.number)
                    .push_bind(r.hash.clone())
                    .push_bind(r.parent_hash.clone())
                    .push_bind(r.timestamp);
            });
            qb.push(
                " ON CONFLICT (chain_id, number) DO UPDATE SET hash = excluded.hash, \
                 parent_hash = excluded.parent_hash, timestamp = excluded.timestamp",
            );
            qb.build().execute(&mut *self.0).await?;
        }
        Ok(())
    }

    async fn prune_blocks(&mut self, chain: i64, below: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM blocks WHERE chain_id = ?1 AND number < ?2")
            .bind(chain)
            .bind(below)
            .execute(&mut *self.0)
            .await?
            .rows_affected())
    }

    async fn blocks(&mut self, chain: i64) -> Result<Vec<RawBlock>> {
        Ok(sqlx::query_as(
            "SELECT number, hash, parent_hash, timestamp FROM blocks WHERE chain_id = ?1 \
             ORDER BY number DESC",
        )
        .bind(chain)
        .fetch_all(&mut *self.0)
        .await?)
    }

    async fn checkpoint(&mut self, chain: i64) -> Result<Option<RawBlock>> {
        Ok(sqlx::query_as(
            "SELECT number, hash, parent_hash, timestamp FROM checkpoint WHERE chain_id = ?1",
        )
        .bind(chain)
        .fetch_optional(&mut *self.0)
        .await?)
    }

    async fn set_checkpoint(&mut self, chain: i64, block: &RawBlock, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO checkpoint (chain_id, number, hash, parent_hash, timestamp, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (chain_id) DO UPDATE SET number = excluded.number, \
                 hash = excluded.hash, parent_hash = excluded.parent_hash, \
                 timestamp = excluded.timestamp, updated_at = excluded.updated_at",
        )
        .bind(chain)
        .bind(block.number)
        .bind(&block.hash)
        .bind(&block.parent_hash)
        .bind(block.timestamp)
        .bind(now)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }
}

/// Loads rows of a derived table, all of the chain's (by key) or only `ids`.
async fn load<R>(
    conn: &mut SqliteConnection,
    chain: i64,
    table: &Table<R>,
    ids: Keys<'_, i64>,
) -> Result<Vec<R>>
where
    R: for<'r> sqlx::FromRow<'r, SqliteRow> + Send + Unpin,
{
    let select = table.select_list(false);
    Ok(match ids {
        Keys::All => {
            let sql = format!(
                "SELECT {select} FROM {} WHERE chain_id = ?1 ORDER BY {}",
                table.name, table.key
            );
            sqlx::query_as(AssertSqlSafe(sql)).bind(chain).fetch_all(conn).await?
        }
        Keys::Only(ids) => {
            let sql = format!(
                "SELECT {select} FROM {} WHERE chain_id = ?1 AND {} IN \
                 (SELECT value FROM json_each(?2))",
                table.name, table.key
            );
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(chain)
                .bind(json_keys(ids)?)
                .fetch_all(conn)
                .await?
        }
    })
}

/// Inserts or replaces rows of a derived table, in multi-row statements under the parameter limit.
async fn upsert<R>(
    conn: &mut SqliteConnection,
    chain: i64,
    table: &Table<R>,
    rows: &[R],
) -> Result<()> {
    let names = table.names();
    for chunk in rows.chunks(rows_per_chunk(table.columns.len() + 1)) {
        let mut qb =
            QueryBuilder::<Sqlite>::new(format!("INSERT INTO {} (chain_id, {names}) ", table.name));
        qb.push_values(chunk, |mut b, row| {
            b.push_bind(chain);
            for column in table.columns {
                match (column.get)(row) {
                    Value::Int(v) => b.push_bind(v),
                    Value::Text(v) => b.push_bind(v),
                    Value::Bool(v) => b.push_bind(v),
                };
            }
        });
        qb.push(table.on_conflict_update());
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}
