//! The one clock. Code that needs "now" is handed a [`Clock`] (cheap to clone, shared by
//! reference counting) rather than reading the system time itself, so tests fix or step time
//! and pure decisions take the instant as a value.
//!
//! [`Clock::system`] is the only place in Pulse that reads the system's wall clock (a test
//! in `tests/adapters/house_rules.rs` holds that line).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

/// A source of the current time.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    /// The system's wall clock.
    pub fn system() -> Self {
        Self(Arc::new(Utc::now))
    }

    /// Always `at`.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self(Arc::new(move || at))
    }

    /// Whatever `now` answers (a test's own schedule).
    pub fn from_fn(now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// A clock a test moves by hand; starts at `start`.
    pub fn manual(start: DateTime<Utc>) -> (Self, ManualTime) {
        let time = ManualTime(Arc::new(AtomicI64::new(start.timestamp_millis())));
        let reader = time.clone();
        (Self::from_fn(move || reader.now()), time)
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// Whole seconds since the Unix epoch.
    pub fn now_secs(&self) -> i64 {
        self.now().timestamp()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// The hand of a [`Clock::manual`]: set or advance the time it answers.
#[derive(Debug, Clone)]
pub struct ManualTime(Arc<AtomicI64>);

impl ManualTime {
    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0.load(Ordering::SeqCst)).unwrap_or_default()
    }

    pub fn set(&self, at: DateTime<Utc>) {
        self.0.store(at.timestamp_millis(), Ordering::SeqCst);
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.0.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_and_manual_clocks_answer_what_they_are_told() {
        let t0: DateTime<Utc> = "2026-01-02T03:04:05Z".parse().unwrap();
        assert_eq!(Clock::fixed(t0).now(), t0);
        assert_eq!(Clock::fixed(t0).now_secs(), t0.timestamp());
        let (clock, hand) = Clock::manual(t0);
        hand.advance(chrono::Duration::seconds(90));
        assert_eq!(clock.now(), t0 + chrono::Duration::seconds(90));
        hand.set(t0);
        assert_eq!(clock.now_ms(), t0.timestamp_millis());
        assert!(Clock::system().now() > t0);
    }
}
