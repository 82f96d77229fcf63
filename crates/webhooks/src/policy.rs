//! What happens to a subscription after an attempt: 2xx moves on; `410 Gone` disables it; any
//! other answer, a timeout or a connection error retries the same item after an exponential
//! backoff with jitter, until it has failed for the retry window (24 h by default), when the
//! subscription is paused. A pure function of the subscription, the outcome and the time.

use std::time::Duration;

use rand::Rng;
use runs_db::webhooks::{Outcome, WebhookState, WebhookStatus};

/// Retry timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure; it doubles after each further one.
    pub base: Duration,
    /// The longest wait between two attempts.
    pub max: Duration,
    /// How long an item may keep failing before the subscription is paused.
    pub window: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max: Duration::from_secs(3_600),
            window: Duration::from_secs(24 * 3_600),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `failures + 1`, after `failures` (≥ 1) failures in a row:
    /// `base · 2^(failures-1)` capped at `max`, then a uniformly random point of its upper half
    /// ("equal jitter": never less than half, so retries cannot bunch at zero, and spread so
    /// that subscriptions failing together do not retry together).
    pub fn backoff(&self, failures: u32, rng: &mut impl Rng) -> Duration {
        let doublings = failures.saturating_sub(1).min(32);
        let full = self.base.saturating_mul(1u32 << doublings.min(31)).min(self.max);
        let half = full / 2;
        half + full.saturating_sub(half).mul_f64(rng.random::<f64>())
    }

    /// Where a subscription in `state` stands after an attempt at item `seq` that ended in
    /// `outcome` at `now` (unix ms).
    pub fn after(
        &self,
        state: &WebhookState,
        seq: u64,
        outcome: Outcome,
        error: Option<String>,
        now: i64,
        rng: &mut impl Rng,
    ) -> WebhookState {
        let mut next = WebhookState { next_attempt_at: now, last_error: error, ..state.clone() };
        match outcome {
            Outcome::Delivered => {
                next.delivered_seq = seq.max(state.delivered_seq);
                next.attempts = 0;
                next.failing_since = None;
            }
            Outcome::Gone => {
                next.status = WebhookStatus::Disabled;
                next.attempts += 1;
                next.failing_since.get_or_insert(now);
            }
            Outcome::Failed => {
                next.attempts += 1;
                let since = *next.failing_since.get_or_insert(now);
                if millis(now - since) >= self.window {
                    next.status = WebhookStatus::Paused;
                } else {
                    let wait = self.backoff(next.attempts, rng);
                    next.next_attempt_at =
                        now.saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
                }
            }
        }
        next
    }
}

fn millis(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::StdRng};

    fn state() -> WebhookState {
        WebhookState {
            status: WebhookStatus::Active,
            delivered_seq: 10,
            attempts: 0,
            failing_since: None,
            next_attempt_at: 0,
            last_error: None,
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_in_the_upper_half_and_is_capped() {
        let policy = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(7);
        for failures in 1..40u32 {
            let full = Duration::from_secs(1u64 << (failures - 1).min(20)).min(policy.max);
            for _ in 0..50 {
                let wait = policy.backoff(failures, &mut rng);
                assert!(wait >= full / 2 && wait <= full, "{failures}: {wait:?} vs {full:?}");
            }
        }
        // Jitter spreads: 50 draws at the same count are not all equal.
        let draws: std::collections::HashSet<_> =
            (0..50).map(|_| policy.backoff(5, &mut rng)).collect();
        assert!(draws.len() > 40, "{}", draws.len());
    }

    #[test]
    fn failures_retry_until_the_window_then_pause_and_a_success_resets() {
        let policy = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(1);
        let start = 1_000_000;
        let p =
            policy.after(&state(), 11, Outcome::Failed, Some("HTTP 500".into()), start, &mut rng);
        assert_eq!(
            (p.status, p.attempts, p.failing_since, p.delivered_seq),
            (WebhookStatus::Active, 1, Some(start), 10)
        );
        assert!(
            (start + 500..=start + 1_000).contains(&p.next_attempt_at),
            "{}",
            p.next_attempt_at
        );
        // Still failing just inside the window: retried, the wait capped at an hour.
        let late = start + 24 * 3_600_000 - 1;
        let w = WebhookState { attempts: 30, ..p };
        let p = policy.after(&w, 11, Outcome::Failed, None, late, &mut rng);
        assert_eq!(p.status, WebhookStatus::Active);
        assert!(p.next_attempt_at - late <= 3_600_000 && p.next_attempt_at - late >= 1_800_000);
        // At the end of the window: paused, still at the same item.
        let p = policy.after(&w, 11, Outcome::Failed, None, start + 24 * 3_600_000, &mut rng);
        assert_eq!((p.status, p.delivered_seq), (WebhookStatus::Paused, 10));
        // A success moves on and forgets the failures.
        let p = policy.after(&w, 11, Outcome::Delivered, None, late, &mut rng);
        assert_eq!(
            (p.status, p.attempts, p.failing_since, p.delivered_seq),
            (WebhookStatus::Active, 0, None, 11)
        );
    }

    #[test]
    fn gone_disables_without_moving_on() {
        let p = RetryPolicy::default().after(
            &state(),
            11,
            Outcome::Gone,
            Some("HTTP 410".into()),
            5,
            &mut StdRng::seed_from_u64(0),
        );
        assert_eq!((p.status, p.delivered_seq), (WebhookStatus::Disabled, 10));
    }
}
