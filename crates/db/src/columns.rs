//! The column lists of every table, written once: each column's name, its stored kind and how to
//! read it from the row's stored form (for runs, agents, parameters and credits, the domain type
//! it holds, from which `table!` derives the rest). Both backends build their SELECT lists and
//! bulk writes from these tables (Postgres as `UNNEST` arrays, SQLite as chunked multi-row
//! `VALUES`), so a new column is one line here plus the migrations, and the column count of a
//! chunk can never drift from the list.

use runs_primitives::{Address, AgentId, AgentStatus, RunId, RunState, Usdc};

use crate::{
    AgentRow, ChainParams, CreditRow, Dispute, Rejection, Result, RunRow,
    codec::{RawBlock, RawEvent, Stored},
};

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

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::Text(Some(v))
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Self::Text(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Self::Bool(v)
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

/// A table whose rows are one domain struct: `table!(CONST: Raw(Row) in "name", key [...] { field:
/// Type, ... })` defines, from that one list, the `Raw` struct of stored values (read from a row
/// by name), its `encode` from and `decode` to `Row` through [`Stored`], and the [`Table`]
/// `CONST` with each column's kind. Each `Type` must be the `Row` field's own type.
macro_rules! table {
    (
        $(#[$doc:meta])*
        $konst:ident: $raw:ident($row:ident) in $table:literal, key [$($key:literal),*] {
            $($field:ident: $ty:ty,)+
        }
    ) => {
        #[doc = concat!("One `", $table, "` row as stored.")]
        #[derive(Debug, Clone, sqlx::FromRow)]
        pub(crate) struct $raw {
            $(pub(crate) $field: <$ty as Stored>::Raw,)+
        }

        impl $raw {
            pub(crate) fn encode(row: &$row) -> Result<Self> {
                Ok(Self {
                    $($field: Stored::store(
                        &row.$field,
                        concat!($table, ".", stringify!($field)),
                    )?,)+
                })
            }

            pub(crate) fn decode(&self) -> Result<$row> {
                Ok($row { $($field: Stored::load(&self.$field, $table, stringify!($field))?,)+ })
            }
        }

        $(#[$doc])*
        pub(crate) const $konst: Table<$raw> = Table {
            name: $table,
            key: &[$($key),*],
            columns: &[$(col(stringify!($field), <$ty as Stored>::KIND, |r: &$raw| {
                r.$field.clone().into()
            }),)+],
        };
    };
}

table! {
    /// `runs`.
    RUNS: RawRun(RunRow) in "runs", key ["run_id"] {
        run_id: RunId,
        poster: Address,
        spec_uri: String,
        reward: Usdc,
        fee: Usdc,
        deadline: u64,
        state: RunState,
        agent_id: Option<AgentId>,
        agent_wallet: Option<Address>,
        deliverable_uri: Option<String>,
        revision_count: u8,
        max_revisions: u8,
        claim_timeout: u32,
        review_period: u32,
        dispute_window: u32,
        ruling_period: u32,
        arbitrator: Address,
        required_stake: Usdc,
        terms_version: u64,
        settled: bool,
        rejection: Option<Rejection>,
        dispute: Option<Dispute>,
        funded: bool,
        claimed_at: Option<u64>,
        submitted_at: Option<u64>,
        timer_start: Option<u64>,
        created_at: u64,
        updated_at: u64,
        created_block: u64,
        updated_block: u64,
    }
}

table! {
    /// `agents`.
    AGENTS: RawAgent(AgentRow) in "agents", key ["agent_id"] {
        agent_id: AgentId,
        wallet: Address,
        metadata_uri: String,
        stake: Usdc,
        reserved: Usdc,
        pending_unstake: Usdc,
        unstake_ready_at: Option<u64>,
        staked_since: Option<u64>,
        frozen: bool,
        banned: bool,
        strikes: u32,
        rejections: u32,
        disputes_won: u32,
        disputes_lost: u32,
        claims: u32,
        completions: u32,
        active_claims: u32,
        volume: Usdc,
        last_status: AgentStatus,
        registered_at: u64,
        updated_at: u64,
        registered_block: u64,
        updated_block: u64,
    }
}

table! {
    /// `chain_params`: one row per chain.
    PARAMS: RawParams(ChainParams) in "chain_params", key [] {
        fee_bps: u16,
        claim_timeout: u32,
        review_period: u32,
        min_stake: Usdc,
        unstake_cooldown: u32,
        strikes_to_ban: u16,
        established_completions: u16,
        established_age: u32,
        treasury: Option<Address>,
        paused: bool,
        terms_version: u64,
        dispute_window: u32,
        ruling_period: u32,
        arbitrator: Option<Address>,
        staking_paused: bool,
    }
}

table! {
    /// `credits`.
    CREDITS: RawCredit(CreditRow) in "credits", key ["account"] {
        account: Address,
        amount: Usdc,
    }
}

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
    use crate::Error;

    #[test]
    fn a_generated_row_round_trips_and_names_the_column_at_fault() {
        let params = ChainParams {
            treasury: Some(Address::repeat_byte(7)),
            min_stake: Usdc::whole(20),
            ..ChainParams::default()
        };
        let raw = RawParams::encode(&params).unwrap();
        assert_eq!(raw.treasury.as_deref(), Some("0x0707070707070707070707070707070707070707"));
        assert_eq!(raw.decode().unwrap(), params);
        let huge = ChainParams { terms_version: u64::MAX, ..params };
        assert!(matches!(
            RawParams::encode(&huge),
            Err(Error::OutOfRange { column: "chain_params.terms_version", .. })
        ));
        let bad = RawCredit { account: "0x12".into(), amount: "1".into() };
        assert!(matches!(
            bad.decode(),
            Err(Error::Corrupt { table: "credits", column: "account", .. })
        ));
        let kinds: Vec<Kind> = PARAMS.columns.iter().take(4).map(|c| c.kind).collect();
        assert_eq!(kinds, [Kind::Int, Kind::Int, Kind::Int, Kind::Amount]);
    }

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
