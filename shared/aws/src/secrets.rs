//! Secrets (Slack signing secret, bot token, app token, webhook URLs) from SSM Parameter Store
//! or the environment, as [`pulse_core::Secret`]s that never print their value.
//!
//! A program declares each secret as a [`SecretSetting`]: the variable that may hold the value
//! (local runs and tests; it wins) and the variable naming its SSM parameter. [`source`] turns
//! it into a [`SecretSource`] at start-up, failing there, with both names, when neither is
//! there. An SSM-backed source re-reads the parameter every 5 minutes (the cache TTL) and, when
//! a client reports an authentication failure, at once (at most every 10 seconds), so a rotated
//! secret is picked up without a redeploy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_ssm::error::{DisplayErrorContext, SdkError};
use pulse_core::secret::{FetchSecret, SecretError, SecretFuture};
use pulse_core::settings::{SettingError, Settings, Var};
pub use pulse_core::{Secret, SecretSource};

/// Errors name the parameter and environment variable tried, never a value.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("SSM parameter {parameter} does not exist")]
    NotFound { parameter: String },
    #[error("SSM parameter {parameter} has no value")]
    Empty { parameter: String },
    #[error("reading SSM parameter {parameter} failed: {message}")]
    Ssm { parameter: String, message: String },
    /// [`source`] found neither the environment variable nor the parameter.
    #[error("secret not found: environment variable {env_var} is not set, and {reason}")]
    Unresolved { env_var: String, parameter: String, reason: String },
    #[error(transparent)]
    Setting(#[from] SettingError),
}

/// Reads SecureString (or String) parameters from SSM with decryption, caching them in process
/// for a while (5 minutes by default) so a warm Lambda does not call SSM per event.
#[derive(Debug, Clone)]
pub struct Secrets {
    client: aws_sdk_ssm::Client,
    cache: Arc<Mutex<HashMap<String, (Secret, Instant)>>>,
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
    pub async fn get(&self, parameter_name: &str) -> Result<Secret, SecretsError> {
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
                return Err(SecretsError::Ssm { parameter: parameter_name.to_owned(), message: DisplayErrorContext(&err).to_string() });
            }
        };
        let value = output
            .parameter
            .and_then(|p| p.value)
            .map(Secret::new)
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

    /// Forget one parameter's cached value.
    pub fn forget(&self, parameter_name: &str) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).remove(parameter_name);
    }
}

/// A secret as a program declares it: the variable that may hold its value, and the variable
/// naming the SSM parameter read when it does not (with the parameter's default name).
#[derive(Debug, Clone, Copy)]
pub struct SecretSetting {
    pub value: Var,
    pub parameter: Var,
}

/// The least time between two re-reads forced by authentication failures: a burst of refused
/// calls must not become a burst of SSM calls.
const MIN_INVALIDATE_GAP: Duration = Duration::from_secs(10);

/// An SSM parameter as a [`FetchSecret`]: cached for the [`Secrets`] TTL, re-read on
/// [`invalidate`](FetchSecret::invalidate) at most every [`MIN_INVALIDATE_GAP`].
struct RefreshingSecret {
    ssm: Secrets,
    parameter: String,
    last_invalidated: Mutex<Option<Instant>>,
}

impl FetchSecret for RefreshingSecret {
    fn fetch(&self) -> SecretFuture<'_> {
        Box::pin(async move { self.ssm.get(&self.parameter).await.map_err(|e| SecretError(e.to_string())) })
    }

    fn invalidate(&self) {
        let mut last = self.last_invalidated.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|at| at.elapsed() < MIN_INVALIDATE_GAP) {
            return;
        }
        *last = Some(Instant::now());
        self.ssm.forget(&self.parameter);
    }
}

/// Where `setting`'s value comes from: the environment variable when set (a fixed value), else
/// its SSM parameter, read once now so that a missing secret stops the program at start-up
/// with both names, and re-read after a rotation. The error never holds a value.
pub async fn source(setting: &SecretSetting, settings: &Settings, ssm: &Secrets) -> Result<SecretSource, SecretsError> {
    if let Some(value) = settings.secret(&setting.value)? {
        tracing::debug!(env_var = setting.value.name, "secret taken from the environment");
        return Ok(SecretSource::fixed(value));
    }
    let parameter = settings.required(&setting.parameter)?;
    let refreshing = RefreshingSecret { ssm: ssm.clone(), parameter: parameter.clone(), last_invalidated: Mutex::new(None) };
    if let Err(err) = refreshing.fetch().await {
        return Err(SecretsError::Unresolved { env_var: setting.value.name.to_owned(), parameter, reason: err.0 });
    }
    Ok(SecretSource::store(refreshing))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: Var = Var::new("T_SECRET", "a secret", "test").secret();
    const PARAM: Var = Var::new("T_SECRET_PARAM", "an SSM parameter name", "test").default("/pulse/test/none");

    #[tokio::test]
    async fn the_environment_wins_and_is_fixed() {
        let settings = Settings::from_pairs([("T_SECRET", "from-env")]);
        let config = aws_sdk_ssm::Config::builder().behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest()).build();
        let ssm = Secrets::new(aws_sdk_ssm::Client::from_conf(config));
        let source = source(&SecretSetting { value: VALUE, parameter: PARAM }, &settings, &ssm).await.unwrap();
        assert_eq!(source.current().await.unwrap().expose(), "from-env");
        assert_eq!(source.refreshed(&Secret::new("from-env")).await, None, "a fixed value never rotates");
    }
}
