use proptest::prelude::*;
use pulse_contracts::{Container, Email, HomeTab};
use serde_json::json;

use super::*;
use pulse_slack_requests::{self as requests, Signed};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const NOW: i64 = 1_763_630_300;

/// Unix seconds as the instant a request is decided at.
fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

/// The headers ingress reads from a signed request.
fn headers(signed: &Signed) -> SlackHeaders<'_> {
    SlackHeaders::from_str_pairs(signed.header_refs())
}

fn core() -> Core {
    Core::new(Verifier::new(SECRET).unwrap(), Ids::sequence(1))
}

fn handle_signed(body: &str, content_type: &'static str) -> Decision {
    let signed = Signed::new(SECRET, NOW - 2, body.as_bytes(), content_type);
    core().handle(&RawRequest { method: "POST", path: "/slack/events", headers: headers(&signed), body: body.as_bytes() }, at(NOW))
}

fn form(body: &str) -> Decision {
    handle_signed(body, "application/x-www-form-urlencoded")
}

fn command(line: &str) -> (requests::Command, Decision) {
    let command = requests::Command::new(line, "U2CERLKJA");
    let decision = form(&command.form());
    (command, decision)
}

fn ephemeral_text(reply: &Reply) -> &str {
    assert_eq!(reply.status, 200);
    let body = reply.body.as_ref().expect("a JSON body");
    assert_eq!(body["response_type"], "ephemeral");
    body["text"].as_str().unwrap()
}

/// The single published event, checked against its JSON Schema in `contracts/`.
fn only_event(decision: &Decision) -> Envelope<Event> {
    let accepted = decision.accepted.as_ref().expect("accepted");
    assert_eq!(accepted.events.len(), 1);
    let event = accepted.events[0].clone();
    let wire = serde_json::to_value(event.to_raw()).unwrap();
    pulse_contracts::validate_and_parse(wire).expect("the published event matches its schema");
    assert_eq!(event.source, SOURCE);
    event
}

#[test]
fn slacks_documented_example_is_verified_and_answered() {
    // The documented request is for another app's command: verified, then politely declined.
    let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    let headers = SlackHeaders::from_str_pairs([
        ("X-Slack-Request-Timestamp", "1531420618"),
        ("X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ]);
    let decision = core().handle(&RawRequest { method: "POST", path: "/", headers, body: body.as_bytes() }, at(1531420618 + 10));
    assert_eq!(decision.outcome, "unknown_command");
    assert!(ephemeral_text(&decision.reply).contains("does not handle `/webhook-collect`"));
    assert!(decision.accepted.is_none());
    // The same request ten minutes later is refused.
    let decision = core().handle(&RawRequest { method: "POST", path: "/", headers, body: body.as_bytes() }, at(1531420618 + 600));
    assert_eq!(decision.reply.status, 401);
}

#[test]
fn praktika_subscribe_with_and_without_email() {
    let (sent, decision) = command("/praktika subscribe alice@clickhouse.com");
    assert_eq!(decision.outcome, "accepted");
    assert!(ephemeral_text(&decision.reply).contains("alice@clickhouse.com"));
    let accepted = decision.accepted.as_ref().unwrap();
    assert_eq!(accepted.key, LedgerKey { team_id: requests::TEAM_ID.into(), envelope_id: sent.trigger_id.clone() });
    assert_eq!(accepted.event_type, "slack.command");
    assert!(accepted.modal.is_none());
    assert!(!accepted.fail_with_5xx);
    let event = only_event(&decision);
    assert_eq!(event.dedup_key, format!("slack.command:{}:{}", requests::TEAM_ID, sent.trigger_id));
    let Event::SlackCommandV1(detail) = event.detail else { panic!() };
    assert_eq!(detail.action, CommandAction::Subscribe { email: Some(Email::parse("alice@clickhouse.com").unwrap()) });
    assert_eq!(detail.command, pulse_contracts::SlashCommand::Praktika);
    assert_eq!(detail.text, "subscribe alice@clickhouse.com");
    assert_eq!(detail.user_id, "U2CERLKJA");
    assert_eq!(detail.response_url, sent.response_url);
    assert_eq!(detail.trigger_id, sent.trigger_id);

    let (_, decision) = command("/praktika subscribe");
    let Event::SlackCommandV1(detail) = only_event(&decision).detail else { panic!() };
    assert_eq!(detail.action, CommandAction::Subscribe { email: None });
}

#[test]
fn every_accepted_subcommand_publishes_its_action() {
    for (line, action) in [
        ("/praktika unsubscribe", CommandAction::Unsubscribe),
        ("/pulser status", CommandAction::Status),
        ("/pulser health", CommandAction::Health),
        ("/pulser deploy api", CommandAction::Deploy { service: "api".into() }),
    ] {
        let (_, decision) = command(line);
        assert_eq!(decision.outcome, "accepted", "{line}");
        assert!(!ephemeral_text(&decision.reply).is_empty());
        let Event::SlackCommandV1(detail) = only_event(&decision).detail else { panic!() };
        assert_eq!(detail.action, action, "{line}");
    }
}

#[test]
fn a_github_account_command_is_published_as_slack_command_v3() {
    let (_, decision) = command("/praktika github add 7+ada");
    assert_eq!(decision.outcome, "accepted");
    assert!(ephemeral_text(&decision.reply).contains("`ada`"));
    let Event::SlackCommandV3(pulse_contracts::SlackCommandV3(detail)) = only_event(&decision).detail else { panic!("not v3") };
    assert_eq!(detail.action, CommandAction::GithubLink { account: pulse_contracts::GithubAccount { id: 7, login: "ada".into() } });
}

#[test]
fn pulser_deploy_opens_the_confirmation_modal_with_the_trigger_id() {
    let (sent, decision) = command("/pulser deploy api");
    let modal = decision.accepted.as_ref().unwrap().modal.as_ref().expect("a modal");
    assert_eq!(modal.trigger_id, sent.trigger_id);
    assert_eq!(modal.view, crate::modal::deploy_modal("api", &sent.channel_id));
    assert!(ephemeral_text(&decision.reply).contains("`api`"));
}

#[test]
fn unknown_or_malformed_subcommands_get_usage_and_publish_nothing() {
    for (line, expected) in [
        ("/praktika", "Usage of `/praktika`"),
        ("/praktika subscribe nope", "is not an email address"),
        ("/praktika frobnicate", "I don't know `frobnicate`"),
        ("/pulser", "Usage of `/pulser`"),
        ("/pulser deploy", "needs the service"),
        ("/pulser deploy a b", "exactly one service"),
        ("/pulser restart db", "I don't know `restart`"),
        ("/other thing", "does not handle `/other`"),
    ] {
        let (_, decision) = command(line);
        assert!(decision.accepted.is_none(), "{line}");
        let text = ephemeral_text(&decision.reply);
        assert!(text.contains(expected), "{line}: {text}");
    }
}

#[test]
fn url_verification_echoes_the_challenge() {
    let body = requests::url_verification_payload("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P").to_string();
    let decision = handle_signed(&body, "application/json");
    assert_eq!(decision.reply, Reply::json(200, json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})));
    assert!(decision.accepted.is_none());
}

#[test]
fn app_home_opened_becomes_slack_home_opened() {
    let body = requests::home_opened_payload("Ev0A1B2C3D4E", "U2CERLKJA").to_string();
    let decision = handle_signed(&body, "application/json");
    assert_eq!(decision.reply, Reply::empty());
    let accepted = decision.accepted.as_ref().unwrap();
    assert_eq!(accepted.key.pk(), format!("{}#Ev0A1B2C3D4E", requests::TEAM_ID));
    assert!(accepted.fail_with_5xx);
    let event = only_event(&decision);
    assert_eq!(event.dedup_key, format!("slack.home_opened:{}:Ev0A1B2C3D4E", requests::TEAM_ID));
    let Event::SlackHomeOpenedV1(detail) = event.detail else { panic!() };
    assert_eq!(detail.user_id, "U2CERLKJA");
    assert_eq!(detail.tab, HomeTab::Home);
    assert_eq!(detail.event_ts, "1763630282.000300");
    // Events Pulse does not act on are acknowledged, not recorded.
    let mut other = requests::home_opened_payload("Ev1", "U1");
    other["event"]["type"] = "reaction_added".into();
    let decision = handle_signed(&other.to_string(), "application/json");
    assert_eq!((decision.reply, decision.accepted, decision.outcome), (Reply::empty(), None, "ignored"));
}

#[test]
fn block_actions_become_slack_interaction() {
    let payload = requests::block_actions_payload("ops_approve", "deploy-4411", "U0DANA", "C0OPS", "1763651024.001900");
    let decision = form(&requests::interactivity_form(&payload));
    assert_eq!(decision.reply, Reply::empty());
    let trigger = payload["trigger_id"].as_str().unwrap();
    let event = only_event(&decision);
    assert_eq!(event.dedup_key, format!("slack.interaction:{}:{trigger}", requests::TEAM_ID));
    let Event::SlackInteractionV1(detail) = event.detail else { panic!() };
    assert_eq!(detail.user_id, "U0DANA");
    assert_eq!(detail.trigger_id.as_deref(), Some(trigger));
    assert_eq!(
        detail.kind,
        InteractionKind::BlockActions {
            action_id: "ops_approve".into(),
            value: Some("deploy-4411".into()),
            block_id: Some("ops_actions".into()),
            container: Container::Message { channel_id: "C0OPS".into(), message_ts: "1763651024.001900".into() },
        }
    );
}

#[test]
fn several_actions_get_one_event_each_and_no_trigger_id_falls_back_to_the_body_hash() {
    let mut payload = requests::home_toggle_payload("toggle_hide_merges", "on", "U1", "V0HOME");
    payload["actions"] = json!([{"action_id": "a1", "value": "1"}, {"action_id": "a2", "value": "2"}]);
    payload.as_object_mut().unwrap().remove("trigger_id");
    let body = requests::interactivity_form(&payload);
    let decision = form(&body);
    let accepted = decision.accepted.unwrap();
    assert_eq!(accepted.key.envelope_id, Fallback::Body(body.as_bytes()).id());
    assert!(accepted.key.envelope_id.starts_with('h') && accepted.key.envelope_id.len() == 33);
    let keys: Vec<&str> = accepted.events.iter().map(|e| e.dedup_key.as_str()).collect();
    let base = accepted.key.dedup_key("slack.interaction");
    assert_eq!(keys, vec![base.clone(), format!("{base}:1")]);
    // The same body gives the same key; Socket Mode falls back to the envelope id.
    assert_eq!(form(&body).accepted.unwrap().key, accepted.key);
    assert_eq!(Fallback::Envelope("e-1").id(), "e-1");
}

#[test]
fn deploy_submission_becomes_slack_interaction_and_cancel_publishes_nothing() {
    let payload = requests::deploy_submission_payload("api", "C0OPSDEPLOY", "U0DANA", &["Lambda", "Queue"]);
    let decision = form(&requests::interactivity_form(&payload));
    assert_eq!(decision.reply, Reply::empty());
    let Event::SlackInteractionV1(detail) = only_event(&decision).detail else { panic!() };
    let InteractionKind::ViewSubmission { callback_id, private_metadata, values, .. } = detail.kind else { panic!() };
    assert_eq!(callback_id, crate::modal::DEPLOY_CALLBACK_ID);
    let meta: serde_json::Value = serde_json::from_str(&private_metadata).unwrap();
    assert_eq!(meta["service"], "api");
    assert_eq!(values["deploy_only"]["only_kinds"]["selected_options"][1]["value"], "Queue");

    let decision = form(&requests::interactivity_form(&requests::deploy_closed_payload("U0DANA")));
    assert_eq!((decision.reply, decision.accepted, decision.outcome), (Reply::empty(), None, "view_closed"));
}

#[test]
fn forged_stale_and_unsigned_requests_get_401() {
    let body = requests::Command::new("/pulser status", "U1").form();
    let request = |headers: SlackHeaders<'_>, now: i64| -> Decision {
        core().handle(&RawRequest { method: "POST", path: "/", headers, body: body.as_bytes() }, at(now))
    };
    let good = Signed::form(SECRET, NOW, &body);
    assert_eq!(request(headers(&good), NOW).outcome, "accepted");
    let wrong_secret = Signed::form("not-the-secret", NOW, &body);
    let stale = Signed::form(SECRET, NOW - 301, &body);
    let future = Signed::form(SECRET, NOW + 301, &body);
    let other_body = Signed::form(SECRET, NOW, "team_id=T&command=%2Fpulser&text=status");
    let cases = [
        (headers(&wrong_secret), "does not match"),
        (headers(&stale), "outside the 300 s window"),
        (headers(&future), "outside the 300 s window"),
        (headers(&other_body), "does not match"),
        (SlackHeaders { signature: None, ..headers(&good) }, "X-Slack-Signature header is missing"),
        (SlackHeaders { timestamp: None, ..headers(&good) }, "X-Slack-Request-Timestamp header is missing"),
        (SlackHeaders::default(), "header is missing"),
    ];
    for (headers, reason) in cases {
        let decision = request(headers, NOW);
        assert_eq!(decision.reply.status, 401, "{reason}");
        assert_eq!(decision.outcome, "forged");
        assert!(decision.accepted.is_none());
        let text = decision.reply.body.unwrap().to_string();
        assert!(text.contains(reason), "{text}");
        assert!(!text.contains(&good.signature[3..]) && !text.contains(SECRET), "{text}");
    }
}

#[test]
fn header_names_in_any_letter_case_verify() {
    let body = requests::Command::new("/pulser status", "U1").form();
    let signed = Signed::form(SECRET, NOW, &body);
    for case in [str::to_ascii_lowercase, str::to_ascii_uppercase] {
        let pairs: Vec<(String, String)> = signed.pairs().into_iter().map(|(n, v)| (case(n), v)).collect();
        let headers = SlackHeaders::from_str_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let decision = core().handle(&RawRequest { method: "POST", path: "/", headers, body: body.as_bytes() }, at(NOW));
        assert_eq!(decision.outcome, "accepted");
    }
}

#[test]
fn oversized_bodies_and_other_methods_are_refused_before_verification() {
    let big = "a".repeat(MAX_BODY_BYTES + 1);
    let signed = Signed::form(SECRET, NOW, &big);
    let decision = core().handle(&RawRequest { method: "POST", path: "/", headers: headers(&signed), body: big.as_bytes() }, at(NOW));
    assert_eq!(decision.reply.status, 413);
    assert!(decision.reply.body.unwrap()["error"].as_str().unwrap().contains("65536-byte limit"));
    let body = requests::Command::new("/pulser status", "U1").form();
    let signed = Signed::form(SECRET, NOW, &body);
    let decision = core().handle(&RawRequest { method: "GET", path: "/", headers: headers(&signed), body: body.as_bytes() }, at(NOW));
    assert_eq!(decision.reply.status, 405);
    assert!(decision.accepted.is_none());
}

#[test]
fn signed_bad_bodies_get_4xx_with_reasons() {
    for (body, content_type, status, reason) in [
        ("{not json", "application/json", 400, "the Events API body is not valid"),
        ("payload=%7B%22type%22%3A%22message_action%22%7D", "application/x-www-form-urlencoded", 400, "unknown variant `message_action`"),
        ("user_id=U1&command=%2Fpulser", "application/x-www-form-urlencoded", 400, "has no `response_url`"),
        ("x=1", "text/plain", 415, "text/plain"),
    ] {
        let decision = handle_signed(body, content_type);
        assert_eq!(decision.reply.status, status, "{body}");
        assert!(decision.accepted.is_none());
        let text = decision.reply.body.unwrap()["error"].as_str().unwrap().to_owned();
        assert!(text.contains(reason), "{body}: {text}");
    }
}

// ---- Property: no input panics, and nothing unsigned is ever accepted -------------------------

fn header_name(canonical: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<bool>(), canonical.len())
        .prop_map(move |upper| canonical.chars().zip(upper).map(|(c, u)| if u { c.to_ascii_uppercase() } else { c }).collect())
}

fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
    let valid_command = Just(requests::Command::new("/pulser deploy api", "U1").form().into_bytes());
    let valid_event = Just(requests::home_opened_payload("Ev1", "U1").to_string().into_bytes());
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..2048),
        "[a-z_]{1,12}=[a-zA-Z0-9%+./]{0,40}(&[a-z_]{1,12}=[a-zA-Z0-9%+./]{0,40}){0,12}".prop_map(String::into_bytes),
        "\\{\"type\":\"(event_callback|url_verification|block_actions)\".{0,200}\\}".prop_map(String::into_bytes),
        // Valid bodies with a few bytes flipped.
        (prop_oneof![valid_command, valid_event], proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4)).prop_map(
            |(mut body, flips)| {
                let len = body.len();
                for (at, byte) in flips {
                    body[at % len] = byte;
                }
                body
            }
        ),
    ]
}

fn timestamp_strategy() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![Just(NOW.to_string()), (NOW - 400..NOW + 400).prop_map(|t| t.to_string()), ".{0,20}",])
}

fn signature_strategy() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof!["v0=[0-9a-f]{64}", "v[0-9]=[0-9a-fA-F]{0,70}", ".{0,80}",])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, max_shrink_iters: 200, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_unsigned_requests_never_panic_and_never_succeed(
        body in body_strategy(),
        timestamp in timestamp_strategy(),
        signature in signature_strategy(),
        content_type in proptest::option::of(prop_oneof![
            Just("application/json".to_owned()),
            Just("application/x-www-form-urlencoded".to_owned()),
            ".{0,30}",
        ]),
        names in (header_name("x-slack-request-timestamp"), header_name("x-slack-signature"), header_name("content-type")),
        method in prop_oneof![Just("POST"), Just("post"), Just("GET"), Just("PUT")],
    ) {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if let Some(t) = &timestamp { pairs.push((&names.0, t)); }
        if let Some(s) = &signature { pairs.push((&names.1, s)); }
        if let Some(c) = &content_type { pairs.push((&names.2, c)); }
        let headers = SlackHeaders::from_str_pairs(pairs);
        let decision = core().handle(&RawRequest { method, path: "/slack/events", headers, body: &body }, at(NOW));
        prop_assert!(decision.reply.status >= 400, "status {} for an unsigned body", decision.reply.status);
        prop_assert!(decision.accepted.is_none());
    }

    #[test]
    fn arbitrary_signed_bodies_never_panic_and_4xx_means_nothing_accepted(
        body in body_strategy(),
        content_type in prop_oneof![Just("application/json"), Just("application/x-www-form-urlencoded")],
    ) {
        let signed = Signed::new(SECRET, NOW, &body, content_type);
        let decision = core().handle(&RawRequest { method: "POST", path: "/", headers: headers(&signed), body: &body }, at(NOW));
        let status = decision.reply.status;
        prop_assert!(status == 200 || (400..500).contains(&status), "status {status}");
        if status >= 400 {
            prop_assert!(decision.accepted.is_none());
        }
        if let Some(accepted) = &decision.accepted {
            prop_assert!(!accepted.events.is_empty());
            for event in &accepted.events {
                prop_assert!(event.dedup_key.contains(&accepted.key.envelope_id));
            }
        }
    }
}
