//! The call budgets: what one CI event and one Slack request may cost, per process, AWS service
//! and operation, derived from the design (ARCHITECTURE.md, "Event flow today") and checked
//! against every window the test measures. A call nobody budgeted, or more calls than budgeted,
//! fails the test naming the process, service and operation that grew; fewer fails too, so a
//! saving is written down here on purpose.
//!
//! Exact where the work is deterministic. Ranges only where the count legitimately varies:
//! - SQS receives and batch deletes of a queue that gets several messages at once (the
//!   feed-projector announces one `feed.updated` per author in one PutEvents): one receive may
//!   take them all or each its own, 1 ..= messages;
//! - `ReceiveMessage (empty)` is never budgeted: long polling returns empty every 20 s per
//!   receive loop, with time and not with work (Lambda's event source mapping polls the same
//!   way; BENCHMARKS.md costs it per queue and month).

use std::collections::BTreeMap;
use std::fmt;

use super::meter::{Key, SLACK, Window};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    Exactly(u64),
    Between(u64, u64),
}

impl Bound {
    fn allows(self, n: u64) -> bool {
        match self {
            Bound::Exactly(m) => n == m,
            Bound::Between(lo, hi) => (lo..=hi).contains(&n),
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Exactly(m) => write!(f, "exactly {m}"),
            Bound::Between(lo, hi) => write!(f, "{lo} to {hi}"),
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct Budget(BTreeMap<Key, Bound>);

impl Budget {
    fn key(process: &str, service: &str, op: &str) -> Key {
        (process.to_owned(), service.to_owned(), op.to_owned())
    }

    fn exactly(&mut self, process: &str, service: &str, op: &str, n: u64) -> &mut Self {
        if n > 0 {
            self.0.insert(Self::key(process, service, op), Bound::Exactly(n));
        }
        self
    }

    fn between(&mut self, process: &str, service: &str, op: &str, lo: u64, hi: u64) -> &mut Self {
        if hi > 0 {
            self.0.insert(Self::key(process, service, op), if lo == hi { Bound::Exactly(lo) } else { Bound::Between(lo, hi) });
        }
        self
    }

    fn slack(&mut self, method: &str, n: u64) -> &mut Self {
        self.exactly(SLACK.0, SLACK.1, method, n)
    }

    /// A consumer's share of `messages` arriving on its queue, `claimed` of them through the
    /// runtime's claim (a claim and its completion: two conditional PutItems in its idempotency
    /// table; a message the service only acknowledges, such as another service's Slack command,
    /// takes no claim): received in 1 ..= messages receives, deleted in 1 ..= messages batch
    /// deletes (the poller deletes what one receive brought in one call).
    fn consumed(&mut self, service: &str, messages: u64, claimed: u64) -> &mut Self {
        self.between(service, "sqs", &format!("ReceiveMessage {service}"), messages.min(1), messages)
            .between(service, "sqs", &format!("DeleteMessageBatch {service}"), messages.min(1), messages)
            .exactly(service, "dynamodb", &format!("PutItem {service}-idempotency"), 2 * claimed)
    }

    /// Every way `window` is outside this budget, one line each.
    pub fn check(&self, label: &str, window: &Window) -> Vec<String> {
        let mut keys: Vec<&Key> = self.0.keys().chain(window.calls.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter(|(_, _, op)| !op.starts_with("ReceiveMessage (empty)"))
            .filter_map(|key| {
                let n = window.calls.get(key).copied().unwrap_or(0);
                let bound = self.0.get(key).copied().unwrap_or(Bound::Exactly(0));
                (!bound.allows(n)).then(|| format!("{label}: {} {} {}: {n} calls, budget {bound}", key.0, key.1, key.2))
            })
            .collect()
    }
}

/// The notifier records when it last handled an event (for `/pulser health`) at most every 30 s:
/// one PutItem in its messages table that falls into whichever window is running then.
const NOTIFIER_HEALTH: u64 = 1;

/// What a CI event sets in motion.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CiShape {
    /// Commit authors of the run: feeds written, `feed.updated` announced.
    pub authors: u64,
    /// Slack users subscribed to those authors: Home views republished.
    pub subscribers: u64,
    /// Failure DMs the run earns (subscribers with "notify on failure" of a failed run).
    pub dms: u64,
    /// Of those, DMs to a user never DMed before (the DM channel is opened and remembered).
    pub first_dms: u64,
}

/// One `ci.workflow` event published by `pulse publish`, through to its last effect.
pub fn ci_event(shape: CiShape) -> Budget {
    let CiShape { authors, subscribers, dms, first_dms } = shape;
    let mut budget = Budget::default();
    // CI: one PutEvents of one entry.
    budget.exactly("pulse publish", "events", "PutEvents", 1).exactly("pulse publish", "events", "PutEvents entries", 1);
    // feed-projector: the event (claimed), and per author a conditional read (404 for a new
    // feed, 304 when its cached copy is current) and an If-Match write of the feed, and one
    // PutEvents carrying a feed.updated per author. Each write comes back: S3's Object Created
    // notification reaches the feed-projector as `feed.written` (how praktika's own writes are
    // noticed), which it reads (GetObject) to find its own writer mark and drops, unclaimed.
    budget
        .consumed("feed-projector", 1 + authors, 1)
        .between("feed-projector", "sqs", "ReceiveMessage feed-projector", 2, 1 + authors)
        .between("feed-projector", "sqs", "DeleteMessageBatch feed-projector", 2, 1 + authors)
        .exactly("feed-projector", "s3", "GetObject", 2 * authors)
        .exactly("feed-projector", "s3", "PutObject", authors)
        .exactly("feed-projector", "events", "PutEvents", 1)
        .exactly("feed-projector", "events", "PutEvents entries", authors);
    // home-renderer: a feed.updated per author, each asking who follows that email (Query);
    // per subscriber their preferences (Query), the feed (GetObject), the view's sequence
    // (PutItem: never an older view over a newer) and views.publish.
    budget
        .consumed("home-renderer", authors, authors)
        .exactly("home-renderer", "dynamodb", "Query home-renderer-subscriptions", authors + subscribers)
        .exactly("home-renderer", "s3", "GetObject", subscribers)
        .exactly("home-renderer", "dynamodb", "PutItem home-renderer-subscriptions", subscribers)
        .slack("views.publish", subscribers);
    // notifier: a feed.updated per author, each asking its projection who follows that email
    // (Query); per DM three reads (DM channel, ledger entry, last DM of that feed), the ledger's
    // claim (PutItem) and record (UpdateItem) around chat.postMessage; a first DM to a user
    // opens the channel and remembers it (conversations.open, PutItem).
    budget
        .consumed("notifier", authors, authors)
        .exactly("notifier", "dynamodb", "Query notifier-messages", authors)
        .exactly("notifier", "dynamodb", "GetItem notifier-messages", 3 * dms)
        .between("notifier", "dynamodb", "PutItem notifier-messages", dms + first_dms, dms + first_dms + NOTIFIER_HEALTH)
        .exactly("notifier", "dynamodb", "UpdateItem notifier-messages", dms)
        .slack("conversations.open", first_dms)
        .slack("chat.postMessage", dms);
    budget
}

/// The Slack requests the test makes.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub enum SlackRequest {
    /// `/praktika subscribe <email>`.
    Subscribe,
    /// A Home tab toggle (`toggle_notify_on_failure`).
    Toggle,
    /// `app_home_opened`.
    HomeOpened,
}

/// One Slack request through ingress, through to its last effect.
pub fn slack_request(request: SlackRequest) -> Budget {
    let mut budget = Budget::default();
    // ingress: the envelope ledger's claim and completion around one PutEvents.
    budget.exactly("ingress", "dynamodb", "UpdateItem ingress-envelopes", 2).exactly("ingress", "events", "PutEvents", 1).exactly(
        "ingress",
        "events",
        "PutEvents entries",
        1,
    );
    // home-renderer: the request (claimed); who the user follows (Query), the feed (GetObject:
    // 404 here, nothing published yet), the view's sequence (PutItem) and views.publish.
    budget
        .consumed("home-renderer", 1, 1)
        .exactly("home-renderer", "dynamodb", "Query home-renderer-subscriptions", 1)
        .exactly("home-renderer", "s3", "GetObject", 1)
        .exactly("home-renderer", "dynamodb", "PutItem home-renderer-subscriptions", 1)
        .slack("views.publish", 1);
    if request == SlackRequest::HomeOpened {
        return budget;
    }
    // A subscription change: read the current state (GetItem), write the new revision
    // (subscribe: the email's row in one transaction with the user's, then the revision;
    // toggle: two conditional updates), announce subscription.changed (PutEvents). The
    // notifier acknowledges the Slack event unclaimed (not its work) and projects
    // subscription.changed (claimed; a consistent GetItem of the user's guard, then two
    // conditional PutItems: the email's row, then the guard).
    budget
        .exactly("home-renderer", "dynamodb", "GetItem home-renderer-subscriptions", 1)
        .exactly("home-renderer", "events", "PutEvents", 1)
        .exactly("home-renderer", "events", "PutEvents entries", 1)
        .consumed("notifier", 2, 1)
        .exactly("notifier", "dynamodb", "GetItem notifier-messages", 1)
        .between("notifier", "dynamodb", "PutItem notifier-messages", 2, 2 + NOTIFIER_HEALTH);
    match request {
        SlackRequest::Subscribe => {
            budget
                .exactly("home-renderer", "dynamodb", "TransactWriteItems home-renderer-subscriptions", 1)
                .exactly("home-renderer", "dynamodb", "UpdateItem home-renderer-subscriptions", 1)
                .slack("response_url", 1);
        }
        SlackRequest::Toggle => {
            budget.exactly("home-renderer", "dynamodb", "UpdateItem home-renderer-subscriptions", 2);
        }
        SlackRequest::HomeOpened => {}
    }
    budget
}
