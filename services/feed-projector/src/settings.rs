//! The feed-projector's configuration: what it reads from the environment, declared and read
//! typed at start-up (see `pulse_core::settings`).

use pulse_core::settings::{SettingError, Settings, Var};

use crate::merge::Rules;

pub const PULSE_FEED_RETENTION_DAYS: Var = Var::new(
    "PULSE_FEED_RETENTION_DAYS",
    "a whole number of days, at least 1",
    "Events older than this leave a feed (praktika's `MAX_TIMELINE_DAYS`).",
)
.default("30");

pub const PULSE_FEED_CACHE: Var = Var::new(
    "PULSE_FEED_CACHE",
    "a whole number of feeds (0 turns the cache off)",
    "How many feeds a warm worker keeps in memory, with their ETags, to skip a read.",
)
.default("32");

/// Every variable the feed-projector reads.
pub fn declared() -> Vec<Var> {
    let mut vars = vec![PULSE_FEED_RETENTION_DAYS, PULSE_FEED_CACHE];
    vars.extend(pulse_aws::settings::declared());
    vars.push(pulse_aws::settings::EVENT_FEED_S3_PATH);
    vars.extend(pulse_runtime::settings::declared());
    vars
}

/// What the feed-projector is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub rules: Rules,
    pub cache_capacity: usize,
}

impl Config {
    pub fn from_settings(settings: &Settings) -> Result<Self, SettingError> {
        let days: u32 = settings.parse_required(&PULSE_FEED_RETENTION_DAYS)?;
        if days == 0 {
            return Err(PULSE_FEED_RETENTION_DAYS.refuse("0"));
        }
        Ok(Self { rules: Rules { retention_days: days }, cache_capacity: settings.parse_required(&PULSE_FEED_CACHE)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_praktikas_and_zero_days_is_refused() {
        let config = Config::from_settings(&Settings::from_pairs::<&str, &str>([])).unwrap();
        assert_eq!(config, Config { rules: Rules::default(), cache_capacity: 32 });
        let err = Config::from_settings(&Settings::from_pairs([("PULSE_FEED_RETENTION_DAYS", "0")])).unwrap_err();
        assert_eq!(err.to_string(), "PULSE_FEED_RETENTION_DAYS must be a whole number of days, at least 1; found \"0\"");
    }
}
