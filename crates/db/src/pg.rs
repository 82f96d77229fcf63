//! Postgres statements: bulk writes bind one array per column and `UNNEST` them, so a range of
//! any size is one statement per table; amounts travel as text and are cast to `NUMERIC(78,0)`.

// Statement texts built at run time are made only of the static column names in
// `crate::columns`: no input reaches them, hence `AssertSqlSafe`.
use sqlx::{AssertSqlSafe, PgConnection};

use crate::{
    Result,
    codec::{RawAgent, RawBlock, RawCredit, RawEvent, RawParams, RawRun},
    columns::{AGENTS, Kind, RUNS, Table},
    ops::{Keys, Ops},
};

/// The Postgres [`Ops`] over an open transaction's connection.
pub(crate) struct PgOps<'c>(pub(crate) &'c mut PgConnection);

impl Ops for PgOps<'_> {
    async fn insert_events(
        &mut self,
        chain: i64,
        events: &[RawEvent],
    ) -> Result<Vec<(String, i64)>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "INSERT INTO events (chain_id, block_number, block_hash, block_timestamp, tx_hash, \
                 log_index, address, kind, run_id, agent_id, payload) \
             SELECT $1, t.block_number, t.block_hash, t.block_timestamp, t.tx_hash, t.log_index, \
                 t.address, t.kind, t.run_id, t.agent_id, t.payload::jsonb \
             FROM UNNEST($2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], \
                 $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::text[]) \
                 AS t(block_number, block_hash, block_timestamp, tx_hash, log_index, address, \
                 kind, run_id, agent_id, payload) \
             ON CONFLICT (chain_id, tx_hash, log_index) DO NOTHING \
             RETURNING tx_hash, log_index",
        )
        .bind(chain)
        .bind(events.iter().map(|e| e.block_number).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.block_hash.clone()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.block_timestamp).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.tx_hash.clone()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.log_index).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.address.clone()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.kind.clone()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.run_id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.agent_id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.payload.clone()).collect::<Vec<_>>())
        .fetch_all(&mut *self.0)
        .await?;
        Ok(rows)
    }

    async fn events_above(&mut self, chain: i64, number: i64) -> Result<Vec<RawEvent>> {
        Ok(sqlx::query_as(
            "SELECT block_number, block_hash, block_timestamp, tx_hash, log_index, address, kind, \
                 run_id, agent_id, payload::text AS payload \
             FROM events WHERE chain_id = $1 AND block_number > $2",
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
                 run_id, agent_id, payload::text AS payload \
             FROM events \
             WHERE chain_id = $1 \
               AND (run_id = ANY($2) OR agent_id = ANY($3) OR kind = ANY($4)) \
             ORDER BY block_number, log_index",
        )
        .bind(chain)
        .bind(runs)
        .bind(agents)
        .bind(kinds)
        .fetch_all(&mut *self.0)
        .await?)
    }

    async fn all_events(&mut self, chain: i64) -> Result<Vec<RawEvent>> {
        Ok(sqlx::query_as(
            "SELECT block_number, block_hash, block_timestamp, tx_hash, log_index, address, kind, \
                 run_id, agent_id, payload::text AS payload \
             FROM events WHERE chain_id = $1 ORDER BY block_number, log_index",
        )
        .bind(chain)
        .fetch_all(&mut *self.0)
        .await?)
    }

    async fn delete_above(&mut self, chain: i64, number: i64) -> Result<(u64, u64)> {
        let events = sqlx::query("DELETE FROM events WHERE chain_id = $1 AND block_number > $2")
            .bind(chain)
            .bind(number)
            .execute(&mut *self.0)
            .await?
            .rows_affected();
        let blocks = sqlx::query("DELETE FROM blocks WHERE chain_id = $1 AND number > $2")
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
            "SELECT fee_bps, claim_timeout, review_period, min_stake::text AS min_stake, \
                 unstake_cooldown, strikes_to_ban, established_completions, established_age, \
                 treasury, paused, terms_version, dispute_window, ruling_period, arbitrator, \
                 staking_paused \
             FROM chain_params WHERE chain_id = $1",
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
                "SELECT account, amount::text AS amount FROM credits WHERE chain_id = $1 \
                 ORDER BY account",
            )
            .bind(chain),
            Keys::Only(accounts) => sqlx::query_as(
                "SELECT account, amount::text AS amount FROM credits \
                 WHERE chain_id = $1 AND account = ANY($2)",
            )
            .bind(chain)
            .bind(accounts),
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
            sqlx::query("DELETE FROM chain_params WHERE chain_id = $1")
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
             VALUES ($1, $2, $3, $4, $5::numeric, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                 $16) \
             ON CONFLICT (chain_id) DO UPDATE SET \
                 fee_bps = EXCLUDED.fee_bps, claim_timeout = EXCLUDED.claim_timeout, \
                 review_period = EXCLUDED.review_period, min_stake = EXCLUDED.min_stake, \
                 unstake_cooldown = EXCLUDED.unstake_cooldown, \
                 strikes_to_ban = EXCLUDED.strikes_to_ban, \
                 established_completions = EXCLUDED.established_completions, \
                 established_age = EXCLUDED.established_age, treasury = EXCLUDED.treasury, \
                 paused = EXCLUDED.paused, terms_version = EXCLUDED.terms_version, \
                 dispute_window = EXCLUDED.dispute_window, ruling_period = EXCLUDED.ruling_period, \
                 arbitrator = EXCLUDED.arbitrator, staking_paused = EXCLUDED.staking_paused",
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
        if rows.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO credits (chain_id, account, amount) \
             SELECT $1, t.account, t.amount::numeric \
             FROM UNNEST($2::text[], $3::text[]) AS t(account, amount) \
             ON CONFLICT (chain_id, account) DO UPDATE SET amount = EXCLUDED.amount",
        )
        .bind(chain)
        .bind(rows.iter().map(|r| r.account.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.amount.clone()).collect::<Vec<_>>())
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn delete_runs(&mut self, chain: i64, ids: &[i64]) -> Result<()> {
        sqlx::query("DELETE FROM runs WHERE chain_id = $1 AND run_id = ANY($2)")
            .bind(chain)
            .bind(ids)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn delete_agents(&mut self, chain: i64, ids: &[i64]) -> Result<()> {
        sqlx::query("DELETE FROM agents WHERE chain_id = $1 AND agent_id = ANY($2)")
            .bind(chain)
            .bind(ids)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn delete_credits(&mut self, chain: i64, accounts: &[String]) -> Result<()> {
        sqlx::query("DELETE FROM credits WHERE chain_id = $1 AND account = ANY($2)")
            .bind(chain)
            .bind(accounts)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn upsert_blocks(&mut self, chain: i64, blocks: &[RawBlock]) -> Result<()> {
        if blocks.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO blocks (chain_id, number, hash, parent_hash, timestamp) \
             SELECT $1, t.number, t.hash, t.parent_hash, t.timestamp \
             FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::bigint[]) \
                 AS t(number, hash, parent_hash, timestamp) \
             ON CONFLICT (chain_id, number) DO UPDATE SET hash = EXCLUDED.hash, \
                 parent_hash = EXCLUDED.parent_hash, timestamp = EXCLUDED.timestamp",
        )
        .bind(chain)
        .bind(blocks.iter().map(|b| b.number).collect::<Vec<_>>())
        .bind(blocks.iter().map(|b| b.hash.clone()).collect::<Vec<_>>())
        .bind(blocks.iter().map(|b| b.parent_hash.clone()).collect::<Vec<_>>())
        .bind(blocks.iter().map(|b| b.timestamp).collect::<Vec<_>>())
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn prune_blocks(&mut self, chain: i64, below: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM blocks WHERE chain_id = $1 AND number < $2")
            .bind(chain)
            .bind(below)
            .execute(&mut *self.0)
            .await?
            .rows_affected())
    }

    async fn blocks(&mut self, chain: i64) -> Result<Vec<RawBlock>> {
        Ok(sqlx::query_as(
            "SELECT number, hash, parent_hash, timestamp FROM blocks WHERE chain_id = $1 \
             ORDER BY number DESC",
        )
        .bind(chain)
        .fetch_all(&mut *self.0)
        .await?)
    }

    async fn checkpoint(&mut self, chain: i64) -> Result<Option<RawBlock>> {
        Ok(sqlx::query_as(
            "SELECT number, hash, parent_hash, timestamp FROM checkpoint WHERE chain_id = $1",
        )
        .bind(chain)
        .fetch_optional(&mut *self.0)
        .await?)
    }

    async fn set_checkpoint(&mut self, chain: i64, block: &RawBlock, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO checkpoint (chain_id, number, hash, parent_hash, timestamp, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (chain_id) DO UPDATE SET number = EXCLUDED.number, \
                 hash = EXCLUDED.hash, parent_hash = EXCLUDED.parent_hash, \
                 timestamp = EXCLUDED.timestamp, updated_at = EXCLUDED.updated_at",
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
    conn: &mut PgConnection,
    chain: i64,
    table: &Table<R>,
    ids: Keys<'_, i64>,
) -> Result<Vec<R>>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let select = table.select_list(true);
    Ok(match ids {
        Keys::All => {
            let sql = format!(
                "SELECT {select} FROM {} WHERE chain_id = $1 ORDER BY {}",
                table.name, table.key
            );
            sqlx::query_as(AssertSqlSafe(sql)).bind(chain).fetch_all(conn).await?
        }
        Keys::Only(ids) => {
            let sql = format!(
                "SELECT {select} FROM {} WHERE chain_id = $1 AND {} = ANY($2)",
                table.name, table.key
            );
            sqlx::query_as(AssertSqlSafe(sql)).bind(chain).bind(ids).fetch_all(conn).await?
        }
    })
}

/// Inserts or replaces rows of a derived table in one statement: one array per column, zipped
/// by `UNNEST`.
async fn upsert<R>(
    conn: &mut PgConnection,
    chain: i64,
    table: &Table<R>,
    rows: &[R],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut arrays = Vec::with_capacity(table.columns.len());
    let mut values = Vec::with_capacity(table.columns.len());
    for (i, column) in table.columns.iter().enumerate() {
        let (array, cast) = match column.kind {
            Kind::Int => ("bigint[]", ""),
            Kind::Text => ("text[]", ""),
            Kind::Amount => ("text[]", "::numeric"),
            Kind::Bool => ("bool[]", ""),
        };
        arrays.push(format!("${}::{array}", i + 2));
        values.push(format!("t.{}{cast}", column.name));
    }
    let names = table.names();
    let sql = format!(
        "INSERT INTO {} (chain_id, {names}) SELECT $1, {} FROM UNNEST({}) AS t({names}){}",
        table.name,
        values.join(", "),
        arrays.join(", "),
        table.on_conflict_update(),
    );
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(chain);
    for column in table.columns {
        let get = column.get;
        query = match column.kind {
            Kind::Int => query.bind(rows.iter().map(|r| get(r).into_int()).collect::<Vec<_>>()),
            Kind::Text | Kind::Amount => {
                query.bind(rows.iter().map(|r| get(r).into_text()).collect::<Vec<_>>())
            }
            Kind::Bool => query.bind(rows.iter().map(|r| get(r).into_bool()).collect::<Vec<_>>()),
        };
    }
    query.execute(conn).await?;
    Ok(())
}
