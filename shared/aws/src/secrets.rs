//! Secrets (Slack signing secret, bot token, app token) from SSM Parameter Store or the
//! environment, held in a type that never prints its value.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_ssm::error::{DisplayErrorContext, SdkError};

/// A secret value. `Debug` and `Display` print `***`; it has no `Serialize`; read it with
/// [`expose`](SecretString::expose) only where it is used.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(***)")
    }
}

impl std::fmt::Display for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// Errors name the parameter and environment variable tried, never a value.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("SSM parameter {parameter} does not exist")]
    NotFound { parameter: String },
    #[error("SSM parameter {parameter} has no value")]
    Empty { parameter: String },
    #[error("reading SSM parameter {parameter} failed: {message}")]
    Ssm { parameter: String, message: String },
    /// [`resolve`] found neither the environment variable nor the parameter.
    #[error("secret not found: environment variable {env_var} is not set, and {reason}")]
    Unresolved { env_var: String, parameter: String, reason: String },
}

/// Reads SecureString (or String) parameters from SSM with decryption, caching them in process
/// for a while (5 minutes by default) so a warm Lambda does not call SSM per event.
#[derive(Debug, Clone)]
pub struct Secrets {
    client: aws_sdk_ssm::Client,
    cache: Arc<Mutex<HashMap<String, (SecretString, Instant)>>>,
    ttl: Duration,
}

impl Secrets {
    pub fn new(client: aws_sdk_ssm::Client) -> Self {
        Self { client, cache: Arc::default(), ttl: Duration::from_secs(300) }
    }

    /// How long a value read from SSM is reused; zero disables the cache.
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The parameter's (decrypted) value.
    pub async fn get(&self, parameter_name: &str) -> Result<SecretString, SecretsError> {
        if !self.ttl.is_zero() {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((value, _)) = cache.get(parameter_name).filter(|(_, at)| at.elapsed() < self.ttl) {
                return Ok(value.clone());
            }
        }
        let output = match self.client.get_parameter().name(parameter_name).with_decryption(true).send().await {
            Ok(output) => output,
            Err(SdkError::ServiceError(e)) if e.err().is_parameter_not_found() => {
                return Err(SecretsError::NotFound { parameter: parameter_name.to_owned() });
            }
            Err(err) => {
                return Err(SecretsError::Ssm {
                    parameter: parameter_name.to_owned(),
                    message: DisplayErrorContext(&err).to_string(),
                });
            }
        };
        let value = output
            .parameter
            .and_then(|p| p.value)
            .map(SecretString)
            .ok_or_else(|| SecretsError::Empty { parameter: parameter_name.to_owned() })?;
        tracing::debug!(parameter = parameter_name, "read secret from SSM");
        if !self.ttl.is_zero() {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.insert(parameter_name.to_owned(), (value.clone(), Instant::now()));
        }
        Ok(value)
    }

    /// Forget cached values (e.g. after a rotation).
    pub fn clear_cache(&self) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// A secret from the environment variable `env_var` when it is set and non-empty (local runs,
/// tests), else from the SSM parameter `ssm_parameter` through `ssm`. The error names what was
/// tried.
pub async fn resolve(env_var: &str, ssm_parameter: &str, ssm: Option<&Secrets>) -> Result<SecretString, SecretsError> {
    if let Some(value) = std::env::var(env_var).ok().filter(|v| !v.is_empty()) {
        tracing::debug!(env_var, "secret taken from the environment");
        return Ok(SecretString(value));
    }
    let unresolved = |reason: String| SecretsError::Unresolved {
        env_var: env_var.to_owned(),
        parameter: ssm_parameter.to_owned(),
        reason,
    };
    match ssm {
        None => Err(unresolved(format!("no SSM client was given to read parameter {ssm_parameter}"))),
        Some(secrets) => secrets.get(ssm_parameter).await.map_err(|e| unresolved(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_string_never_prints_its_value() {
        let s = SecretString::new("xoxb-very-secret");
        assert_eq!(format!("{s}"), "***");
        assert!(!format!("{s:?}").contains("xoxb"));
        assert!(!format!("{:?}", Some(&s)).contains("xoxb"));
        assert_eq!(s.expose(), "xoxb-very-secret");
    }

    #[tokio::test]
    async fn resolve_without_env_or_ssm_names_both() {
        let err = resolve("PULSE_TEST_SURELY_UNSET_VAR", "/pulse/test/none", None).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("PULSE_TEST_SURELY_UNSET_VAR") && text.contains("/pulse/test/none"), "{text}");
    }
}
