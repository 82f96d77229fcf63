//! How the wallet commands print: a [`Record`] of typed fields renders either as aligned human
//! lines or as one JSON object with stable camelCase keys (amounts as base-unit strings, times as
//! ISO 8601 UTC), and errors go to stderr as `error: ...` plus an optional `hint: ...`.

use std::{
    borrow::Cow,
    io::{self, Write},
};

use alloy::primitives::{Address, B256, U256};
use runs_primitives::{AgentStatus, RunState, Usdc};
use serde_json::{Map, Value as Json, json};

use crate::hints::{ContractRevert, HintedError};

/// Named, typed fields: a run, an agent, an event's arguments or a command's result.
#[derive(Debug, Clone, Default)]
pub(crate) struct Record {
    fields: Vec<(Cow<'static, str>, Value)>,
}

/// One typed value; its type decides how it prints.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// A run or agent id (a JSON number).
    Id(u64),
    /// A USDC amount: `12.5 USDC` for people, `"12500000"` in JSON.
    Amount(U256),
    /// An address, EIP-55 checksummed.
    Address(Address),
    /// Free text (URIs, reasons).
    Text(String),
    /// A plain count (a JSON number).
    Count(u64),
    /// A unix time: ISO 8601 UTC and relative to the chain's clock for people, ISO in JSON.
    /// Zero means "never" (`null` in JSON).
    Time(u64),
    /// A duration in seconds: `7d` for people, seconds in JSON.
    Duration(u64),
    /// A flag.
    Bool(bool),
    /// A run state by name.
    RunState(RunState),
    /// An agent status by name.
    AgentStatus(AgentStatus),
    /// Nothing (e.g. no agent holds the run).
    None,
}

impl Record {
    /// An empty record.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Appends a field.
    pub(crate) fn with(mut self, key: impl Into<Cow<'static, str>>, value: Value) -> Self {
        self.fields.push((key.into(), value));
        self
    }

    /// Appends a field in place.
    pub(crate) fn push(&mut self, key: impl Into<Cow<'static, str>>, value: Value) {
        self.fields.push((key.into(), value));
    }

    /// The value of `key`, if present.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The record as a JSON object.
    pub(crate) fn to_json(&self) -> Map<String, Json> {
        self.fields.iter().map(|(k, v)| (k.to_string(), v.to_json())).collect()
    }

    /// One line, `key: value, key: value`, for event arguments.
    pub(crate) fn inline(&self, now: u64) -> String {
        self.fields
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.human(now, false)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Aligned `key  value` lines, for `show`.
    pub(crate) fn lines(&self, now: u64) -> String {
        let width = self.fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (k, v) in &self.fields {
            out.push_str(&format!("{k:<width$}  {}\n", v.human(now, true)));
        }
        out
    }
}

impl Value {
    /// An amount from the contract's `uint256` base units.
    pub(crate) fn amount(units: U256) -> Self {
        Self::Amount(units)
    }

    fn to_json(&self) -> Json {
        match self {
            Self::Id(id) => json!(id),
            Self::Amount(units) => json!(units.to_string()),
            Self::Address(address) => json!(address.to_checksum(None)),
            Self::Text(text) => json!(text),
            Self::Count(n) => json!(n),
            Self::Time(0) | Self::None => Json::Null,
            Self::Time(t) => json!(iso8601(*t)),
            Self::Duration(secs) => json!(secs),
            Self::Bool(b) => json!(b),
            Self::RunState(state) => json!(state.as_str()),
            Self::AgentStatus(status) => json!(status.as_str()),
        }
    }

    /// Human form; `relative` adds "(in 3d 4h)" to times.
    fn human(&self, now: u64, relative: bool) -> String {
        match self {
            Self::Id(id) => id.to_string(),
            Self::Amount(units) => format!("{} USDC", Usdc::from_base_units(*units)),
            Self::Address(address) => address.to_checksum(None),
            Self::Text(text) => format!("{text:?}"),
            Self::Count(n) => n.to_string(),
            Self::Time(0) => "never".into(),
            Self::Time(t) if relative => format!("{} ({})", iso8601(*t), relative_to(*t, now)),
            Self::Time(t) => iso8601(*t),
            Self::Duration(secs) => duration(*secs),
            Self::Bool(b) => b.to_string(),
            Self::RunState(state) => state.as_str().into(),
            Self::AgentStatus(status) => status.as_str().into(),
            Self::None => "none".into(),
        }
    }
}

/// One mined transaction and the events of interest it emitted.
#[derive(Debug, Clone)]
pub(crate) struct TxReport {
    /// What was sent, e.g. `RunEscrow.createAndFund`.
    pub(crate) label: String,
    /// Transaction hash.
    pub(crate) hash: B256,
    /// Block that included it.
    pub(crate) block: u64,
    /// Gas used.
    pub(crate) gas_used: u64,
    /// Decoded events, by name.
    pub(crate) events: Vec<(String, Record)>,
}

/// The result of a command that sent transactions.
#[derive(Debug, Clone)]
pub(crate) struct ActionReport {
    /// The transactions, in the order they were sent (e.g. approve, then createAndFund).
    pub(crate) transactions: Vec<TxReport>,
    /// What the command produced (e.g. `runId`), also the JSON object's top-level keys.
    pub(crate) result: Record,
    /// One closing line for people, e.g. `run 3 is OPEN`.
    pub(crate) summary: String,
    /// The chain's clock, for relative times.
    pub(crate) now: u64,
}

impl ActionReport {
    /// The report as one JSON object: the result's keys, then `transactions` (call, hash,
    /// block, gas and decoded events of each).
    pub(crate) fn to_json(&self) -> Json {
        let mut object = self.result.to_json();
        let txs: Vec<Json> = self
            .transactions
            .iter()
            .map(|tx| {
                let events: Vec<Json> = tx
                    .events
                    .iter()
                    .map(|(name, args)| {
                        let mut event = Map::new();
                        event.insert("event".into(), json!(name));
                        event.extend(args.to_json());
                        Json::Object(event)
                    })
                    .collect();
                json!({
                    "call": tx.label,
                    "txHash": tx.hash.to_string(),
                    "blockNumber": tx.block,
                    "gasUsed": tx.gas_used,
                    "events": events,
                })
            })
            .collect();
        object.insert("transactions".into(), Json::Array(txs));
        Json::Object(object)
    }

    /// Prints the report on stdout, as JSON or for people.
    pub(crate) fn print(&self, json: bool) -> io::Result<()> {
        let mut out = io::stdout().lock();
        if json {
            writeln!(out, "{}", self.to_json())
        } else {
            for tx in &self.transactions {
                writeln!(out, "{}: tx {} in block {}", tx.label, tx.hash, tx.block)?;
                for (name, args) in &tx.events {
                    writeln!(out, "  {name}({})", args.inline(self.now))?;
                }
            }
            writeln!(out, "{}", self.summary)
        }
    }
}

/// Prints a read result (`show`) on stdout, as JSON or as aligned lines.
pub(crate) fn print_record(record: &Record, json: bool, now: u64) -> io::Result<()> {
    let mut out = io::stdout().lock();
    if json {
        writeln!(out, "{}", Json::Object(record.to_json()))
    } else {
        write!(out, "{}", record.lines(now))
    }
}

/// Prints a failed command's error on stderr: `error: ...`, its causes, and a hint when one is
/// known (a decoded revert's, or a [`HintedError`]'s).
pub(crate) fn print_error(err: &eyre::Report) {
    let mut out = io::stderr().lock();
    // Nothing sensible is left to do if stderr itself is gone.
    let _ = write_error(&mut out, err);
}

/// The text [`print_error`] prints: the error, its causes, the failed call and the hint.
pub(crate) fn error_text(err: &eyre::Report) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_error(&mut out, err);
    String::from_utf8_lossy(&out).trim_end().to_owned()
}

fn write_error(out: &mut impl Write, err: &eyre::Report) -> io::Result<()> {
    writeln!(out, "error: {err}")?;
    let mut hint = None;
    for (i, cause) in err.chain().enumerate() {
        if i > 0 {
            writeln!(out, "  caused by: {cause}")?;
        }
        if let Some(revert) = cause.downcast_ref::<ContractRevert>() {
            writeln!(out, "  in: {}", revert.call)?;
            hint = hint.or_else(|| revert.hint.clone());
        }
        if let Some(hinted) = cause.downcast_ref::<HintedError>() {
            hint = hint.or_else(|| Some(hinted.hint.clone()));
        }
    }
    if let Some(hint) = hint {
        writeln!(out, "hint: {hint}")?;
    }
    Ok(())
}

/// `2025-01-31T12:00:00Z` for a unix time, as the API writes it.
pub(crate) use runs_api::iso8601;

/// `in 6d 23h` / `2h 5m ago` / `now`, against the chain's clock.
pub(crate) fn relative_to(t: u64, now: u64) -> String {
    match t.cmp(&now) {
        std::cmp::Ordering::Equal => "now".into(),
        std::cmp::Ordering::Greater => format!("in {}", duration(t - now)),
        std::cmp::Ordering::Less => format!("{} ago", duration(now - t)),
    }
}

/// A duration in its two largest units: `7d`, `1d 12h`, `5m 3s`.
pub(crate) fn duration(secs: u64) -> String {
    let units = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")];
    let mut parts = Vec::new();
    let mut rest = secs;
    for (size, name) in units {
        if rest >= size {
            parts.push(format!("{}{name}", rest / size));
            rest %= size;
        }
        if parts.len() == 2 {
            break;
        }
    }
    if parts.is_empty() { "0s".into() } else { parts.join(" ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_durations_and_relative_times() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(604_800), "7d");
        assert_eq!(duration(129_600), "1d 12h");
        assert_eq!(duration(90_061), "1d 1h");
        assert_eq!(duration(303), "5m 3s");
        assert_eq!(relative_to(100, 100), "now");
        assert_eq!(relative_to(3700, 100), "in 1h");
        assert_eq!(relative_to(100, 7300), "2h ago");
    }

    #[test]
    fn renders_records_for_json_and_people() {
        let record = Record::new()
            .with("runId", Value::Id(7))
            .with("reward", Value::amount(U256::from(12_500_000)))
            .with("state", Value::RunState(RunState::Submitted))
            .with("deadline", Value::Time(86_400))
            .with("agentId", Value::None);
        let json = Json::Object(record.to_json());
        assert_eq!(
            json,
            json!({"runId": 7, "reward": "12500000", "state": "SUBMITTED",
                   "deadline": "1970-01-02T00:00:00Z", "agentId": null})
        );
        let lines = record.lines(0);
        assert!(lines.contains("reward    12.5 USDC\n"), "{lines}");
        assert!(lines.contains("deadline  1970-01-02T00:00:00Z (in 1d)\n"), "{lines}");
        assert_eq!(
            record.inline(0),
            "runId: 7, reward: 12.5 USDC, state: SUBMITTED, deadline: 1970-01-02T00:00:00Z, agentId: none"
        );
    }

    #[test]
    fn error_output_has_the_hint_last() {
        let err = eyre::Report::new(HintedError {
            message: "insufficient USDC: have 3.5, need 105 (reward 100 + fee 5)".into(),
            hint: "get more USDC".into(),
        });
        let mut out = Vec::new();
        write_error(&mut out, &err).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "error: insufficient USDC: have 3.5, need 105 (reward 100 + fee 5)\nhint: get more USDC\n"
        );
    }
}
