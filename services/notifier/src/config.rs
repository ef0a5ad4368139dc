//! Where messages go: the routing configuration and its pure lookups.
//!
//! The notifier reads one JSON file (path in `NOTIFIER_CONFIG`) so that routing is data, not
//! code: operators move an alert kind to another channel without a deploy of new logic. Every
//! field is optional but `default_channel`; anything without a more specific route falls back to
//! it, so a message is never dropped for lack of a channel.
//!
//! ```json
//! {
//!   "default_channel": "C0DEFAULT",
//!   "users_channel": "C0USERS",
//!   "deploy_channel": "C0DEPLOY",
//!   "jobs_channel": "C0JOBS",
//!   "job_channels": { "nightly_backup": "C0BACKUP" },
//!   "alert_routes": [
//!     { "kinds": ["error_rate_exceeded"], "min_severity": "critical", "channel": "C0PAGER" },
//!     { "kinds": ["deploy_started", "deploy_completed", "deploy_failed"], "channel": "C0DEPLOY" },
//!     { "min_severity": "warning", "channel": "C0ALERTS" }
//!   ],
//!   "digest_channels": [
//!     { "channel": "C0CI", "period": "daily", "emails": ["alice@example.com"] }
//!   ],
//!   "digest_webhooks": [
//!     { "name": "ci-discord", "period": "weekly", "emails": ["alice@example.com"],
//!       "url": { "ssm": "/pulse/discord/ci-webhook" } }
//!   ],
//!   "email_from": "pulse@example.com",
//!   "digest_emails": [
//!     { "name": "ci-team", "period": "daily", "emails": ["alice@example.com"], "to": ["ci-team@example.com"] }
//!   ]
//! }
//! ```
//!
//! Digests go to Slack channels, Discord webhooks (the URL is a secret: from an SSM parameter,
//! or an environment variable for local runs; never logged) and e-mail through SES (from
//! `email_from`, a verified SES identity). `emails` names whose feeds a digest covers.
//!
//! Alert routes are tried in order; the first whose `kinds` (empty or absent: any kind) contains
//! the alert's kind and whose `min_severity` (absent: `info`) is at or below the alert's severity
//! wins.

use std::collections::BTreeMap;
use std::path::Path;

use pulse_contracts::{AlertKind, DigestPeriod, Severity};
use serde::{Deserialize, Serialize};

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading notifier config {path}: {message}")]
    Read { path: String, message: String },
    #[error("notifier config {path} is invalid: {message}")]
    Invalid { path: String, message: String },
    #[error("no default channel: set `default_channel` in NOTIFIER_CONFIG or SLACK_DEFAULT_CHANNEL")]
    NoDefaultChannel,
}

/// The notifier's routing table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub default_channel: String,
    /// `user.registered` (seed 002's `SLACK_USERS_CHANNEL`); falls back to the default.
    #[serde(default)]
    pub users_channel: Option<String>,
    /// `deploy.status`; falls back to the default.
    #[serde(default)]
    pub deploy_channel: Option<String>,
    /// `ci.job` without a per-job mapping; falls back to the default.
    #[serde(default)]
    pub jobs_channel: Option<String>,
    /// Per-job channel mapping (seed 002's "future enhancement").
    #[serde(default)]
    pub job_channels: BTreeMap<String, String>,
    #[serde(default)]
    pub alert_routes: Vec<AlertRoute>,
    /// Channels that get a digest of some feeds.
    #[serde(default)]
    pub digest_channels: Vec<DigestChannel>,
    /// Discord webhooks that get a digest of some feeds.
    #[serde(default)]
    pub digest_webhooks: Vec<DigestWebhook>,
    /// E-mail digests, sent through SES from `email_from`.
    #[serde(default)]
    pub digest_emails: Vec<DigestEmail>,
    /// The verified SES identity e-mail digests are sent from (required with `digest_emails`).
    #[serde(default)]
    pub email_from: Option<String>,
    /// Who may act from Slack (`policy.rs`); absent: production changes are refused.
    #[serde(default)]
    pub policy: crate::policy::Policy,
}

/// A channel's digest: the feeds of `emails`, every `period`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestChannel {
    pub channel: String,
    pub period: DigestPeriod,
    pub emails: Vec<String>,
}

/// A Discord webhook's digest: the feeds of `emails`, every `period`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestWebhook {
    /// Names it in logs, the audit and the message ledger (the URL never is).
    pub name: String,
    pub period: DigestPeriod,
    pub emails: Vec<String>,
    pub url: SecretRef,
}

/// An e-mail digest: the feeds of `emails`, every `period`, to the addresses in `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestEmail {
    /// Names it in logs and the message ledger.
    pub name: String,
    pub period: DigestPeriod,
    pub emails: Vec<String>,
    pub to: Vec<String>,
}

/// Where a secret is: an environment variable (local runs; wins when set and non-empty) and/or
/// an SSM parameter (SecureString, read at use).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    #[serde(default)]
    pub env: Option<String>,
    #[serde(default)]
    pub ssm: Option<String>,
}

/// One row of the ops-alert routing table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRoute {
    #[serde(default)]
    pub kinds: Vec<AlertKind>,
    #[serde(default)]
    pub min_severity: Option<Severity>,
    pub channel: String,
}

impl AlertRoute {
    fn matches(&self, kind: AlertKind, severity: Severity) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&kind)) && self.min_severity.is_none_or(|min| severity >= min)
    }
}

impl Config {
    /// Parse a config document; `path` only names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        serde_json::from_str(text).map_err(|e| ConfigError::Invalid { path: path.to_owned(), message: e.to_string() })
    }

    /// The file at `NOTIFIER_CONFIG` if set, then the seed's environment variables
    /// (`SLACK_DEFAULT_CHANNEL`, `SLACK_USERS_CHANNEL`) fill what the file left empty.
    pub fn from_settings(settings: &pulse_core::Settings) -> Result<Config, ConfigError> {
        use crate::settings::{NOTIFIER_CONFIG, SLACK_DEFAULT_CHANNEL, SLACK_USERS_CHANNEL};
        let text = |var| settings.text(var).map_err(|e| ConfigError::Invalid { path: "the environment".into(), message: e.to_string() });
        let mut config = match text(&NOTIFIER_CONFIG)? {
            Some(path) => Self::load(Path::new(&path))?,
            None => Config::default(),
        };
        if config.default_channel.is_empty() {
            config.default_channel = text(&SLACK_DEFAULT_CHANNEL)?.unwrap_or_default();
        }
        if config.users_channel.is_none() {
            config.users_channel = text(&SLACK_USERS_CHANNEL)?;
        }
        config.validate()?;
        Ok(config)
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read { path: name.clone(), message: e.to_string() })?;
        Self::parse(&text, &name)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.default_channel.is_empty() {
            return Err(ConfigError::NoDefaultChannel);
        }
        let invalid = |message: String| Err(ConfigError::Invalid { path: "NOTIFIER_CONFIG".into(), message });
        if let Err(message) = crate::policy::validate(&self.policy) {
            return invalid(message);
        }
        let mut names = std::collections::BTreeSet::new();
        for w in &self.digest_webhooks {
            if !names.insert(("webhook", w.name.as_str())) || w.name.is_empty() {
                return invalid(format!("digest_webhooks: the name {:?} is empty or used twice", w.name));
            }
            if w.url.env.is_none() && w.url.ssm.is_none() {
                return invalid(format!("digest_webhooks {:?}: `url` needs `ssm` (a parameter name) or `env` (a variable name)", w.name));
            }
        }
        for e in &self.digest_emails {
            if !names.insert(("email", e.name.as_str())) || e.name.is_empty() {
                return invalid(format!("digest_emails: the name {:?} is empty or used twice", e.name));
            }
            if e.to.is_empty() || e.to.iter().any(|a| !a.contains('@')) {
                return invalid(format!("digest_emails {:?}: `to` needs at least one e-mail address, and only addresses", e.name));
            }
        }
        if !self.digest_emails.is_empty() && self.email_from.as_deref().is_none_or(|f| !f.contains('@')) {
            return invalid("digest_emails need `email_from`: the verified SES identity to send from".into());
        }
        Ok(())
    }

    /// The channel for an ops alert: the first matching route, else the default.
    pub fn alert_channel(&self, kind: AlertKind, severity: Severity) -> &str {
        self.alert_routes.iter().find(|r| r.matches(kind, severity)).map_or(self.default_channel.as_str(), |r| r.channel.as_str())
    }

    /// The channel for a job: the event's own `--channel`, the per-job mapping, the jobs
    /// channel, the default.
    pub fn job_channel<'a>(&'a self, job: &str, requested: Option<&'a str>) -> &'a str {
        requested
            .filter(|c| !c.is_empty())
            .or_else(|| self.job_channels.get(job).map(String::as_str))
            .or(self.jobs_channel.as_deref())
            .unwrap_or(&self.default_channel)
    }

    pub fn users_channel(&self) -> &str {
        self.users_channel.as_deref().unwrap_or(&self.default_channel)
    }

    pub fn deploy_channel(&self) -> &str {
        self.deploy_channel.as_deref().unwrap_or(&self.default_channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::parse(
            r#"{
              "default_channel": "CDEF",
              "users_channel": "CUSERS",
              "jobs_channel": "CJOBS",
              "job_channels": {"nightly": "CNIGHT"},
              "alert_routes": [
                {"kinds": ["error_rate_exceeded"], "min_severity": "critical", "channel": "CPAGER"},
                {"kinds": ["deploy_started", "deploy_completed", "deploy_failed"], "channel": "CDEPLOY"},
                {"min_severity": "warning", "channel": "CALERTS"}
              ]
            }"#,
            "test",
        )
        .unwrap()
    }

    #[test]
    fn alerts_route_by_kind_then_severity_then_default() {
        let c = config();
        assert_eq!(c.alert_channel(AlertKind::ErrorRateExceeded, Severity::Critical), "CPAGER");
        assert_eq!(c.alert_channel(AlertKind::ErrorRateExceeded, Severity::Warning), "CALERTS");
        assert_eq!(c.alert_channel(AlertKind::DeployFailed, Severity::Info), "CDEPLOY");
        assert_eq!(c.alert_channel(AlertKind::CiPassed, Severity::Info), "CDEF");
        assert_eq!(c.alert_channel(AlertKind::CiFailed, Severity::Critical), "CALERTS");
    }

    #[test]
    fn jobs_route_by_request_mapping_jobs_channel_default() {
        let c = config();
        assert_eq!(c.job_channel("nightly", Some("COVR")), "COVR");
        assert_eq!(c.job_channel("nightly", None), "CNIGHT");
        assert_eq!(c.job_channel("other", None), "CJOBS");
        let bare = Config { default_channel: "CDEF".into(), ..Config::default() };
        assert_eq!(bare.job_channel("other", None), "CDEF");
        assert_eq!(bare.users_channel(), "CDEF");
        assert_eq!(c.users_channel(), "CUSERS");
        assert_eq!(bare.deploy_channel(), "CDEF");
    }

    #[test]
    fn the_shipped_example_parses() {
        let c = Config::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.json"))).unwrap();
        c.validate().unwrap();
        assert_eq!(c.digest_channels.len(), 1);
        assert_eq!(c.alert_channel(AlertKind::DeployStarted, Severity::Info), "C0DEPLOY");
    }

    #[test]
    fn external_digest_sinks_are_checked() {
        let parse =
            |extra: &str| Config::parse(&format!(r#"{{"default_channel": "C", {extra}}}"#), "t").and_then(|c| c.validate().map(|_| c));
        let ok = parse(
            r#""digest_webhooks": [{"name": "d", "period": "daily", "emails": ["a@b"], "url": {"ssm": "/p"}}],
                          "email_from": "pulse@x.io", "digest_emails": [{"name": "e", "period": "weekly", "emails": ["a@b"], "to": ["t@x.io"]}]"#,
        );
        let c = ok.unwrap();
        assert_eq!(c.digest_webhooks[0].url.ssm.as_deref(), Some("/p"));
        assert_eq!(c.digest_emails[0].to, ["t@x.io"]);
        let err = |extra: &str| parse(extra).unwrap_err().to_string();
        assert!(err(r#""digest_webhooks": [{"name": "d", "period": "daily", "emails": [], "url": {}}]"#).contains("`url` needs"));
        assert!(err(r#""digest_emails": [{"name": "e", "period": "daily", "emails": [], "to": ["t@x.io"]}]"#).contains("email_from"));
        assert!(
            err(r#""email_from": "p@x", "digest_emails": [{"name": "e", "period": "daily", "emails": [], "to": []}]"#).contains("`to`")
        );
        let twice = r#""digest_webhooks": [{"name": "d", "period": "daily", "emails": [], "url": {"env": "X"}}, {"name": "d", "period": "weekly", "emails": [], "url": {"env": "Y"}}]"#;
        assert!(err(twice).contains("used twice"));
    }

    #[test]
    fn unknown_fields_and_kinds_are_refused_and_default_is_required() {
        assert!(Config::parse(r#"{"default_channel": "C", "nope": 1}"#, "t").is_err());
        assert!(Config::parse(r#"{"default_channel": "C", "alert_routes": [{"kinds": ["boom"], "channel": "X"}]}"#, "t").is_err());
        assert!(matches!(Config::default().validate(), Err(ConfigError::NoDefaultChannel)));
    }
}
