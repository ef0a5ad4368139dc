//! The home-renderer's configuration: what it reads from the environment, declared and read
//! typed at start-up (see `pulse_core::settings`).

use pulse_core::settings::Var;

pub const PULSE_SLACK_BOT_TOKEN: pulse_aws::secrets::SecretSetting = pulse_aws::secrets::SecretSetting {
    value: pulse_slack::settings::SLACK_BOT_TOKEN,
    parameter: pulse_slack::settings::PULSE_SLACK_BOT_TOKEN_PARAM,
};

/// Every variable the home-renderer reads.
pub fn declared() -> Vec<Var> {
    let mut vars = vec![pulse_aws::settings::PULSE_SUBSCRIPTION_RETENTION_DAYS];
    vars.extend(pulse_slack::settings::declared());
    vars.extend(pulse_aws::settings::declared());
    vars.push(pulse_aws::settings::EVENT_FEED_S3_PATH);
    vars.extend(pulse_runtime::settings::declared());
    vars
}
