//! Ingress's configuration: what it reads from the environment, declared once (see
//! `pulse_core::settings`).

use pulse_aws::secrets::SecretSetting;
use pulse_core::settings::Var;

pub const PULSE_INGRESS_ADDR: Var = Var::new(
    "PULSE_INGRESS_ADDR",
    "an address like `127.0.0.1:3000`",
    "Where the local HTTP server listens (`ingress serve --addr` wins).",
)
.default("127.0.0.1:3000");

pub const PULSE_INGRESS_AWS_TIMEOUT_MS: Var = Var::new(
    "PULSE_INGRESS_AWS_TIMEOUT_MS",
    "milliseconds",
    "The longest one AWS call on the request path (ledger, publish) may take, its retries included. Unset: 900 in Lambda (the three calls of a request fit Slack's 3 s), none elsewhere (the local emulator serves one call at a time).",
);

pub const SLACK_SIGNING_SECRET: Var = Var::new(
    "SLACK_SIGNING_SECRET",
    "the app's signing secret",
    "Checks that requests come from Slack. Unset: read from the SSM parameter `PULSE_SLACK_SIGNING_SECRET_PARAM` names, re-read after a request it refuses.",
)
.secret();

pub const PULSE_SLACK_SIGNING_SECRET_PARAM: Var = Var::new(
    "PULSE_SLACK_SIGNING_SECRET_PARAM",
    "an SSM parameter name",
    "The SecureString parameter holding the signing secret (praktika's: `praktika_slack_app_signing_secret`).",
)
.default("pulse_slack_signing_secret");

pub const SLACK_APP_TOKEN: Var = Var::new(
    "SLACK_APP_TOKEN",
    "an app-level token (`xapp-…`)",
    "Socket Mode's credential (`ingress socket-mode`). Unset: read from the SSM parameter `PULSE_SLACK_APP_TOKEN_PARAM` names.",
)
.secret();

pub const PULSE_SLACK_APP_TOKEN_PARAM: Var = Var::new(
    "PULSE_SLACK_APP_TOKEN_PARAM",
    "an SSM parameter name",
    "The SecureString parameter holding the app-level token when `SLACK_APP_TOKEN` is unset.",
)
.default("pulse_slack_app_token");

pub const GITHUB_WEBHOOK_SECRET: Var = Var::new(
    "GITHUB_WEBHOOK_SECRET",
    "the webhook's secret",
    "Checks that `POST /github/webhook` deliveries come from GitHub (`X-Hub-Signature-256`). Unset: read from the SSM parameter `PULSE_GITHUB_WEBHOOK_SECRET_PARAM` names; neither: the route answers 404.",
)
.secret();

pub const PULSE_GITHUB_WEBHOOK_SECRET_PARAM: Var = Var::new(
    "PULSE_GITHUB_WEBHOOK_SECRET_PARAM",
    "an SSM parameter name",
    "The SecureString parameter holding the GitHub webhook secret when `GITHUB_WEBHOOK_SECRET` is unset.",
)
.default("pulse_github_webhook_secret");

pub const SIGNING_SECRET: SecretSetting = SecretSetting { value: SLACK_SIGNING_SECRET, parameter: PULSE_SLACK_SIGNING_SECRET_PARAM };
pub const BOT_TOKEN: SecretSetting =
    SecretSetting { value: pulse_slack::settings::SLACK_BOT_TOKEN, parameter: pulse_slack::settings::PULSE_SLACK_BOT_TOKEN_PARAM };
pub const APP_TOKEN: SecretSetting = SecretSetting { value: SLACK_APP_TOKEN, parameter: PULSE_SLACK_APP_TOKEN_PARAM };
pub const GITHUB_SECRET: SecretSetting = SecretSetting { value: GITHUB_WEBHOOK_SECRET, parameter: PULSE_GITHUB_WEBHOOK_SECRET_PARAM };

/// Every variable ingress reads.
pub fn declared() -> Vec<Var> {
    let mut vars = vec![
        PULSE_INGRESS_ADDR,
        PULSE_INGRESS_AWS_TIMEOUT_MS,
        SLACK_SIGNING_SECRET,
        PULSE_SLACK_SIGNING_SECRET_PARAM,
        SLACK_APP_TOKEN,
        PULSE_SLACK_APP_TOKEN_PARAM,
        GITHUB_WEBHOOK_SECRET,
        PULSE_GITHUB_WEBHOOK_SECRET_PARAM,
    ];
    vars.extend(pulse_slack::settings::declared());
    vars.extend(pulse_aws::settings::declared());
    vars.extend(pulse_runtime::settings::declared_logging());
    vars
}
