//! The indexer's one retry policy: exponential backoff between attempts, each failure logged as a
//! warning and the recovery as info. RPC reads and most store reads are retried until they pass
//! (the indexer never exits on one; the caller stops it by dropping the future); store writes are
//! retried while their error is transient.

use std::{fmt::Display, future::Future, time::Duration};

/// An exponential backoff schedule: `initial`, doubling up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub initial: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { initial: Duration::from_millis(200), max: Duration::from_secs(30) }
    }
}

impl Backoff {
    /// The delay after `failures` consecutive failures (1 = the first).
    pub fn delay(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(31);
        self.initial.saturating_mul(1u32 << exponent).min(self.max)
    }
}

/// The consecutive failures of one operation (`what`, named in the log) under a [`Backoff`]:
/// the one place that counts failures, picks the delay and logs. [`Retry::run`] drives a whole
/// retry loop; [`Retry::failed`] / [`Retry::succeeded`] serve a caller that waits elsewhere (the
/// indexer's `eth_getLogs`, whose failure ends a step).
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    what: &'static str,
    backoff: Backoff,
    failures: u32,
}

impl Retry {
    /// No failures yet.
    pub const fn new(what: &'static str, backoff: Backoff) -> Self {
        Self { what, backoff, failures: 0 }
    }

    /// Record a failure and log it; the delay before the next attempt.
    pub fn failed(&mut self, err: &dyn Display) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let delay = self.backoff.delay(self.failures);
        tracing::warn!(
            target: "runs::indexer",
            what = self.what,
            failures = self.failures,
            retry_in_ms = delay.as_millis() as u64,
            %err,
            "failed; retrying"
        );
        delay
    }

    /// Record a success (logged when it ends a run of failures).
    pub fn succeeded(&mut self) {
        if self.failures > 0 {
            tracing::info!(target: "runs::indexer", what = self.what, failures = self.failures, "recovered");
        }
        self.failures = 0;
    }

    /// Run `op` until it succeeds or fails with an error that `transient` rejects (returned),
    /// sleeping by the backoff between attempts.
    pub async fn run<T, E, F, Fut>(
        mut self,
        transient: impl Fn(&E) -> bool,
        mut op: F,
    ) -> Result<T, E>
    where
        E: Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        loop {
            match op().await {
                Ok(value) => {
                    self.succeeded();
                    return Ok(value);
                }
                Err(err) if transient(&err) => tokio::time::sleep(self.failed(&err)).await,
                Err(err) => return Err(err),
            }
        }
    }
}

/// Runs `op` until it succeeds, every error being transient ([`Retry::run`]).
pub async fn retry<T, E, F, Fut>(what: &'static str, backoff: Backoff, op: F) -> T
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    match Retry::new(what, backoff).run(|_| true, op).await {
        Ok(value) => value,
        Err(_) => unreachable!("every error is retried"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn delay_doubles_up_to_the_cap() {
        let backoff = Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(2) };
        let delays: Vec<_> = (1..=7).map(|n| backoff.delay(n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(backoff.delay(u32::MAX), Duration::from_secs(2));
        assert_eq!(backoff.delay(0), Duration::from_millis(100));
    }

    #[tokio::test]
    async fn retries_until_success() {
        let calls = AtomicU32::new(0);
        let backoff = Backoff { initial: Duration::from_millis(1), max: Duration::from_millis(4) };
        let value = retry("test", backoff, || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0..=3 => Err("transient"),
                n => Ok(n),
            }
        })
        .await;
        assert_eq!(value, 4);
        assert_eq!(calls.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn stops_at_an_error_that_is_not_transient() {
        let calls = AtomicU32::new(0);
        let backoff = Backoff { initial: Duration::from_millis(1), max: Duration::from_millis(4) };
        let result: Result<u32, &str> = Retry::new("test", backoff)
            .run(
                |err| *err == "transient",
                || async {
                    match calls.fetch_add(1, Ordering::SeqCst) {
                        0 => Err("transient"),
                        _ => Err("fatal"),
                    }
                },
            )
            .await;
        assert_eq!(result, Err("fatal"));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn failures_count_until_a_success() {
        let backoff = Backoff { initial: Duration::from_millis(10), max: Duration::from_secs(1) };
        let mut retry = Retry::new("test", backoff);
        assert_eq!(retry.failed(&"x"), Duration::from_millis(10));
        assert_eq!(retry.failed(&"x"), Duration::from_millis(20));
        retry.succeeded();
        assert_eq!(retry.failed(&"x"), Duration::from_millis(10));
    }
}
