//! Publishing Pulse envelopes to EventBridge.
//!
//! Each envelope becomes one PutEvents entry: `Source` = the envelope's `source`, `DetailType` =
//! `<type>.v<version>`, `Detail` = the whole envelope as JSON, on the configured bus. Entries are
//! packed into calls of at most 10 entries and 256 KB (sized as AWS sizes them); entries
//! EventBridge rejects individually (a PutEvents call can partly fail) are resent with backoff.
//! `Time` is left unset (EventBridge stamps the arrival time); the envelope's own `occurred_at`
//! travels in the detail. A call that fails as a whole with a client error (no such bus, access
//! denied) is not resent: it returns [`PublishError::Call`] at once.

use aws_sdk_eventbridge::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, PutEventsResultEntry};
use pulse_contracts::Envelope;
use serde::Serialize;

use pulse_core::retry::Backoff;

/// At most this many entries per PutEvents call.
pub const MAX_ENTRIES_PER_CALL: usize = 10;
/// At most this many bytes per PutEvents call (and so per entry), as AWS counts them.
pub const MAX_CALL_BYTES: usize = 256 * 1024;

/// Entry error codes that resending cannot fix.
const PERMANENT_ERROR_CODES: [&str; 6] = [
    "MalformedDetail",
    "InvalidArgument",
    "AccessDeniedException",
    "NotAuthorizedForSourceException",
    "NotAuthorizedForDetailTypeException",
    "ValidationException",
];

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// One envelope alone is over the PutEvents size limit; nothing was sent.
    #[error("event {id} is {size} bytes as a PutEvents entry, over the {MAX_CALL_BYTES}-byte limit; nothing was sent")]
    TooLarge { id: String, size: usize },
    /// Entries EventBridge still rejected after every resend: (event id, error code, message).
    #[error("{} event(s) not accepted by EventBridge: {}", failed.len(), describe_failed(failed))]
    Failed { failed: Vec<(String, String, String)> },
    /// A PutEvents call failed in a way resending cannot fix (missing bus, no permission...).
    /// `published` entries had already been accepted by earlier calls.
    #[error("PutEvents on bus {bus} failed after {published} event(s) were published: {message}")]
    Call { bus: String, published: usize, message: String },
    #[error("cannot serialize event {id}: {source}")]
    Serialize {
        id: String,
        #[source]
        source: serde_json::Error,
    },
}

fn describe_failed(failed: &[(String, String, String)]) -> String {
    let mut parts: Vec<String> = failed.iter().take(5).map(|(id, code, msg)| format!("{id} ({code}: {msg})")).collect();
    if failed.len() > 5 {
        parts.push(format!("and {} more", failed.len() - 5));
    }
    parts.join(", ")
}

/// What a successful [`EventPublisher::publish`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// Envelopes accepted by EventBridge.
    pub published: usize,
    /// PutEvents calls made (including resends).
    pub calls: usize,
    /// Entries sent more than once because EventBridge rejected them first.
    pub resent: usize,
}

/// The size of a PutEvents entry as AWS counts it: the UTF-8 bytes of `Source`, `DetailType`,
/// `Detail` and each of `Resources`, plus 14 when `Time` is set.
pub fn entry_size(source: &str, detail_type: &str, detail: &str, resources: &[String], has_time: bool) -> usize {
    let mut size = source.len() + detail_type.len() + detail.len();
    size += resources.iter().map(String::len).sum::<usize>();
    if has_time {
        size += 14;
    }
    size
}

/// Split entries (given by their sizes, in order) into PutEvents calls of at most
/// [`MAX_ENTRIES_PER_CALL`] entries and [`MAX_CALL_BYTES`] bytes, keeping the order. Returns the
/// indexes of each call's entries. An entry over the limit gets a call of its own (callers
/// reject such entries before planning).
pub fn plan_batches(sizes: &[usize]) -> Vec<Vec<usize>> {
    let mut batches = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut current_bytes = 0;
    for (index, &size) in sizes.iter().enumerate() {
        if !current.is_empty() && (current.len() == MAX_ENTRIES_PER_CALL || current_bytes + size > MAX_CALL_BYTES) {
            batches.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current.push(index);
        current_bytes += size;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// One entry of a PutEvents call that EventBridge did not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedEntry {
    /// Position in the call's entries.
    pub index: usize,
    pub error_code: String,
    pub error_message: String,
}

impl FailedEntry {
    /// Whether resending the entry may succeed (throttling, internal failures, unknown codes).
    pub fn is_retryable(&self) -> bool {
        !PERMANENT_ERROR_CODES.contains(&self.error_code.as_str())
    }
}

/// Which entries of a call of `sent` entries failed, from the response's `FailedEntryCount` and
/// result entries (which are in request order). When the response reports failures but does not
/// say which, every entry without an event id counts as failed.
pub fn failed_entries(sent: usize, failed_entry_count: i32, results: &[PutEventsResultEntry]) -> Vec<FailedEntry> {
    if failed_entry_count <= 0 {
        return Vec::new();
    }
    let mut failed: Vec<FailedEntry> = results
        .iter()
        .take(sent)
        .enumerate()
        .filter_map(|(index, r)| {
            r.error_code().map(|code| FailedEntry {
                index,
                error_code: code.to_owned(),
                error_message: r.error_message().unwrap_or_default().to_owned(),
            })
        })
        .collect();
    if failed.is_empty() {
        failed = (0..sent)
            .filter(|&i| results.get(i).and_then(PutEventsResultEntry::event_id).is_none())
            .map(|index| FailedEntry {
                index,
                error_code: "Unknown".to_owned(),
                error_message: "PutEvents reported failed entries without saying which".to_owned(),
            })
            .collect();
    }
    failed
}

/// An entry ready to send.
#[derive(Debug, Clone)]
struct Prepared {
    id: String,
    source: String,
    detail_type: String,
    detail: String,
    size: usize,
}

impl Prepared {
    fn from_envelope<D: Serialize>(envelope: &Envelope<D>) -> Result<Self, PublishError> {
        let id = envelope.id.to_string();
        let detail = serde_json::to_string(envelope).map_err(|source| PublishError::Serialize { id: id.clone(), source })?;
        let detail_type = envelope.detail_type();
        let size = entry_size(&envelope.source, &detail_type, &detail, &[], false);
        Ok(Self { id, source: envelope.source.clone(), detail_type, detail, size })
    }
}

/// Publishes envelopes to one EventBridge bus.
#[derive(Debug, Clone)]
pub struct EventPublisher {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
    backoff: Backoff,
}

impl EventPublisher {
    /// Resends rejected entries with [`Backoff::default`] (5 attempts, 100 ms base, 5 s cap).
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: impl Into<String>) -> Self {
        Self { client, bus_name: bus_name.into(), backoff: Backoff::default() }
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn bus_name(&self) -> &str {
        &self.bus_name
    }

    /// Publish one typed envelope.
    pub async fn publish_one<D: Serialize>(&self, envelope: &Envelope<D>) -> Result<PublishReport, PublishError> {
        self.publish_prepared(vec![Prepared::from_envelope(envelope)?]).await
    }

    /// Publish envelopes, in order, in as few calls as the limits allow.
    pub async fn publish(&self, events: &[Envelope]) -> Result<PublishReport, PublishError> {
        self.publish_many(events).await
    }

    /// [`publish`](Self::publish) for envelopes with a typed detail.
    pub async fn publish_many<D: Serialize>(&self, events: &[Envelope<D>]) -> Result<PublishReport, PublishError> {
        let prepared = events.iter().map(Prepared::from_envelope).collect::<Result<Vec<_>, _>>()?;
        self.publish_prepared(prepared).await
    }

    async fn publish_prepared(&self, entries: Vec<Prepared>) -> Result<PublishReport, PublishError> {
        // Reject oversized entries before sending anything.
        if let Some(big) = entries.iter().find(|e| e.size > MAX_CALL_BYTES) {
            tracing::warn!(bus = %self.bus_name, event_id = %big.id, size = big.size, "event too large for PutEvents");
            return Err(PublishError::TooLarge { id: big.id.clone(), size: big.size });
        }
        let mut report = PublishReport::default();
        let mut pending: Vec<usize> = (0..entries.len()).collect();
        let mut given_up: Vec<(String, String, String)> = Vec::new();
        let max_attempts = self.backoff.max_attempts();
        let mut attempt: u32 = 0;
        while !pending.is_empty() {
            if attempt > 0 {
                report.resent += pending.len();
                let delay = self.backoff.delay(attempt - 1);
                tracing::info!(
                    bus = %self.bus_name, attempt = attempt + 1, entries = pending.len(),
                    delay_ms = delay.as_millis() as u64, "resending rejected events"
                );
                tokio::time::sleep(delay).await;
            }
            let last_attempt = attempt + 1 >= max_attempts;
            let mut retry = Vec::new();
            let sizes: Vec<usize> = pending.iter().map(|&i| entries[i].size).collect();
            for batch in plan_batches(&sizes) {
                let batch: Vec<usize> = batch.into_iter().map(|k| pending[k]).collect();
                report.calls += 1;
                let failed = self.send_call(&entries, &batch, report.published).await?;
                report.published += batch.len() - failed.len();
                for f in failed {
                    // `f.index` is a position in `batch`.
                    let index = batch[f.index];
                    if f.is_retryable() && !last_attempt {
                        retry.push(index);
                    } else {
                        given_up.push((entries[index].id.clone(), f.error_code, f.error_message));
                    }
                }
            }
            pending = retry;
            attempt += 1;
        }
        if !given_up.is_empty() {
            tracing::error!(
                bus = %self.bus_name,
                failed = ?given_up.iter().map(|(id, code, _)| format!("{id}:{code}")).collect::<Vec<_>>(),
                published = report.published,
                "events not accepted by EventBridge"
            );
            return Err(PublishError::Failed { failed: given_up });
        }
        Ok(report)
    }

    /// One PutEvents call for `batch` (indexes into `entries`). Returns the entries that failed,
    /// by position in `batch`. A call that fails as a whole counts as every entry failing
    /// (retryable) unless the error is a client error resending cannot fix.
    async fn send_call(&self, entries: &[Prepared], batch: &[usize], published: usize) -> Result<Vec<FailedEntry>, PublishError> {
        let request_entries: Vec<PutEventsRequestEntry> = batch
            .iter()
            .map(|&i| {
                let e = &entries[i];
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus_name)
                    .source(&e.source)
                    .detail_type(&e.detail_type)
                    .detail(&e.detail)
                    .build()
            })
            .collect();
        let ids: Vec<&str> = batch.iter().map(|&i| entries[i].id.as_str()).collect();
        let bytes: usize = batch.iter().map(|&i| entries[i].size).sum();
        match self.client.put_events().set_entries(Some(request_entries)).send().await {
            Ok(output) => {
                let failed = failed_entries(batch.len(), output.failed_entry_count(), output.entries());
                if failed.is_empty() {
                    tracing::debug!(bus = %self.bus_name, entries = batch.len(), bytes, event_ids = ?ids, "published events");
                } else {
                    tracing::warn!(
                        bus = %self.bus_name, entries = batch.len(), bytes, event_ids = ?ids,
                        failed = ?failed.iter().map(|f| format!("{}:{}", ids[f.index], f.error_code)).collect::<Vec<_>>(),
                        "PutEvents rejected some events"
                    );
                }
                Ok(failed)
            }
            Err(err) => {
                let message = DisplayErrorContext(&err).to_string();
                if is_permanent_call_error(&err) {
                    tracing::error!(bus = %self.bus_name, event_ids = ?ids, error = %message, "PutEvents failed");
                    return Err(PublishError::Call { bus: self.bus_name.clone(), published, message });
                }
                tracing::warn!(bus = %self.bus_name, event_ids = ?ids, error = %message, "PutEvents call failed, will resend");
                let code = err.code().unwrap_or("RequestFailed").to_owned();
                Ok((0..batch.len()).map(|index| FailedEntry { index, error_code: code.clone(), error_message: message.clone() }).collect())
            }
        }
    }
}

/// A whole-call error resending cannot fix: a 4xx service error other than throttling.
fn is_permanent_call_error<E: ProvideErrorMetadata>(err: &SdkError<E, aws_sdk_eventbridge::config::http::HttpResponse>) -> bool {
    let SdkError::ServiceError(service) = err else {
        // Construction errors are permanent; timeouts, dispatch and response errors are not.
        return matches!(err, SdkError::ConstructionFailure(_));
    };
    let status = service.raw().status().as_u16();
    let code = service.err().code().unwrap_or_default();
    (400..500).contains(&status) && status != 429 && !code.contains("Throttl") && !code.contains("LimitExceeded")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_entry(id: &str) -> PutEventsResultEntry {
        PutEventsResultEntry::builder().event_id(id).build()
    }

    fn err_entry(code: &str) -> PutEventsResultEntry {
        PutEventsResultEntry::builder().error_code(code).error_message(format!("{code} happened")).build()
    }

    #[test]
    fn entry_size_counts_like_aws() {
        assert_eq!(entry_size("a.b", "x.v1", "{}", &[], false), 3 + 4 + 2);
        assert_eq!(entry_size("é", "t", "{}", &["arn:1".into()], true), 2 + 1 + 2 + 5 + 14);
    }

    #[test]
    fn batches_respect_count() {
        let batches = plan_batches(&[100; 25]);
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![10, 10, 5]);
        assert_eq!(batches.concat(), (0..25).collect::<Vec<_>>());
        assert!(plan_batches(&[]).is_empty());
    }

    #[test]
    fn batches_respect_bytes() {
        let kb100 = 100 * 1024;
        // 2 × 100 KB fit in 256 KB, a third does not.
        let batches = plan_batches(&[kb100; 5]);
        assert_eq!(batches, vec![vec![0, 1], vec![2, 3], vec![4]]);
        // Exactly at the limit fits.
        let batches = plan_batches(&[MAX_CALL_BYTES - 10, 10, 1]);
        assert_eq!(batches, vec![vec![0, 1], vec![2]]);
        // Mixed: small ones fill up after a big one.
        let batches = plan_batches(&[200 * 1024, 50 * 1024, 10 * 1024, 1]);
        assert_eq!(batches, vec![vec![0, 1], vec![2, 3]]);
        for b in plan_batches(&[30 * 1024; 40]) {
            assert!(b.len() <= MAX_ENTRIES_PER_CALL && b.len() * 30 * 1024 <= MAX_CALL_BYTES);
        }
    }

    #[test]
    fn failed_entries_picks_the_rejected_ones() {
        let results = vec![ok_entry("e0"), err_entry("ThrottlingException"), ok_entry("e2"), err_entry("MalformedDetail")];
        let failed = failed_entries(4, 2, &results);
        assert_eq!(failed.iter().map(|f| f.index).collect::<Vec<_>>(), vec![1, 3]);
        assert!(failed[0].is_retryable());
        assert!(!failed[1].is_retryable());
        assert_eq!(failed[0].error_message, "ThrottlingException happened");
        assert!(failed_entries(4, 0, &[ok_entry("a"), ok_entry("b"), ok_entry("c"), ok_entry("d")]).is_empty());
    }

    #[test]
    fn failed_entries_without_codes_falls_back_to_missing_ids() {
        let results = vec![ok_entry("e0"), PutEventsResultEntry::builder().build()];
        let failed = failed_entries(3, 2, &results);
        assert_eq!(failed.iter().map(|f| f.index).collect::<Vec<_>>(), vec![1, 2]);
        assert!(failed.iter().all(FailedEntry::is_retryable));
    }

    #[test]
    fn failed_error_lists_ids_and_codes() {
        let err = PublishError::Failed { failed: vec![("id-1".into(), "InternalFailure".into(), "boom".into())] };
        let text = err.to_string();
        assert!(text.contains("id-1") && text.contains("InternalFailure"), "{text}");
    }
}
