use super::*;
use serde_json::json;

const REQUEST: &str = "6f1c2a9e-8d3b-4c57-a0e2-93b1f7d4c6a8";
const RESPONSE_URL: &str = "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN";

fn config() -> Config {
    Config { location: FeedLocation::parse("ci-feeds/ci/slack").unwrap(), team_id: "T1DC2JH3J".into() }
}

fn at() -> DateTime<Utc> {
    "2026-05-12T09:41:06Z".parse().unwrap()
}

fn run(payload: Value) -> Result<Vec<Envelope<Event>>, Refusal> {
    decide(&payload, REQUEST, &config(), at(), &Ids::sequence(1))
}

/// Every event validates against its contract's JSON Schema, as `pulse publish` would check it.
fn valid(events: &[Envelope<Event>]) {
    for e in events {
        let document = serde_json::to_value(e).unwrap();
        pulse_contracts::validate_and_parse(document).unwrap_or_else(|err| panic!("{}: {err}", e.event_type));
        assert_eq!(e.source, SOURCE);
    }
}

#[test]
fn update_announces_each_distinct_email_at_praktikas_key() {
    let events = run(json!({"action": "update", "emails": ["a@x.io", "b+ci@x.io", "a@x.io", ""]})).unwrap();
    valid(&events);
    let got: Vec<(String, String, String)> = events
        .iter()
        .map(|e| match &e.detail {
            Event::FeedWrittenV1(w) => {
                assert_eq!(
                    (w.bucket.as_str(), w.learned_from, w.etag.as_deref(), w.sequencer.as_deref()),
                    ("ci-feeds", LearnedFrom::WorkerUpdate, None, None)
                );
                (w.email.as_ref().unwrap().to_string(), w.key.clone(), e.dedup_key.clone())
            }
            other => panic!("{}", other.event_type()),
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a@x.io".into(), "ci/slack/events/a_at_x.io.json.gz".into(), format!("feed.written:worker:{REQUEST}:0")),
            ("b+ci@x.io".into(), "ci/slack/events/b_plus_ci_at_x.io.json.gz".into(), format!("feed.written:worker:{REQUEST}:1")),
        ]
    );
}

#[test]
fn a_retried_invocation_has_the_same_dedup_keys_and_another_does_not() {
    let payload = json!({"action": "update", "emails": ["a@x.io", "b@x.io"]});
    let keys = |request: &str| -> Vec<String> {
        decide(&payload, request, &config(), at(), &Ids::sequence(1)).unwrap().into_iter().map(|e| e.dedup_key).collect()
    };
    assert_eq!(keys(REQUEST), keys(REQUEST));
    assert_ne!(keys(REQUEST), keys("another-request"));
    assert_eq!(decide(&payload, " ", &config(), at(), &Ids::sequence(1)).unwrap_err(), Refusal::NoRequestId);
}

#[test]
fn update_without_emails_is_refused() {
    for payload in [
        json!({"action": "update"}),
        json!({"action": "update", "emails": []}),
        json!({"action": "update", "emails": [""]}),
        json!({"action": "update", "emails": null}),
        json!({"action": "update", "username": "a@x.io"}),
    ] {
        assert_eq!(run(payload.clone()).unwrap_err(), Refusal::NoEmails, "{payload}");
    }
    let err = run(json!({"action": "update", "emails": "a@x.io"})).unwrap_err();
    assert!(err.to_string().contains("`emails` must be a list of emails, found a string"), "{err}");
    let err = run(json!({"action": "update", "emails": ["a@x.io", "not an email"]})).unwrap_err();
    assert!(err.to_string().contains("emails[1]") && err.to_string().contains("not an email address"), "{err}");
    let err = run(json!({"action": "update", "emails": [7]})).unwrap_err();
    assert!(err.to_string().contains("a number"), "{err}");
}

#[test]
fn subscribe_is_the_command_ingress_would_have_published() {
    let payload = json!({"action": "subscribe", "user_id": "U2CERLKJA", "username": "roadrunner", "github_login": "alice@clickhouse.com", "response_url": RESPONSE_URL});
    let events = run(payload).unwrap();
    valid(&events);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].dedup_key, format!("slack.command:T1DC2JH3J:praktika-worker:{REQUEST}:0"));
    let Event::SlackCommandV1(cmd) = &events[0].detail else { panic!("not a command") };
    assert_eq!(
        *cmd,
        SlackCommand {
            team_id: "T1DC2JH3J".into(),
            user_id: "U2CERLKJA".into(),
            user_name: "roadrunner".into(),
            channel_id: String::new(),
            command: SlashCommand::Praktika,
            text: "subscribe alice@clickhouse.com".into(),
            action: CommandAction::Subscribe { email: Some(Email::parse("alice@clickhouse.com").unwrap()) },
            response_url: RESPONSE_URL.into(),
            trigger_id: String::new(),
        }
    );
}

#[test]
fn subscribe_without_an_email_means_the_profiles() {
    for login in [json!(""), json!(null)] {
        let events =
            run(json!({"action": "subscribe", "user_id": "U1", "username": "u", "github_login": login, "response_url": RESPONSE_URL}))
                .unwrap();
        valid(&events);
        let Event::SlackCommandV1(cmd) = &events[0].detail else { panic!() };
        assert_eq!((&cmd.action, cmd.text.as_str()), (&CommandAction::Subscribe { email: None }, "subscribe"));
    }
    let events = run(json!({"action": "subscribe", "user_id": "U1", "username": "u", "response_url": RESPONSE_URL})).unwrap();
    let Event::SlackCommandV1(cmd) = &events[0].detail else { panic!() };
    assert_eq!(cmd.action, CommandAction::Subscribe { email: None });
    let err = run(json!({"action": "subscribe", "user_id": "U1", "github_login": "octocat", "response_url": RESPONSE_URL})).unwrap_err();
    assert!(err.to_string().contains("`github_login`"), "{err}");
}

#[test]
fn unsubscribe_is_the_command_ingress_would_have_published() {
    let events =
        run(json!({"action": "unsubscribe", "user_id": "U2CERLKJA", "username": "roadrunner", "response_url": RESPONSE_URL})).unwrap();
    valid(&events);
    let Event::SlackCommandV1(cmd) = &events[0].detail else { panic!() };
    assert_eq!((&cmd.action, cmd.text.as_str(), cmd.user_name.as_str()), (&CommandAction::Unsubscribe, "unsubscribe", "roadrunner"));
    assert_eq!((cmd.channel_id.as_str(), cmd.trigger_id.as_str(), cmd.team_id.as_str()), ("", "", "T1DC2JH3J"));
}

#[test]
fn toggle_pref_is_the_home_tab_click() {
    for key in PREF_KEYS {
        let events = run(json!({"action": "toggle_pref", "user_id": "U2CERLKJA", "username": "roadrunner", "pref_key": key, "response_url": RESPONSE_URL, "value": "toggle"})).unwrap();
        valid(&events);
        assert_eq!(events[0].dedup_key, format!("slack.interaction:T1DC2JH3J:praktika-worker:{REQUEST}:0"));
        let Event::SlackInteractionV1(click) = &events[0].detail else { panic!() };
        assert_eq!(
            *click,
            SlackInteraction {
                team_id: "T1DC2JH3J".into(),
                user_id: "U2CERLKJA".into(),
                user_name: "roadrunner".into(),
                kind: InteractionKind::BlockActions {
                    action_id: format!("toggle_{key}"),
                    value: Some("toggle".into()),
                    block_id: None,
                    container: Container::View { view_id: String::new() },
                },
                response_url: Some(RESPONSE_URL.into()),
                trigger_id: None,
            }
        );
    }
    let err = run(json!({"action": "toggle_pref", "user_id": "U1", "pref_key": "hide_everything", "value": "toggle"})).unwrap_err();
    assert_eq!(err, Refusal::UnknownPref("hide_everything".into()));
    assert!(err.to_string().contains("notify_on_failure"), "{err}");
}

#[test]
fn missing_fields_are_named() {
    let cases = [
        (json!({"action": "subscribe", "username": "u", "response_url": RESPONSE_URL}), "`subscribe` needs a non-empty string `user_id`"),
        (json!({"action": "subscribe", "user_id": "U1"}), "`subscribe` needs a non-empty string `response_url`"),
        (json!({"action": "unsubscribe", "user_id": "", "response_url": RESPONSE_URL}), "`unsubscribe` needs a non-empty string `user_id`"),
        (json!({"action": "toggle_pref", "user_id": "U1", "value": "toggle"}), "`toggle_pref` needs a non-empty string `pref_key`"),
        (json!({"action": "toggle_pref", "pref_key": "hide_merges"}), "`toggle_pref` needs a non-empty string `user_id`"),
        (
            json!({"action": "unsubscribe", "user_id": 42, "response_url": RESPONSE_URL}),
            "`unsubscribe`: `user_id` must be a string, found a number",
        ),
    ];
    for (payload, message) in cases {
        assert_eq!(run(payload.clone()).unwrap_err().to_string(), message, "{payload}");
    }
}

#[test]
fn unknown_actions_and_malformed_payloads_are_refused() {
    assert_eq!(run(json!({"action": "delete_everything"})).unwrap_err(), Refusal::UnknownAction("delete_everything".into()));
    assert_eq!(run(json!({"emails": ["a@x.io"]})).unwrap_err(), Refusal::MissingAction);
    assert_eq!(run(json!({"action": ""})).unwrap_err(), Refusal::MissingAction);
    assert!(matches!(run(json!({"action": ["update"]})).unwrap_err(), Refusal::WrongType { field: "action", .. }));
    assert_eq!(run(json!(["update"])).unwrap_err(), Refusal::NotAnObject("a list"));
    assert_eq!(run(json!("update")).unwrap_err(), Refusal::NotAnObject("a string"));
    for text in ["", "{", "{\"action\": \"update\",}", "\u{0}", "nul"] {
        assert!(matches!(decide_json(text, REQUEST, &config(), at(), &Ids::sequence(1)), Err(Refusal::NotJson(_))), "{text:?}");
    }
}

#[test]
fn nothing_panics_on_odd_json() {
    let odd = [
        json!(null),
        json!(1),
        json!({}),
        json!({"action": null}),
        json!({"action": "update", "emails": [null, {}]}),
        json!({"action": "subscribe", "user_id": {}, "response_url": []}),
        json!({"action": "toggle_pref", "user_id": "U", "pref_key": 3}),
    ];
    for payload in odd {
        assert!(run(payload.clone()).is_err(), "{payload}");
    }
}
