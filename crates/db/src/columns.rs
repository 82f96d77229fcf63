//! The column lists of every table, written once: each column's name, its stored kind and how to
//! read it from the row's stored form. Both backends build their SELECT lists and bulk writes
//! from these tables (Postgres as `UNNEST` arrays, SQLite as chunked multi-row `VALUES`), so a
//! new column is one line here plus the migrations, and the column count of a chunk can never
//! drift from the list.

use crate::codec::{RawAgent, RawBlock, RawCredit, RawEvent, RawParams, RawRun};

/// How a column is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `BIGINT` / `INTEGER`, nullable.
    Int,
    /// `TEXT`, nullable.
    Text,
    /// An amount: `NUMERIC(78,0)` in Postgres (read back as text), padded `TEXT` in SQLite.
    Amount,
    /// `BOOLEAN` / `INTEGER`, never null.
    Bool,
    /// JSON: `JSON` in Postgres (read back as text), `TEXT` in SQLite.
    Json,
}

/// One stored value, as bound to a statement.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(bool),
}

impl Value {
    pub(crate) fn into_int(self) -> Option<i64> {
        match self {
            Self::Int(v) => v,
            Self::Text(_) | Self::Bool(_) => None,
        }
    }

    pub(crate) fn into_text(self) -> Option<String> {
        match self {
            Self::Text(v) => v,
            Self::Int(_) | Self::Bool(_) => None,
        }
    }

    pub(crate) fn into_bool(self) -> bool {
        matches!(self, Self::Bool(true))
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}

/// One column of a table.
pub(crate) struct Column<R> {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) get: fn(&R) -> Value,
}

/// A table of one chain's rows: its name, its key columns besides `chain_id` (what `ON
/// CONFLICT` targets), and its columns besides `chain_id`.
pub(crate) struct Table<R: 'static> {
    pub(crate) name: &'static str,
    pub(crate) key: &'static [&'static str],
    pub(crate) columns: &'static [Column<R>],
}

impl<R> Table<R> {
    /// `a, b, c` (without `chain_id`).
    pub(crate) fn names(&self) -> String {
        self.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
    }

    /// The SELECT list; Postgres amounts and JSON are read back as text.
    pub(crate) fn select_list(&self, postgres: bool) -> String {
        self.qualified_select_list("", postgres)
    }

    /// `SELECT <list> FROM <from> WHERE chain_id = ` (the chain id to bind next).
    pub(crate) fn select_from(&self, from: &str, postgres: bool) -> String {
        format!("SELECT {} FROM {from} WHERE chain_id = ", self.select_list(postgres))
    }

    /// The SELECT list with every column qualified by `alias` (e.g. `"r."`).
    pub(crate) fn qualified_select_list(&self, alias: &str, postgres: bool) -> String {
        self.columns
            .iter()
            .map(|c| match c.kind {
                Kind::Amount | Kind::Json if postgres => {
                    format!("{alias}{0}::text AS {0}", c.name)
                }
                _ => format!("{alias}{}", c.name),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// ` ON CONFLICT (chain_id, key…)`.
    fn on_conflict(&self) -> String {
        let key: String = self.key.iter().map(|k| format!(", {k}")).collect();
        format!(" ON CONFLICT (chain_id{key})")
    }

    /// `ON CONFLICT (chain_id, key…) DO UPDATE SET c = excluded.c, ...` over every non-key
    /// column.
    pub(crate) fn on_conflict_update(&self) -> String {
        let sets: Vec<String> = self
            .columns
            .iter()
            .filter(|c| !self.key.contains(&c.name))
            .map(|c| format!("{0} = excluded.{0}", c.name))
            .collect();
        format!("{} DO UPDATE SET {}", self.on_conflict(), sets.join(", "))
    }

    /// `ON CONFLICT (chain_id, key…) DO NOTHING`.
    pub(crate) fn on_conflict_ignore(&self) -> String {
        format!("{} DO NOTHING", self.on_conflict())
    }
}

const fn col<R>(name: &'static str, kind: Kind, get: fn(&R) -> Value) -> Column<R> {
    Column { name, kind, get }
}

fn int(v: i64) -> Value {
    Value::Int(Some(v))
}

fn text(v: &str) -> Value {
    Value::Text(Some(v.to_owned()))
}

/// `events`: the raw contract events, each stored once.
pub(crate) const EVENTS: Table<RawEvent> = Table {
    name: "events",
    key: &["tx_hash", "log_index"],
    columns: &[
        col("block_number", Kind::Int, |e| int(e.block_number)),
        col("block_hash", Kind::Text, |e| text(&e.block_hash)),
        col("block_timestamp", Kind::Int, |e| int(e.block_timestamp)),
        col("tx_hash", Kind::Text, |e| text(&e.tx_hash)),
        col("log_index", Kind::Int, |e| int(e.log_index)),
        col("address", Kind::Text, |e| text(&e.address)),
        col("kind", Kind::Text, |e| text(&e.kind)),
        col("run_id", Kind::Int, |e| Value::Int(e.run_id)),
        col("agent_id", Kind::Int, |e| Value::Int(e.agent_id)),
        col("payload", Kind::Json, |e| text(&e.payload)),
        col("poster", Kind::Text, |e| Value::Text(e.poster.clone())),
        col("seq", Kind::Int, |e| int(e.seq)),
    ],
};

/// `runs`.
pub(crate) const RUNS: Table<RawRun> = Table {
    name: "runs",
    key: &["run_id"],
    columns: &[
        col("run_id", Kind::Int, |r| int(r.run_id)),
        col("poster", Kind::Text, |r| text(&r.poster)),
        col("spec_uri", Kind::Text, |r| text(&r.spec_uri)),
        col("reward", Kind::Amount, |r| text(&r.reward)),
        col("fee", Kind::Amount, |r| text(&r.fee)),
        col("deadline", Kind::Int, |r| int(r.deadline)),
        col("state", Kind::Text, |r| text(&r.state)),
        col("agent_id", Kind::Int, |r| Value::Int(r.agent_id)),
        col("agent_wallet", Kind::Text, |r| Value::Text(r.agent_wallet.clone())),
        col("deliverable_uri", Kind::Text, |r| Value::Text(r.deliverable_uri.clone())),
        col("revision_count", Kind::Int, |r| int(r.revision_count)),
        col("max_revisions", Kind::Int, |r| int(r.max_revisions)),
        col("claim_timeout", Kind::Int, |r| int(r.claim_timeout)),
        col("review_period", Kind::Int, |r| int(r.review_period)),
        col("dispute_window", Kind::Int, |r| int(r.dispute_window)),
        col("ruling_period", Kind::Int, |r| int(r.ruling_period)),
        col("arbitrator", Kind::Text, |r| text(&r.arbitrator)),
        col("required_stake", Kind::Amount, |r| text(&r.required_stake)),
        col("terms_version", Kind::Int, |r| int(r.terms_version)),
        col("settled", Kind::Bool, |r| Value::Bool(r.settled)),
        col("rejection", Kind::Text, |r| Value::Text(r.rejection.clone())),
        col("dispute", Kind::Text, |r| Value::Text(r.dispute.clone())),
        col("funded", Kind::Bool, |r| Value::Bool(r.funded)),
        col("claimed_at", Kind::Int, |r| Value::Int(r.claimed_at)),
        col("submitted_at", Kind::Int, |r| Value::Int(r.submitted_at)),
        col("timer_start", Kind::Int, |r| Value::Int(r.timer_start)),
        col("created_at", Kind::Int, |r| int(r.created_at)),
        col("updated_at", Kind::Int, |r| int(r.updated_at)),
        col("created_block", Kind::Int, |r| int(r.created_block)),
        col("updated_block", Kind::Int, |r| int(r.updated_block)),
    ],
};

/// `agents`.
pub(crate) const AGENTS: Table<RawAgent> = Table {
    name: "agents",
    key: &["agent_id"],
    columns: &[
        col("agent_id", Kind::Int, |r| int(r.agent_id)),
        col("wallet", Kind::Text, |r| text(&r.wallet)),
        col("metadata_uri", Kind::Text, |r| text(&r.metadata_uri)),
        col("stake", Kind::Amount, |r| text(&r.stake)),
        col("reserved", Kind::Amount, |r| text(&r.reserved)),
        col("pending_unstake", Kind::Amount, |r| text(&r.pending_unstake)),
        col("unstake_ready_at", Kind::Int, |r| Value::Int(r.unstake_ready_at)),
        col("staked_since", Kind::Int, |r| Value::Int(r.staked_since)),
        col("frozen", Kind::Bool, |r| Value::Bool(r.frozen)),
        col("banned", Kind::Bool, |r| Value::Bool(r.banned)),
        col("strikes", Kind::Int, |r| int(r.strikes)),
        col("rejections", Kind::Int, |r| int(r.rejections)),
        col("disputes_won", Kind::Int, |r| int(r.disputes_won)),
        col("disputes_lost", Kind::Int, |r| int(r.disputes_lost)),
        col("claims", Kind::Int, |r| int(r.claims)),
        col("completions", Kind::Int, |r| int(r.completions)),
        col("active_claims", Kind::Int, |r| int(r.active_claims)),
        col("volume", Kind::Amount, |r| text(&r.volume)),
        col("last_status", Kind::Text, |r| text(&r.last_status)),
        col("registered_at", Kind::Int, |r| int(r.registered_at)),
        col("updated_at", Kind::Int, |r| int(r.updated_at)),
        col("registered_block", Kind::Int, |r| int(r.registered_block)),
        col("updated_block", Kind::Int, |r| int(r.updated_block)),
    ],
};

/// `chain_params`: one row per chain.
pub(crate) const PARAMS: Table<RawParams> = Table {
    name: "chain_params",
    key: &[],
    columns: &[
        col("fee_bps", Kind::Int, |p| int(p.fee_bps)),
        col("claim_timeout", Kind::Int, |p| int(p.claim_timeout)),
        col("review_period", Kind::Int, |p| int(p.review_period)),
        col("min_stake", Kind::Amount, |p| text(&p.min_stake)),
        col("unstake_cooldown", Kind::Int, |p| int(p.unstake_cooldown)),
        col("strikes_to_ban", Kind::Int, |p| int(p.strikes_to_ban)),
        col("established_completions", Kind::Int, |p| int(p.established_completions)),
        col("established_age", Kind::Int, |p| int(p.established_age)),
        col("treasury", Kind::Text, |p| Value::Text(p.treasury.clone())),
        col("paused", Kind::Bool, |p| Value::Bool(p.paused)),
        col("terms_version", Kind::Int, |p| int(p.terms_version)),
        col("dispute_window", Kind::Int, |p| int(p.dispute_window)),
        col("ruling_period", Kind::Int, |p| int(p.ruling_period)),
        col("arbitrator", Kind::Text, |p| Value::Text(p.arbitrator.clone())),
        col("staking_paused", Kind::Bool, |p| Value::Bool(p.staking_paused)),
    ],
};

/// `credits`.
pub(crate) const CREDITS: Table<RawCredit> = Table {
    name: "credits",
    key: &["account"],
    columns: &[
        col("account", Kind::Text, |c| text(&c.account)),
        col("amount", Kind::Amount, |c| text(&c.amount)),
    ],
};

/// `blocks`: the recent-block window.
pub(crate) const BLOCKS: Table<RawBlock> = Table {
    name: "blocks",
    key: &["number"],
    columns: &[
        col("number", Kind::Int, |b| int(b.number)),
        col("hash", Kind::Text, |b| text(&b.hash)),
        col("parent_hash", Kind::Text, |b| text(&b.parent_hash)),
        col("timestamp", Kind::Int, |b| int(b.timestamp)),
    ],
};

/// `checkpoint`: one row per chain, the last indexed block (read back as a [`RawBlock`] with
/// [`BLOCKS`]' columns) and when it was written.
pub(crate) const CHECKPOINT: Table<(RawBlock, i64)> = Table {
    name: "checkpoint",
    key: &[],
    columns: &[
        col("number", Kind::Int, |(b, _)| int(b.number)),
        col("hash", Kind::Text, |(b, _)| text(&b.hash)),
        col("parent_hash", Kind::Text, |(b, _)| text(&b.parent_hash)),
        col("timestamp", Kind::Int, |(b, _)| int(b.timestamp)),
        col("updated_at", Kind::Int, |(_, at)| int(*at)),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_first_and_names_are_unique() {
        for (names, key) in [
            (RUNS.columns.iter().map(|c| c.name).collect::<Vec<_>>(), RUNS.key),
            (AGENTS.columns.iter().map(|c| c.name).collect::<Vec<_>>(), AGENTS.key),
        ] {
            assert_eq!(&names[..1], key);
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), names.len());
        }
        assert!(RUNS.select_list(true).contains("reward::text AS reward"));
        assert!(!RUNS.select_list(false).contains("::"));
        assert!(!RUNS.on_conflict_update().contains("run_id = "));
        assert_eq!(
            EVENTS.on_conflict_ignore(),
            " ON CONFLICT (chain_id, tx_hash, log_index) DO NOTHING"
        );
        assert_eq!(
            CREDITS.on_conflict_update(),
            " ON CONFLICT (chain_id, account) DO UPDATE SET amount = excluded.amount"
        );
        assert!(PARAMS.on_conflict_update().starts_with(" ON CONFLICT (chain_id) DO UPDATE SET"));
    }
}
