//! The fast-path dedup of envelopes: a bounded, insertion-ordered set of the envelope ids this
//! client has seen, with what became of each.
//!
//! Slack redelivers an envelope (same `envelope_id`, `retry_attempt > 0`) when it saw no ack,
//! typically because the connection it went out on dropped. This set lets the client ack such a
//! redelivery without calling the sink again. It is per process and forgets: the envelope
//! ledger in DynamoDB, written by the sink, is the durable dedup.

use std::collections::{HashMap, VecDeque};

use serde_json::Value;
use tokio::sync::watch;

/// What became of an envelope id.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Status {
    /// The sink is working on it.
    InFlight,
    /// The sink accepted it, with this response payload.
    Done(Option<Value>),
    /// The sink failed; the id was forgotten so that Slack's retry is processed afresh.
    Failed,
}

/// The answer of [`Recent::begin`].
pub(crate) enum Seen {
    /// First sighting: the caller must process it and report with [`Recent::finish`].
    New,
    /// Another delivery of it is being processed; wait on the receiver for the outcome.
    InFlight(watch::Receiver<Status>),
    /// Already processed, with this response payload.
    Done(Option<Value>),
}

struct Entry {
    generation: u64,
    status: watch::Sender<Status>,
}

/// Bounded set of recent envelope ids. Oldest ids are forgotten first.
pub(crate) struct Recent {
    capacity: usize,
    generation: u64,
    entries: HashMap<String, Entry>,
    order: VecDeque<(String, u64)>,
}

impl Recent {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), generation: 0, entries: HashMap::new(), order: VecDeque::new() }
    }

    /// Records a sighting of `id` and says whether it must be processed.
    pub(crate) fn begin(&mut self, id: &str) -> Seen {
        if let Some(entry) = self.entries.get(id) {
            let status = entry.status.borrow().clone();
            return match status {
                Status::InFlight => Seen::InFlight(entry.status.subscribe()),
                Status::Done(payload) => Seen::Done(payload),
                // Not kept in the map (see `finish`); treat defensively as new.
                Status::Failed => {
                    entry.status.send_replace(Status::InFlight);
                    Seen::New
                }
            };
        }
        self.generation += 1;
        let (status, _) = watch::channel(Status::InFlight);
        self.entries.insert(id.to_owned(), Entry { generation: self.generation, status });
        self.order.push_back((id.to_owned(), self.generation));
        while self.entries.len() > self.capacity || self.order.len() > 2 * self.capacity {
            let Some((old, generation)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&old).is_some_and(|e| e.generation == generation) {
                self.entries.remove(&old);
            }
        }
        Seen::New
    }

    /// Reports the outcome of processing `id`: `Some(payload)` for success, `None` for failure
    /// (the id is forgotten so that a redelivery is processed again). Wakes waiters.
    pub(crate) fn finish(&mut self, id: &str, outcome: Option<Option<Value>>) {
        match outcome {
            Some(payload) => {
                if let Some(entry) = self.entries.get(id) {
                    entry.status.send_replace(Status::Done(payload));
                }
            }
            None => {
                if let Some(entry) = self.entries.remove(id) {
                    entry.status.send_replace(Status::Failed);
                }
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn first_sighting_is_new_then_in_flight_then_done() {
        let mut r = Recent::new(10);
        assert!(matches!(r.begin("E1"), Seen::New));
        let Seen::InFlight(mut rx) = r.begin("E1") else { panic!("expected in flight") };
        r.finish("E1", Some(Some(json!({"text": "ok"}))));
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), Status::Done(Some(json!({"text": "ok"}))));
        assert!(matches!(r.begin("E1"), Seen::Done(Some(_))));
    }

    #[test]
    fn a_failure_is_forgotten_so_the_retry_is_processed() {
        let mut r = Recent::new(10);
        assert!(matches!(r.begin("E1"), Seen::New));
        let Seen::InFlight(rx) = r.begin("E1") else { panic!("expected in flight") };
        r.finish("E1", None);
        assert_eq!(*rx.borrow(), Status::Failed);
        assert!(matches!(r.begin("E1"), Seen::New));
    }

    #[test]
    fn capacity_bounds_memory_and_forgets_the_oldest() {
        let mut r = Recent::new(3);
        for id in ["A", "B", "C", "D"] {
            assert!(matches!(r.begin(id), Seen::New));
            r.finish(id, Some(None));
        }
        assert_eq!(r.len(), 3);
        assert!(matches!(r.begin("D"), Seen::Done(None)));
        assert!(matches!(r.begin("A"), Seen::New), "oldest forgotten");
        // Churn of failures does not grow the order queue without bound.
        for i in 0..100 {
            let id = format!("F{i}");
            let _ = r.begin(&id);
            r.finish(&id, None);
        }
        assert!(r.order.len() <= 6);
    }
}
