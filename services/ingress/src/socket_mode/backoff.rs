//! Exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS Architecture Blog):
//! the n-th retry waits a uniformly random time in `[0, min(cap, base * 2^n)]`.
//!
//! Full jitter spreads the reconnects of many clients (every Pulse replica loses its connection
//! when Slack restarts a server) instead of having them retry in lock-step.

use std::time::Duration;

use rand::Rng;

/// Backoff state for one sequence of retries. [`Backoff::reset`] after a success.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    /// `base` is the ceiling of the first delay, `cap` the largest ceiling ever used.
    /// A `cap` below `base` is raised to `base`; a zero `base` is treated as 1 ms.
    pub fn new(base: Duration, cap: Duration) -> Self {
        let base = base.max(Duration::from_millis(1));
        Self {
            base,
            cap: cap.max(base),
            attempt: 0,
        }
    }

    /// How many delays were handed out since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The ceiling of the next delay: `min(cap, base * 2^attempt)`.
    pub fn ceiling(&self) -> Duration {
        // 2^20 * base is beyond any sensible cap; stop doubling there to avoid overflow.
        let factor = 1u32 << self.attempt.min(20);
        self.base
            .checked_mul(factor)
            .map_or(self.cap, |d| d.min(self.cap))
    }

    /// The next delay, drawn with the thread-local generator.
    pub fn next_delay(&mut self) -> Duration {
        self.next_delay_with(&mut rand::rng())
    }

    /// The next delay, uniformly in `[0, ceiling()]`, drawn from `rng`; then the ceiling doubles
    /// (up to the cap).
    pub fn next_delay_with<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.random_range(0..=nanos))
    }

    /// Back to the first ceiling (`base`), after a healthy connection.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let mut b = Backoff::new(100 * MS, 1000 * MS);
        let mut rng = StdRng::seed_from_u64(7);
        let mut ceilings = Vec::new();
        for _ in 0..8 {
            ceilings.push(b.ceiling());
            b.next_delay_with(&mut rng);
        }
        assert_eq!(
            ceilings,
            [100, 200, 400, 800, 1000, 1000, 1000, 1000]
                .map(|m| m * MS)
                .to_vec()
        );
    }

    #[test]
    fn delays_stay_within_zero_and_the_ceiling_and_use_the_whole_range() {
        let mut rng = StdRng::seed_from_u64(42);
        for attempt in 0..6u32 {
            let mut lowest = Duration::MAX;
            let mut highest = Duration::ZERO;
            for _ in 0..2000 {
                let mut b = Backoff::new(100 * MS, 30_000 * MS);
                for _ in 0..attempt {
                    b.next_delay_with(&mut rng);
                }
                let ceiling = b.ceiling();
                let d = b.next_delay_with(&mut rng);
                assert!(d <= ceiling, "attempt {attempt}: {d:?} > {ceiling:?}");
                lowest = lowest.min(d);
                highest = highest.max(d);
            }
            // Full jitter: the draws cover (nearly) the whole interval, not just its top.
            let ceiling = 100 * MS * (1 << attempt);
            assert!(
                lowest < ceiling / 20,
                "attempt {attempt}: lowest {lowest:?}"
            );
            assert!(
                highest > ceiling * 19 / 20,
                "attempt {attempt}: highest {highest:?}"
            );
        }
    }

    #[test]
    fn the_cap_bounds_every_delay_even_after_many_attempts() {
        let mut b = Backoff::new(MS, 30_000 * MS);
        for _ in 0..1000 {
            assert!(b.next_delay() <= 30_000 * MS);
        }
        assert_eq!(b.ceiling(), 30_000 * MS);
        assert_eq!(b.attempt(), 1000);
    }

    #[test]
    fn reset_starts_again_from_the_base() {
        let mut b = Backoff::new(50 * MS, 5_000 * MS);
        for _ in 0..10 {
            b.next_delay();
        }
        assert_eq!(b.ceiling(), 5_000 * MS);
        b.reset();
        assert_eq!(b.attempt(), 0);
        assert_eq!(b.ceiling(), 50 * MS);
        assert!(b.next_delay() <= 50 * MS);
    }

    #[test]
    fn degenerate_settings_are_tamed() {
        let b = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(b.ceiling(), MS);
        let b = Backoff::new(
            Duration::from_secs(u64::MAX / 2),
            Duration::from_secs(u64::MAX),
        );
        assert_eq!(b.ceiling(), Duration::from_secs(u64::MAX / 2));
    }
}
