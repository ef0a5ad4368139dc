//! `conversations.history` and `conversations.replies`: reading a channel back, the way a
//! sender checks whether a post whose answer was lost did land (Pulse's notifier does, by the
//! message metadata it attaches).
//!
//! As Slack: newest first for history (thread replies left out), the parent then its replies
//! oldest first for replies; `oldest`/`latest` bounds exclusive unless `inclusive`; `limit`
//! (default 100, at most 999) with `has_more` and a `next_cursor`; metadata only with
//! `include_all_metadata`.

use serde_json::{Value, json};

use super::chat::StoredMessage;
use super::state::{State, fail, ok, resolve_channel, str_arg};

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 999;

/// A Slack `ts` (`"1700000000.000100"`) as microseconds, for comparisons that strings and
/// floats get wrong.
pub(super) fn ts_micros(ts: &str) -> Option<u64> {
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, ""));
    let secs: u64 = secs.parse().ok()?;
    if frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let micros: u64 = if frac.is_empty() { 0 } else { format!("{frac:0<6}").parse().ok()? };
    Some(secs * 1_000_000 + micros)
}

/// The paging and bounds arguments both methods take.
struct Window {
    oldest: Option<u64>,
    latest: Option<u64>,
    inclusive: bool,
    limit: usize,
    /// Index into the ordered result where this page starts.
    start: usize,
    metadata: bool,
}

impl Window {
    fn parse(body: &Value) -> Result<Self, Value> {
        let bound = |key: &str| match arg_str(body, key) {
            None => Ok(None),
            Some(ts) => ts_micros(&ts).map(Some).ok_or_else(|| fail("invalid_ts_oldest")),
        };
        let limit = match arg_str(body, "limit") {
            None => DEFAULT_LIMIT,
            Some(l) => l.parse::<usize>().map_err(|_| fail("invalid_limit"))?.clamp(1, MAX_LIMIT),
        };
        let start = match arg_str(body, "cursor") {
            None => 0,
            Some(c) => c.strip_prefix("offset:").and_then(|n| n.parse().ok()).ok_or_else(|| fail("invalid_cursor"))?,
        };
        Ok(Self {
            oldest: bound("oldest")?,
            latest: bound("latest")?,
            inclusive: flag(body, "inclusive"),
            limit,
            start,
            metadata: flag(body, "include_all_metadata"),
        })
    }

    fn admits(&self, ts: &str) -> bool {
        let Some(t) = ts_micros(ts) else { return false };
        let above = self.oldest.is_none_or(|o| if self.inclusive { t >= o } else { t > o });
        let below = self.latest.is_none_or(|l| if self.inclusive { t <= l } else { t < l });
        above && below
    }

    /// One page of `messages` (already ordered), with Slack's paging fields.
    fn page(&self, messages: Vec<Value>) -> Value {
        let total = messages.len();
        let end = (self.start + self.limit).min(total);
        let page: Vec<Value> =
            messages.into_iter().skip(self.start).take(self.limit).map(|m| if self.metadata { m } else { without_metadata(m) }).collect();
        let has_more = end < total;
        let cursor = if has_more { format!("offset:{end}") } else { String::new() };
        ok(json!({
            "messages": page,
            "has_more": has_more,
            "response_metadata": { "next_cursor": cursor },
        }))
    }
}

impl State {
    pub(super) fn history(&self, body: &Value) -> Result<Value, Value> {
        let channel = str_arg(body, "channel").ok_or_else(|| fail("channel_not_found"))?;
        let channel = resolve_channel(channel);
        let window = Window::parse(body)?;
        let newest_first: Vec<Value> = self
            .messages
            .values()
            .rev()
            .filter(|m| m.channel == channel && !is_reply(m) && window.admits(ts_of(m)))
            .map(|m| m.message.clone())
            .collect();
        Ok(window.page(newest_first))
    }

    pub(super) fn replies(&self, body: &Value) -> Result<Value, Value> {
        let channel = str_arg(body, "channel").ok_or_else(|| fail("channel_not_found"))?;
        let channel = resolve_channel(channel);
        let ts = str_arg(body, "ts").ok_or_else(|| fail("thread_not_found"))?;
        let window = Window::parse(body)?;
        let parent = self.messages.get(ts).filter(|m| m.channel == channel).ok_or_else(|| fail("thread_not_found"))?;
        let thread: Vec<Value> = std::iter::once(parent)
            .chain(parent.replies.iter().filter_map(|r| self.messages.get(r)))
            .filter(|m| window.admits(ts_of(m)))
            .map(|m| m.message.clone())
            .collect();
        Ok(window.page(thread))
    }
}

fn ts_of(m: &StoredMessage) -> &str {
    m.message.get("ts").and_then(Value::as_str).unwrap_or_default()
}

fn is_reply(m: &StoredMessage) -> bool {
    m.message.get("thread_ts").and_then(Value::as_str).is_some_and(|parent| parent != ts_of(m))
}

fn without_metadata(mut m: Value) -> Value {
    if let Some(obj) = m.as_object_mut() {
        obj.remove("metadata");
    }
    m
}

/// A string argument, whether it came as a JSON string, number or bool (form bodies make
/// everything a string; JSON clients send numbers).
fn arg_str(body: &Value, key: &str) -> Option<String> {
    match body.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn flag(body: &Value, key: &str) -> bool {
    matches!(arg_str(body, key).as_deref(), Some("true" | "1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(state: &mut State, method: &str, body: Value) -> Value {
        state.answer(method, &body, Some("t"))
    }

    fn post(state: &mut State, body: Value) -> String {
        call(state, "chat.postMessage", body)["ts"].as_str().unwrap().to_owned()
    }

    #[test]
    fn ts_parses_to_microseconds() {
        assert_eq!(ts_micros("1700000000.000100"), Some(1_700_000_000_000_100));
        assert_eq!(ts_micros("1700000000"), Some(1_700_000_000_000_000));
        assert_eq!(ts_micros("1700000000.5"), Some(1_700_000_000_500_000));
        assert_eq!(ts_micros("x.1"), None);
    }

    #[test]
    fn history_is_newest_first_without_replies_and_metadata_on_request() {
        let mut state = State::default();
        let meta = json!({"event_type": "pulse_message", "event_payload": {"dedup_key": "k1"}});
        let first = post(&mut state, json!({"channel": "C1", "text": "one", "metadata": meta}));
        post(&mut state, json!({"channel": "C1", "text": "reply", "thread_ts": first}));
        post(&mut state, json!({"channel": "C2", "text": "elsewhere"}));
        post(&mut state, json!({"channel": "C1", "text": "two"}));
        let h = call(&mut state, "conversations.history", json!({"channel": "C1"}));
        let texts: Vec<&str> = h["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
        assert_eq!(texts, ["two", "one"]);
        assert_eq!(h["has_more"], false);
        assert!(h["messages"][1].get("metadata").is_none(), "metadata only with include_all_metadata");
        let h = call(&mut state, "conversations.history", json!({"channel": "C1", "include_all_metadata": true}));
        assert_eq!(h["messages"][1]["metadata"]["event_payload"]["dedup_key"], "k1");
    }

    #[test]
    fn history_bounds_and_pages() {
        let mut state = State::default();
        let ts: Vec<String> = (0..5).map(|i| post(&mut state, json!({"channel": "C1", "text": format!("m{i}")}))).collect();
        let h = call(&mut state, "conversations.history", json!({"channel": "C1", "oldest": ts[1], "latest": ts[4]}));
        let texts: Vec<&str> = h["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
        assert_eq!(texts, ["m3", "m2"], "bounds are exclusive");
        let h = call(&mut state, "conversations.history", json!({"channel": "C1", "oldest": ts[1], "inclusive": true, "limit": 2}));
        assert_eq!(h["has_more"], true);
        let cursor = h["response_metadata"]["next_cursor"].as_str().unwrap().to_owned();
        let next = call(
            &mut state,
            "conversations.history",
            json!({"channel": "C1", "oldest": ts[1], "inclusive": true, "limit": 2, "cursor": cursor}),
        );
        let texts: Vec<&str> = next["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
        assert_eq!(texts, ["m2", "m1"]);
        assert_eq!(next["has_more"], false);
    }

    #[test]
    fn replies_start_with_the_parent() {
        let mut state = State::default();
        let parent = post(&mut state, json!({"channel": "C1", "text": "start"}));
        post(&mut state, json!({"channel": "C1", "text": "done", "thread_ts": parent}));
        let r = call(&mut state, "conversations.replies", json!({"channel": "C1", "ts": parent}));
        let texts: Vec<&str> = r["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
        assert_eq!(texts, ["start", "done"]);
        let missing = call(&mut state, "conversations.replies", json!({"channel": "C1", "ts": "1.000001"}));
        assert_eq!(missing["error"], "thread_not_found");
    }
}
