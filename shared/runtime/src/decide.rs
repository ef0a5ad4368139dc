//! What to do with a message, as data: the claim's outcome and the receive in, the next step out.
//!
//! The rules:
//! 1. A key already completed is acknowledged: the effect happened.
//! 2. A key held by a live attempt is put back until just after its lease ends (one receive per
//!    held lease), so a second worker never takes over a live attempt.
//! 3. A key whose holders died `limit` times (the queue's `maxReceiveCount`) is dead-lettered with
//!    "attempt did not finish N times": it kills its consumer every time.
//! 4. Otherwise the attempt runs. On the message's last receive (SQS would move the next receive
//!    to the dead-letter queue without a word) the message is first replaced by a fresh copy that
//!    becomes visible when this attempt's lease ends: if the attempt dies, the copy takes over, so
//!    fewer than `limit` deaths never dead-letter a message, and the runtime, not SQS, decides
//!    when to give up, with a reason.
//! 5. After the run: success is done; a rejection is dead-lettered; a retryable failure or a
//!    panic is retried with backoff, and dead-lettered with its reason on the last receive.

use std::time::Duration;

use pulse_aws::idempotency::Claim;

/// Dead attempts tolerated when the queue has no redrive policy.
pub const DEFAULT_LIMIT: u32 = 5;

/// Which receive of the message this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receive {
    /// `ApproximateReceiveCount` (1 on the first delivery).
    pub count: u32,
    /// The queue's `maxReceiveCount`, if it has a redrive policy.
    pub max: Option<u32>,
}

impl Receive {
    /// Whether SQS would dead-letter the message on its next receive.
    pub fn is_last(&self) -> bool {
        self.max.is_some_and(|max| self.count >= max)
    }

    /// How many dead attempts make a message poison.
    pub fn death_limit(&self) -> u32 {
        self.max.unwrap_or(DEFAULT_LIMIT)
    }
}

/// What the transport does with the message once the runtime is done with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Handled (or deliberately dropped): delete it.
    Done,
    /// Copied to the dead-letter queue with its reason: delete it.
    DeadLettered { reason: String },
    /// Leave it; it becomes visible again after `after`.
    Retry { reason: String, after: Duration },
    /// Replace it with a fresh copy (receive count 1) visible after `after`: its last receive is
    /// spent, and the runtime, not SQS, decides when it is dead.
    Requeue { reason: String, after: Duration },
    /// Already replaced by a copy before the attempt ran: nothing left to do with it. Carries the
    /// reason if the attempt dead-lettered the event.
    Replaced { dead_lettered: Option<String> },
}

impl Disposition {
    /// Whether the transport deletes (or has already replaced) the message.
    pub fn is_settled(&self) -> bool {
        !matches!(self, Disposition::Retry { .. })
    }
}

/// The step after a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Settle without running.
    Settle(Disposition),
    /// Dead-letter it (and record so on the key, which this attempt holds).
    DeadLetter(String),
    /// Run the handler; first replace the message by a copy visible once the lease ends.
    Run { replace_first: bool },
}

/// Rules 1–4.
pub fn after_claim(claim: &Claim, receive: Receive, now_ms: i64) -> Step {
    match claim {
        Claim::Completed { .. } => Step::Settle(Disposition::Done),
        Claim::Held { until_ms, .. } => {
            let after = just_after(*until_ms, now_ms);
            let reason = format!("another attempt holds this event for {}s more", after.as_secs());
            Step::Settle(if receive.is_last() { Disposition::Requeue { reason, after } } else { Disposition::Retry { reason, after } })
        }
        Claim::Acquired { died, .. } if *died >= receive.death_limit() => Step::DeadLetter(format!("attempt did not finish {died} times")),
        Claim::Acquired { .. } => Step::Run { replace_first: receive.is_last() },
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    Ok,
    Rejected(String),
    Retryable(String),
    Panicked(String),
    /// Another holder has an effect it needs until `until_ms`.
    Wait {
        reason: String,
        until_ms: i64,
    },
}

/// Rule 5; a wait for another holder is rule 2 again.
pub fn after_run(ran: Ran, receive: Receive, max_retry_delay: Duration, now_ms: i64) -> Disposition {
    let retry = |reason: String| {
        if receive.is_last() {
            Disposition::DeadLettered { reason: format!("{reason} (receive {} of {}: giving up)", receive.count, receive.death_limit()) }
        } else {
            Disposition::Retry { after: retry_delay(receive.count, max_retry_delay), reason }
        }
    };
    match ran {
        Ran::Ok => Disposition::Done,
        Ran::Rejected(reason) => Disposition::DeadLettered { reason },
        Ran::Retryable(reason) => retry(reason),
        Ran::Panicked(message) => retry(format!("the handler panicked: {message}")),
        Ran::Wait { reason, until_ms } => {
            let after = just_after(until_ms, now_ms);
            if receive.is_last() { Disposition::Requeue { reason, after } } else { Disposition::Retry { reason, after } }
        }
    }
}

/// 1 s, 2 s, 4 s ... capped: a failing dependency is not hammered, a transient blip retries fast.
pub fn retry_delay(receive_count: u32, max: Duration) -> Duration {
    let secs = 1u64 << receive_count.saturating_sub(1).min(16);
    Duration::from_secs(secs).min(max)
}

/// A second after `until_ms`, from `now_ms`.
fn just_after(until_ms: i64, now_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(until_ms.saturating_sub(now_ms)).unwrap_or(0)) + Duration::from_secs(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: Duration = Duration::from_secs(300);

    fn receive(count: u32) -> Receive {
        Receive { count, max: Some(5) }
    }

    #[test]
    fn a_completed_key_is_acknowledged_and_a_held_one_waits_for_its_lease() {
        assert_eq!(after_claim(&Claim::Completed { result: None }, receive(2), 0), Step::Settle(Disposition::Done));
        let held = Claim::Held { attempt: None, until_ms: 10_000 };
        let Step::Settle(Disposition::Retry { after, .. }) = after_claim(&held, receive(1), 4_000) else { panic!() };
        assert_eq!(after, Duration::from_secs(7), "just after the lease ends");
        assert!(matches!(after_claim(&held, receive(5), 4_000), Step::Settle(Disposition::Requeue { .. })));
    }

    #[test]
    fn deaths_below_the_limit_run_again_and_the_last_receive_is_replaced_first() {
        assert_eq!(after_claim(&Claim::Acquired { died: 0, previous: None }, receive(1), 0), Step::Run { replace_first: false });
        assert_eq!(after_claim(&Claim::Acquired { died: 4, previous: None }, receive(5), 0), Step::Run { replace_first: true });
        assert_eq!(
            after_claim(&Claim::Acquired { died: 5, previous: None }, receive(1), 0),
            Step::DeadLetter("attempt did not finish 5 times".into())
        );
        let no_policy = Receive { count: 40, max: None };
        assert_eq!(after_claim(&Claim::Acquired { died: 4, previous: None }, no_policy, 0), Step::Run { replace_first: false });
    }

    #[test]
    fn failures_retry_with_backoff_until_the_last_receive() {
        assert_eq!(after_run(Ran::Ok, receive(5), MAX, 0), Disposition::Done);
        assert_eq!(after_run(Ran::Rejected("bad".into()), receive(1), MAX, 0), Disposition::DeadLettered { reason: "bad".into() });
        assert_eq!(
            after_run(Ran::Retryable("slack down".into()), receive(3), MAX, 0),
            Disposition::Retry { reason: "slack down".into(), after: Duration::from_secs(4) }
        );
        let Disposition::DeadLettered { reason } = after_run(Ran::Panicked("boom".into()), receive(5), MAX, 0) else { panic!() };
        assert!(reason.starts_with("the handler panicked: boom"), "{reason}");
    }

    #[test]
    fn waiting_for_another_holder_comes_back_when_it_is_done_and_never_dead_letters() {
        let wait = || Ran::Wait { reason: "ledger entry held".into(), until_ms: 30_000 };
        assert_eq!(
            after_run(wait(), receive(2), MAX, 10_000),
            Disposition::Retry { reason: "ledger entry held".into(), after: Duration::from_secs(21) }
        );
        assert!(matches!(after_run(wait(), receive(5), MAX, 10_000), Disposition::Requeue { .. }));
    }

    #[test]
    fn retry_delay_doubles_and_caps() {
        assert_eq!(retry_delay(1, MAX), Duration::from_secs(1));
        assert_eq!(retry_delay(2, MAX), Duration::from_secs(2));
        assert_eq!(retry_delay(4, MAX), Duration::from_secs(8));
        assert_eq!(retry_delay(30, MAX), MAX);
    }
}
