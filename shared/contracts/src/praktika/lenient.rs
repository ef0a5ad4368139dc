//! Deserializers that accept what praktika's Python may leave in a field (`null`, a float for
//! an int) instead of failing the whole feed.
//!
//! Hand-written visitors replace serde's `flatten` where a feed holds many values: `flatten`
//! buffers every map before reading it again.

use super::{PrStatus, RunResult, Status};
use serde::de::{Deserialize, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    LenientString::deserialize(d).map(|s| s.0)
}

pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .ok_or_else(|| D::Error::custom(format!("integer out of range: {n}"))),
        Value::Null => Ok(0),
        Value::String(s) => s.trim().parse().map_err(|_| D::Error::custom(format!("expected an integer, found {s:?}"))),
        other => Err(D::Error::custom(format!("expected an integer, found {other}"))),
    }
}

pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::Null => false,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => matches!(s.to_ascii_lowercase().as_str(), "true" | "1" | "yes"),
        other => return Err(D::Error::custom(format!("expected a boolean, found {other}"))),
    })
}

pub fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items.into_iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        Value::Null => Vec::new(),
        other => return Err(D::Error::custom(format!("expected a list of strings, found {other}"))),
    })
}

pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => return Err(D::Error::custom(format!("expected a list, found {other}"))),
    })
}

pub fn object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Map<String, Value>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(m) => Some(m),
        Value::Null => None,
        other => return Err(D::Error::custom(format!("expected an object, found {other}"))),
    })
}

/// Reads a result map key by key: the four known fields leniently, the rest into `extra`.
pub struct RunResultVisitor;

impl<'de> Visitor<'de> for RunResultVisitor {
    type Value = RunResult;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a praktika result object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RunResult, A::Error> {
        let mut result = RunResult::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "name" => result.name = map.next_value::<LenientString>()?.0,
                "status" => result.status = map.next_value::<Status>()?,
                "results" => result.results = map.next_value::<Option<Jobs>>()?.map(|j| j.0),
                "ext" => result.ext = map.next_value::<LenientObject>()?.0,
                _ => {
                    let value: Value = map.next_value()?;
                    result.extra.insert(key.into_owned(), value);
                }
            }
        }
        Ok(result)
    }
}

/// Reads an event map key by key; praktika's seven fields typed (the first six required),
/// any other key into `dropped`.
pub struct FeedEventVisitor;

impl<'de> Visitor<'de> for FeedEventVisitor {
    type Value = super::FeedEvent;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a praktika event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<super::FeedEvent, A::Error> {
        let (mut kind, mut timestamp, mut sha, mut result, mut ci_status, mut ext) = (None, None, None, None, None, None);
        let mut linked_events = Vec::new();
        let mut dropped = Map::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "type" => kind = Some(map.next_value::<super::EventKind>()?),
                "timestamp" => timestamp = Some(map.next_value::<LenientInt>()?.0),
                "sha" => sha = Some(map.next_value::<LenientString>()?.0),
                "result" => result = Some(map.next_value::<RunResult>()?),
                "ci_status" => ci_status = Some(map.next_value::<Status>()?),
                "ext" => ext = Some(map.next_value::<super::EventExt>()?),
                "linked_events" => linked_events = map.next_value::<LenientList>()?.0,
                _ => {
                    let value: Value = map.next_value()?;
                    dropped.insert(key.into_owned(), value);
                }
            }
        }
        Ok(super::FeedEvent {
            kind: kind.ok_or_else(|| A::Error::missing_field("type"))?,
            timestamp: timestamp.ok_or_else(|| A::Error::missing_field("timestamp"))?,
            sha: sha.ok_or_else(|| A::Error::missing_field("sha"))?,
            result: result.ok_or_else(|| A::Error::missing_field("result"))?,
            ci_status: ci_status.ok_or_else(|| A::Error::missing_field("ci_status"))?,
            ext: ext.ok_or_else(|| A::Error::missing_field("ext"))?,
            linked_events,
            dropped,
        })
    }
}

/// Reads `ext` key by key.
pub struct ExtVisitor;

impl<'de> Visitor<'de> for ExtVisitor {
    type Value = super::EventExt;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a praktika ext object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<super::EventExt, A::Error> {
        let mut ext = super::EventExt::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let text = |map: &mut A| map.next_value::<LenientString>().map(|s| s.0);
            let number = |map: &mut A| map.next_value::<LenientInt>().map(|n| u64::try_from(n.0).unwrap_or(0));
            match key.as_ref() {
                "pr_number" => ext.pr_number = number(&mut map)?,
                "pr_title" => ext.pr_title = text(&mut map)?,
                "pr_status" => ext.pr_status = map.next_value::<LenientPrStatus>()?.0,
                "branch" => ext.branch = text(&mut map)?,
                "commit_message" => ext.commit_message = text(&mut map)?,
                "linked_pr_number" => ext.linked_pr_number = number(&mut map)?,
                "parent_pr_number" => ext.parent_pr_number = number(&mut map)?,
                "repo_name" => ext.repo_name = text(&mut map)?,
                "report_url" => ext.report_url = text(&mut map)?,
                "change_url" => ext.change_url = text(&mut map)?,
                "workflow_name" => ext.workflow_name = text(&mut map)?,
                "base_branch" => ext.base_branch = text(&mut map)?,
                "run_id" => ext.run_id = map.next_value::<Option<super::RunId>>()?,
                "run_url" => ext.run_url = text(&mut map)?,
                "commit_authors" => ext.commit_authors = map.next_value::<LenientStrings>()?.0,
                "is_cancelled" => ext.is_cancelled = map.next_value::<LenientBool>()?.0,
                _ => {
                    let value: Value = map.next_value()?;
                    ext.extra.insert(key.into_owned(), value);
                }
            }
        }
        Ok(ext)
    }
}

struct LenientPrStatus(Option<PrStatus>);

impl<'de> Deserialize<'de> for LenientPrStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        pr_status(d).map(LenientPrStatus)
    }
}

struct LenientStrings(Vec<String>);

impl<'de> Deserialize<'de> for LenientStrings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        strings(d).map(LenientStrings)
    }
}

struct LenientBool(bool);

impl<'de> Deserialize<'de> for LenientBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        boolean(d).map(LenientBool)
    }
}

struct LenientInt(i64);

impl<'de> Deserialize<'de> for LenientInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        int(d).map(LenientInt)
    }
}

struct LenientList(Vec<Value>);

impl<'de> Deserialize<'de> for LenientList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        list(d).map(LenientList)
    }
}

/// A list of job results; entries that are not objects are skipped, as praktika's
/// compaction skips them.
struct Jobs(Vec<RunResult>);

impl<'de> Deserialize<'de> for Jobs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct JobsVisitor;
        impl<'de> Visitor<'de> for JobsVisitor {
            type Value = Jobs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of job results")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Jobs, A::Error> {
                let mut jobs = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(job) = seq.next_element::<MaybeJob>()? {
                    jobs.extend(job.0);
                }
                Ok(Jobs(jobs))
            }
        }
        d.deserialize_seq(JobsVisitor)
    }
}

/// An element of `results`: a result object, or anything else (skipped).
struct MaybeJob(Option<RunResult>);

impl<'de> Deserialize<'de> for MaybeJob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MaybeJobVisitor;
        impl<'de> Visitor<'de> for MaybeJobVisitor {
            type Value = MaybeJob;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a job result")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MaybeJob, A::Error> {
                RunResultVisitor.visit_map(map).map(|r| MaybeJob(Some(r)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MaybeJob, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MaybeJob(None))
            }
            fn visit_str<E: Error>(self, _: &str) -> Result<MaybeJob, E> {
                Ok(MaybeJob(None))
            }
            fn visit_i64<E: Error>(self, _: i64) -> Result<MaybeJob, E> {
                Ok(MaybeJob(None))
            }
            fn visit_u64<E: Error>(self, _: u64) -> Result<MaybeJob, E> {
                Ok(MaybeJob(None))
            }
            fn visit_f64<E: Error>(self, _: f64) -> Result<MaybeJob, E> {
                Ok(MaybeJob(None))
            }
            fn visit_bool<E: Error>(self, _: bool) -> Result<MaybeJob, E> {
                Ok(MaybeJob(None))
            }
            fn visit_unit<E: Error>(self) -> Result<MaybeJob, E> {
                Ok(MaybeJob(None))
            }
        }
        d.deserialize_any(MaybeJobVisitor)
    }
}

/// A string field: a string as is, `null` as "", a number or boolean as its text.
struct LenientString(String);

impl<'de> Deserialize<'de> for LenientString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LenientString;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: Error>(self, v: &str) -> Result<LenientString, E> {
                Ok(LenientString(v.to_owned()))
            }
            fn visit_string<E: Error>(self, v: String) -> Result<LenientString, E> {
                Ok(LenientString(v))
            }
            fn visit_unit<E: Error>(self) -> Result<LenientString, E> {
                Ok(LenientString(String::new()))
            }
            fn visit_none<E: Error>(self) -> Result<LenientString, E> {
                Ok(LenientString(String::new()))
            }
            fn visit_i64<E: Error>(self, v: i64) -> Result<LenientString, E> {
                Ok(LenientString(v.to_string()))
            }
            fn visit_u64<E: Error>(self, v: u64) -> Result<LenientString, E> {
                Ok(LenientString(v.to_string()))
            }
            fn visit_f64<E: Error>(self, v: f64) -> Result<LenientString, E> {
                Ok(LenientString(v.to_string()))
            }
            fn visit_bool<E: Error>(self, v: bool) -> Result<LenientString, E> {
                Ok(LenientString(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A status: a known string without allocating, anything else as [`LenientString`] reads it.
pub struct StatusVisitor;

impl<'de> Visitor<'de> for StatusVisitor {
    type Value = Status;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a status string")
    }
    fn visit_str<E: Error>(self, v: &str) -> Result<Status, E> {
        Ok(Status::new(v))
    }
    fn visit_unit<E: Error>(self) -> Result<Status, E> {
        Ok(Status::default())
    }
    fn visit_none<E: Error>(self) -> Result<Status, E> {
        Ok(Status::default())
    }
    fn visit_i64<E: Error>(self, v: i64) -> Result<Status, E> {
        Ok(Status::new(&v.to_string()))
    }
    fn visit_u64<E: Error>(self, v: u64) -> Result<Status, E> {
        Ok(Status::new(&v.to_string()))
    }
    fn visit_f64<E: Error>(self, v: f64) -> Result<Status, E> {
        Ok(Status::new(&v.to_string()))
    }
    fn visit_bool<E: Error>(self, v: bool) -> Result<Status, E> {
        Ok(Status::new(&v.to_string()))
    }
}

/// An object field: `null` (or absent) as `None`.
struct LenientObject(Option<Map<String, Value>>);

impl<'de> Deserialize<'de> for LenientObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        object(d).map(LenientObject)
    }
}

/// `open`, `queued`, `merged` in any case; anything else reads as absent, and praktika's
/// renderer infers it again.
pub fn pr_status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PrStatus>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "open" => Some(PrStatus::Open),
            "queued" => Some(PrStatus::Queued),
            "merged" => Some(PrStatus::Merged),
            _ => None,
        },
        _ => None,
    })
}
