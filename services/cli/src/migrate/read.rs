//! Reading praktika's subscription files: `ListObjectsV2` under `{prefix}/subscriptions/` and one
//! `GetObject` per file. Nothing else: this module holds no write call, so the import can never
//! change praktika's objects.

use aws_sdk_s3::error::DisplayErrorContext;
use chrono::{DateTime, Utc};
use pulse_contracts::feed_layout::FeedLocation;

use super::files;
use super::plan::Fetched;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("listing s3://{bucket}/{prefix}: {message}")]
    List { bucket: String, prefix: String, message: String },
    #[error("reading s3://{bucket}/{key}: {message}")]
    Get { bucket: String, key: String, message: String },
}

/// Every object under the subscriptions prefix, in key order.
pub async fn list(s3: &aws_sdk_s3::Client, location: &FeedLocation) -> Result<Vec<String>, ReadError> {
    let prefix = location.subscriptions_prefix();
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page =
            s3.list_objects_v2().bucket(&location.bucket).prefix(&prefix).set_continuation_token(token.take()).send().await.map_err(
                |e| ReadError::List {
                    bucket: location.bucket.clone(),
                    prefix: prefix.clone(),
                    message: DisplayErrorContext(&e).to_string(),
                },
            )?;
        keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
        match page.next_continuation_token() {
            Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
            _ => break,
        }
    }
    keys.sort();
    Ok(keys)
}

/// One object, parsed (a file that cannot be used carries the reason; only S3 failures are errors).
pub async fn fetch(s3: &aws_sdk_s3::Client, location: &FeedLocation, key: &str) -> Result<Fetched, ReadError> {
    let err = |message: String| ReadError::Get { bucket: location.bucket.clone(), key: key.to_owned(), message };
    let out = s3.get_object().bucket(&location.bucket).key(key).send().await.map_err(|e| err(DisplayErrorContext(&e).to_string()))?;
    let etag = out.e_tag().unwrap_or_default().to_owned();
    let last_modified = out
        .last_modified()
        .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos()))
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let body = out.body.collect().await.map_err(|e| err(format!("reading the body: {e}")))?.into_bytes();
    let name = key.strip_prefix(&location.subscriptions_prefix()).unwrap_or(key);
    Ok(Fetched { key: key.to_owned(), etag, last_modified, parsed: files::parse(name, &body) })
}
