//! `pulse publish`: what a CI job runs to send its workflow result to Pulse.
//!
//! Input is a praktika Event (wrapped as `ci.workflow` v1) or a complete Pulse envelope of any
//! type. Every document is checked against its JSON Schema and parsed into its Rust type before
//! anything is sent; one invalid document means nothing is published.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use pulse_aws::eventbridge::EventPublisher;
use pulse_contracts::Envelope;
use pulse_contracts::praktika::FeedEvent;
use pulse_core::{Clock, Ids};
use serde_json::Value;

#[derive(clap::Args)]
pub struct PublishArgs {
    /// JSON files, each holding one document or an array of documents; `-` or nothing reads stdin.
    pub files: Vec<PathBuf>,
    /// The event bus (default: the stack's bus, from PULSE_STACK).
    #[arg(long, env = crate::settings::PULSE_BUS.name)]
    pub bus: Option<String>,
    /// `source` of the envelope built around a bare workflow result.
    #[arg(long, default_value = "ci")]
    pub source: String,
    /// Validate and print the envelopes without publishing.
    #[arg(long)]
    pub dry_run: bool,
    /// Shift every workflow result's `timestamp` so the newest one is now, keeping their spacing
    /// (fresh ids and dedup keys too). For replaying recorded or example results: the feed's
    /// 120-day retention would otherwise drop them on arrival.
    #[arg(long)]
    pub restamp: bool,
    /// Print what was published as JSON (detail-type, id and dedup key of each envelope).
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: PublishArgs, clock: &Clock, ids: &Ids) -> anyhow::Result<()> {
    let mut documents = read_documents(&args.files)?;
    let now = clock.now();
    if args.restamp {
        restamp(&mut documents, now, ids);
    }
    let mut envelopes = Vec::with_capacity(documents.len());
    for (origin, document) in documents {
        let envelope = to_envelope(document, &args.source, now, ids).with_context(|| format!("{origin} was not published"))?;
        envelopes.push(envelope);
    }
    if args.dry_run {
        for envelope in &envelopes {
            println!("{}", serde_json::to_string_pretty(envelope)?);
        }
        eprintln!("{} document(s) valid; nothing published (--dry-run)", envelopes.len());
        return Ok(());
    }
    let bus = match args.bus {
        Some(bus) => bus,
        None => crate::settings::stack()?.bus(),
    };
    let config = pulse_aws::config::load().await;
    let publisher = EventPublisher::new(aws_sdk_eventbridge::Client::new(&config), bus.clone());
    let report = publisher.publish(&envelopes).await.with_context(|| format!("publishing to bus {bus}"))?;
    if args.json {
        let published: Vec<Value> =
            envelopes.iter().map(|e| serde_json::json!({"detail_type": e.detail_type(), "id": e.id, "dedup_key": e.dedup_key})).collect();
        println!("{}", serde_json::to_string_pretty(&published)?);
    } else {
        for envelope in &envelopes {
            println!("published {} {} (dedup key {})", envelope.detail_type(), envelope.id, envelope.dedup_key);
        }
    }
    eprintln!("{} event(s) published to {bus} in {} call(s)", report.published, report.calls);
    Ok(())
}

/// Turn one input document into a validated wire envelope (a bare workflow result is wrapped in
/// one dated `now`, its id from `ids`).
pub fn to_envelope(document: Value, source: &str, now: DateTime<Utc>, ids: &Ids) -> anyhow::Result<Envelope> {
    let envelope = if is_envelope(&document) { document } else { wrap_workflow_result(document, source, now, ids)? };
    let event_type = envelope.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
    let version = envelope.get("version").and_then(Value::as_u64).unwrap_or_default() as u32;
    if let Err(err) = pulse_contracts::schema::validate(&event_type, version, &envelope) {
        bail!("invalid {event_type} v{version} document:\n{err}");
    }
    let typed = pulse_contracts::parse_envelope(envelope).map_err(|err| anyhow::anyhow!("{err}"))?;
    Ok(typed.to_raw())
}

/// See `--restamp`.
fn restamp(documents: &mut [(String, Value)], now: DateTime<Utc>, ids: &Ids) {
    fn workflow(document: &mut Value) -> Option<&mut Value> {
        if is_envelope(document) { (document["type"] == "ci.workflow").then(move || &mut document["detail"]) } else { Some(document) }
    }
    let newest = documents.iter_mut().filter_map(|(_, d)| workflow(d).and_then(|w| w["timestamp"].as_i64())).max();
    let Some(newest) = newest else { return };
    let shift = now.timestamp() - newest;
    for (_, document) in documents.iter_mut() {
        let Some(timestamp) = workflow(document).and_then(|w| w["timestamp"].as_i64()) else { continue };
        workflow(document).expect("checked above")["timestamp"] = Value::from(timestamp + shift);
        if is_envelope(document) {
            if let Ok(event) = serde_json::from_value::<FeedEvent>(document["detail"].clone()) {
                document["dedup_key"] = Value::from(workflow_dedup_key(&event));
            }
            document["id"] = Value::from(ids.uuid().to_string());
            document["occurred_at"] = Value::from(now.to_rfc3339_opts(SecondsFormat::Millis, true));
        }
    }
}

fn is_envelope(document: &Value) -> bool {
    ["type", "version", "detail"].iter().all(|field| document.get(field).is_some())
}

/// Wrap a bare praktika Event as a `ci.workflow` v1 envelope. The dedup key is derived from the
/// run's identity, so a CI job that retries its publish step does not create a second event.
fn wrap_workflow_result(document: Value, source: &str, now: DateTime<Utc>, ids: &Ids) -> anyhow::Result<Value> {
    let probe: Result<FeedEvent, _> = serde_json::from_value(document.clone());
    let dedup_key = match &probe {
        Ok(event) => workflow_dedup_key(event),
        // Let the schema check below explain what is wrong, field by field.
        Err(_) => "ci.workflow:invalid".to_owned(),
    };
    Ok(serde_json::json!({
        "id": ids.uuid(),
        "type": "ci.workflow",
        "version": 1,
        "occurred_at": now.to_rfc3339_opts(SecondsFormat::Millis, true),
        "source": source,
        "dedup_key": dedup_key,
        "detail": document,
    }))
}

/// `ci.workflow:{repo}:{pr}:{sha}:{type}:{ci_status}:{timestamp}`: one run at one moment.
pub fn workflow_dedup_key(event: &FeedEvent) -> String {
    format!(
        "ci.workflow:{}:{}:{}:{}:{}:{}",
        event.ext.repo_name,
        event.ext.pr_number,
        event.sha,
        event.kind.as_str(),
        event.ci_status.as_str(),
        event.timestamp
    )
}

fn read_documents(files: &[PathBuf]) -> anyhow::Result<Vec<(String, Value)>> {
    let sources: Vec<PathBuf> = if files.is_empty() { vec![PathBuf::from("-")] } else { files.to_vec() };
    let mut documents = Vec::new();
    for path in sources {
        let (origin, text) = if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).context("reading stdin")?;
            ("stdin".to_owned(), text)
        } else {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            (path.display().to_string(), text)
        };
        let value: Value = serde_json::from_str(&text).with_context(|| format!("{origin} is not valid JSON"))?;
        match value {
            Value::Array(items) => documents.extend(items.into_iter().enumerate().map(|(i, v)| (format!("{origin}[{i}]"), v))),
            other => documents.push((origin, other)),
        }
    }
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn example(name: &str) -> Value {
        let path = format!("{}/../../contracts/examples/ci.workflow.v1/{name}.json", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn a_bare_workflow_result_is_wrapped_with_a_run_derived_dedup_key() {
        let bare = example("running-pr")["detail"].clone();
        let ids = Ids::sequence(1);
        let a = to_envelope(bare.clone(), "ci", at(1_763_630_300), &ids).unwrap();
        let b = to_envelope(bare, "ci", at(1_763_630_301), &ids).unwrap();
        assert_eq!(a.detail_type(), "ci.workflow.v1");
        assert_ne!(a.id, b.id);
        assert_eq!(a.dedup_key, b.dedup_key, "a retried publish of the same run must dedupe");
        assert!(a.dedup_key.starts_with("ci.workflow:ClickHouse/ClickHouse:91234:"), "{}", a.dedup_key);
    }

    #[test]
    fn an_invalid_result_names_the_field() {
        let mut bare = example("running-pr")["detail"].clone();
        bare["ext"]["commit_authors"] = json!("alice@example.com");
        let err = format!("{:#}", to_envelope(bare, "ci", at(1_763_630_300), &Ids::sequence(1)).unwrap_err());
        assert!(err.contains("/detail/ext/commit_authors"), "{err}");
    }

    #[test]
    fn restamp_moves_the_newest_to_now_and_keeps_the_spacing() {
        let mut docs = vec![("a".to_owned(), example("running-pr")), ("b".to_owned(), example("merge-result")["detail"].clone())];
        let (a0, b0) = (docs[0].1["detail"]["timestamp"].as_i64().unwrap(), docs[1].1["timestamp"].as_i64().unwrap());
        let old_key = docs[0].1["dedup_key"].clone();
        restamp(&mut docs, at(2_000_000_000), &Ids::sequence(1));
        let (a1, b1) = (docs[0].1["detail"]["timestamp"].as_i64().unwrap(), docs[1].1["timestamp"].as_i64().unwrap());
        assert_eq!(a1.max(b1), 2_000_000_000);
        assert_eq!(b1 - a1, b0 - a0);
        assert_ne!(docs[0].1["dedup_key"], old_key);
    }
}
