//! Inbound foreign events: events that reach a Pulse queue from an AWS service rather than from a
//! Pulse producer, and so carry no Pulse envelope. [`crate::from_sqs_body`] recognises them by
//! their EventBridge `source` and `detail-type` and turns each into the Pulse event it means, so
//! consumers only ever see typed envelopes.
//!
//! One is recognised today: S3's **`Object Created`** (`source` `aws.s3`), which S3 sends to
//! EventBridge's default bus when EventBridge notifications are on for a bucket. A rule there
//! delivers those of the feed bucket's `events/` keys to the feed-projector's queue. Each becomes
//! a `feed.written` v1 event (learned from `s3_notification`):
//!
//! - `bucket` ← `detail.bucket.name`, `key` ← `detail.object.key` (EventBridge sends keys
//!   verbatim, not URL-encoded), `etag` ← `detail.object.etag` (moto spells it `eTag`; both are
//!   read, quotes stripped), `sequencer` ← `detail.object.sequencer`;
//! - no `email`: the feed-projector reads it back from the key;
//! - `dedup_key` `feed.written:s3:{bucket}/{key}:{sequencer}` — one write of one key is one fact,
//!   however often EventBridge or SQS deliver it (S3 documents the sequencer as increasing per
//!   key). Without a sequencer the ETag stands in; with neither the event is refused;
//! - `id` ← the EventBridge event `id` when it is a UUID (a redelivered message keeps it), else one
//!   derived from the dedup key (every delivery of the write gets the same); `occurred_at` ←
//!   `time` (RFC 3339, or Unix seconds as moto writes it), else the Unix epoch, meaning unknown
//!   (nothing downstream reads a `feed.written`'s time); `source` `aws.s3`. Parsing reads no clock
//!   and draws no random id: the same message always becomes the same envelope.
//!
//! Any other `aws.s3` event (`Object Deleted`, ...) is refused with a reason naming it: no rule
//! should deliver one.

use std::hash::{DefaultHasher, Hash, Hasher};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::error::ContractError;
use crate::event::Event;
use crate::events::{FeedWritten, LearnedFrom};

/// EventBridge `source` of S3's events.
pub const S3_SOURCE: &str = "aws.s3";
/// EventBridge `detail-type` of a new or overwritten object.
pub const OBJECT_CREATED: &str = "Object Created";

/// Whether `event` (a whole EventBridge event) comes from a foreign source this module reads.
pub fn is_foreign(event: &Map<String, Value>) -> bool {
    event.get("source").and_then(Value::as_str) == Some(S3_SOURCE) && event.contains_key("detail-type")
}

/// The Pulse event a foreign EventBridge event means (see the module documentation).
pub fn from_eventbridge(event: &Map<String, Value>) -> Result<Envelope<Event>, ContractError> {
    let detail_type = event.get("detail-type").and_then(Value::as_str).unwrap_or_default();
    if detail_type != OBJECT_CREATED {
        return Err(refuse(
            format!("S3 event `{detail_type}`"),
            format!("Pulse only consumes S3 `{OBJECT_CREATED}` events; check the rule that delivered it"),
        ));
    }
    object_created(event)
}

fn object_created(event: &Map<String, Value>) -> Result<Envelope<Event>, ContractError> {
    let what = || format!("S3 `{OBJECT_CREATED}` event");
    let detail = event.get("detail").and_then(Value::as_object).ok_or_else(|| refuse(what(), "no `detail` object".into()))?;
    let text = |path: &[&str]| -> Option<String> {
        let mut at = detail.get(path[0])?;
        for part in &path[1..] {
            at = at.get(part)?;
        }
        at.as_str().map(|s| s.trim_matches('"').to_owned()).filter(|s| !s.is_empty())
    };
    let bucket = text(&["bucket", "name"]).ok_or_else(|| refuse(what(), "`detail.bucket.name` is missing or empty".into()))?;
    let key = text(&["object", "key"]).ok_or_else(|| refuse(what(), "`detail.object.key` is missing or empty".into()))?;
    let etag = text(&["object", "etag"]).or_else(|| text(&["object", "eTag"]));
    let sequencer = text(&["object", "sequencer"]);
    let version = sequencer.as_deref().or(etag.as_deref()).ok_or_else(|| {
        refuse(what(), format!("s3://{bucket}/{key} has neither `detail.object.sequencer` nor `detail.object.etag`, so one write cannot be told from another"))
    })?;
    let dedup_key = format!("feed.written:s3:{bucket}/{key}:{version}");
    let id = event.get("id").and_then(Value::as_str).and_then(|id| Uuid::parse_str(id).ok()).unwrap_or_else(|| derived_id(&dedup_key));
    let occurred_at = event.get("time").and_then(event_time).unwrap_or(DateTime::UNIX_EPOCH);
    let written = FeedWritten { bucket, key, email: None, learned_from: LearnedFrom::S3Notification, etag, sequencer };
    Ok(Envelope {
        id,
        event_type: "feed.written".to_owned(),
        version: 1,
        occurred_at,
        source: S3_SOURCE.to_owned(),
        dedup_key,
        detail: Event::FeedWrittenV1(written),
    })
}

/// The id of an event that came without a usable one: a hash of its dedup key, as a custom
/// (version 8) UUID.
fn derived_id(dedup_key: &str) -> Uuid {
    let half = |salt: u8| {
        let mut hasher = DefaultHasher::new();
        (salt, dedup_key).hash(&mut hasher);
        u128::from(hasher.finish())
    };
    uuid::Builder::from_custom_bytes(((half(0) << 64) | half(1)).to_be_bytes()).into_uuid()
}

/// EventBridge writes `time` as RFC 3339; moto writes Unix seconds.
fn event_time(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::String(s) => DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc)),
        Value::Number(n) => {
            let seconds = n.as_f64()?;
            if !seconds.is_finite() || !(0.0..=1e11).contains(&seconds) {
                return None;
            }
            Utc.timestamp_opt(seconds.trunc() as i64, ((seconds.fract()) * 1e9) as u32).single()
        }
        _ => None,
    }
}

fn refuse(what: String, reason: String) -> ContractError {
    ContractError::Foreign { what, reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An S3 `Object Created` event as EventBridge delivers it to SQS (AWS's documented shape).
    fn aws_event() -> Value {
        json!({
            "version": "0", "id": "c9888434-815d-c6f4-9fc2-4dd7bdeccaaf",
            "detail-type": "Object Created", "source": "aws.s3", "account": "111122223333",
            "time": "2026-05-12T09:41:06Z", "region": "us-east-1",
            "resources": ["arn:aws:s3:::ci-feeds"],
            "detail": {
                "version": "0", "bucket": {"name": "ci-feeds"},
                "object": {"key": "ci/slack/events/a_plus_b_at_x.io.json.gz", "size": 812,
                           "etag": "9b2cf535f27731c974343645a3985328", "sequencer": "0062F0A3B1C2D4E5F6"},
                "request-id": "N4N7GDK58NMKJ12R", "requester": "111122223333", "reason": "PutObject"
            }
        })
    }

    fn parse(v: &Value) -> Result<Envelope<Event>, ContractError> {
        from_eventbridge(v.as_object().unwrap())
    }

    #[test]
    fn object_created_becomes_feed_written() {
        let envelope = parse(&aws_event()).unwrap();
        assert_eq!((envelope.event_type.as_str(), envelope.version, envelope.source.as_str()), ("feed.written", 1, "aws.s3"));
        assert_eq!(envelope.dedup_key, "feed.written:s3:ci-feeds/ci/slack/events/a_plus_b_at_x.io.json.gz:0062F0A3B1C2D4E5F6");
        assert_eq!(envelope.id.to_string(), "c9888434-815d-c6f4-9fc2-4dd7bdeccaaf");
        assert_eq!(envelope.occurred_at.to_rfc3339(), "2026-05-12T09:41:06+00:00");
        let Event::FeedWrittenV1(w) = envelope.detail else { panic!("not feed.written") };
        assert_eq!(w.bucket, "ci-feeds");
        assert_eq!(w.key, "ci/slack/events/a_plus_b_at_x.io.json.gz");
        assert_eq!(w.email, None);
        assert_eq!(w.learned_from, LearnedFrom::S3Notification);
        assert_eq!(w.etag.as_deref(), Some("9b2cf535f27731c974343645a3985328"));
        assert_eq!(w.sequencer.as_deref(), Some("0062F0A3B1C2D4E5F6"));
    }

    #[test]
    fn motos_spelling_and_unix_time_are_read() {
        let mut v = aws_event();
        v["time"] = json!(1_778_578_866.25);
        let object = v["detail"]["object"].as_object_mut().unwrap();
        let etag = object.remove("etag").unwrap();
        object.insert("eTag".into(), json!(format!("\"{}\"", etag.as_str().unwrap())));
        let envelope = parse(&v).unwrap();
        assert_eq!(envelope.occurred_at.timestamp(), 1_778_578_866);
        let Event::FeedWrittenV1(w) = envelope.detail else { panic!() };
        assert_eq!(w.etag.as_deref(), Some("9b2cf535f27731c974343645a3985328"));
    }

    #[test]
    fn without_a_sequencer_the_etag_identifies_the_write() {
        let mut v = aws_event();
        v["detail"]["object"].as_object_mut().unwrap().remove("sequencer");
        assert!(parse(&v).unwrap().dedup_key.ends_with(":9b2cf535f27731c974343645a3985328"));
        v["detail"]["object"].as_object_mut().unwrap().remove("etag");
        let err = parse(&v).unwrap_err().to_string();
        assert!(err.contains("neither") && err.contains("s3://ci-feeds/"), "{err}");
    }

    #[test]
    fn missing_fields_and_other_s3_events_are_refused_by_name() {
        for (path, field) in [(&["detail", "bucket"][..], "detail.bucket.name"), (&["detail", "object"][..], "detail.object.key")] {
            let mut v = aws_event();
            v[path[0]].as_object_mut().unwrap().remove(path[1]);
            let err = parse(&v).unwrap_err().to_string();
            assert!(err.contains(field), "{err}");
        }
        let mut v = aws_event();
        v.as_object_mut().unwrap().remove("detail");
        assert!(parse(&v).unwrap_err().to_string().contains("no `detail`"));
        let mut v = aws_event();
        v["detail-type"] = json!("Object Deleted");
        assert!(parse(&v).unwrap_err().to_string().contains("`Object Deleted`"));
        for bad_time in [json!("yesterday"), json!(-5), json!(f64::MAX), json!(null)] {
            let mut v = aws_event();
            v["time"] = bad_time;
            assert!(parse(&v).is_ok(), "a bad time falls back to the epoch");
            assert_eq!(parse(&v).unwrap().occurred_at, DateTime::UNIX_EPOCH);
        }
    }

    #[test]
    fn an_event_without_a_uuid_gets_the_same_derived_id_on_every_delivery() {
        let mut v = aws_event();
        v["id"] = json!("not-a-uuid");
        let (first, again) = (parse(&v).unwrap(), parse(&v).unwrap());
        assert_eq!(first.id, again.id);
        assert_eq!(first.id.get_version_num(), 8);
        v["detail"]["object"]["sequencer"] = json!("0062F0A3B1C2D4E5F7");
        assert_ne!(parse(&v).unwrap().id, first.id, "another write, another id");
    }
}
