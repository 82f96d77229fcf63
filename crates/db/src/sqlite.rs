//! SQLite statements: bulk writes are multi-row `INSERT ... VALUES` statements in chunks that
//! stay under SQLite's bound-parameter limit, inside the caller's one transaction; key lists are
//! bound as one JSON array and expanded with `json_each`, so every statement text is static.

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::{
    Result,
    codec::{RawAgent, RawBlock, RawCredit, RawEvent, RawParams, RawRun},
    ops::{AGENT_COLUMNS, BLOCK_COLUMNS, CREDIT_COLUMNS, EVENT_COLUMNS, Keys, Ops, RUN_COLUMNS},
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
        let query = match ids {
            Keys::All => sqlx::query_as(
                "SELECT run_id, poster, spec_uri, reward, fee, deadline, state, agent_id, \
                     agent_wallet, deliverable_uri, revision_count, max_revisions, claim_timeout, \
                     review_period, funded, claimed_at, submitted_at, timer_start, created_at, \
                     updated_at, created_block, updated_block \
                 FROM runs WHERE chain_id = ?1 ORDER BY run_id",
            )
            .bind(chain),
            Keys::Only(ids) => sqlx::query_as(
                "SELECT run_id, poster, spec_uri, reward, fee, deadline, state, agent_id, \
                     agent_wallet, deliverable_uri, revision_count, max_revisions, claim_timeout, \
                     review_period, funded, claimed_at, submitted_at, timer_start, created_at, \
                     updated_at, created_block, updated_block \
                 FROM runs WHERE chain_id = ?1 AND run_id IN (SELECT value FROM json_each(?2))",
            )
            .bind(chain)
            .bind(json_keys(ids)?),
        };
        Ok(query.fetch_all(&mut *self.0).await?)
    }

    async fn load_agents(&mut self, chain: i64, ids: Keys<'_, i64>) -> Result<Vec<RawAgent>> {
        let query = match ids {
            Keys::All => sqlx::query_as(
                "SELECT agent_id, wallet, metadata_uri, stake, pending_unstake, unstake_ready_at, \
                     staked_since, frozen, slashes, claims, completions, active_claims, volume, \
                     last_status, registered_at, updated_at, registered_block, updated_block \
                 FROM agents WHERE chain_id = ?1 ORDER BY agent_id",
            )
            .bind(chain),
            Keys::Only(ids) => sqlx::query_as(
                "SELECT agent_id, wallet, metadata_uri, stake, pending_unstake, unstake_ready_at, \
                     staked_since, frozen, slashes, claims, completions, active_claims, volume, \
                     last_status, registered_at, updated_at, registered_block, updated_block \
                 FROM agents \
                 WHERE chain_id = ?1 AND agent_id IN (SELECT value FROM json_each(?2))",
            )
            .bind(chain)
            .bind(json_keys(ids)?),
        };
        Ok(query.fetch_all(&mut *self.0).await?)
    }

    async fn load_params(&mut self, chain: i64) -> Result<Option<RawParams>> {
        Ok(sqlx::query_as(
            "SELECT fee_bps, claim_timeout, review_period, min_stake, unstake_cooldown, \
                 strikes_to_ban, established_completions, established_age, treasury, paused \
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
        for chunk in rows.chunks(rows_per_chunk(23)) {
            let mut qb = QueryBuilder::<Sqlite>::new("INSERT INTO runs (");
            qb.push(RUN_COLUMNS).push(") ");
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(chain)
                    .push_bind(r.run_id)
                    .push_bind(r.poster.clone())
                    .push_bind(r.spec_uri.clone())
                    .push_bind(r.reward.clone())
                    .push_bind(r.fee.clone())
                    .push_bind(r.deadline)
                    .push_bind(r.state.clone())
                    .push_bind(r.agent_id)
                    .push_bind(r.agent_wallet.clone())
                    .push_bind(r.deliverable_uri.clone())
                    .push_bind(r.revision_count)
                    .push_bind(r.max_revisions)
                    .push_bind(r.claim_timeout)
                    .push_bind(r.review_period)
                    .push_bind(r.funded)
                    .push_bind(r.claimed_at)
                    .push_bind(r.submitted_at)
                    .push_bind(r.timer_start)
                    .push_bind(r.created_at)
                    .push_bind(r.updated_at)
                    .push_bind(r.created_block)
                    .push_bind(r.updated_block);
            });
            qb.push(
                " ON CONFLICT (chain_id, run_id) DO UPDATE SET \
                 poster = excluded.poster, spec_uri = excluded.spec_uri, \
                 reward = excluded.reward, fee = excluded.fee, deadline = excluded.deadline, \
                 state = excluded.state, agent_id = excluded.agent_id, \
                 agent_wallet = excluded.agent_wallet, deliverable_uri = excluded.deliverable_uri, \
                 revision_count = excluded.revision_count, max_revisions = excluded.max_revisions, \
                 claim_timeout = excluded.claim_timeout, review_period = excluded.review_period, \
                 funded = excluded.funded, claimed_at = excluded.claimed_at, \
                 submitted_at = excluded.submitted_at, timer_start = excluded.timer_start, \
                 created_at = excluded.created_at, updated_at = excluded.updated_at, \
                 created_block = excluded.created_block, updated_block = excluded.updated_block",
            );
            qb.build().execute(&mut *self.0).await?;
        }
        Ok(())
    }

    async fn upsert_agents(&mut self, chain: i64, rows: &[RawAgent]) -> Result<()> {
        for chunk in rows.chunks(rows_per_chunk(19)) {
            let mut qb = QueryBuilder::<Sqlite>::new("INSERT INTO agents (");
            qb.push(AGENT_COLUMNS).push(") ");
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(chain)
                    .push_bind(r.agent_id)
                    .push_bind(r.wallet.clone())
                    .push_bind(r.metadata_uri.clone())
                    .push_bind(r.stake.clone())
                    .push_bind(r.pending_unstake.clone())
                    .push_bind(r.unstake_ready_at)
                    .push_bind(r.staked_since)
                    .push_bind(r.frozen)
                    .push_bind(r.slashes)
                    .push_bind(r.claims)
                    .push_bind(r.completions)
                    .push_bind(r.active_claims)
                    .push_bind(r.volume.clone())
                    .push_bind(r.last_status.clone())
                    .push_bind(r.registered_at)
                    .push_bind(r.updated_at)
                    .push_bind(r.registered_block)
                    .push_bind(r.updated_block);
            });
            qb.push(
                " ON CONFLICT (chain_id, agent_id) DO UPDATE SET \
                 wallet = excluded.wallet, metadata_uri = excluded.metadata_uri, \
                 stake = excluded.stake, pending_unstake = excluded.pending_unstake, \
                 unstake_ready_at = excluded.unstake_ready_at, \
                 staked_since = excluded.staked_since, frozen = excluded.frozen, \
                 slashes = excluded.slashes, claims = excluded.claims, \
                 completions = excluded.completions, active_claims = excluded.active_claims, \
                 volume = excluded.volume, last_status = excluded.last_status, \
                 registered_at = excluded.registered_at, updated_at = excluded.updated_at, \
                 registered_block = excluded.registered_block, \
                 updated_block = excluded.updated_block",
            );
            qb.build().execute(&mut *self.0).await?;
        }
        Ok(())
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
                 established_age, treasury, paused) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
             ON CONFLICT (chain_id) DO UPDATE SET \
                 fee_bps = excluded.fee_bps, claim_timeout = excluded.claim_timeout, \
                 review_period = excluded.review_period, min_stake = excluded.min_stake, \
                 unstake_cooldown = excluded.unstake_cooldown, \
                 strikes_to_ban = excluded.strikes_to_ban, \
                 established_completions = excluded.established_completions, \
                 established_age = excluded.established_age, treasury = excluded.treasury, \
                 paused = excluded.paused",
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
