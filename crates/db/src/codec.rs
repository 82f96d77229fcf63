//! Conversions between domain values and their stored forms, shared by both backends: the
//! `Raw*` structs hold exactly the column values (integers, text, booleans) and decode from a
//! Postgres or a SQLite row alike. [`Stored`] says how each domain type is stored; the `Raw*`
//! structs of the tables whose rows are one domain struct are generated from their column lists
//! in [`crate::columns`], the events' and blocks' (which flatten or share a struct) are here.

use runs_primitives::{
    Address, AgentId, AgentStatus, B256, ChainEvent, LogPosition, MarketEvent, RunId, RunState,
    Usdc,
};

use crate::{
    BlockRef, Dispute, Error, Rejection, Result,
    columns::{Kind, Value},
};

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

/// A stored text column read back as `T` (an address, a hash, a state name): a value that does not
/// parse is a corrupt row naming its column.
pub(crate) fn parse_text<T: std::str::FromStr<Err: std::fmt::Display>>(
    table: &'static str,
    column: &'static str,
    text: &str,
) -> Result<T> {
    text.parse().map_err(|err: T::Err| corrupt(table, column, err.to_string()))
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
                block_hash: parse_text(T, "block_hash", &self.block_hash)?,
                block_timestamp: uint(T, "block_timestamp", self.block_timestamp)?,
                tx_hash: parse_text(T, "tx_hash", &self.tx_hash)?,
                log_index: uint(T, "log_index", self.log_index)?,
                address: parse_text(T, "address", &self.address)?,
            },
            event,
        })
    }
}

/// A domain value and the column value it is stored as: the one place that says how each type of
/// a row is written and read back, so a table's columns are listed once (see `table!` in
/// [`crate::columns`]).
pub(crate) trait Stored: Sized {
    /// The column value: `i64`, `String` or `bool`, or an `Option` of one for a nullable column.
    type Raw: Clone + Into<Value>;
    /// How the column is stored.
    const KIND: Kind;
    /// `at` is `table.column`, named by the error if the value does not fit.
    fn store(&self, at: &'static str) -> Result<Self::Raw>;
    fn load(raw: &Self::Raw, table: &'static str, column: &'static str) -> Result<Self>;
}

/// Every integer column is a signed 64-bit integer: a `u64` above `i64::MAX` is refused.
macro_rules! stored_int {
    ($($ty:ty),+) => {$(
        impl Stored for $ty {
            type Raw = i64;
            const KIND: Kind = Kind::Int;
            fn store(&self, at: &'static str) -> Result<i64> {
                int(at, u64::from(*self))
            }
            fn load(raw: &i64, table: &'static str, column: &'static str) -> Result<Self> {
                uint(table, column, *raw)
            }
        }
    )+};
}
stored_int!(u8, u16, u32, u64);

/// Ids are integers.
macro_rules! stored_id {
    ($($ty:ident),+) => {$(
        impl Stored for $ty {
            type Raw = i64;
            const KIND: Kind = Kind::Int;
            fn store(&self, at: &'static str) -> Result<i64> {
                int(at, self.get())
            }
            fn load(raw: &i64, table: &'static str, column: &'static str) -> Result<Self> {
                Ok($ty(uint(table, column, *raw)?))
            }
        }
    )+};
}
stored_id!(RunId, AgentId);

/// Types stored as text by a pair of functions.
macro_rules! stored_text {
    ($($ty:ty, $kind:ident: $store:expr, $load:expr;)+) => {$(
        impl Stored for $ty {
            type Raw = String;
            const KIND: Kind = Kind::$kind;
            fn store(&self, _: &'static str) -> Result<String> {
                Ok($store(self))
            }
            fn load(raw: &String, table: &'static str, column: &'static str) -> Result<Self> {
                $load(table, column, raw.as_str())
            }
        }
    )+};
}
stored_text! {
    String, Text: String::clone, |_, _, text: &str| Ok(text.to_owned());
    Usdc, Amount: |a: &Usdc| amount_text(*a), parse_amount;
    Address, Text: |a: &Address| addr_text(*a), parse_text;
    B256, Text: |h: &B256| hash_text(*h), parse_text;
    RunState, Text: |s: &RunState| s.as_str().to_owned(), parse_text;
    AgentStatus, Text: |s: &AgentStatus| s.as_str().to_owned(), parse_text;
}

/// Records kept whole in a `TEXT` column, as JSON.
macro_rules! stored_json {
    ($($ty:ty),+) => {$(
        impl Stored for $ty {
            type Raw = String;
            const KIND: Kind = Kind::Text;
            fn store(&self, _: &'static str) -> Result<String> {
                Ok(serde_json::to_string(self)?)
            }
            fn load(raw: &String, table: &'static str, column: &'static str) -> Result<Self> {
                serde_json::from_str(raw).map_err(|err| corrupt(table, column, err.to_string()))
            }
        }
    )+};
}
stored_json!(Rejection, Dispute);

impl Stored for bool {
    type Raw = Self;
    const KIND: Kind = Kind::Bool;
    fn store(&self, _: &'static str) -> Result<Self> {
        Ok(*self)
    }
    fn load(raw: &Self, _: &'static str, _: &'static str) -> Result<Self> {
        Ok(*raw)
    }
}

/// A nullable column.
impl<T: Stored> Stored for Option<T>
where
    Option<T::Raw>: Into<Value>,
{
    type Raw = Option<T::Raw>;
    const KIND: Kind = T::KIND;
    fn store(&self, at: &'static str) -> Result<Self::Raw> {
        self.as_ref().map(|v| v.store(at)).transpose()
    }
    fn load(raw: &Self::Raw, table: &'static str, column: &'static str) -> Result<Self> {
        raw.as_ref().map(|r| T::load(r, table, column)).transpose()
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
            hash: parse_text(table, "hash", &self.hash)?,
            parent_hash: parse_text(table, "parent_hash", &self.parent_hash)?,
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
        assert_eq!(parse_text::<Address>("t", "c", &addr_text(a)).unwrap(), a);
    }
}
