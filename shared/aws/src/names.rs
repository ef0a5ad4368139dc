//! The names of Pulse's own AWS resources, derived from one stack prefix.
//!
//! The infra-reconciler creates resources under these names (from `infra/pulse-stack.json`) and
//! every service finds them by the same rules, so a service needs only `PULSE_STACK` to run.
//! Tests deploy isolated copies of the stack under unique prefixes on one emulator.

/// Pulse's services that consume a queue.
pub const CONSUMERS: [&str; 4] = ["feed-projector", "home-renderer", "notifier", "infra-reconciler"];

/// The services that keep personal data, each of which answers a `person.forget` with a
/// `person.forgotten` (`pulse forget` waits for all of them).
pub const KEEPERS: [&str; 3] = ["feed-projector", "home-renderer", "notifier"];

/// Every Pulse service: the consumers and ingress, Slack's door in. Each is one Lambda function
/// when deployed to AWS (see [`StackNames::function`]).
pub const SERVICES: [&str; 5] = ["ingress", "feed-projector", "home-renderer", "notifier", "infra-reconciler"];

/// Resource names for one deployment of Pulse's stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackNames {
    prefix: String,
}

impl StackNames {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self { prefix: prefix.into() }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The custom EventBridge bus every Pulse event travels on.
    pub fn bus(&self) -> String {
        format!("{}-bus", self.prefix)
    }

    /// The Lambda function that runs a service (`infra/examples/pulse-deployment.json`).
    pub fn function(&self, service: &str) -> String {
        format!("{}-{service}", self.prefix)
    }

    /// Where the services' `person.forgotten` reports wait for `pulse forget`.
    pub fn forget_reports(&self) -> String {
        format!("{}-forget-reports", self.prefix)
    }

    /// The work queue a service consumes.
    pub fn queue(&self, service: &str) -> String {
        format!("{}-{service}", self.prefix)
    }

    /// The dead-letter queue behind a service's work queue.
    pub fn dead_letter_queue(&self, service: &str) -> String {
        format!("{}-{service}-dlq", self.prefix)
    }

    /// A DynamoDB table owned by one service, e.g. `table("feed-projector", "idempotency")`.
    pub fn table(&self, service: &str, purpose: &str) -> String {
        format!("{}-{service}-{purpose}", self.prefix)
    }

    /// The bucket holding the praktika-compatible feeds.
    pub fn feed_bucket(&self) -> String {
        format!("{}-feeds", self.prefix)
    }

    /// Where the feeds are: `EVENT_FEED_S3_PATH` (praktika's `bucket/prefix`, split exactly as
    /// praktika splits it) when set and not empty, else this stack's feed bucket (an empty value
    /// is how a deployment file says "Pulse's own bucket": `infra/examples/pulse-deployment.json`). A value that looks like a
    /// mistake is logged as a warning and used as it is, as praktika would.
    pub fn feed_location(&self, settings: &pulse_core::Settings) -> Result<pulse_contracts::feed_layout::FeedLocation, FeedLocationError> {
        let setting = settings.text(&crate::settings::EVENT_FEED_S3_PATH)?;
        let location = pulse_contracts::feed_layout::FeedLocation::from_setting(setting.as_deref(), self.feed_bucket())?;
        for warning in location.warnings() {
            tracing::warn!(EVENT_FEED_S3_PATH = ?setting, "suspicious EVENT_FEED_S3_PATH: {warning}");
        }
        Ok(location)
    }
}

/// Why the feed location could not be worked out.
#[derive(Debug, thiserror::Error)]
pub enum FeedLocationError {
    #[error(transparent)]
    Setting(#[from] pulse_core::settings::SettingError),
    #[error(transparent)]
    NoBucket(#[from] pulse_contracts::feed_layout::NoBucket),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_prefix() {
        let n = StackNames::new("t1");
        assert_eq!(n.bus(), "t1-bus");
        assert_eq!(n.queue("notifier"), "t1-notifier");
        assert_eq!(n.dead_letter_queue("notifier"), "t1-notifier-dlq");
        assert_eq!(n.table("feed-projector", "idempotency"), "t1-feed-projector-idempotency");
        assert_eq!(n.feed_bucket(), "t1-feeds");
    }
}
