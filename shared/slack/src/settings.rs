//! The environment variables of every program that calls Slack's Web API. Declared once here;
//! see `pulse_core::settings`. The token's SSM fallback is put together by the programs, which
//! know AWS (`pulse_aws::secrets::SecretSetting`).

use pulse_core::settings::Var;

pub const SLACK_API_URL: Var =
    Var::new("SLACK_API_URL", "a URL, without a trailing `/`", "Slack's Web API root; the fake Slack's `/api` locally.")
        .default("https://slack.com/api");

pub const SLACK_BOT_TOKEN: Var = Var::new(
    "SLACK_BOT_TOKEN",
    "a bot token (`xoxb-…`)",
    "The bot token. Unset: read from the SSM parameter `PULSE_SLACK_BOT_TOKEN_PARAM` names, re-read on a rotation.",
)
.secret();

pub const PULSE_SLACK_BOT_TOKEN_PARAM: Var = Var::new(
    "PULSE_SLACK_BOT_TOKEN_PARAM",
    "an SSM parameter name",
    "The SecureString parameter holding the bot token when `SLACK_BOT_TOKEN` is unset.",
)
.default("pulse_slack_bot_token");

/// What every Slack-calling program declares.
pub fn declared() -> Vec<Var> {
    vec![SLACK_API_URL, SLACK_BOT_TOKEN, PULSE_SLACK_BOT_TOKEN_PARAM]
}
