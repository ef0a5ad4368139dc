//! The moment a piece of work can no longer be running, and the budget it sets for what the work
//! waits for.
//!
//! A Lambda invocation ends at its deadline whatever it is doing: a retry that sleeps past it
//! never happens, and the message it was for comes back only after its visibility runs out. So
//! work running under a final deadline ([`Deadline::scope`]) lets every retry loop ask
//! [`Deadline::current`] whether waiting and trying once more still fits, and give up early
//! (the message is then retried by its queue) when it does not.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in wall-clock time after which an attempt cannot be running: the Lambda invocation's
/// deadline, or the end of the message's visibility for the local poller. One type, so that
/// claims, leases and retry budgets all count against the same moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(SystemTime);

tokio::task_local! {
    static BUDGET: Deadline;
}

impl Deadline {
    pub fn at(when: SystemTime) -> Self {
        Self(when)
    }

    /// `after` from now.
    pub fn after(after: Duration) -> Self {
        Self(SystemTime::now() + after)
    }

    /// From unix milliseconds (Lambda's `deadline`).
    pub fn from_unix_ms(ms: u64) -> Self {
        Self(UNIX_EPOCH + Duration::from_millis(ms))
    }

    pub fn unix_ms(&self) -> i64 {
        self.0.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    /// Time left (zero once passed).
    pub fn remaining(&self) -> Duration {
        self.0.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO)
    }

    pub fn has_passed(&self) -> bool {
        self.remaining().is_zero()
    }

    /// Whether waiting `wait` and then working `then` more still ends before the deadline.
    pub fn allows(&self, wait: Duration, then: Duration) -> bool {
        wait.saturating_add(then) <= self.remaining()
    }

    /// Run `work` with this deadline as its final one: [`Deadline::current`] answers inside it.
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        BUDGET.scope(self, work).await
    }

    /// The final deadline of the work the calling task does, if it runs under one.
    pub fn current() -> Option<Deadline> {
        BUDGET.try_with(|d| *d).ok()
    }

    /// Whether the calling task may wait `wait` and then work `then` more: always, unless it runs
    /// under a final deadline that would pass first. What every retry loop asks before sleeping.
    pub fn fits(wait: Duration, then: Duration) -> bool {
        Self::current().is_none_or(|d| d.allows(wait, then))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_counts_down_and_reads_as_unix_ms() {
        let d = Deadline::from_unix_ms(1_700_000_000_123);
        assert_eq!(d.unix_ms(), 1_700_000_000_123);
        assert!(d.has_passed());
        let later = Deadline::after(Duration::from_secs(60));
        assert!(later.remaining() > Duration::from_secs(59) && !later.has_passed());
        assert!(later.allows(Duration::from_secs(30), Duration::from_secs(20)));
        assert!(!later.allows(Duration::from_secs(50), Duration::from_secs(20)));
    }

    #[tokio::test]
    async fn the_budget_is_known_inside_its_scope_only() {
        assert_eq!(Deadline::current(), None);
        let d = Deadline::after(Duration::from_secs(5));
        assert_eq!(d.scope(async { Deadline::current() }).await, Some(d));
        assert_eq!(Deadline::current(), None);
    }
}
