//! Per-channel pacing: Slack allows about one `chat.postMessage` per second per channel.
//!
//! Waiting before we send is cheaper than being told to wait (a 429 costs a round trip and, for
//! bursts, a cascade of them). The schedule is pure — [`Schedule::reserve`] takes the current
//! instant and answers how long to wait — so it is unit-tested without sleeping; [`Pacer`] wraps
//! it in a mutex for the handler. It is in-process: several workers may together exceed the
//! rate, which the client's 429 handling (Retry-After) then absorbs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The next free send slot of each channel.
#[derive(Debug, Default)]
pub struct Schedule {
    interval: Duration,
    next_slot: HashMap<String, Instant>,
}

impl Schedule {
    pub fn new(interval: Duration) -> Self {
        Self { interval, next_slot: HashMap::new() }
    }

    /// Reserve the next slot on `channel` at or after `now`; returns how long to wait for it.
    pub fn reserve(&mut self, channel: &str, now: Instant) -> Duration {
        // Forget slots long past so the map does not grow with every DM channel ever used.
        if self.next_slot.len() > 10_000 {
            self.next_slot.retain(|_, slot| *slot > now);
        }
        let slot = self.next_slot.get(channel).copied().filter(|s| *s > now).unwrap_or(now);
        self.next_slot.insert(channel.to_owned(), slot + self.interval);
        slot - now
    }
}

/// A shared [`Schedule`].
#[derive(Debug)]
pub struct Pacer {
    schedule: Mutex<Schedule>,
}

impl Pacer {
    pub fn new(interval: Duration) -> Self {
        Self { schedule: Mutex::new(Schedule::new(interval)) }
    }

    /// Sleep until `channel` may take another message.
    pub async fn wait(&self, channel: &str) {
        let wait = self.schedule.lock().unwrap_or_else(|p| p.into_inner()).reserve(channel, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_slot_per_interval_per_channel() {
        let mut s = Schedule::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(s.reserve("C1", t0), Duration::ZERO);
        assert_eq!(s.reserve("C1", t0), Duration::from_secs(1));
        assert_eq!(s.reserve("C1", t0 + Duration::from_millis(500)), Duration::from_millis(1500));
        // Another channel is not held up.
        assert_eq!(s.reserve("C2", t0), Duration::ZERO);
        // After a quiet period the channel is free again at once.
        assert_eq!(s.reserve("C1", t0 + Duration::from_secs(10)), Duration::ZERO);
    }
}
