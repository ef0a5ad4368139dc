//! A [`GithubClient`] put together on first use, not at start.
//!
//! Finding credentials can take two SSM reads (the App's key, then a token), and when GitHub
//! is not set up both fail. A program that calls GitHub only when someone clicks a button (the
//! notifier's re-run) would otherwise pay those round trips on every cold start, before its
//! first message. The first [`LazyClient::get`] looks the credentials up; the outcome is kept
//! for the life of the process, as it was when they were read at start:
//! - credentials found: the client;
//! - none configured: `None`, and the caller answers that GitHub is not set up;
//! - a configuration error (a key without an id, a malformed id): returned, and not kept, so
//!   the next use looks again and every use says what is wrong.

use pulse_aws::secrets::Secrets;
use pulse_core::{Clock, Settings};
use tokio::sync::OnceCell;

use crate::client::GithubClient;
use crate::credentials::{CredentialsError, config, from_settings};

/// A GitHub client whose credentials are looked up by the first [`LazyClient::get`].
pub struct LazyClient {
    /// Where the credentials come from; `None` for a client fixed when it was made.
    source: Option<Source>,
    client: OnceCell<Option<GithubClient>>,
}

struct Source {
    settings: Settings,
    ssm: Secrets,
    clock: Clock,
}

impl LazyClient {
    /// A client whose credentials `settings` describe (environment or SSM), looked up on first use.
    pub fn from_settings(settings: Settings, ssm: Secrets, clock: Clock) -> Self {
        Self { source: Some(Source { settings, ssm, clock }), client: OnceCell::new() }
    }

    /// No GitHub: every [`LazyClient::get`] answers `None` at once.
    pub fn none() -> Self {
        Self::fixed(None)
    }

    /// A client (or none) decided already; nothing is looked up.
    pub fn fixed(client: Option<GithubClient>) -> Self {
        Self { source: None, client: OnceCell::new_with(Some(client)) }
    }

    /// The client, or `None` when no credentials are configured. See the module doc for what
    /// is kept.
    pub async fn get(&self) -> Result<Option<&GithubClient>, CredentialsError> {
        let client = self
            .client
            .get_or_try_init(|| async {
                let Some(source) = &self.source else { return Ok(None) };
                match from_settings(&source.settings, &source.ssm).await {
                    Ok(credentials) => {
                        let config = config(&source.settings, credentials)?;
                        tracing::info!(api = %config.base_url, "GitHub credentials found");
                        Ok(Some(GithubClient::new(config, source.clock.clone())))
                    }
                    Err(CredentialsError::None { .. }) => {
                        tracing::info!("no GitHub credentials configured");
                        Ok(None)
                    }
                    Err(err) => Err(err),
                }
            })
            .await?;
        Ok(client.as_ref())
    }
}

impl std::fmt::Debug for LazyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyClient").field("looked_up", &self.client.initialized()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Credentials, GithubConfig};

    /// An SSM client that cannot be reached: a lookup through it fails.
    fn unreachable_ssm() -> Secrets {
        let config = aws_sdk_ssm::Config::builder()
            .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
            .region(aws_sdk_ssm::config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(aws_sdk_ssm::config::Credentials::new("k", "s", None, None, "test"))
            .build();
        Secrets::new(aws_sdk_ssm::Client::from_conf(config))
    }

    #[tokio::test]
    async fn a_token_in_the_environment_makes_a_client_on_first_use() {
        let settings = Settings::from_pairs([("GITHUB_TOKEN", "ghp-from-env"), ("GITHUB_API_URL", "http://127.0.0.1:9/api/v3")]);
        let lazy = LazyClient::from_settings(settings, unreachable_ssm(), Clock::system());
        assert!(format!("{lazy:?}").contains("looked_up: false"), "nothing is looked up when it is made");
        let client = lazy.get().await.unwrap().expect("a client");
        assert!(format!("{client:?}").contains("http://127.0.0.1:9/api/v3"), "{client:?}");
        assert!(format!("{lazy:?}").contains("looked_up: true"));
    }

    #[tokio::test]
    async fn nothing_configured_is_none_and_kept() {
        // The App's key and the token are both looked up in SSM, which cannot be reached: no
        // credentials, kept, so the second use asks SSM nothing.
        let lazy = LazyClient::from_settings(Settings::from_pairs::<&str, &str>([]), unreachable_ssm(), Clock::system());
        assert!(lazy.get().await.unwrap().is_none());
        assert!(format!("{lazy:?}").contains("looked_up: true"), "a missing configuration is remembered");
        assert!(lazy.get().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_configuration_error_is_returned_every_time() {
        let settings = Settings::from_pairs([("GITHUB_APP_PRIVATE_KEY", "-----BEGIN KEY-----"), ("GITHUB_APP_ID", "not-a-number")]);
        let lazy = LazyClient::from_settings(settings, unreachable_ssm(), Clock::system());
        for _ in 0..2 {
            let err = lazy.get().await.unwrap_err();
            assert!(matches!(err, CredentialsError::BadAppId { .. }), "{err}");
            assert!(!err.to_string().contains("not-a-number"), "the value is never shown: {err}");
        }
        assert!(format!("{lazy:?}").contains("looked_up: false"), "an error is not remembered");
    }

    #[tokio::test]
    async fn fixed_clients_look_nothing_up() {
        assert!(LazyClient::none().get().await.unwrap().is_none());
        let token = Credentials::Token("t".into());
        let fixed = LazyClient::fixed(Some(GithubClient::new(GithubConfig::new(token), Clock::system())));
        assert!(fixed.get().await.unwrap().is_some());
    }
}
