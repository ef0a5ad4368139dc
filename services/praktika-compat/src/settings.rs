//! The praktika entry's configuration: what it reads from the environment, declared and read
//! typed at start-up (see `pulse_core::settings`).

use pulse_core::settings::Var;

pub const PULSE_SLACK_TEAM_ID: Var =
    Var::new("PULSE_SLACK_TEAM_ID", "a Slack team id (`T…`)", "The Slack workspace praktika's app serves; required by the praktika entry.");

pub const PULSE_BUS_REGION: Var = Var::new(
    "PULSE_BUS_REGION",
    "an AWS region",
    "The region of Pulse's bus when it is not the function's own (praktika invokes its worker in us-east-1).",
);

/// Every variable the praktika entry reads.
pub fn declared() -> Vec<Var> {
    let mut vars = vec![PULSE_SLACK_TEAM_ID, PULSE_BUS_REGION];
    vars.extend(pulse_aws::settings::declared());
    vars.push(pulse_aws::settings::EVENT_FEED_S3_PATH);
    vars.extend(pulse_runtime::settings::declared_logging());
    vars
}
