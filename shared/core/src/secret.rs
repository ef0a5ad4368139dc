//! The one secret type, and where a secret's current value comes from.
//!
//! A [`Secret`] prints `***` whatever it holds, so a token kept in a config struct, an error or a
//! `tracing` field never leaks; [`Secret::expose`] is called only where the value is used (an
//! `Authorization` header, an HMAC key, a webhook URL).
//!
//! A [`SecretSource`] is what a client holds instead of a value, so that a rotation needs no
//! redeploy: it answers the current value ([`SecretSource::current`]), and after an
//! authentication failure [`SecretSource::refreshed`] re-reads it and says whether it changed
//! (only then is the failed request worth one more try). A fixed source (a value from the
//! environment, or a test's) never changes; the SSM-backed one lives in `pulse_aws::secrets`,
//! since this crate knows nothing of AWS.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A secret value. `Debug` and `Display` print `***`; it has no `Serialize`. Surrounding
/// whitespace (a value pasted with its newline) is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn new(value: impl AsRef<str>) -> Self {
        Self(Arc::from(value.as_ref().trim()))
    }

    /// The value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// How long the value is, which is all an error may say about it.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

/// Why a secret could not be read. The message names where it was looked for, never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretError(pub String);

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SecretError {}

/// A future answering a secret.
pub type SecretFuture<'a> = Pin<Box<dyn Future<Output = Result<Secret, SecretError>> + Send + 'a>>;

/// A store a secret can be re-read from (SSM Parameter Store in AWS).
pub trait FetchSecret: Send + Sync + 'static {
    /// The value now; implementations may cache it for a while.
    fn fetch(&self) -> SecretFuture<'_>;
    /// Drop any cached value, so the next [`fetch`](FetchSecret::fetch) reads the store.
    /// Implementations rate-limit this, so a burst of failures cannot hammer the store.
    fn invalidate(&self);
}

/// Where a client gets a secret: a fixed value, or a store re-read on a TTL and after an
/// authentication failure. Cheap to clone.
#[derive(Clone)]
pub struct SecretSource(Inner);

#[derive(Clone)]
enum Inner {
    Fixed(Secret),
    Store(Arc<dyn FetchSecret>),
}

impl SecretSource {
    /// A value that never changes (the environment's, a test's).
    pub fn fixed(secret: impl Into<Secret>) -> Self {
        Self(Inner::Fixed(secret.into()))
    }

    /// A value read from `store`.
    pub fn store(store: impl FetchSecret) -> Self {
        Self(Inner::Store(Arc::new(store)))
    }

    /// The current value.
    pub async fn current(&self) -> Result<Secret, SecretError> {
        match &self.0 {
            Inner::Fixed(secret) => Ok(secret.clone()),
            Inner::Store(store) => store.fetch().await,
        }
    }

    /// After `seen` was refused: re-read the value and answer it when it differs from `seen`
    /// (a rotation), `None` when it is the same or cannot be read (the refusal stands).
    pub async fn refreshed(&self, seen: &Secret) -> Option<Secret> {
        let Inner::Store(store) = &self.0 else { return None };
        store.invalidate();
        match store.fetch().await {
            Ok(fresh) if fresh != *seen => {
                tracing::info!("a secret changed since it was last read; retrying with the new value");
                Some(fresh)
            }
            Ok(_) => None,
            Err(err) => {
                tracing::warn!(error = %err, "re-reading a secret after an authentication failure failed");
                None
            }
        }
    }
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Fixed(_) => f.write_str("SecretSource::Fixed(***)"),
            Inner::Store(_) => f.write_str("SecretSource::Store"),
        }
    }
}

impl From<Secret> for SecretSource {
    fn from(secret: Secret) -> Self {
        Self::fixed(secret)
    }
}

impl From<&str> for SecretSource {
    fn from(value: &str) -> Self {
        Self::fixed(value)
    }
}

impl From<String> for SecretSource {
    fn from(value: String) -> Self {
        Self::fixed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn a_secret_never_prints_its_value() {
        let s = Secret::new(" xoxb-very-secret\n");
        assert_eq!(format!("{s}"), "***");
        assert!(!format!("{s:?}").contains("xoxb"));
        assert!(!format!("{:?}", Some(&s)).contains("xoxb"));
        assert!(!format!("{:?}", SecretSource::fixed(s.clone())).contains("xoxb"));
        assert_eq!(s.expose(), "xoxb-very-secret");
    }

    /// A store whose value a test can rotate.
    struct Rotating(Arc<Mutex<&'static str>>);

    impl FetchSecret for Rotating {
        fn fetch(&self) -> SecretFuture<'_> {
            let value = *self.0.lock().unwrap();
            Box::pin(async move { Ok(Secret::new(value)) })
        }
        fn invalidate(&self) {}
    }

    #[tokio::test]
    async fn refreshed_answers_only_a_changed_value() {
        let fixed = SecretSource::fixed("a");
        assert_eq!(fixed.refreshed(&Secret::new("a")).await, None);

        let value = Arc::new(Mutex::new("old"));
        let source = SecretSource::store(Rotating(value.clone()));
        let old = source.current().await.unwrap();
        assert_eq!(source.refreshed(&old).await, None, "nothing rotated");
        *value.lock().unwrap() = "new";
        assert_eq!(source.refreshed(&old).await.map(|s| s.expose().to_owned()), Some("new".to_owned()));
    }
}
