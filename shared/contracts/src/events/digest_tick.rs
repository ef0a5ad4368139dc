//! `digest.tick` v1: a cron rule fired. The notifier sends the period's digests and purges
//! soft-deleted subscriptions past retention.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DigestTick {
    pub period: DigestPeriod,
    /// The schedule's nominal time (not when the rule actually fired): digests cover the period
    /// ending here, and it makes a natural dedup key.
    pub scheduled_for: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestPeriod {
    Daily,
    Weekly,
}

impl DigestPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            DigestPeriod::Daily => "daily",
            DigestPeriod::Weekly => "weekly",
        }
    }

    /// How far back a digest of this period looks.
    pub fn length(self) -> chrono::Duration {
        match self {
            DigestPeriod::Daily => chrono::Duration::days(1),
            DigestPeriod::Weekly => chrono::Duration::weeks(1),
        }
    }
}
