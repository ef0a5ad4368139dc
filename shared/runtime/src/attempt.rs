//! One attempt at one message: its id, the event it is about, and the moment it can no longer be
//! running.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::handler::Meta;

/// A point in wall-clock time after which an attempt cannot be running: the Lambda invocation's
/// deadline, or the end of the message's visibility for the local poller. One type, so that
/// claims, leases and retry budgets all count against the same moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(SystemTime);

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
}

/// What a handler knows of the attempt it runs in.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// Unique per attempt; the claim records it.
    pub id: String,
    /// The event's envelope, without its detail.
    pub meta: Meta,
    /// How many times SQS has delivered this message (1 on the first delivery).
    pub receive_count: u32,
    /// The attempt this one took the event over from, when that one died holding it: effect
    /// records it left half-written (a message being sent) are abandoned, not in progress.
    pub took_over_from: Option<String>,
    /// When this attempt can no longer be running, as it started (the poller's heartbeat may
    /// extend its lease beyond it; a Lambda deadline is final).
    pub deadline: Deadline,
}

tokio::task_local! {
    static CURRENT: Attempt;
}

impl Attempt {
    /// Run `work` as this attempt: [`Attempt::current`] answers inside it.
    pub(crate) async fn scope<F: std::future::Future>(&self, work: F) -> F::Output {
        CURRENT.scope(self.clone(), work).await
    }

    /// The attempt the calling task runs in, if it runs in one. For effect records that must
    /// know their writer (the notifier's message ledger) without every call carrying it.
    pub fn current() -> Option<Attempt> {
        CURRENT.try_with(Clone::clone).ok()
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
    }
}
