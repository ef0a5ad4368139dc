//! Feeds written by someone else: what a `feed.written` event leads to, as a pure function.
//!
//! praktika's runner writes commit authors' feeds itself, then tells its Slack worker (Pulse's
//! `praktika-compat` answers under that name) or S3 tells EventBridge. Either way the
//! feed-projector gets `feed.written` and, having read the object, follows these rules in order:
//!
//! 1. **Our bucket only.** A `feed.written` for another bucket is misrouted: rejected to the
//!    dead-letter queue with the bucket named.
//! 2. **Whose feed.** The email is the one given (praktika's `update` names it), which must be the
//!    key's owner (`FeedLocation::key(email) == key`, else rejected: the announcer and the
//!    projector disagree on `EVENT_FEED_S3_PATH`); otherwise it is read back from the key
//!    (`FeedLocation::email_of`). A key that is not a feed of this location (another prefix, a
//!    nested name, not `.json.gz`) or whose name is not an email is ignored: the S3 rule matches
//!    every key under `events/`.
//! 3. **Still there.** An object that no longer exists is ignored.
//! 4. **Not ours.** An object carrying the `pulse-writer` mark (`x-amz-meta-pulse-writer`, which
//!    every feed-projector write sets) is ignored: Pulse announced it when it wrote it. This is
//!    what keeps the S3 notification of Pulse's own writes from announcing them twice.
//! 5. **Readable.** A feed that cannot be parsed is rejected with the reason (retrying cannot fix
//!    what praktika wrote); an empty feed is ignored (nothing to show or DM).
//! 6. **Announce** `feed.updated` with the feed's first event as `newest_event` (praktika's
//!    worker DMs about `timeline.events[0]` too), `changes: [external_write]` and the event
//!    count. Its dedup key is `feed.updated:{email}:external:{etag}`: the object version, so the
//!    worker's `update` and S3's notification of one praktika write — and any redelivery — are
//!    the same announcement, which consumers process once. The notifier's DM ledger is keyed by
//!    praktika's per-run key, so even two versions holding the same newest run send one DM.
//!
//! Known limit: if Pulse writes the feed after praktika and before the object is read, the
//! object carries Pulse's mark and step 4 ignores it. praktika's run is then in the feed (Pulse
//! merged onto praktika's version, under `If-Match`) and shows on the Home tab with Pulse's own
//! announcement, but no DM is sent about it unless it is still the newest event.

use pulse_contracts::codec::decode_gzip_json;
use pulse_contracts::feed_layout::FeedLocation;
use pulse_contracts::praktika::EventFeed;
use pulse_contracts::{Email, FeedChange, FeedUpdated, FeedWritten};

use crate::project::FeedTarget;

/// A stored object as read from S3.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    pub etag: &'a str,
    /// The `pulse-writer` metadata, if any.
    pub writer: Option<&'a str>,
    pub bytes: &'a [u8],
}

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    Announce {
        update: Box<FeedUpdated>,
        dedup_key: String,
    },
    /// Nothing to do, and why (logged).
    Ignore(String),
    /// The event can never be acted on: dead-letter it with this reason.
    Reject(String),
}

/// Rules 1 and 2: which feed the event is about, before reading anything.
pub fn target(written: &FeedWritten, location: &FeedLocation) -> Result<FeedTarget, Plan> {
    if written.bucket != location.bucket {
        return Err(Plan::Reject(format!(
            "feed.written for s3://{}/{}, but this feed-projector's feeds are in bucket {}",
            written.bucket, written.key, location.bucket
        )));
    }
    let email = match &written.email {
        Some(email) => {
            let expected = location.key(email.as_str());
            if expected != written.key {
                return Err(Plan::Reject(format!(
                    "feed.written says {} is the feed of {email}, whose feed is {expected} here: the announcer's EVENT_FEED_S3_PATH differs from this feed-projector's",
                    written.key
                )));
            }
            email.clone()
        }
        None => {
            let Some(name) = location.email_of(&written.key) else {
                return Err(Plan::Ignore(format!("{} is not a feed under {:?}", written.key, location.events_prefix())));
            };
            match Email::parse(name) {
                Ok(email) => email,
                Err(err) => return Err(Plan::Ignore(format!("{}: the feed's name is not an email ({err})", written.key))),
            }
        }
    };
    Ok(FeedTarget { email, key: written.key.clone() })
}

/// Rules 3 to 6, once the object has been read (`None`: it does not exist).
pub fn plan(target: &FeedTarget, bucket: &str, object: Option<Seen<'_>>) -> Plan {
    let Some(object) = object else {
        return Plan::Ignore(format!("s3://{bucket}/{} no longer exists", target.key));
    };
    if let Some(writer) = object.writer {
        return Plan::Ignore(format!("s3://{bucket}/{} was written by Pulse ({writer}), which announced it", target.key));
    }
    let feed: EventFeed = match decode_gzip_json(object.bytes) {
        Ok(feed) => feed,
        Err(err) => return Plan::Reject(format!("the feed s3://{bucket}/{} cannot be read: {err}", target.key)),
    };
    let Some(newest) = feed.events.first() else {
        return Plan::Ignore(format!("s3://{bucket}/{} holds no events", target.key));
    };
    let etag = object.etag.trim_matches('"');
    Plan::Announce {
        dedup_key: format!("feed.updated:{}:external:{etag}", target.email),
        update: Box::new(FeedUpdated {
            email: target.email.clone(),
            bucket: bucket.to_owned(),
            key: target.key.clone(),
            newest_event: newest.clone(),
            changes: vec![FeedChange::ExternalWrite],
            event_count: feed.events.len() as u64,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulse_contracts::LearnedFrom;
    use pulse_contracts::codec::encode_gzip_json;
    use serde_json::json;

    const ALICE: &str = "a+b@x.io";

    fn location() -> FeedLocation {
        FeedLocation::praktika("feeds", "ci")
    }

    fn written(email: Option<&str>, key: &str) -> FeedWritten {
        FeedWritten {
            bucket: "feeds".into(),
            key: key.into(),
            email: email.map(|e| Email::parse(e).unwrap()),
            learned_from: LearnedFrom::S3Notification,
            etag: None,
            sequencer: None,
        }
    }

    fn feed_bytes(shas: &[&str]) -> Vec<u8> {
        let events: Vec<_> = shas
            .iter()
            .map(|sha| {
                json!({
                    "type": "completed", "timestamp": 1_700_000_000, "sha": sha, "ci_status": "failure",
                    "result": {"name": "PR", "status": "failure"},
                    "ext": {"pr_number": 7, "repo_name": "org/repo", "commit_authors": [ALICE]},
                })
            })
            .collect();
        encode_gzip_json(&json!({"events": events})).unwrap()
    }

    #[test]
    fn the_email_is_given_or_read_back_from_the_key() {
        let key = location().key(ALICE);
        assert_eq!(target(&written(Some(ALICE), &key), &location()).unwrap().email.as_str(), ALICE);
        assert_eq!(target(&written(None, &key), &location()).unwrap().email.as_str(), ALICE);
    }

    #[test]
    fn other_buckets_and_disagreeing_keys_are_rejected() {
        let mut w = written(None, &location().key(ALICE));
        w.bucket = "elsewhere".into();
        assert!(matches!(target(&w, &location()), Err(Plan::Reject(r)) if r.contains("elsewhere")));
        let w = written(Some(ALICE), "other/events/a_plus_b_at_x.io.json.gz");
        assert!(matches!(target(&w, &location()), Err(Plan::Reject(r)) if r.contains("EVENT_FEED_S3_PATH")));
    }

    #[test]
    fn keys_that_are_not_feeds_are_ignored() {
        for key in ["ci/events/tmp/x.json.gz", "ci/subscriptions/u.json", "ci/events/nobody.json.gz", "ci/events/.json.gz"] {
            assert!(matches!(target(&written(None, key), &location()), Err(Plan::Ignore(_))), "{key}");
        }
    }

    #[test]
    fn pulses_own_writes_and_missing_or_empty_feeds_are_not_announced() {
        let t = target(&written(None, &location().key(ALICE)), &location()).unwrap();
        let bytes = feed_bytes(&["abc"]);
        let own = Seen { etag: "\"e1\"", writer: Some("feed-projector"), bytes: &bytes };
        assert!(matches!(plan(&t, "feeds", Some(own)), Plan::Ignore(r) if r.contains("written by Pulse")));
        assert!(matches!(plan(&t, "feeds", None), Plan::Ignore(r) if r.contains("no longer exists")));
        let empty = encode_gzip_json(&json!({"events": []})).unwrap();
        assert!(matches!(plan(&t, "feeds", Some(Seen { etag: "e", writer: None, bytes: &empty })), Plan::Ignore(_)));
    }

    #[test]
    fn garbage_is_rejected_without_panicking() {
        let t = target(&written(None, &location().key(ALICE)), &location()).unwrap();
        for bytes in [&b""[..], b"\x1f\x8b\x08garbage", b"{\"events\": 3}", b"null"] {
            assert!(matches!(plan(&t, "feeds", Some(Seen { etag: "e", writer: None, bytes })), Plan::Reject(_)), "{bytes:?}");
        }
    }

    #[test]
    fn a_foreign_write_announces_the_first_event_keyed_by_the_object_version() {
        let t = target(&written(None, &location().key(ALICE)), &location()).unwrap();
        let bytes = feed_bytes(&["newest", "older"]);
        let Plan::Announce { update, dedup_key } = plan(&t, "feeds", Some(Seen { etag: "\"e1\"", writer: None, bytes: &bytes })) else {
            panic!("not announced")
        };
        assert_eq!(dedup_key, "feed.updated:a+b@x.io:external:e1");
        assert_eq!(update.newest_event.sha, "newest");
        assert_eq!(update.changes, vec![FeedChange::ExternalWrite]);
        assert_eq!((update.event_count, update.key.as_str(), update.bucket.as_str()), (2, "ci/events/a_plus_b_at_x.io.json.gz", "feeds"));
    }
}
