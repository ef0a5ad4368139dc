//! The `pulse` command's environment: every variable it reads, declared once (see
//! `pulse_core::settings`). Flags win over variables; clap reads the variables through these
//! declarations (`env = PULSE_BUS.name`), so `--help` and the README's table agree.

use pulse_core::settings::Var;

pub use pulse_publisher::settings::{HOSTNAME, PULSE_BUS, PULSE_CI_JOB_VERSION, PULSE_ENVIRONMENT};

pub const PULSE_INGRESS_URL: Var = Var::new("PULSE_INGRESS_URL", "a URL", "The ingress `pulse slack send|load` sign requests to.")
    .default("http://127.0.0.1:3000/slack/events");

pub const USER: Var = Var::new(
    "USER",
    "a name",
    "Who runs the command: `pulse forget` records it in the audit log as the requester unless `--by` names someone.",
);

/// Every variable the `pulse` command reads.
pub fn declared() -> Vec<Var> {
    let mut vars = vec![
        PULSE_BUS,
        PULSE_ENVIRONMENT,
        PULSE_INGRESS_URL,
        HOSTNAME,
        USER,
        PULSE_CI_JOB_VERSION,
        pulse_ingress::settings::SLACK_SIGNING_SECRET,
        pulse_ingress::settings::GITHUB_WEBHOOK_SECRET,
        pulse_runtime::settings::RUST_LOG,
    ];
    vars.push(pulse_slack::settings::SLACK_API_URL);
    vars.extend(pulse_github::settings::declared());
    vars.extend(pulse_aws::settings::declared());
    vars.push(pulse_aws::settings::EVENT_FEED_S3_PATH);
    vars.extend(pulse_infra_reconciler::settings::declared_packages());
    vars
}

/// The stack `PULSE_STACK` names, for commands without a `--prefix`.
pub fn stack() -> Result<pulse_aws::names::StackNames, pulse_core::settings::SettingError> {
    pulse_aws::names::StackNames::from_settings(&pulse_core::Settings::from_env())
}
