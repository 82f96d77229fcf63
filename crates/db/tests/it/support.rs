//! Test harness: a fresh store per test on either backend, dropped afterwards (the Postgres
//! database too, even when the test panics), and builders for chain events.

use runs_db::{BlockRef, Store};
use runs_primitives::{Address, B256, ChainEvent, LogPosition, MarketEvent};
use runs_testkit::TestDatabase;

/// The chain id every test indexes.
pub(crate) const CHAIN: u64 = 31337;

/// A migrated store that cleans up after itself.
pub(crate) struct TestDb {
    pub(crate) store: Store,
    database: TestDatabase,
}

impl TestDb {
    pub(crate) async fn postgres() -> Self {
        Self::open(TestDatabase::postgres("runs_test").await).await
    }

    pub(crate) async fn sqlite() -> Self {
        Self::open(TestDatabase::sqlite()).await
    }

    async fn open(database: TestDatabase) -> Self {
        let store = Store::connect(Some(database.url())).await.expect("connect");
        store.migrate().await.expect("migrate");
        Self { store, database }
    }

    /// The database's connection URL.
    pub(crate) fn url(&self) -> &str {
        self.database.url()
    }

    /// A second, independent store on the same database (another "process").
    pub(crate) async fn connect_again(&self) -> Store {
        Store::connect(Some(self.database.url())).await.expect("connect again")
    }

    /// A read-only store on the same database, as `runs serve` opens it.
    pub(crate) async fn connect_reader(&self) -> Store {
        Store::connect_reader(Some(self.database.url())).await.expect("connect reader")
    }

    /// Run a statement on the backend's pool and return the first column of each row as text.
    pub(crate) async fn column(&self, sql: &'static str) -> Vec<String> {
        match (self.store.pg_pool(), self.store.sqlite_pool()) {
            (Some(pool), _) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
            (_, Some(pool)) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
            _ => unreachable!(),
        }
    }
}

pub(crate) use runs_testkit::backends;

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
