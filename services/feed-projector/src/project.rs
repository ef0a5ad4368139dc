//! Pure planning around the merge: which feeds one `ci.workflow` event touches and what
//! `feed.updated` event each change produces. No I/O here.

use std::collections::BTreeSet;

use pulse_contracts::praktika::{EventFeed, FeedEvent};
use pulse_contracts::{Email, FeedChange};

use crate::merge::{Change, MergeOutcome};
use pulse_contracts::feed_layout::FeedLocation;

/// One feed an incoming event must be merged into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedTarget {
    pub email: Email,
    pub key: String,
}

/// Why an event cannot be projected at all (the message is rejected to the DLQ).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectError {
    #[error("ci.workflow event for {repo}@{sha}: commit author {reason}")]
    BadAuthor { repo: String, sha: String, reason: String },
}

/// The feeds `event` belongs in: one per distinct commit-author email, in a stable order.
/// Emails are used as written (praktika neither trims nor lowercases them); empty ones are
/// skipped. No authors at all is not an error: praktika's runner updates no feed then either.
pub fn targets(event: &FeedEvent, location: &FeedLocation) -> Result<Vec<FeedTarget>, ProjectError> {
    let emails: BTreeSet<&str> = event.ext.commit_authors.iter().map(String::as_str).filter(|e| !e.is_empty()).collect();
    emails
        .into_iter()
        .map(|email| {
            let email = Email::parse(email).map_err(|err| ProjectError::BadAuthor {
                repo: event.ext.repo_name.clone(),
                sha: event.sha.clone(),
                reason: err.to_string(),
            })?;
            Ok(FeedTarget { key: location.key(email.as_str()), email })
        })
        .collect()
}

/// The `feed.updated` change list for a merge. A merge that changed nothing but whose event is in
/// the feed is a retry after an attempt that stored the feed and stopped before announcing it:
/// announced as [`FeedChange::Republished`].
pub fn announced_changes(outcome: &MergeOutcome) -> Vec<FeedChange> {
    let changes: Vec<FeedChange> = outcome.changes.iter().map(contract_change).collect();
    if changes.is_empty() { vec![FeedChange::Republished] } else { changes }
}

fn contract_change(change: &Change) -> FeedChange {
    match change {
        Change::NewEvent => FeedChange::NewEvent,
        Change::Replaced { .. } => FeedChange::Replaced,
        Change::StatusChanged { .. } => FeedChange::StatusChanged,
        Change::NewFailure => FeedChange::NewFailure,
        Change::Completed => FeedChange::Completed,
        Change::MarkedMerged { .. } => FeedChange::MarkedMerged,
        Change::CancelledStale { .. } => FeedChange::CancelledStale,
        Change::Trimmed { .. } => FeedChange::Trimmed,
        Change::Compacted { .. } => FeedChange::Compacted,
    }
}

/// Whether `feed` holds `incoming` as its current entry (same run identity, same moment).
///
/// After a crash between the S3 write and the publish, a retry finds the feed already merged
/// ("no change") and must still announce it; an event superseded by a newer one must not be
/// announced. This tells the two apart.
pub fn holds(feed: &EventFeed, incoming: &FeedEvent) -> bool {
    feed.events.iter().any(|e| {
        e.ext.repo_name == incoming.ext.repo_name
            && e.ext.pr_number == incoming.ext.pr_number
            && e.sha == incoming.sha
            && e.timestamp == incoming.timestamp
            && e.kind == incoming.kind
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(authors: &[&str]) -> FeedEvent {
        serde_json::from_value(json!({
            "type": "completed", "timestamp": 1_700_000_000, "sha": "abc", "ci_status": "success",
            "result": {"name": "PR", "status": "success"},
            "ext": {"pr_number": 7, "repo_name": "org/repo", "commit_authors": authors},
        }))
        .unwrap()
    }

    #[test]
    fn one_target_per_distinct_author() {
        let t = targets(&event(&["b@x.io", "a@x.io", "b@x.io", ""]), &FeedLocation::praktika("b", "p")).unwrap();
        assert_eq!(t.iter().map(|t| t.email.as_str()).collect::<Vec<_>>(), ["a@x.io", "b@x.io"]);
        assert_eq!(t[1].key, "p/events/b_at_x.io.json.gz");
        assert_eq!(t[0].key, "p/events/a_at_x.io.json.gz");
    }

    #[test]
    fn no_authors_is_no_feed_and_no_error() {
        assert_eq!(targets(&event(&[]), &FeedLocation::praktika("b", "p")), Ok(vec![]));
    }

    #[test]
    fn a_malformed_author_is_rejected_with_the_run_named() {
        let err = targets(&event(&[" a@x.io"]), &FeedLocation::praktika("b", "p")).unwrap_err();
        assert!(err.to_string().contains("org/repo@abc"), "{err}");
    }

    #[test]
    fn a_redelivery_changes_nothing_but_is_still_held_and_announced_as_republished() {
        let e = event(&["a@x.io"]);
        let mut feed = EventFeed::default();
        assert!(crate::merge::merge(&mut feed, e.clone(), 1_700_000_100).changed);
        let again = crate::merge::merge(&mut feed, e.clone(), 1_700_000_100);
        assert!(!again.changed, "a redelivery must not rewrite the feed");
        assert!(holds(&feed, &e));
        assert_eq!(announced_changes(&again), vec![FeedChange::Republished]);
    }

    #[test]
    fn a_superseded_event_is_not_held() {
        let newer = event(&["a@x.io"]);
        let mut older = newer.clone();
        older.timestamp -= 60;
        let mut feed = EventFeed::default();
        crate::merge::merge(&mut feed, newer, 1_700_000_100);
        assert!(!crate::merge::merge(&mut feed, older.clone(), 1_700_000_100).changed);
        assert!(!holds(&feed, &older));
    }
}
