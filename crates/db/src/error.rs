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
