//! The column lists of the derived tables, written once: each column's name, its stored kind and
//! how to read it from the row's stored form. Both backends build their SELECT lists and bulk
//! upserts from these tables (Postgres as `UNNEST` arrays, SQLite as chunked multi-row
//! `VALUES`), so a new column is one line here plus the migrations, and the column count of a
//! chunk can never drift from the list.

use crate::codec::{RawAgent, RawRun};

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

/// One column of a derived table.
pub(crate) struct Column<R> {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) get: fn(&R) -> Value,
}

/// A derived table: its name, its key column besides `chain_id`, and its columns (the key first).
pub(crate) struct Table<R: 'static> {
    pub(crate) name: &'static str,
    pub(crate) key: &'static str,
    pub(crate) columns: &'static [Column<R>],
}

impl<R> Table<R> {
    /// `a, b, c` (without `chain_id`).
    pub(crate) fn names(&self) -> String {
        self.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
    }

    /// The SELECT list; Postgres amounts are read back as text.
    pub(crate) fn select_list(&self, postgres: bool) -> String {
        self.qualified_select_list("", postgres)
    }

    /// The SELECT list with every column qualified by `alias` (e.g. `"r."`).
    pub(crate) fn qualified_select_list(&self, alias: &str, postgres: bool) -> String {
        self.columns
            .iter()
            .map(|c| match c.kind {
                Kind::Amount if postgres => format!("{alias}{0}::text AS {0}", c.name),
                _ => format!("{alias}{}", c.name),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `ON CONFLICT (chain_id, key) DO UPDATE SET c = excluded.c, ...` over every non-key column.
    pub(crate) fn on_conflict_update(&self) -> String {
        let sets: Vec<String> = self
            .columns
            .iter()
            .filter(|c| c.name != self.key)
            .map(|c| format!("{0} = excluded.{0}", c.name))
            .collect();
        format!(" ON CONFLICT (chain_id, {}) DO UPDATE SET {}", self.key, sets.join(", "))
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

/// `runs`.
pub(crate) const RUNS: Table<RawRun> = Table {
    name: "runs",
    key: "run_id",
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
    key: "agent_id",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_first_and_names_are_unique() {
        for (names, key) in [
            (RUNS.columns.iter().map(|c| c.name).collect::<Vec<_>>(), RUNS.key),
            (AGENTS.columns.iter().map(|c| c.name).collect::<Vec<_>>(), AGENTS.key),
        ] {
            assert_eq!(names[0], key);
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), names.len());
        }
        assert!(RUNS.select_list(true).contains("reward::text AS reward"));
        assert!(!RUNS.select_list(false).contains("::"));
        assert!(!RUNS.on_conflict_update().contains("run_id = "));
    }
}
