//! Retrying with exponential backoff: transient RPC and database failures are retried until they
//! pass (the indexer never exits on one); the caller stops it by dropping the future.

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

/// Runs `op` until it succeeds, sleeping by `backoff` between failures and logging each one as a
/// warning (`what` names the operation in the log).
pub async fn retry<T, E, F, Fut>(what: &'static str, backoff: Backoff, mut op: F) -> T
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut failures = 0u32;
    loop {
        match op().await {
            Ok(value) => {
                recovered(what, failures);
                return value;
            }
            Err(err) => failed(what, &mut failures, &err.to_string(), backoff).await,
        }
    }
}

/// [`retry`] for a call expression, re-evaluated on each attempt. A macro rather than a closure
/// because futures that borrow from the caller (`&self`) inside a closure are not provably `Send`
/// to today's compiler, and the indexer must run on a multi-threaded runtime.
macro_rules! retrying {
    ($what:expr, $backoff:expr, $call:expr) => {{
        let mut failures = 0u32;
        loop {
            match $call.await {
                Ok(value) => {
                    $crate::retry::recovered($what, failures);
                    break value;
                }
                Err(err) => {
                    $crate::retry::failed($what, &mut failures, &err.to_string(), $backoff).await
                }
            }
        }
    }};
}
pub(crate) use retrying;

pub(crate) fn recovered(what: &'static str, failures: u32) {
    if failures > 0 {
        tracing::info!(target: "runs::indexer", what, failures, "recovered");
    }
}

pub(crate) async fn failed(what: &'static str, failures: &mut u32, err: &str, backoff: Backoff) {
    *failures = failures.saturating_add(1);
    let delay = backoff.delay(*failures);
    tracing::warn!(
        target: "runs::indexer",
        what,
        failures = *failures,
        retry_in_ms = delay.as_millis() as u64,
        %err,
        "failed; retrying"
    );
    tokio::time::sleep(delay).await;
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
}
