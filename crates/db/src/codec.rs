//! Conversions between domain values and their stored forms, shared by both backends: the
//! `Raw*` structs hold exactly the column values (integers, text, booleans) and decode from a
//! Postgres or a SQLite row alike.

use runs_primitives::{
    Address, AgentId, AgentStatus, B256, ChainEvent, LogPosition, MarketEvent, RunId, RunState,
    Usdc,
};

use crate::{AgentRow, BlockRef, ChainParams, CreditRow, Error, Result, RunRow};

/// Width of a stored amount: `2^256 - 1` has 78 decimal digits.
const AMOUNT_DIGITS: usize = 78;

/// An amount as 78-digit zero-padded decimal text: SQLite compares it as text in numeric order,
/// and Postgres casts it to `NUMERIC(78,0)` unchanged.
pub(crate) fn amount_text(amount: Usdc) -> String {
    format!("{:0>width$}", amount.base_units(), width = AMOUNT_DIGITS)
}

pub(crate) fn parse_amount(table: &'static str, column: &'static str, text: &str) -> Result<Usdc> {
    Usdc::from_base_units_str(text).map_err(|err| corrupt(table, column, err.to_string()))
}

/// Addresses and hashes are stored as lowercase `0x` hex, so equality in SQL is string equality.
pub(crate) fn addr_text(address: Address) -> String {
    format!("{address:#x}")
}

pub(crate) fn hash_text(hash: B256) -> String {
    format!("{hash:#x}")
}

pub(crate) fn parse_addr(table: &'static str, column: &'static str, text: &str) -> Result<Address> {
    text.parse::<Address>().map_err(|err| corrupt(table, column, err.to_string()))
}

pub(crate) fn parse_hash(table: &'static str, column: &'static str, text: &str) -> Result<B256> {
    text.parse::<B256>().map_err(|err| corrupt(table, column, err.to_string()))
}

/// Every integer column is a signed 64-bit integer in both backends.
pub(crate) fn int(column: &'static str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::OutOfRange { column, value: value.to_string() })
}

pub(crate) fn uint<T: TryFrom<i64>>(
    table: &'static str,
    column: &'static str,
    value: i64,
) -> Result<T> {
    T::try_from(value).map_err(|_| corrupt(table, column, format!("{value} out of range")))
}

pub(crate) fn corrupt(table: &'static str, column: &'static str, reason: String) -> Error {
    Error::Corrupt { table, column, reason }
}

/// One `events` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RawEvent {
    pub(crate) block_number: i64,
    pub(crate) block_hash: String,
    pub(crate) block_timestamp: i64,
    pub(crate) tx_hash: String,
    pub(crate) log_index: i64,
    pub(crate) address: String,
    pub(crate) kind: String,
    pub(crate) run_id: Option<i64>,
    pub(crate) agent_id: Option<i64>,
    pub(crate) payload: String,
    /// The poster of the event's run, set by the commit that stores it (feed filters).
    pub(crate) poster: Option<String>,
    /// The event's position in the chain's feed, set by the commit that stores it.
    pub(crate) seq: i64,
}

impl RawEvent {
    pub(crate) fn encode(ev: &ChainEvent) -> Result<Self> {
        let pos = &ev.position;
        Ok(Self {
            block_number: int("events.block_number", pos.block_number)?,
            block_hash: hash_text(pos.block_hash),
            block_timestamp: int("events.block_timestamp", pos.block_timestamp)?,
            tx_hash: hash_text(pos.tx_hash),
            log_index: int("events.log_index", pos.log_index)?,
            address: addr_text(pos.address),
            kind: ev.event.name().to_owned(),
            run_id: ev.event.run_id().map(|id| int("events.run_id", id.get())).transpose()?,
            agent_id: ev.event.agent_id().map(|id| int("events.agent_id", id.get())).transpose()?,
            payload: serde_json::to_string(&ev.event)?,
            poster: None,
            seq: 0,
        })
    }

    pub(crate) fn decode(&self) -> Result<ChainEvent> {
        const T: &str = "events";
        let event: MarketEvent = serde_json::from_str(&self.payload)?;
        Ok(ChainEvent {
            position: LogPosition {
                block_number: uint(T, "block_number", self.block_number)?,
                block_hash: parse_hash(T, "block_hash", &self.block_hash)?,
                block_timestamp: uint(T, "block_timestamp", self.block_timestamp)?,
                tx_hash: parse_hash(T, "tx_hash", &self.tx_hash)?,
                log_index: uint(T, "log_index", self.log_index)?,
                address: parse_addr(T, "address", &self.address)?,
            },
            event,
        })
    }
}

/// One `runs` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RawRun {
    pub(crate) run_id: i64,
    pub(crate) poster: String,
    pub(crate) spec_uri: String,
    pub(crate) reward: String,
    pub(crate) fee: String,
    pub(crate) deadline: i64,
    pub(crate) state: String,
    pub(crate) agent_id: Option<i64>,
    pub(crate) agent_wallet: Option<String>,
    pub(crate) deliverable_uri: Option<String>,
    pub(crate) revision_count: i64,
    pub(crate) max_revisions: i64,
    pub(crate) claim_timeout: i64,
    pub(crate) review_period: i64,
    pub(crate) dispute_window: i64,
    pub(crate) ruling_period: i64,
    pub(crate) arbitrator: String,
    pub(crate) required_stake: String,
    pub(crate) terms_version: i64,
    pub(crate) settled: bool,
    pub(crate) rejection: Option<String>,
    pub(crate) dispute: Option<String>,
    pub(crate) funded: bool,
    pub(crate) claimed_at: Option<i64>,
    pub(crate) submitted_at: Option<i64>,
    pub(crate) timer_start: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) created_block: i64,
    pub(crate) updated_block: i64,
}

fn json_column<T: serde::de::DeserializeOwned>(
    table: &'static str,
    column: &'static str,
    text: Option<&str>,
) -> Result<Option<T>> {
    text.map(|t| serde_json::from_str(t).map_err(|err| corrupt(table, column, err.to_string())))
        .transpose()
}

fn opt_int(column: &'static str, value: Option<u64>) -> Result<Option<i64>> {
    value.map(|v| int(column, v)).transpose()
}

fn opt_uint<T: TryFrom<i64>>(
    table: &'static str,
    column: &'static str,
    value: Option<i64>,
) -> Result<Option<T>> {
    value.map(|v| uint(table, column, v)).transpose()
}

impl RawRun {
    pub(crate) fn encode(run: &RunRow) -> Result<Self> {
        Ok(Self {
            run_id: int("runs.run_id", run.run_id.get())?,
            poster: addr_text(run.poster),
            spec_uri: run.spec_uri.clone(),
            reward: amount_text(run.reward),
            fee: amount_text(run.fee),
            deadline: int("runs.deadline", run.deadline)?,
            state: run.state.as_str().to_owned(),
            agent_id: opt_int("runs.agent_id", run.agent_id.map(AgentId::get))?,
            agent_wallet: run.agent_wallet.map(addr_text),
            deliverable_uri: run.deliverable_uri.clone(),
            revision_count: i64::from(run.revision_count),
            max_revisions: i64::from(run.max_revisions),
            claim_timeout: i64::from(run.claim_timeout),
            review_period: i64::from(run.review_period),
            dispute_window: i64::from(run.dispute_window),
            ruling_period: i64::from(run.ruling_period),
            arbitrator: addr_text(run.arbitrator),
            required_stake: amount_text(run.required_stake),
            terms_version: int("runs.terms_version", run.terms_version)?,
            settled: run.settled,
            rejection: run.rejection.as_ref().map(serde_json::to_string).transpose()?,
            dispute: run.dispute.as_ref().map(serde_json::to_string).transpose()?,
            funded: run.funded,
            claimed_at: opt_int("runs.claimed_at", run.claimed_at)?,
            submitted_at: opt_int("runs.submitted_at", run.submitted_at)?,
            timer_start: opt_int("runs.timer_start", run.timer_start)?,
            created_at: int("runs.created_at", run.created_at)?,
            updated_at: int("runs.updated_at", run.updated_at)?,
            created_block: int("runs.created_block", run.created_block)?,
            updated_block: int("runs.updated_block", run.updated_block)?,
        })
    }

    pub(crate) fn decode(&self) -> Result<RunRow> {
        const T: &str = "runs";
        Ok(RunRow {
            run_id: RunId(uint(T, "run_id", self.run_id)?),
            poster: parse_addr(T, "poster", &self.poster)?,
            spec_uri: self.spec_uri.clone(),
            reward: parse_amount(T, "reward", &self.reward)?,
            fee: parse_amount(T, "fee", &self.fee)?,
            deadline: uint(T, "deadline", self.deadline)?,
            state: self
                .state
                .parse::<RunState>()
                .map_err(|err| corrupt(T, "state", err.to_string()))?,
            agent_id: opt_uint(T, "agent_id", self.agent_id)?.map(AgentId),
            agent_wallet: self
                .agent_wallet
                .as_deref()
                .map(|w| parse_addr(T, "agent_wallet", w))
                .transpose()?,
            deliverable_uri: self.deliverable_uri.clone(),
            revision_count: uint(T, "revision_count", self.revision_count)?,
            max_revisions: uint(T, "max_revisions", self.max_revisions)?,
            claim_timeout: uint(T, "claim_timeout", self.claim_timeout)?,
            review_period: uint(T, "review_period", self.review_period)?,
            dispute_window: uint(T, "dispute_window", self.dispute_window)?,
            ruling_period: uint(T, "ruling_period", self.ruling_period)?,
            arbitrator: parse_addr(T, "arbitrator", &self.arbitrator)?,
            required_stake: parse_amount(T, "required_stake", &self.required_stake)?,
            terms_version: uint(T, "terms_version", self.terms_version)?,
            settled: self.settled,
            rejection: json_column(T, "rejection", self.rejection.as_deref())?,
            dispute: json_column(T, "dispute", self.dispute.as_deref())?,
            funded: self.funded,
            claimed_at: opt_uint(T, "claimed_at", self.claimed_at)?,
            submitted_at: opt_uint(T, "submitted_at", self.submitted_at)?,
            timer_start: opt_uint(T, "timer_start", self.timer_start)?,
            created_at: uint(T, "created_at", self.created_at)?,
            updated_at: uint(T, "updated_at", self.updated_at)?,
            created_block: uint(T, "created_block", self.created_block)?,
            updated_block: uint(T, "updated_block", self.updated_block)?,
        })
    }
}

/// One `agents` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RawAgent {
    pub(crate) agent_id: i64,
    pub(crate) wallet: String,
    pub(crate) metadata_uri: String,
    pub(crate) stake: String,
    pub(crate) reserved: String,
    pub(crate) pending_unstake: String,
    pub(crate) unstake_ready_at: Option<i64>,
    pub(crate) staked_since: Option<i64>,
    pub(crate) frozen: bool,
    pub(crate) banned: bool,
    pub(crate) strikes: i64,
    pub(crate) rejections: i64,
    pub(crate) disputes_won: i64,
    pub(crate) disputes_lost: i64,
    pub(crate) claims: i64,
    pub(crate) completions: i64,
    pub(crate) active_claims: i64,
    pub(crate) volume: String,
    pub(crate) last_status: String,
    pub(crate) registered_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) registered_block: i64,
    pub(crate) updated_block: i64,
}

impl RawAgent {
    pub(crate) fn encode(agent: &AgentRow) -> Result<Self> {
        Ok(Self {
            agent_id: int("agents.agent_id", agent.agent_id.get())?,
            wallet: addr_text(agent.wallet),
            metadata_uri: agent.metadata_uri.clone(),
            stake: amount_text(agent.stake),
            reserved: amount_text(agent.reserved),
            pending_unstake: amount_text(agent.pending_unstake),
            unstake_ready_at: opt_int("agents.unstake_ready_at", agent.unstake_ready_at)?,
            staked_since: opt_int("agents.staked_since", agent.staked_since)?,
            frozen: agent.frozen,
            banned: agent.banned,
            strikes: i64::from(agent.strikes),
            rejections: i64::from(agent.rejections),
            disputes_won: i64::from(agent.disputes_won),
            disputes_lost: i64::from(agent.disputes_lost),
            claims: i64::from(agent.claims),
            completions: i64::from(agent.completions),
            active_claims: i64::from(agent.active_claims),
            volume: amount_text(agent.volume),
            last_status: agent.last_status.as_str().to_owned(),
            registered_at: int("agents.registered_at", agent.registered_at)?,
            updated_at: int("agents.updated_at", agent.updated_at)?,
            registered_block: int("agents.registered_block", agent.registered_block)?,
            updated_block: int("agents.updated_block", agent.updated_block)?,
        })
    }

    pub(crate) fn decode(&self) -> Result<AgentRow> {
        const T: &str = "agents";
        Ok(AgentRow {
            agent_id: AgentId(uint(T, "agent_id", self.agent_id)?),
            wallet: parse_addr(T, "wallet", &self.wallet)?,
            metadata_uri: self.metadata_uri.clone(),
            stake: parse_amount(T, "stake", &self.stake)?,
            reserved: parse_amount(T, "reserved", &self.reserved)?,
            pending_unstake: parse_amount(T, "pending_unstake", &self.pending_unstake)?,
            unstake_ready_at: opt_uint(T, "unstake_ready_at", self.unstake_ready_at)?,
            staked_since: opt_uint(T, "staked_since", self.staked_since)?,
            frozen: self.frozen,
            banned: self.banned,
            strikes: uint(T, "strikes", self.strikes)?,
            rejections: uint(T, "rejections", self.rejections)?,
            disputes_won: uint(T, "disputes_won", self.disputes_won)?,
            disputes_lost: uint(T, "disputes_lost", self.disputes_lost)?,
            claims: uint(T, "claims", self.claims)?,
            completions: uint(T, "completions", self.completions)?,
            active_claims: uint(T, "active_claims", self.active_claims)?,
            volume: parse_amount(T, "volume", &self.volume)?,
            last_status: self
                .last_status
                .parse::<AgentStatus>()
                .map_err(|err| corrupt(T, "last_status", err.to_string()))?,
            registered_at: uint(T, "registered_at", self.registered_at)?,
            updated_at: uint(T, "updated_at", self.updated_at)?,
            registered_block: uint(T, "registered_block", self.registered_block)?,
            updated_block: uint(T, "updated_block", self.updated_block)?,
        })
    }
}

/// The `chain_params` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RawParams {
    pub(crate) fee_bps: i64,
    pub(crate) claim_timeout: i64,
    pub(crate) review_period: i64,
    pub(crate) min_stake: String,
    pub(crate) unstake_cooldown: i64,
    pub(crate) strikes_to_ban: i64,
    pub(crate) established_completions: i64,
    pub(crate) established_age: i64,
    pub(crate) treasury: Option<String>,
    pub(crate) paused: bool,
    pub(crate) terms_version: i64,
    pub(crate) dispute_window: i64,
    pub(crate) ruling_period: i64,
    pub(crate) arbitrator: Option<String>,
    pub(crate) staking_paused: bool,
}

impl RawParams {
    pub(crate) fn encode(p: &ChainParams) -> Result<Self> {
        Ok(Self {
            fee_bps: i64::from(p.fee_bps),
            claim_timeout: i64::from(p.claim_timeout),
            review_period: i64::from(p.review_period),
            min_stake: amount_text(p.min_stake),
            unstake_cooldown: i64::from(p.unstake_cooldown),
            strikes_to_ban: i64::from(p.strikes_to_ban),
            established_completions: i64::from(p.established_completions),
            established_age: i64::from(p.established_age),
            treasury: p.treasury.map(addr_text),
            paused: p.paused,
            terms_version: int("chain_params.terms_version", p.terms_version)?,
            dispute_window: i64::from(p.dispute_window),
            ruling_period: i64::from(p.ruling_period),
            arbitrator: p.arbitrator.map(addr_text),
            staking_paused: p.staking_paused,
        })
    }

    pub(crate) fn decode(&self) -> Result<ChainParams> {
        const T: &str = "chain_params";
        Ok(ChainParams {
            fee_bps: uint(T, "fee_bps", self.fee_bps)?,
            claim_timeout: uint(T, "claim_timeout", self.claim_timeout)?,
            review_period: uint(T, "review_period", self.review_period)?,
            min_stake: parse_amount(T, "min_stake", &self.min_stake)?,
            unstake_cooldown: uint(T, "unstake_cooldown", self.unstake_cooldown)?,
            strikes_to_ban: uint(T, "strikes_to_ban", self.strikes_to_ban)?,
            established_completions: uint(
                T,
                "established_completions",
                self.established_completions,
            )?,
            established_age: uint(T, "established_age", self.established_age)?,
            treasury: self.treasury.as_deref().map(|t| parse_addr(T, "treasury", t)).transpose()?,
            paused: self.paused,
            terms_version: uint(T, "terms_version", self.terms_version)?,
            dispute_window: uint(T, "dispute_window", self.dispute_window)?,
            ruling_period: uint(T, "ruling_period", self.ruling_period)?,
            arbitrator: self
                .arbitrator
                .as_deref()
                .map(|a| parse_addr(T, "arbitrator", a))
                .transpose()?,
            staking_paused: self.staking_paused,
        })
    }
}

/// One `credits` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RawCredit {
    pub(crate) account: String,
    pub(crate) amount: String,
}

impl RawCredit {
    pub(crate) fn encode(c: &CreditRow) -> Self {
        Self { account: addr_text(c.account), amount: amount_text(c.amount) }
    }

    pub(crate) fn decode(&self) -> Result<CreditRow> {
        Ok(CreditRow {
            account: parse_addr("credits", "account", &self.account)?,
            amount: parse_amount("credits", "amount", &self.amount)?,
        })
    }
}

/// One `blocks` row (also the checkpoint's columns).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RawBlock {
    pub(crate) number: i64,
    pub(crate) hash: String,
    pub(crate) parent_hash: String,
    pub(crate) timestamp: i64,
}

impl RawBlock {
    pub(crate) fn encode(b: &BlockRef) -> Result<Self> {
        Ok(Self {
            number: int("blocks.number", b.number)?,
            hash: hash_text(b.hash),
            parent_hash: hash_text(b.parent_hash),
            timestamp: int("blocks.timestamp", b.timestamp)?,
        })
    }

    pub(crate) fn decode(&self, table: &'static str) -> Result<BlockRef> {
        Ok(BlockRef {
            number: uint(table, "number", self.number)?,
            hash: parse_hash(table, "hash", &self.hash)?,
            parent_hash: parse_hash(table, "parent_hash", &self.parent_hash)?,
            timestamp: uint(table, "timestamp", self.timestamp)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use runs_primitives::U256;

    use super::*;

    #[test]
    fn amounts_are_padded_so_text_order_is_numeric_order() {
        let small = amount_text(Usdc::from(9u64));
        let big = amount_text(Usdc::from(10u64));
        let max = amount_text(Usdc::from_base_units(U256::MAX));
        assert_eq!(small.len(), 78);
        assert_eq!(max.len(), 78);
        assert!(small < big && big < max);
        for text in [&small, &big, &max] {
            let back = parse_amount("t", "c", text).unwrap();
            assert_eq!(amount_text(back), *text);
        }
        assert_eq!(parse_amount("t", "c", "123").unwrap(), Usdc::from(123u64));
        assert!(parse_amount("t", "c", "1.5").is_err());
    }

    #[test]
    fn integers_above_i64_are_rejected_not_wrapped() {
        assert_eq!(int("c", 7).unwrap(), 7);
        assert!(matches!(int("c", u64::MAX), Err(Error::OutOfRange { .. })));
        assert!(uint::<u8>("t", "c", 256).is_err());
        assert!(uint::<u64>("t", "c", -1).is_err());
    }

    #[test]
    fn addresses_are_lowercase_hex() {
        let a: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".parse().unwrap();
        assert_eq!(addr_text(a), "0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
        assert_eq!(parse_addr("t", "c", &addr_text(a)).unwrap(), a);
    }
}
