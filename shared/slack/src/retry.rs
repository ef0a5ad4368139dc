//! How long to wait between attempts of a Slack call.
//!
//! Two sources of waits: Slack's own `Retry-After` (honoured, because Slack's rate limiter
//! keeps rejecting until then, but capped so that a bogus header cannot stall a Lambda for an
//! hour), and Pulse's one backoff schedule ([`pulse_core::retry::Backoff`]: exponential with
//! full jitter) for transient failures, so that many workers hitting the same 5xx do not retry
//! in lock-step. Attempts are counted from 1 here, as the client counts them.

use std::time::Duration;

use pulse_core::retry::{Backoff, Rng};

/// Retry settings of a [`crate::SlackClient`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included. At least 1.
    pub max_attempts: u32,
    /// Ceiling of the first backoff; doubles with each attempt.
    pub base_backoff: Duration,
    /// Longest single wait: caps both a honoured `Retry-After` and the backoff ceiling.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 5, base_backoff: Duration::from_millis(200), max_wait: Duration::from_secs(60) }
    }
}

impl RetryPolicy {
    /// The backoff schedule: `max_wait` caps every delay, a too large `base_backoff` included.
    fn schedule(&self) -> Backoff {
        Backoff::new(self.base_backoff.min(self.max_wait), self.max_wait, self.max_attempts)
    }

    /// The upper bound of the backoff after failed attempt number `attempt` (1-based):
    /// `base_backoff * 2^(attempt-1)`, capped at `max_wait`.
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        self.schedule().ceiling(attempt.saturating_sub(1))
    }

    /// A full-jitter backoff after failed attempt number `attempt`: uniform in
    /// `[0, backoff_ceiling(attempt)]`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.schedule().delay(attempt.saturating_sub(1))
    }

    /// [`RetryPolicy::backoff`] with a caller-supplied random source (for tests).
    pub fn backoff_with(&self, attempt: u32, rng: &mut Rng) -> Duration {
        self.schedule().delay_with(attempt.saturating_sub(1), rng)
    }

    /// The wait for a server-provided `Retry-After`, capped at `max_wait`.
    pub fn retry_after(&self, retry_after: Duration) -> Duration {
        retry_after.min(self.max_wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy { max_attempts: 5, base_backoff: Duration::from_millis(100), max_wait: Duration::from_secs(1) }
    }

    #[test]
    fn ceiling_doubles_then_caps() {
        let p = policy();
        assert_eq!(p.backoff_ceiling(1), Duration::from_millis(100));
        assert_eq!(p.backoff_ceiling(2), Duration::from_millis(200));
        assert_eq!(p.backoff_ceiling(4), Duration::from_millis(800));
        assert_eq!(p.backoff_ceiling(5), Duration::from_secs(1));
        assert_eq!(p.backoff_ceiling(u32::MAX), Duration::from_secs(1));
        // attempt 0 is treated as the first
        assert_eq!(p.backoff_ceiling(0), Duration::from_millis(100));
    }

    #[test]
    fn jitter_stays_within_bounds_and_spreads() {
        let p = policy();
        let mut rng = Rng::with_seed(7);
        for attempt in 1..=8 {
            let ceiling = p.backoff_ceiling(attempt);
            let samples: Vec<Duration> = (0..500).map(|_| p.backoff_with(attempt, &mut rng)).collect();
            assert!(samples.iter().all(|d| *d <= ceiling), "attempt {attempt}");
            // full jitter: values spread over the whole range, not bunched at the ceiling
            assert!(samples.iter().any(|d| *d < ceiling / 4), "attempt {attempt}");
            assert!(samples.iter().any(|d| *d > ceiling * 3 / 4), "attempt {attempt}");
        }
    }

    #[test]
    fn huge_base_does_not_overflow() {
        let p = RetryPolicy { base_backoff: Duration::from_secs(u64::MAX / 2), ..policy() };
        assert_eq!(p.backoff_ceiling(10), Duration::from_secs(1));
        assert!(p.backoff(10) <= Duration::from_secs(1));
    }

    #[test]
    fn retry_after_is_capped() {
        let p = policy();
        assert_eq!(p.retry_after(Duration::from_millis(300)), Duration::from_millis(300));
        assert_eq!(p.retry_after(Duration::from_secs(3600)), Duration::from_secs(1));
    }
}
