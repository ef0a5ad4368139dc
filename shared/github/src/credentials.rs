//! Which credentials a program calls GitHub with, from its settings (`settings.rs`): a token
//! alone in the environment is taken as it is; otherwise a GitHub App when its private key is
//! found (in `GITHUB_APP_PRIVATE_KEY` or SSM), else a token (environment or SSM), else none. The App's id must then be found too; a key without an id is a configuration error,
//! not a silent fall back to the token.

use pulse_aws::secrets::{Secrets, SecretsError, source};
use pulse_core::Settings;

use crate::client::{Credentials, GithubConfig};
use crate::settings::{APP_ID, APP_PRIVATE_KEY, GITHUB_API_URL, TOKEN};

/// Why no credentials could be put together. Names settings, never values.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "no GitHub credentials: set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (or their SSM parameters) for a GitHub App, or GITHUB_TOKEN; the App's key: {app}; the token: {token}"
    )]
    None { app: String, token: String },
    #[error("the GitHub App's private key is configured but its id is not: {0}")]
    NoAppId(SecretsError),
    #[error("GITHUB_APP_ID (or its SSM parameter) must be the App's numeric id; found a value of {len} characters")]
    BadAppId { len: usize },
    #[error(transparent)]
    Secret(#[from] SecretsError),
    #[error(transparent)]
    Setting(#[from] pulse_core::settings::SettingError),
}

/// The credentials `settings` describe, secrets read from the environment or SSM.
pub async fn from_settings(settings: &Settings, ssm: &Secrets) -> Result<Credentials, CredentialsError> {
    // A token in the environment and no App key there: nothing to look up in SSM.
    if !settings.is_set(&APP_PRIVATE_KEY.value)
        && let Some(token) = settings.secret(&TOKEN.value)?
    {
        return Ok(Credentials::Token(token.into()));
    }
    let app_error = match source(&APP_PRIVATE_KEY, settings, ssm).await {
        Ok(private_key) => {
            let id = source(&APP_ID, settings, ssm).await.map_err(CredentialsError::NoAppId)?;
            let id = id.current().await.map_err(|e| {
                CredentialsError::NoAppId(SecretsError::Unresolved {
                    env_var: APP_ID.value.name.to_owned(),
                    parameter: String::new(),
                    reason: e.to_string(),
                })
            })?;
            let app_id = id.expose().parse().map_err(|_| CredentialsError::BadAppId { len: id.len() })?;
            return Ok(Credentials::App { app_id, private_key });
        }
        Err(SecretsError::Unresolved { reason, .. }) => reason,
        Err(other) => return Err(other.into()),
    };
    match source(&TOKEN, settings, ssm).await {
        Ok(token) => Ok(Credentials::Token(token)),
        Err(SecretsError::Unresolved { reason, .. }) => Err(CredentialsError::None { app: app_error, token: reason }),
        Err(other) => Err(other.into()),
    }
}

/// A client configuration from `settings`: the API root `GITHUB_API_URL` names, these
/// credentials, the default retries.
pub fn config(settings: &Settings, credentials: Credentials) -> Result<GithubConfig, CredentialsError> {
    let base_url = settings.required(&GITHUB_API_URL)?;
    Ok(GithubConfig { base_url, ..GithubConfig::new(credentials) })
}
