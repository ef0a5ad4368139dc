//! Ingress in the test's process, as its Lambda builds it, and Slack's signed requests to it:
//! for the tests that put something between ingress and AWS (a counting or failing proxy).

use pulse_core::{Clock, Ids};
use pulse_ingress::{Core, Ingress, RawRequest, SlackHeaders, Verifier, config};
use pulse_slack_requests::Signed;

use super::{BOT_TOKEN, Scene, sdk_config};

/// The signing secret in-process ingress checks requests against.
pub const SIGNING_SECRET: &str = "pulse-local-signing-secret";

/// Ingress as its Lambda builds it (`config::from_settings`), reaching AWS at `endpoint`.
pub async fn in_process_ingress(scene: &Scene, endpoint: &str) -> Ingress {
    let sdk = sdk_config(endpoint).await;
    let ledger = pulse_ingress::ledger::EnvelopeLedger::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        config::ledger_table(&scene.names),
        Clock::system(),
        Ids::random(),
    );
    Ingress::new(
        Core::new(Verifier::new(SIGNING_SECRET).unwrap(), Ids::random()),
        ledger,
        config::publisher(aws_sdk_eventbridge::Client::new(&sdk), scene.names.bus()),
        Some(config::slack_client(scene.slack.api_url(), BOT_TOKEN.into())),
        Clock::system(),
    )
}

/// Post `body` to ingress as Slack would (signed now), expecting 200.
pub async fn post_signed(ingress: &Ingress, path: &str, body: String, json_body: bool) {
    let now = chrono::Utc::now().timestamp();
    let signed = if json_body { Signed::json(SIGNING_SECRET, now, &body) } else { Signed::form(SIGNING_SECRET, now, &body) };
    let pairs = signed.pairs();
    let headers = SlackHeaders::from_str_pairs(pairs.iter().map(|(n, v)| (*n, v.as_str())));
    let reply = ingress.handle_http(RawRequest { method: "POST", path, headers, body: body.as_bytes() }).await;
    assert_eq!(reply.status, 200, "ingress refused {path}: {reply:?}");
}
