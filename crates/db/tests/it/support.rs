//! Test harness: a fresh store per test on either backend, dropped afterwards (the Postgres
//! database too, even when the test panics), and builders for chain events.

use runs_db::BlockRef;
use runs_primitives::{Address, B256, ChainEvent, LogPosition, MarketEvent};

/// The chain id every test indexes.
pub(crate) const CHAIN: u64 = 31337;

/// Run a statement on the store's pool and return the first column of each row as text.
pub(crate) async fn column(db: &TestDb, sql: &'static str) -> Vec<String> {
    match (db.store.pg_pool(), db.store.sqlite_pool()) {
        (Some(pool), _) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        (_, Some(pool)) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        _ => unreachable!(),
    }
}

pub(crate) use runs_testkit::{TestDb, backends};

/// A deterministic block hash: `fork` tells apart two chains at the same height.
pub(crate) fn block_hash(number: u64, fork: u8) -> B256 {
    let mut bytes = [0u8; 32];
    bytes[0] = 0xb0;
    bytes[1] = fork;
    bytes[24..].copy_from_slice(&number.to_be_bytes());
    B256::from(bytes)
}

pub(crate) fn block(number: u64, fork: u8) -> BlockRef {
    BlockRef {
        number,
        hash: block_hash(number, fork),
        parent_hash: if number == 0 { B256::ZERO } else { block_hash(number - 1, 0) },
        timestamp: 1_700_000_000 + number * 12,
    }
}

/// An event at `(number, log_index)` of the chain `fork`.
pub(crate) fn at(number: u64, log_index: u64, fork: u8, event: MarketEvent) -> ChainEvent {
    let mut tx = [0u8; 32];
    tx[0] = 0x7e;
    tx[1] = fork;
    tx[16..24].copy_from_slice(&number.to_be_bytes());
    tx[24..].copy_from_slice(&log_index.to_be_bytes());
    let address = if event.agent_id().is_some() && event.run_id().is_none() {
        Address::repeat_byte(0x5a)
    } else {
        Address::repeat_byte(0xe5)
    };
    ChainEvent {
        position: LogPosition {
            block_number: number,
            block_hash: block_hash(number, fork),
            block_timestamp: block(number, fork).timestamp,
            tx_hash: B256::from(tx),
            log_index,
            address,
        },
        event,
    }
}
