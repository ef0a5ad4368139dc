//! Retrying with capped exponential backoff and full jitter.
//!
//! `delay(n)` is a uniformly random duration in `[0, min(max, base · 2ⁿ)]` ("full jitter", as in
//! the AWS architecture blog's backoff study): contending writers spread out instead of retrying
//! in lock-step, which matters for the feed's conditional S3 writes.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

/// How often and how long to wait between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    max_attempts: u32,
}

impl Backoff {
    /// `base`: the cap of the first delay; `max`: the largest delay; `max_attempts`: total tries,
    /// including the first (at least 1).
    pub fn new(base: Duration, max: Duration, max_attempts: u32) -> Self {
        Self { base, max: max.max(base), max_attempts: max_attempts.max(1) }
    }

    /// No retries at all: one attempt.
    pub fn none() -> Self {
        Self::new(Duration::ZERO, Duration::ZERO, 1)
    }

    pub fn base(&self) -> Duration {
        self.base
    }

    pub fn max(&self) -> Duration {
        self.max
    }

    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The upper bound of the delay after failed attempt `attempt` (0-based):
    /// `min(max, base · 2^attempt)`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(31));
        self.base.checked_mul(factor).map_or(self.max, |d| d.min(self.max))
    }

    /// The delay to sleep after failed attempt `attempt` (0-based): uniform in `[0, ceiling]`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        if ceiling.is_zero() {
            return ceiling;
        }
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }
}

impl Default for Backoff {
    /// 5 attempts, 100 ms base, 5 s cap.
    fn default() -> Self {
        Self::new(Duration::from_millis(100), Duration::from_secs(5), 5)
    }
}

/// Run `f` until it succeeds, fails with an error `is_retryable` rejects, or the attempts of
/// `backoff` are used up; sleeps `backoff.delay(n)` between attempts. Returns the last error.
pub async fn retry<T, E, F, Fut>(
    backoff: &Backoff,
    is_retryable: impl Fn(&E) -> bool,
    mut f: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 0;
    loop {
        match f().await {
            Ok(value) => return Ok(value),
            Err(err) => {
                if attempt + 1 >= backoff.max_attempts || !is_retryable(&err) {
                    return Err(err);
                }
                let delay = backoff.delay(attempt);
                tracing::debug!(attempt = attempt + 1, delay_ms = delay.as_millis() as u64, "retrying");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn delay_is_capped_exponential_with_jitter() {
        let b = Backoff::new(Duration::from_millis(10), Duration::from_millis(100), 5);
        assert_eq!(b.ceiling(0), Duration::from_millis(10));
        assert_eq!(b.ceiling(1), Duration::from_millis(20));
        assert_eq!(b.ceiling(3), Duration::from_millis(80));
        assert_eq!(b.ceiling(4), Duration::from_millis(100));
        assert_eq!(b.ceiling(200), Duration::from_millis(100));
        let mut distinct = std::collections::HashSet::new();
        for attempt in 0..50 {
            let d = b.delay(attempt % 6);
            assert!(d <= b.ceiling(attempt % 6));
            distinct.insert(d);
        }
        assert!(distinct.len() > 10, "delays should be jittered");
        assert_eq!(Backoff::none().delay(3), Duration::ZERO);
    }

    #[test]
    fn new_clamps_nonsense() {
        let b = Backoff::new(Duration::from_secs(2), Duration::from_secs(1), 0);
        assert_eq!(b.max_attempts(), 1);
        assert_eq!(b.max(), Duration::from_secs(2));
    }

    #[tokio::test]
    async fn retries_until_success() {
        let calls = AtomicU32::new(0);
        let b = Backoff::new(Duration::from_millis(1), Duration::from_millis(2), 5);
        let out: Result<u32, &str> = retry(&b, |_| true, || async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            if n < 2 { Err("again") } else { Ok(n) }
        })
        .await;
        assert_eq!(out, Ok(2));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn stops_after_max_attempts_and_on_permanent_errors() {
        let calls = AtomicU32::new(0);
        let b = Backoff::new(Duration::from_millis(1), Duration::from_millis(2), 3);
        let out: Result<(), &str> = retry(&b, |_| true, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err("always")
        })
        .await;
        assert_eq!(out, Err("always"));
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        calls.store(0, Ordering::SeqCst);
        let out: Result<(), &str> = retry(&b, |e: &&str| *e != "fatal", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err("fatal")
        })
        .await;
        assert_eq!(out, Err("fatal"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
