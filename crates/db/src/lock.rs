//! The writer lock: one indexer process writes a chain at a time, others wait as hot standbys.
//!
//! Postgres: a session advisory lock held on a dedicated connection (outside the pool), so the
//! server releases it when the holder drops it, its connection breaks or its process dies.
//! SQLite: an exclusive OS lock (`flock`) on `<db>.writer-<chain_id>.lock` beside the database,
//! which the OS releases when the holder's process dies.

use std::{
    ffi::OsString,
    fs::{File, OpenOptions, TryLockError},
    path::{Path, PathBuf},
};

use sqlx::{Connection, PgConnection, PgPool};
use tracing::{debug, info};

use crate::{Error, Result};

/// Namespace of the advisory-lock keys ("RUNS" in ASCII), so other users of advisory locks on
/// the same database do not collide with ours.
const LOCK_NAMESPACE: i64 = 0x5255_4E53;

/// Held while this process is the chain's only writer; dropping it releases the lock.
#[derive(Debug)]
pub struct WriterLock {
    inner: LockInner,
}

#[derive(Debug)]
enum LockInner {
    Postgres { conn: PgConnection, key: i64 },
    File { file: File, path: PathBuf },
}

impl WriterLock {
    /// Whether the lock is still held. For Postgres this asks the server: a broken connection
    /// loses the lock, and another process may then have taken over, so a writer should stop.
    pub async fn is_held(&mut self) -> bool {
        match &mut self.inner {
            LockInner::Postgres { conn, key } => sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
                     AND pid = pg_backend_pid() AND granted \
                     AND ((classid::bigint << 32) | objid::bigint) = $1)",
            )
            .bind(*key)
            .fetch_one(&mut *conn)
            .await
            .unwrap_or(false),
            // The OS keeps a file lock as long as the file is open in this process.
            LockInner::File { .. } => true,
        }
    }

    /// Release the lock now (dropping it does the same; for Postgres, once the server notices the
    /// closed connection).
    pub async fn release(self) -> Result<()> {
        match self.inner {
            LockInner::Postgres { mut conn, key } => {
                sqlx::query("SELECT pg_advisory_unlock($1)").bind(key).execute(&mut conn).await?;
                conn.close().await?;
            }
            LockInner::File { file, path } => {
                file.unlock().map_err(|source| Error::Io { action: "unlock", path, source })?;
            }
        }
        Ok(())
    }
}

/// The advisory-lock key of a chain's writer: namespace in the high 32 bits, so that
/// `pg_locks` shows it as `classid = namespace, objid = chain_id` for chain ids below 2^32.
fn lock_key(chain_id: u64) -> i64 {
    (LOCK_NAMESPACE << 32) ^ (chain_id as i64)
}

/// Take (`wait`: wait for) the Postgres writer lock of `chain_id`.
pub(crate) async fn lock_postgres(
    pool: &PgPool,
    chain_id: u64,
    wait: bool,
) -> Result<Option<WriterLock>> {
    let mut conn = PgConnection::connect_with(&pool.connect_options()).await?;
    let key = lock_key(chain_id);
    if wait {
        let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut conn)
            .await?;
        if !free {
            info!(target: "runs::db", chain_id, "waiting for the writer lock");
            sqlx::query("SELECT pg_advisory_lock($1)").bind(key).execute(&mut conn).await?;
        }
    } else {
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut conn)
            .await?;
        if !taken {
            conn.close().await?;
            return Ok(None);
        }
    }
    debug!(target: "runs::db", chain_id, "took the writer lock");
    Ok(Some(WriterLock { inner: LockInner::Postgres { conn, key } }))
}

/// The lock file of a chain's writer beside the SQLite database.
pub(crate) fn lock_path(db_path: &Path, chain_id: u64) -> PathBuf {
    let mut name = OsString::from(db_path.as_os_str());
    name.push(format!(".writer-{chain_id}.lock"));
    PathBuf::from(name)
}

/// Take (`wait`: wait for) the file writer lock of `chain_id` beside the SQLite database.
pub(crate) async fn lock_file(
    db_path: &Path,
    chain_id: u64,
    wait: bool,
) -> Result<Option<WriterLock>> {
    let path = lock_path(db_path, chain_id);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| Error::Io { action: "open lock file", path: path.clone(), source })?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) if wait => {
            info!(target: "runs::db", chain_id, path = %path.display(), "waiting for the writer lock");
            // flock blocks the thread, so wait on the blocking pool.
            let (file, result) = tokio::task::spawn_blocking(move || {
                let result = file.lock();
                (file, result)
            })
            .await
            .map_err(|join| Error::Io {
                action: "wait for lock file",
                path: path.clone(),
                source: std::io::Error::other(join.to_string()),
            })?;
            result.map_err(|source| Error::Io { action: "lock", path: path.clone(), source })?;
            debug!(target: "runs::db", chain_id, "took the writer lock");
            return Ok(Some(WriterLock { inner: LockInner::File { file, path } }));
        }
        Err(TryLockError::WouldBlock) => return Ok(None),
        Err(TryLockError::Error(source)) => {
            return Err(Error::Io { action: "lock", path, source });
        }
    }
    debug!(target: "runs::db", chain_id, "took the writer lock");
    Ok(Some(WriterLock { inner: LockInner::File { file, path } }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_per_chain() {
        assert_ne!(lock_key(1), lock_key(2));
        assert_eq!(lock_key(31337) >> 32, LOCK_NAMESPACE);
        assert_eq!(lock_key(31337) & 0xffff_ffff, 31337);
    }

    #[test]
    fn lock_file_sits_beside_the_database() {
        assert_eq!(
            lock_path(Path::new(".runs/runs.db"), 31337),
            PathBuf::from(".runs/runs.db.writer-31337.lock")
        );
    }
}
