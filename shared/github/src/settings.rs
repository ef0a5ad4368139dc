//! The environment variables of every program that calls GitHub's REST API (the notifier's
//! re-run button, `pulse github redeliver`). Declared once here; see `pulse_core::settings`.
//! Each credential is a [`SecretSetting`]: the variable wins, else its SSM parameter.

use pulse_aws::secrets::SecretSetting;
use pulse_core::settings::Var;

pub const GITHUB_API_URL: Var = Var::new(
    "GITHUB_API_URL",
    "a URL, without a trailing `/`",
    "GitHub's REST API root: `https://HOST/api/v3` for GitHub Enterprise Server, the fake GitHub locally.",
)
.default("https://api.github.com");

pub const GITHUB_TOKEN: Var = Var::new(
    "GITHUB_TOKEN",
    "a fine-grained personal access token (`github_pat_…`)",
    "Calls GitHub as its owner, when no GitHub App is configured. Unset: read from the SSM parameter `PULSE_GITHUB_TOKEN_PARAM` names, if it exists.",
)
.secret();

pub const PULSE_GITHUB_TOKEN_PARAM: Var = Var::new(
    "PULSE_GITHUB_TOKEN_PARAM",
    "an SSM parameter name",
    "The SecureString parameter holding the token when `GITHUB_TOKEN` is unset.",
)
.default("pulse_github_token");

pub const GITHUB_APP_ID: Var = Var::new(
    "GITHUB_APP_ID",
    "a GitHub App's numeric id",
    "Calls GitHub as this App (with `GITHUB_APP_PRIVATE_KEY`), which wins over a token. Unset: read from the SSM parameter `PULSE_GITHUB_APP_ID_PARAM` names, if it exists.",
);

pub const PULSE_GITHUB_APP_ID_PARAM: Var =
    Var::new("PULSE_GITHUB_APP_ID_PARAM", "an SSM parameter name", "The parameter holding the App id when `GITHUB_APP_ID` is unset.")
        .default("pulse_github_app_id");

pub const GITHUB_APP_PRIVATE_KEY: Var = Var::new(
    "GITHUB_APP_PRIVATE_KEY",
    "the App's PEM private key (`-----BEGIN RSA PRIVATE KEY-----…`)",
    "Signs the App's JWTs, from which installation tokens are minted. Unset: read from the SSM parameter `PULSE_GITHUB_APP_PRIVATE_KEY_PARAM` names.",
)
.secret();

pub const PULSE_GITHUB_APP_PRIVATE_KEY_PARAM: Var = Var::new(
    "PULSE_GITHUB_APP_PRIVATE_KEY_PARAM",
    "an SSM parameter name",
    "The SecureString parameter holding the App's private key when `GITHUB_APP_PRIVATE_KEY` is unset.",
)
.default("pulse_github_app_private_key");

pub const TOKEN: SecretSetting = SecretSetting { value: GITHUB_TOKEN, parameter: PULSE_GITHUB_TOKEN_PARAM };
pub const APP_ID: SecretSetting = SecretSetting { value: GITHUB_APP_ID, parameter: PULSE_GITHUB_APP_ID_PARAM };
pub const APP_PRIVATE_KEY: SecretSetting = SecretSetting { value: GITHUB_APP_PRIVATE_KEY, parameter: PULSE_GITHUB_APP_PRIVATE_KEY_PARAM };

/// What every GitHub-calling program declares.
pub fn declared() -> Vec<Var> {
    vec![
        GITHUB_API_URL,
        GITHUB_TOKEN,
        PULSE_GITHUB_TOKEN_PARAM,
        GITHUB_APP_ID,
        PULSE_GITHUB_APP_ID_PARAM,
        GITHUB_APP_PRIVATE_KEY,
        PULSE_GITHUB_APP_PRIVATE_KEY_PARAM,
    ]
}
