//! The Postgres connections of the read side ([`crate::read::Reader`]): a bounded stack of open
//! connections, handed out one per request.
//!
//! sqlx's own pool tests every connection it takes back with a round trip to the server (and
//! spawns a task to do it), which for the API's one- or two-statement requests was a third of
//! their database round trips. Here a connection goes back to the stack as it is, unless it was
//! dropped in the middle of a statement (an error, or a request cancelled while waiting for
//! Postgres): such a connection may still have a reply in flight and is closed instead. A
//! connection that sat idle for a while is pinged before it is handed out again.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use sqlx::{Connection, PgConnection, postgres::PgConnectOptions};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::debug;

use crate::Result;

/// A connection idle for longer than this is pinged before it is handed out (here and in the
/// write pool).
pub(crate) const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// How long [`PgReadPool::acquire`] waits for a free connection before giving up.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// At most `size` connections for reads, opened on demand and kept open.
#[derive(Debug)]
pub(crate) struct PgReadPool {
    options: PgConnectOptions,
    /// The open connections not in use, most recently returned last.
    idle: Mutex<Vec<Idle>>,
    /// One permit per connection that may exist.
    permits: Arc<Semaphore>,
}

#[derive(Debug)]
struct Idle {
    conn: PgConnection,
    since: Instant,
}

impl PgReadPool {
    /// A pool of at most `size` connections made with `options` (none opened yet).
    pub(crate) fn new(options: PgConnectOptions, size: u32) -> Arc<Self> {
        Arc::new(Self {
            options,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(size as usize)),
        })
    }

    /// A connection: the most recently used idle one (pinged first if it idled long), or a new
    /// one. Waits while all are in use.
    pub(crate) async fn acquire(self: &Arc<Self>) -> Result<PgReadConn> {
        let permit =
            tokio::time::timeout(ACQUIRE_TIMEOUT, Arc::clone(&self.permits).acquire_owned())
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)?
                .map_err(|_| sqlx::Error::PoolClosed)?;
        loop {
            let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
            let Some(Idle { mut conn, since }) = idle else { break };
            if since.elapsed() > PING_IF_IDLE_FOR
                && let Err(err) = conn.ping().await
            {
                debug!(target: "runs::db", error = %err, "dropping a dead read connection");
                continue;
            }
            return Ok(PgReadConn {
                conn: Some(conn),
                pool: Arc::clone(self),
                _permit: permit,
                busy: false,
            });
        }
        let conn = PgConnection::connect_with(&self.options).await?;
        Ok(PgReadConn { conn: Some(conn), pool: Arc::clone(self), _permit: permit, busy: false })
    }

    /// Refuse new acquisitions and close the idle connections (those in use close when
    /// returned).
    pub(crate) async fn close(&self) {
        self.permits.close();
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        for Idle { conn, .. } in idle {
            let _ = conn.close().await;
        }
    }
}

/// A connection out of a [`PgReadPool`], returned to it on drop.
#[derive(Debug)]
pub(crate) struct PgReadConn {
    conn: Option<PgConnection>,
    pool: Arc<PgReadPool>,
    _permit: OwnedSemaphorePermit,
    /// Set from the start of a statement until its result is read.
    busy: bool,
}

impl PgReadConn {
    /// The connection, marked busy until [`PgReadConn::done`]: if the caller never gets there
    /// (the statement failed, or the future was dropped while it ran) the connection is closed
    /// instead of reused.
    pub(crate) fn start(&mut self) -> &mut PgConnection {
        self.busy = true;
        self.conn.as_mut().expect("a live PgReadConn holds a connection")
    }

    /// The statement started by [`PgReadConn::start`] completed.
    pub(crate) fn done(&mut self) {
        self.busy = false;
    }
}

impl Drop for PgReadConn {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if self.busy || self.pool.permits.is_closed() {
            // Dropping the connection closes its socket; Postgres ends the backend.
            return;
        }
        // The permit is a field, released after this: the connection is back on the stack
        // before the next acquirer can run.
        let idle = Idle { conn, since: Instant::now() };
        self.pool.idle.lock().unwrap_or_else(PoisonError::into_inner).push(idle);
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use runs_testkit::TestDatabase;

    use super::*;

    fn pool(db: &TestDatabase, size: u32) -> Arc<PgReadPool> {
        PgReadPool::new(PgConnectOptions::from_str(db.url()).unwrap(), size)
    }

    async fn backend_pid(conn: &mut PgReadConn) -> i32 {
        let pid = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(conn.start()).await;
        conn.done();
        pid.unwrap()
    }

    #[tokio::test]
    async fn a_returned_connection_is_reused() {
        let db = TestDatabase::postgres("readpool").await;
        let pool = pool(&db, 2);
        let first = backend_pid(&mut pool.acquire().await.unwrap()).await;
        let second = backend_pid(&mut pool.acquire().await.unwrap()).await;
        assert_eq!(first, second, "the idle connection is handed out again");
        pool.close().await;
    }

    #[tokio::test]
    async fn a_connection_dropped_mid_statement_is_closed_not_reused() {
        let db = TestDatabase::postgres("readpool").await;
        let pool = pool(&db, 1);
        let mut conn = pool.acquire().await.unwrap();
        let before = backend_pid(&mut conn).await;
        // The request is cancelled while Postgres is still working on its statement.
        let slow = sqlx::query("SELECT pg_sleep(5)").execute(conn.start());
        assert!(tokio::time::timeout(Duration::from_millis(100), slow).await.is_err());
        drop(conn);
        assert!(pool.idle.lock().unwrap().is_empty(), "the busy connection was not kept");
        let after = backend_pid(&mut pool.acquire().await.unwrap()).await;
        assert_ne!(before, after, "a fresh connection replaced it");
        pool.close().await;
    }

    #[tokio::test]
    async fn acquire_waits_for_a_free_connection() {
        let db = TestDatabase::postgres("readpool").await;
        let pool = pool(&db, 1);
        let held = pool.acquire().await.unwrap();
        let waiting = tokio::spawn({
            let pool = Arc::clone(&pool);
            async move { backend_pid(&mut pool.acquire().await.unwrap()).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiting.is_finished(), "the only connection is in use");
        drop(held);
        tokio::time::timeout(Duration::from_secs(5), waiting).await.unwrap().unwrap();
        pool.close().await;
    }

    #[tokio::test]
    async fn a_closed_pool_refuses_and_drops_its_connections() {
        let db = TestDatabase::postgres("readpool").await;
        let pool = pool(&db, 2);
        let mut in_use = pool.acquire().await.unwrap();
        backend_pid(&mut pool.acquire().await.unwrap()).await;
        pool.close().await;
        assert!(pool.idle.lock().unwrap().is_empty());
        let err = pool.acquire().await.unwrap_err();
        assert!(matches!(err, crate::Error::Sqlx(sqlx::Error::PoolClosed)), "{err}");
        // A connection still in use finishes its request, then is not put back.
        backend_pid(&mut in_use).await;
        drop(in_use);
        assert!(pool.idle.lock().unwrap().is_empty());
    }
}
