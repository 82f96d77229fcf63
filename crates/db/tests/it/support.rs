//! Test harness: a fresh store per test on either backend, dropped afterwards (the Postgres
//! database too, even when the test panics), and builders for chain events.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use runs_db::{BlockRef, Store};
use runs_primitives::{Address, B256, ChainEvent, LogPosition, MarketEvent};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// The maintenance database tests connect to in order to create their own.
const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The chain id every test indexes.
pub(crate) const CHAIN: u64 = 31337;

/// A migrated store that cleans up after itself.
pub(crate) struct TestDb {
    pub(crate) store: Store,
    url: String,
    _cleanup: Cleanup,
}

enum Cleanup {
    Postgres { name: String },
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
}

impl TestDb {
    pub(crate) async fn postgres() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!(
            "runs_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect(ADMIN_URL).await.expect("connect to test Postgres");
        // Identifiers cannot be bound; `name` is built above from digits and underscores only.
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create test database");
        admin.close().await.ok();
        let cleanup = Cleanup::Postgres { name: name.clone() };
        let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
        let store = Store::connect(Some(&url)).await.expect("connect");
        store.migrate().await.expect("migrate");
        Self { store, url, _cleanup: cleanup }
    }

    pub(crate) async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("runs.db").display());
        let store = Store::connect(Some(&url)).await.expect("connect");
        store.migrate().await.expect("migrate");
        Self { store, url, _cleanup: Cleanup::Sqlite(dir) }
    }

    /// A second, independent store on the same database (another "process").
    pub(crate) async fn connect_again(&self) -> Store {
        Store::connect(Some(&self.url)).await.expect("connect again")
    }

    /// A read-only store on the same database, as `runs serve` opens it.
    pub(crate) async fn connect_reader(&self) -> Store {
        Store::connect_reader(Some(&self.url)).await.expect("connect reader")
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

impl Drop for Cleanup {
    #[allow(clippy::print_stderr)]
    fn drop(&mut self) {
        let Self::Postgres { name } = self else { return };
        let name = name.clone();
        // Drop runs outside the test's runtime (possibly while unwinding): use a fresh one on its
        // own thread. FORCE closes the test's still-open pool connections.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let mut admin = PgConnection::connect(ADMIN_URL).await?;
                sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                    .execute(&mut admin)
                    .await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            // Panicking in drop could abort an unwinding test; a leftover database is only noise.
            eprintln!("could not drop a test database: {dropped:?}");
        }
    }
}

/// Run an async test body against both backends: `backends!(name)` makes `name::postgres` and
/// `name::sqlite` from `async fn name(db: &TestDb)`.
macro_rules! backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = crate::support::TestDb::postgres().await;
                super::$name(&db).await;
                db.store.close().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = crate::support::TestDb::sqlite().await;
                super::$name(&db).await;
                db.store.close().await;
            }
        }
    )+};
}
pub(crate) use backends;

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
