//! Capped exponential backoff with full jitter: the one schedule every retried call in Pulse
//! waits by (AWS adapters, the Slack client, Socket Mode reconnects, the runtime's poller,
//! optimistic read-modify-write loops).
//!
//! The rules:
//! - the delay after failed attempt `n` (0-based) is uniform in `[0, min(max, base · 2ⁿ)]`
//!   ("full jitter", as in the AWS Architecture Blog's backoff study): contending writers and
//!   reconnecting replicas spread out instead of retrying in lock-step;
//! - `max` is never below `base`, and the doubling saturates instead of overflowing;
//! - an attempt budget counts the first attempt, and nothing sleeps after the last one;
//! - jitter comes from `fastrand` (already in every build through the AWS SDK): its
//!   thread-local generator in production, a seeded [`Rng`] in tests.
//!
//! [`Backoff`] is the schedule (stateless, `Copy`); [`Retries`] walks it for an open-ended run of
//! failures that ends with a success ([`Retries::reset`]), such as a connection kept up forever;
//! [`retry`] runs a fallible operation under a budget.

use std::future::Future;
use std::time::Duration;

/// The generator [`Backoff::delay_with`] and [`Retries::next_delay_with`] draw from: seed one
/// (`Rng::with_seed`) to make a test's jitter repeatable.
pub use fastrand::Rng;

/// How often and how long to wait between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    max_attempts: u32,
}

impl Backoff {
    /// `base`: the cap of the first delay; `max`: the largest delay (raised to `base` if below
    /// it); `max_attempts`: total tries, including the first (at least 1).
    pub fn new(base: Duration, max: Duration, max_attempts: u32) -> Self {
        Self { base, max: max.max(base), max_attempts: max_attempts.max(1) }
    }

    /// A schedule without an attempt budget, for loops that never give up (reconnects).
    pub fn forever(base: Duration, max: Duration) -> Self {
        Self::new(base, max, u32::MAX)
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
        jitter(self.ceiling(attempt), |nanos| fastrand::u64(0..=nanos))
    }

    /// [`Backoff::delay`] drawn from `rng` (a seeded generator, in tests).
    pub fn delay_with(&self, attempt: u32, rng: &mut Rng) -> Duration {
        jitter(self.ceiling(attempt), |nanos| rng.u64(0..=nanos))
    }
}

impl Default for Backoff {
    /// 5 attempts, 100 ms base, 5 s cap.
    fn default() -> Self {
        Self::new(Duration::from_millis(100), Duration::from_secs(5), 5)
    }
}

/// Uniform in `[0, ceiling]`, from a draw of `0..=nanos`.
fn jitter(ceiling: Duration, draw: impl FnOnce(u64) -> u64) -> Duration {
    if ceiling.is_zero() {
        return ceiling;
    }
    Duration::from_nanos(draw(u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX)))
}

/// A run of consecutive failures along a [`Backoff`]: each failure's delay is one step further
/// up the schedule, until [`Retries::reset`] after a success. The attempt budget is the caller's
/// to enforce (a reconnect loop has none: see [`Backoff::forever`]).
#[derive(Debug, Clone)]
pub struct Retries {
    backoff: Backoff,
    attempt: u32,
}

impl Retries {
    pub fn new(backoff: Backoff) -> Self {
        Self { backoff, attempt: 0 }
    }

    /// How many delays were handed out since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The ceiling of the next delay.
    pub fn ceiling(&self) -> Duration {
        self.backoff.ceiling(self.attempt)
    }

    /// The next delay (uniform in `[0, ceiling()]`); the ceiling then doubles, up to the cap.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.backoff.delay(self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        delay
    }

    /// [`Retries::next_delay`] drawn from `rng` (a seeded generator, in tests).
    pub fn next_delay_with(&mut self, rng: &mut Rng) -> Duration {
        let delay = self.backoff.delay_with(self.attempt, rng);
        self.attempt = self.attempt.saturating_add(1);
        delay
    }

    /// Back to the first ceiling (`base`), after a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// Run `f` until it succeeds, fails with an error `is_retryable` rejects, or the attempts of
/// `backoff` are used up; sleeps `backoff.delay(n)` between attempts. Returns the last error.
pub async fn retry<T, E, F, Fut>(backoff: &Backoff, is_retryable: impl Fn(&E) -> bool, mut f: F) -> Result<T, E>
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

    const MS: Duration = Duration::from_millis(1);

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

    #[test]
    fn huge_settings_do_not_overflow() {
        let b = Backoff::forever(Duration::from_secs(u64::MAX / 2), Duration::from_secs(u64::MAX));
        assert_eq!(b.ceiling(0), Duration::from_secs(u64::MAX / 2));
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(u64::MAX));
        assert!(b.delay(40) <= b.max());
    }

    #[test]
    fn retries_ceilings_double_up_to_the_cap() {
        let mut retries = Retries::new(Backoff::forever(100 * MS, 1000 * MS));
        let mut rng = Rng::with_seed(7);
        let mut ceilings = Vec::new();
        for _ in 0..8 {
            ceilings.push(retries.ceiling());
            retries.next_delay_with(&mut rng);
        }
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000, 1000, 1000].map(|m| m * MS).to_vec());
    }

    #[test]
    fn retries_delays_stay_within_zero_and_the_ceiling_and_use_the_whole_range() {
        let mut rng = Rng::with_seed(42);
        for attempt in 0..6u32 {
            let mut lowest = Duration::MAX;
            let mut highest = Duration::ZERO;
            for _ in 0..2000 {
                let mut retries = Retries::new(Backoff::forever(100 * MS, 30_000 * MS));
                for _ in 0..attempt {
                    retries.next_delay_with(&mut rng);
                }
                let ceiling = retries.ceiling();
                let d = retries.next_delay_with(&mut rng);
                assert!(d <= ceiling, "attempt {attempt}: {d:?} > {ceiling:?}");
                lowest = lowest.min(d);
                highest = highest.max(d);
            }
            // Full jitter: the draws cover (nearly) the whole interval, not just its top.
            let ceiling = 100 * MS * (1 << attempt);
            assert!(lowest < ceiling / 20, "attempt {attempt}: lowest {lowest:?}");
            assert!(highest > ceiling * 19 / 20, "attempt {attempt}: highest {highest:?}");
        }
    }

    #[test]
    fn the_cap_bounds_every_delay_even_after_many_attempts() {
        let mut retries = Retries::new(Backoff::forever(MS, 30_000 * MS));
        for _ in 0..1000 {
            assert!(retries.next_delay() <= 30_000 * MS);
        }
        assert_eq!(retries.ceiling(), 30_000 * MS);
        assert_eq!(retries.attempt(), 1000);
    }

    #[test]
    fn reset_starts_again_from_the_base() {
        let mut retries = Retries::new(Backoff::forever(50 * MS, 5_000 * MS));
        for _ in 0..10 {
            retries.next_delay();
        }
        assert_eq!(retries.ceiling(), 5_000 * MS);
        retries.reset();
        assert_eq!(retries.attempt(), 0);
        assert_eq!(retries.ceiling(), 50 * MS);
        assert!(retries.next_delay() <= 50 * MS);
    }

    #[tokio::test]
    async fn retries_until_success() {
        let calls = AtomicU32::new(0);
        let b = Backoff::new(Duration::from_millis(1), Duration::from_millis(2), 5);
        let out: Result<u32, &str> = retry(
            &b,
            |_| true,
            || async {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                if n < 2 { Err("again") } else { Ok(n) }
            },
        )
        .await;
        assert_eq!(out, Ok(2));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn stops_after_max_attempts_and_on_permanent_errors() {
        let calls = AtomicU32::new(0);
        let b = Backoff::new(Duration::from_millis(1), Duration::from_millis(2), 3);
        let out: Result<(), &str> = retry(
            &b,
            |_| true,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err("always")
            },
        )
        .await;
        assert_eq!(out, Err("always"));
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        calls.store(0, Ordering::SeqCst);
        let out: Result<(), &str> = retry(
            &b,
            |e: &&str| *e != "fatal",
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err("fatal")
            },
        )
        .await;
        assert_eq!(out, Err("fatal"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
