//! The variables `publish` and `run` read, declared once so `--help`, the `env =` of their flags
//! and the README's settings table agree.

use pulse_core::settings::Var;

pub const PULSE_BUS: Var = Var::new(
    "PULSE_BUS",
    "an EventBridge bus name",
    "The bus `pulse publish`, `pulse run` (and `pulse-publish`) and `pulse migrate` publish to; unset means `<stack>-bus`.",
);

pub const PULSE_ENVIRONMENT: Var =
    Var::new("PULSE_ENVIRONMENT", "a name (`production`, `staging`, …)", "The environment `pulse run` reports its job in.");

pub const HOSTNAME: Var =
    Var::new("HOSTNAME", "a host name", "The runner `pulse run` names in its job events; unset means `/etc/hostname`.");

pub const PULSE_CI_JOB_VERSION: Var = Var::new(
    "PULSE_CI_JOB_VERSION",
    "`1` or `2`",
    "The `ci.job` version `pulse run` publishes: stay on 1 until every consumer declares 2 (contracts/README.md, \"Rolling out a new version\").",
)
.default("1");

/// Every variable `pulse-publish` reads (besides the AWS SDK's and `PULSE_STACK`).
pub fn declared() -> Vec<Var> {
    vec![PULSE_BUS, PULSE_ENVIRONMENT, HOSTNAME, PULSE_CI_JOB_VERSION]
}

/// The stack `PULSE_STACK` names: its bus is where results go when no `--bus` is given.
pub fn stack() -> Result<pulse_aws::names::StackNames, pulse_core::settings::SettingError> {
    pulse_aws::names::StackNames::from_settings(&pulse_core::Settings::from_env())
}
