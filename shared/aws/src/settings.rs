//! The environment variables every program that reaches AWS reads (the stack's names, the feed
//! location, the SDK's own). Declared once here; see `pulse_core::settings`.

use pulse_core::settings::{SettingError, Settings, Var};

use crate::names::StackNames;

pub const PULSE_STACK: Var = Var::new(
    "PULSE_STACK",
    "a stack prefix (lowercase letters, digits, `-`)",
    "Names the stack's bus (`<p>-bus`), queues, tables and feed bucket.",
)
.default("pulse");

pub const EVENT_FEED_S3_PATH: Var = Var::new(
    "EVENT_FEED_S3_PATH",
    "praktika's `bucket/prefix`",
    "Where the per-author feeds are, split exactly as praktika splits it; unset means the stack's own feed bucket.",
);

pub const AWS_ENDPOINT_URL: Var =
    Var::new("AWS_ENDPOINT_URL", "a URL", "An emulator (moto, LocalStack) for every AWS call; read by the AWS SDK. Unset means AWS.");

pub const AWS_REGION: Var =
    Var::new("AWS_REGION", "an AWS region", "The region, read by the AWS SDK (with the rest of its standard chain).").default("us-east-1");

/// Shared by the home-renderer, which keeps subscriptions, and the notifier, which purges them:
/// one declaration, one parse.
pub const PULSE_SUBSCRIPTION_RETENTION_DAYS: Var = Var::new(
    "PULSE_SUBSCRIPTION_RETENTION_DAYS",
    "a whole number of days",
    "How long an unsubscribed person's subscription is kept (soft-deleted) before the daily digest tick purges it.",
)
.default("30");

/// `PULSE_SUBSCRIPTION_RETENTION_DAYS`, read the one way both the home-renderer and the notifier
/// read it.
pub fn subscription_retention_days(settings: &Settings) -> Result<u32, SettingError> {
    settings.parse_required(&PULSE_SUBSCRIPTION_RETENTION_DAYS)
}

/// What every AWS-reaching program declares (those that read feeds add [`EVENT_FEED_S3_PATH`]).
pub fn declared() -> Vec<Var> {
    vec![PULSE_STACK, AWS_ENDPOINT_URL, AWS_REGION]
}

impl StackNames {
    /// The stack `PULSE_STACK` names.
    pub fn from_settings(settings: &Settings) -> Result<Self, SettingError> {
        settings.required(&PULSE_STACK).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_retention_days_are_refused_by_name() {
        assert_eq!(subscription_retention_days(&Settings::from_pairs::<&str, &str>([])), Ok(30));
        let err = subscription_retention_days(&Settings::from_pairs([("PULSE_SUBSCRIPTION_RETENTION_DAYS", "-1")])).unwrap_err();
        assert_eq!(err.to_string(), "PULSE_SUBSCRIPTION_RETENTION_DAYS must be a whole number of days; found \"-1\"");
    }
}
