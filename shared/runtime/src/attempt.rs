//! One attempt at one message: its id, the event it is about, and the moment it can no longer be
//! running.

pub use pulse_core::Deadline;

use crate::handler::Meta;

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
