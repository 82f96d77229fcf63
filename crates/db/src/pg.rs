//! Postgres statements: bulk writes bind one array per column and `UNNEST` them, so a range of
//! any size is one statement per table; amounts travel as text and are cast to `NUMERIC(78,0)`.

use sqlx::PgConnection;

use crate::{
    Result,
    codec::{RawAgent, RawBlock, RawCredit, RawEvent, RawParams, RawRun},
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
        let query = match ids {
            Keys::All => sqlx::query_as(
                "SELECT run_id, poster, spec_uri, reward::text AS reward, fee::text AS fee, \
                     deadline, state, agent_id, agent_wallet, deliverable_uri, revision_count, \
                     max_revisions, claim_timeout, review_period, funded, claimed_at, \
                     submitted_at, timer_start, created_at, updated_at, created_block, \
                     updated_block \
                 FROM runs WHERE chain_id = $1 ORDER BY run_id",
            )
            .bind(chain),
            Keys::Only(ids) => sqlx::query_as(
                "SELECT run_id, poster, spec_uri, reward::text AS reward, fee::text AS fee, \
                     deadline, state, agent_id, agent_wallet, deliverable_uri, revision_count, \
                     max_revisions, claim_timeout, review_period, funded, claimed_at, \
                     submitted_at, timer_start, created_at, updated_at, created_block, \
                     updated_block \
                 FROM runs WHERE chain_id = $1 AND run_id = ANY($2)",
            )
            .bind(chain)
            .bind(ids),
        };
        Ok(query.fetch_all(&mut *self.0).await?)
    }

    async fn load_agents(&mut self, chain: i64, ids: Keys<'_, i64>) -> Result<Vec<RawAgent>> {
        let query = match ids {
            Keys::All => sqlx::query_as(
                "SELECT agent_id, wallet, metadata_uri, stake::text AS stake, \
                     pending_unstake::text AS pending_unstake, unstake_ready_at, staked_since, \
                     frozen, slashes, claims, completions, active_claims, volume::text AS volume, \
                     last_status, registered_at, updated_at, registered_block, updated_block \
                 FROM agents WHERE chain_id = $1 ORDER BY agent_id",
            )
            .bind(chain),
            Keys::Only(ids) => sqlx::query_as(
                "SELECT agent_id, wallet, metadata_uri, stake::text AS stake, \
                     pending_unstake::text AS pending_unstake, unstake_ready_at, staked_since, \
                     frozen, slashes, claims, completions, active_claims, volume::text AS volume, \
                     last_status, registered_at, updated_at, registered_block, updated_block \
                 FROM agents WHERE chain_id = $1 AND agent_id = ANY($2)",
            )
            .bind(chain)
            .bind(ids),
        };
        Ok(query.fetch_all(&mut *self.0).await?)
    }

    async fn load_params(&mut self, chain: i64) -> Result<Option<RawParams>> {
        Ok(sqlx::query_as(
            "SELECT fee_bps, claim_timeout, review_period, min_stake::text AS min_stake, \
                 unstake_cooldown, strikes_to_ban, established_completions, established_age, \
                 treasury, paused \
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
        if rows.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO runs (chain_id, run_id, poster, spec_uri, reward, fee, deadline, state, \
                 agent_id, agent_wallet, deliverable_uri, revision_count, max_revisions, \
                 claim_timeout, review_period, funded, claimed_at, submitted_at, timer_start, \
                 created_at, updated_at, created_block, updated_block) \
             SELECT $1, t.run_id, t.poster, t.spec_uri, t.reward::numeric, t.fee::numeric, \
                 t.deadline, t.state, t.agent_id, t.agent_wallet, t.deliverable_uri, \
                 t.revision_count, t.max_revisions, t.claim_timeout, t.review_period, t.funded, \
                 t.claimed_at, t.submitted_at, t.timer_start, t.created_at, t.updated_at, \
                 t.created_block, t.updated_block \
             FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], \
                 $7::bigint[], $8::text[], $9::bigint[], $10::text[], $11::text[], $12::bigint[], \
                 $13::bigint[], $14::bigint[], $15::bigint[], $16::bool[], $17::bigint[], \
                 $18::bigint[], $19::bigint[], $20::bigint[], $21::bigint[], $22::bigint[], \
                 $23::bigint[]) \
                 AS t(run_id, poster, spec_uri, reward, fee, deadline, state, agent_id, \
                 agent_wallet, deliverable_uri, revision_count, max_revisions, claim_timeout, \
                 review_period, funded, claimed_at, submitted_at, timer_start, created_at, \
                 updated_at, created_block, updated_block) \
             ON CONFLICT (chain_id, run_id) DO UPDATE SET \
                 poster = EXCLUDED.poster, spec_uri = EXCLUDED.spec_uri, \
                 reward = EXCLUDED.reward, fee = EXCLUDED.fee, deadline = EXCLUDED.deadline, \
                 state = EXCLUDED.state, agent_id = EXCLUDED.agent_id, \
                 agent_wallet = EXCLUDED.agent_wallet, deliverable_uri = EXCLUDED.deliverable_uri, \
                 revision_count = EXCLUDED.revision_count, max_revisions = EXCLUDED.max_revisions, \
                 claim_timeout = EXCLUDED.claim_timeout, review_period = EXCLUDED.review_period, \
                 funded = EXCLUDED.funded, claimed_at = EXCLUDED.claimed_at, \
                 submitted_at = EXCLUDED.submitted_at, timer_start = EXCLUDED.timer_start, \
                 created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, \
                 created_block = EXCLUDED.created_block, updated_block = EXCLUDED.updated_block",
        )
        .bind(chain)
        .bind(rows.iter().map(|r| r.run_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.poster.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.spec_uri.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.reward.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.fee.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.deadline).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.state.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.agent_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.agent_wallet.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.deliverable_uri.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.revision_count).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.max_revisions).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.claim_timeout).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.review_period).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.funded).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.claimed_at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.submitted_at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.timer_start).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.updated_at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.created_block).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.updated_block).collect::<Vec<_>>())
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn upsert_agents(&mut self, chain: i64, rows: &[RawAgent]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO agents (chain_id, agent_id, wallet, metadata_uri, stake, \
                 pending_unstake, unstake_ready_at, staked_since, frozen, slashes, claims, \
                 completions, active_claims, volume, last_status, registered_at, updated_at, \
                 registered_block, updated_block) \
             SELECT $1, t.agent_id, t.wallet, t.metadata_uri, t.stake::numeric, \
                 t.pending_unstake::numeric, t.unstake_ready_at, t.staked_since, t.frozen, \
                 t.slashes, t.claims, t.completions, t.active_claims, t.volume::numeric, \
                 t.last_status, t.registered_at, t.updated_at, t.registered_block, \
                 t.updated_block \
             FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], \
                 $7::bigint[], $8::bigint[], $9::bool[], $10::bigint[], $11::bigint[], \
                 $12::bigint[], $13::bigint[], $14::text[], $15::text[], $16::bigint[], \
                 $17::bigint[], $18::bigint[], $19::bigint[]) \
                 AS t(agent_id, wallet, metadata_uri, stake, pending_unstake, unstake_ready_at, \
                 staked_since, frozen, slashes, claims, completions, active_claims, volume, \
                 last_status, registered_at, updated_at, registered_block, updated_block) \
             ON CONFLICT (chain_id, agent_id) DO UPDATE SET \
                 wallet = EXCLUDED.wallet, metadata_uri = EXCLUDED.metadata_uri, \
                 stake = EXCLUDED.stake, pending_unstake = EXCLUDED.pending_unstake, \
                 unstake_ready_at = EXCLUDED.unstake_ready_at, \
                 staked_since = EXCLUDED.staked_since, frozen = EXCLUDED.frozen, \
                 slashes = EXCLUDED.slashes, claims = EXCLUDED.claims, \
                 completions = EXCLUDED.completions, active_claims = EXCLUDED.active_claims, \
                 volume = EXCLUDED.volume, last_status = EXCLUDED.last_status, \
                 registered_at = EXCLUDED.registered_at, updated_at = EXCLUDED.updated_at, \
                 registered_block = EXCLUDED.registered_block, \
                 updated_block = EXCLUDED.updated_block",
        )
        .bind(chain)
        .bind(rows.iter().map(|r| r.agent_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.wallet.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.metadata_uri.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.stake.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.pending_unstake.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.unstake_ready_at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.staked_since).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.frozen).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.slashes).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.claims).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.completions).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.active_claims).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.volume.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.last_status.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.registered_at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.updated_at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.registered_block).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.updated_block).collect::<Vec<_>>())
        .execute(&mut *self.0)
        .await?;
        Ok(())
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
                 established_age, treasury, paused) \
             VALUES ($1, $2, $3, $4, $5::numeric, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (chain_id) DO UPDATE SET \
                 fee_bps = EXCLUDED.fee_bps, claim_timeout = EXCLUDED.claim_timeout, \
                 review_period = EXCLUDED.review_period, min_stake = EXCLUDED.min_stake, \
                 unstake_cooldown = EXCLUDED.unstake_cooldown, \
                 strikes_to_ban = EXCLUDED.strikes_to_ban, \
                 established_completions = EXCLUDED.established_completions, \
                 established_age = EXCLUDED.established_age, treasury = EXCLUDED.treasury, \
                 paused = EXCLUDED.paused",
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
