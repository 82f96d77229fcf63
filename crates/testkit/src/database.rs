//! A throwaway database per test (or benchmark round): a fresh Postgres database on the local
//! server or another one (dropped afterwards, even when the test panics) or an SQLite file in a
//! temporary directory; and [`TestDb`], a migrated store over one.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use runs_db::Store;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// The maintenance database tests connect to in order to create their own (trust auth).
pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// One test's database; its URL is what `runs_db::Store::connect` takes.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Postgres { admin_url: String, name: String },
    Sqlite { _dir: tempfile::TempDir },
}

impl TestDatabase {
    /// A fresh Postgres database named `<prefix>_<pid>_<n>_<nanos>` on the local server.
    ///
    /// # Panics
    /// When no Postgres answers at [`PG_ADMIN_URL`] or the database cannot be created.
    pub async fn postgres(prefix: &str) -> Self {
        Self::postgres_on(PG_ADMIN_URL, prefix)
            .await
            .expect("Postgres on 127.0.0.1:5432 (user postgres, database test)")
    }

    /// A fresh Postgres database named `<prefix>_<pid>_<n>_<nanos>` on the server of
    /// `admin_url`, a database to connect to for creating (and later dropping) it; the new
    /// database's URL is `admin_url` with the database name replaced.
    ///
    /// # Errors
    /// When `admin_url` names no database, or its server does not answer or refuses to create
    /// the database.
    ///
    /// # Panics
    /// When `prefix` is not lowercase letters, digits and underscores.
    pub async fn postgres_on(admin_url: &str, prefix: &str) -> Result<Self, sqlx::Error> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        assert!(
            prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "a database name prefix is lowercase letters, digits and underscores"
        );
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().subsec_nanos();
        let name = format!(
            "{prefix}_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let (base, query) = admin_url.split_once('?').unwrap_or((admin_url, ""));
        let Some((server, _)) = base.rsplit_once('/') else {
            return Err(sqlx::Error::Configuration(format!("no database in {admin_url}").into()));
        };
        let url = match query {
            "" => format!("{server}/{name}"),
            query => format!("{server}/{name}?{query}"),
        };
        let mut admin = PgConnection::connect(admin_url).await?;
        // Identifiers cannot be bound; `name` is checked or generated above.
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await?;
        admin.close().await.ok();
        Ok(Self { url, kind: Kind::Postgres { admin_url: admin_url.to_owned(), name } })
    }

    /// A fresh SQLite file (`runs.db`) in its own temporary directory.
    ///
    /// # Panics
    /// When the temporary directory cannot be created.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("runs.db").display());
        Self { url, kind: Kind::Sqlite { _dir: dir } }
    }

    /// The connection URL (`postgres://...` or `sqlite://...`).
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Kind::Postgres { admin_url, name } = &self.kind else { return };
        let (admin_url, name) = (admin_url.clone(), name.clone());
        // Drop may run while the test's runtime shuts down or unwinds: use a thread with its own
        // runtime. FORCE closes the test's still-open pool connections. A database that could
        // not be dropped is only noise, never worth a panic inside drop.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut admin).await;
                }
            });
        })
        .join();
    }
}

/// The two storage backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh database on the test Postgres server.
    Postgres,
    /// A SQLite file in a temporary directory.
    Sqlite,
}

/// A fresh, migrated store on a database of its own, removed with it.
#[derive(Debug)]
pub struct TestDb {
    /// The store over the database.
    pub store: Store,
    database: TestDatabase,
}

impl TestDb {
    /// A fresh store on `backend`.
    ///
    /// # Panics
    /// When the database cannot be created (for Postgres: no server at [`PG_ADMIN_URL`]) or
    /// migrated.
    pub async fn new(backend: Backend) -> Self {
        let database = match backend {
            Backend::Postgres => TestDatabase::postgres("runs_test").await,
            Backend::Sqlite => TestDatabase::sqlite(),
        };
        let store = Store::connect(Some(database.url())).await.expect("connect");
        store.migrate().await.expect("migrate");
        Self { store, database }
    }

    /// [`TestDb::new`] on Postgres.
    pub async fn postgres() -> Self {
        Self::new(Backend::Postgres).await
    }

    /// [`TestDb::new`] on SQLite.
    pub async fn sqlite() -> Self {
        Self::new(Backend::Sqlite).await
    }

    /// The database's connection URL.
    pub fn url(&self) -> &str {
        self.database.url()
    }

    /// A second, independent store on the same database (another "process").
    ///
    /// # Panics
    /// When it cannot connect.
    pub async fn connect_again(&self) -> Store {
        Store::connect(Some(self.url())).await.expect("connect again")
    }

    /// A read-only store on the same database, as `runs serve` opens it.
    ///
    /// # Panics
    /// When it cannot connect.
    pub async fn connect_reader(&self) -> Store {
        Store::connect_reader(Some(self.url())).await.expect("connect reader")
    }
}

/// Run an async test body against both backends: `backends!(name, ...)` makes `name::postgres`
/// and `name::sqlite` from `async fn name(db: &TestDb)`, where `TestDb` is [`TestDb`] or the
/// calling test crate's own `crate::support::TestDb` with `postgres()`, `sqlite()` and a
/// `store` to close afterwards.
// `crate` is meant to be the caller's: each test crate brings its own `TestDb`.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
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
