//! The notifier's configuration: what it reads from the environment, declared and read typed at
//! start-up (see `pulse_core::settings`). Routing itself is a file (`config.rs`).

use std::time::Duration;

use pulse_core::settings::{SettingError, Settings, Var};

use crate::delivery::UncertainPolicy;

pub const NOTIFIER_CONFIG: Var =
    Var::new("NOTIFIER_CONFIG", "a path to a JSON file", "The routing file (channels, alert routes, digests); see the notifier's README.");

pub const SLACK_DEFAULT_CHANNEL: Var = Var::new(
    "SLACK_DEFAULT_CHANNEL",
    "a Slack channel id",
    "Where anything without a more specific route goes, when the routing file names no `default_channel`.",
);

pub const SLACK_USERS_CHANNEL: Var = Var::new(
    "SLACK_USERS_CHANNEL",
    "a Slack channel id",
    "Where registrations are announced, when the routing file names no `users_channel`.",
);

pub const NOTIFIER_PACING_MS: Var = Var::new(
    "NOTIFIER_PACING_MS",
    "a whole number of milliseconds",
    "The least gap between two posts to one channel (Slack allows about one a second).",
)
.default("1000");

pub const NOTIFIER_UNCERTAIN_POLICY: Var = Var::new(
    "NOTIFIER_UNCERTAIN_POLICY",
    "`assume_sent`, `resend` or `hold`",
    "What to do with a post whose outcome Slack could not confirm.",
)
.default("assume_sent");

pub const PULSE_SLACK_BOT_TOKEN: pulse_aws::secrets::SecretSetting = pulse_aws::secrets::SecretSetting {
    value: pulse_slack::settings::SLACK_BOT_TOKEN,
    parameter: pulse_slack::settings::PULSE_SLACK_BOT_TOKEN_PARAM,
};

/// Every variable the notifier reads.
pub fn declared() -> Vec<Var> {
    let mut vars = vec![NOTIFIER_CONFIG, SLACK_DEFAULT_CHANNEL, SLACK_USERS_CHANNEL, NOTIFIER_PACING_MS, NOTIFIER_UNCERTAIN_POLICY];
    vars.push(pulse_aws::settings::PULSE_SUBSCRIPTION_RETENTION_DAYS);
    vars.extend(pulse_slack::settings::declared());
    vars.extend(pulse_github::settings::declared());
    vars.extend(pulse_aws::settings::declared());
    vars.push(pulse_aws::settings::EVENT_FEED_S3_PATH);
    vars.extend(pulse_runtime::settings::declared());
    vars
}

/// What the notifier is configured with, besides its routing file and secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub pacing: Duration,
    pub uncertain: UncertainPolicy,
    pub retention: chrono::Duration,
    pub slack_api_url: String,
}

impl Options {
    pub fn from_settings(settings: &Settings) -> Result<Self, SettingError> {
        let days = pulse_aws::settings::subscription_retention_days(settings)?;
        Ok(Self {
            pacing: Duration::from_millis(settings.parse_required(&NOTIFIER_PACING_MS)?),
            uncertain: settings.parse_required(&NOTIFIER_UNCERTAIN_POLICY)?,
            retention: chrono::Duration::days(i64::from(days)),
            slack_api_url: settings.required(&pulse_slack::settings::SLACK_API_URL)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_a_bad_policy() {
        let options = Options::from_settings(&Settings::from_pairs::<&str, &str>([])).unwrap();
        assert_eq!(options.pacing, Duration::from_secs(1));
        assert_eq!(options.uncertain, UncertainPolicy::AssumeSent);
        assert_eq!(options.retention, chrono::Duration::days(30));
        let err = Options::from_settings(&Settings::from_pairs([("NOTIFIER_UNCERTAIN_POLICY", "maybe")])).unwrap_err();
        assert_eq!(err.to_string(), "NOTIFIER_UNCERTAIN_POLICY must be `assume_sent`, `resend` or `hold`; found \"maybe\"");
    }
}
