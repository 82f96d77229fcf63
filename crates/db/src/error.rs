//! The db crate's error type.

use std::path::PathBuf;

/// What can go wrong talking to the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database (connection, query or transaction) failed.
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// Running the migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database URL has a scheme we do not support (the URL itself is not shown: it may hold
    /// a password).
    #[error(
        "unsupported database URL scheme {scheme:?}: expected postgres://, postgresql:// or sqlite://"
    )]
    UnsupportedUrl {
        /// The scheme that was given.
        scheme: String,
    },
    /// A filesystem operation (creating the SQLite directory, the lock file) failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What we were doing.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A stored value could not be read back into its domain type.
    #[error("corrupt value in {table}.{column}: {reason}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A value does not fit the column (e.g. a u64 above `i64::MAX`).
    #[error("value out of range for {column}: {value}")]
    OutOfRange {
        /// The column.
        column: &'static str,
        /// The value.
        value: String,
    },
    /// A stored event's JSON payload could not be encoded or decoded.
    #[error("event payload JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The db crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether the same operation may pass if it is tried again: the connection, the server or
    /// the database file was in the way (a lost or refused connection, a full pool, a busy or
    /// locked SQLite file, a serialization failure or deadlock, a server shutting down or out of
    /// disk). A data or constraint error, a value that does not decode, a schema that does not
    /// match or a corrupt row fails the same way every time, so retrying it would loop forever.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Sqlx(err) => sqlx_transient(err),
            Self::Io { .. } => true,
            Self::Migrate(_)
            | Self::UnsupportedUrl { .. }
            | Self::Corrupt { .. }
            | Self::OutOfRange { .. }
            | Self::Json(_) => false,
        }
    }
}

fn sqlx_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                pg_transient(pg.code())
            } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                db.code().and_then(|code| code.parse::<i32>().ok()).is_some_and(sqlite_transient)
            } else {
                false
            }
        }
        _ => false,
    }
}

/// Postgres SQLSTATEs of the server's state rather than the statement's: classes 08 (connection
/// exception), 40 (transaction rollback: serialization failure, deadlock), 53 (insufficient
/// resources: disk full, out of memory, too many connections), 57 (operator intervention:
/// shutdown, cancelled statement) and 58 (system error), and a lock or object in use (55P03,
/// 55006).
fn pg_transient(code: &str) -> bool {
    matches!(code.get(..2), Some("08" | "40" | "53" | "57" | "58"))
        || matches!(code, "55P03" | "55006")
}

/// SQLite result codes (the primary code, the low byte of an extended one) that another attempt
/// may pass: BUSY, LOCKED, IOERR, FULL, CANTOPEN and PROTOCOL.
fn sqlite_transient(code: i32) -> bool {
    matches!(code & 0xff, 5 | 6 | 10 | 13 | 14 | 15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_the_server_state_are_transient() {
        for code in
            ["08006", "40001", "40P01", "53100", "53300", "57P01", "57014", "58030", "55P03"]
        {
            assert!(pg_transient(code), "{code}");
        }
        // Unique and foreign-key violations, a bad number, an undefined column, internal errors.
        for code in ["23505", "23503", "22P02", "22003", "42703", "42P01", "XX000", "25P02"] {
            assert!(!pg_transient(code), "{code}");
        }
        // BUSY, LOCKED, BUSY_SNAPSHOT (517), IOERR_WRITE (778), FULL.
        for code in [5, 6, 517, 778, 13] {
            assert!(sqlite_transient(code), "{code}");
        }
        // ERROR, CORRUPT, CONSTRAINT_UNIQUE (2067), MISMATCH.
        for code in [1, 11, 2067, 20] {
            assert!(!sqlite_transient(code), "{code}");
        }
        assert!(!Error::Corrupt { table: "t", column: "c", reason: "x".into() }.is_transient());
        assert!(Error::Sqlx(sqlx::Error::PoolTimedOut).is_transient());
        assert!(!Error::Sqlx(sqlx::Error::RowNotFound).is_transient());
    }
}
