use serde_json::json;

use super::*;
use pulse_slack_requests as requests;

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
const JSON: Option<&str> = Some("application/json");

fn rejected(content_type: Option<&str>, body: &str) -> Rejection {
    match parse_http_body(content_type, body.as_bytes()) {
        Ok(request) => panic!("{body:?} was accepted as {request:?}"),
        Err(rejection) => rejection,
    }
}

#[test]
fn slash_command_form() {
    let command = requests::Command::new("/praktika subscribe alice@clickhouse.com", "U2CERLKJA");
    let parsed = parse_http_body(FORM, command.form().as_bytes()).unwrap();
    let SlackRequest::Command(c) = parsed else { panic!("{parsed:?}") };
    assert_eq!(c.team_id, requests::TEAM_ID);
    assert_eq!(c.user_id, "U2CERLKJA");
    assert_eq!(c.user_name, "user-u2cerlkja");
    assert_eq!(c.channel_id, "C0PULSE01");
    assert_eq!(c.command, "/praktika");
    assert_eq!(c.text, "subscribe alice@clickhouse.com");
    assert_eq!(c.trigger_id, command.trigger_id);
    assert!(c.response_url.starts_with("https://hooks.slack.com/commands/"));
}

#[test]
fn slacks_documented_example_body_parses() {
    let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    let SlackRequest::Command(c) = parse_http_body(FORM, body.as_bytes()).unwrap() else { panic!() };
    assert_eq!(c.command, "/webhook-collect");
    assert_eq!(c.text, "");
    assert_eq!(c.response_url, "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN");
}

#[test]
fn content_is_sniffed_without_a_content_type_and_parameters_are_ignored() {
    let command = requests::Command::new("/pulser status", "U1");
    assert!(matches!(parse_http_body(None, command.form().as_bytes()), Ok(SlackRequest::Command(_))));
    let events = requests::home_opened_payload("Ev1", "U1").to_string();
    assert!(matches!(parse_http_body(None, events.as_bytes()), Ok(SlackRequest::Event(_))));
    assert!(matches!(parse_http_body(Some("application/json; charset=utf-8"), events.as_bytes()), Ok(SlackRequest::Event(_))));
    assert!(matches!(
        parse_http_body(Some("Application/X-WWW-Form-Urlencoded; charset=utf-8"), command.form().as_bytes()),
        Ok(SlackRequest::Command(_))
    ));
}

#[test]
fn missing_command_fields_are_named() {
    let command = requests::Command::new("/pulser status", "U1");
    for field in ["team_id", "user_id", "channel_id", "trigger_id", "response_url"] {
        let body: String = form_urlencoded::parse(command.form().as_bytes())
            .filter(|(k, _)| k != field)
            .fold(form_urlencoded::Serializer::new(String::new()), |mut s, (k, v)| {
                s.append_pair(&k, &v);
                s
            })
            .finish();
        let r = rejected(FORM, &body);
        assert_eq!(r.status, 400);
        assert_eq!(r.reason, format!("the slash command has no `{field}`"));
    }
    let mut bad_url = command.clone();
    bad_url.response_url = "javascript:alert(1)".into();
    assert!(rejected(FORM, &bad_url.form()).reason.contains("not an http(s) URL"));
}

#[test]
fn block_actions_from_a_message_and_from_the_home_tab() {
    let payload = requests::block_actions_payload("ops_approve", "deploy-4411", "U0DANA", "C0OPS", "1763651024.001900");
    let SlackRequest::Interaction(Interaction::BlockActions(b)) =
        parse_http_body(FORM, requests::interactivity_form(&payload).as_bytes()).unwrap()
    else {
        panic!()
    };
    assert_eq!(b.team_id, requests::TEAM_ID);
    assert_eq!(b.user_id, "U0DANA");
    assert_eq!(b.user_name, "user-u0dana");
    assert_eq!(b.trigger_id.as_deref(), payload["trigger_id"].as_str());
    assert!(b.response_url.is_some());
    assert_eq!(b.container, Container::Message { channel_id: "C0OPS".into(), message_ts: "1763651024.001900".into() });
    assert_eq!(
        b.actions,
        vec![Action {
            action_id: "ops_approve".into(),
            block_id: Some("ops_actions".into()),
            value: Some("deploy-4411".into()),
            action_ts: Some("1763651031.123456".into()),
        }]
    );

    let payload = requests::home_toggle_payload("toggle_notify_on_failure", "on", "U1", "V0HOME");
    let SlackRequest::Interaction(Interaction::BlockActions(b)) =
        parse_http_body(FORM, requests::interactivity_form(&payload).as_bytes()).unwrap()
    else {
        panic!()
    };
    assert_eq!(b.container, Container::View { view_id: "V0HOME".into() });
    assert_eq!(b.response_url, None);
    assert_eq!(b.user_name, "roadrunner");
}

#[test]
fn select_values_and_container_fallbacks() {
    let mut payload = requests::block_actions_payload("pick", "", "U1", "C1", "1.2");
    payload["actions"][0] = json!({"action_id": "pick", "type": "static_select", "selected_option": {"value": "opt-2", "text": {"type": "plain_text", "text": "2"}}});
    // Older payloads: the channel and ts only outside the container.
    payload["container"] = json!({"type": "message"});
    let SlackRequest::Interaction(Interaction::BlockActions(b)) = parse_socket("interactive", payload).unwrap() else { panic!() };
    assert_eq!(b.actions[0].value.as_deref(), Some("opt-2"));
    assert_eq!(b.container, Container::Message { channel_id: "C1".into(), message_ts: "1.2".into() });
}

#[test]
fn view_submission_and_view_closed() {
    let payload = requests::deploy_submission_payload("api", "C0OPSDEPLOY", "U0DANA", &["Lambda"]);
    let SlackRequest::Interaction(Interaction::ViewSubmission(v)) =
        parse_http_body(FORM, requests::interactivity_form(&payload).as_bytes()).unwrap()
    else {
        panic!()
    };
    assert_eq!(v.callback_id, "deploy_confirm");
    assert_eq!(v.view_id, "V0DEPLOYMOD1");
    assert_eq!(v.user_name, "dana");
    let meta: serde_json::Value = serde_json::from_str(&v.private_metadata).unwrap();
    assert_eq!(meta, json!({"service": "api", "channel_id": "C0OPSDEPLOY"}));
    assert_eq!(v.values["deploy_only"]["only_kinds"]["selected_options"][0]["value"], "Lambda");

    let closed = requests::deploy_closed_payload("U0DANA");
    assert_eq!(
        parse_http_body(FORM, requests::interactivity_form(&closed).as_bytes()).unwrap(),
        SlackRequest::Interaction(Interaction::ViewClosed {
            team_id: requests::TEAM_ID.into(),
            user_id: "U0DANA".into(),
            view_id: "V0DEPLOYMOD1".into()
        })
    );
}

#[test]
fn bad_interactivity_payloads_are_refused_with_reasons() {
    let cases: Vec<(String, &str)> = vec![
        ("payload=not-json".into(), "the interactivity payload is not valid"),
        (requests::interactivity_form(&json!({"type": "shortcut", "callback_id": "x"})), "unknown variant `shortcut`"),
        (requests::interactivity_form(&json!({"callback_id": "x"})), "missing field `type`"),
        (
            requests::interactivity_form(&json!({"type": "block_actions", "team": {"id": "T"}, "user": {"id": "U"}, "actions": []})),
            "missing field `container`",
        ),
        (
            requests::interactivity_form(
                &json!({"type": "block_actions", "team": {"id": "T"}, "user": {"id": "U"}, "container": {"type": "view", "view_id": "V"}, "actions": []}),
            ),
            "block_actions has no actions",
        ),
        (
            requests::interactivity_form(
                &json!({"type": "block_actions", "team": {"id": "T"}, "user": {"id": "U"}, "container": {"type": "message_attachment"}, "actions": [{"action_id": "a"}]}),
            ),
            "`message_attachment` container are not handled",
        ),
        (
            requests::interactivity_form(
                &json!({"type": "block_actions", "team": {"id": "T"}, "user": {"id": "U"}, "container": {"type": "view"}, "actions": [{"action_id": "a"}]}),
            ),
            "the view container has no `view_id`",
        ),
        (
            requests::interactivity_form(&json!({"type": "view_submission", "team": {"id": "T"}, "user": {"id": "U"}, "view": {}})),
            "missing field `id`",
        ),
        (
            requests::interactivity_form(&json!({"type": "view_submission", "team": {"id": ""}, "user": {"id": "U"}, "view": {"id": "V"}})),
            "`team.id` is empty",
        ),
    ];
    for (body, expected) in cases {
        let r = rejected(FORM, &body);
        assert_eq!(r.status, 400, "{body}");
        assert!(r.reason.contains(expected), "{body}: {}", r.reason);
    }
}

#[test]
fn events_api_bodies() {
    let body = requests::url_verification_payload("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P").to_string();
    assert_eq!(
        parse_http_body(JSON, body.as_bytes()).unwrap(),
        SlackRequest::UrlVerification { challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P".into() }
    );
    let body = requests::home_opened_payload("Ev0A1B2C3D4E", "U2CERLKJA").to_string();
    assert_eq!(
        parse_http_body(JSON, body.as_bytes()).unwrap(),
        SlackRequest::Event(EventCallback {
            team_id: requests::TEAM_ID.into(),
            event_id: "Ev0A1B2C3D4E".into(),
            event: InnerEvent::AppHomeOpened { user_id: "U2CERLKJA".into(), tab: HomeTab::Home, event_ts: "1763630282.000300".into() },
        })
    );
    let mut messages = requests::home_opened_payload("Ev2", "U1");
    messages["event"]["tab"] = "messages".into();
    let SlackRequest::Event(e) = parse_socket("events_api", messages).unwrap() else { panic!() };
    assert!(matches!(e.event, InnerEvent::AppHomeOpened { tab: HomeTab::Messages, .. }));

    let mut other = requests::home_opened_payload("Ev3", "U1");
    other["event"] = json!({"type": "member_joined_channel", "user": "U1"});
    let SlackRequest::Event(e) = parse_socket("events_api", other).unwrap() else { panic!() };
    assert_eq!(e.event, InnerEvent::Ignored { event_type: "member_joined_channel".into() });

    let limited = json!({"token": "x", "type": "app_rate_limited", "team_id": "T1", "minute_rate_limited": 1518467820});
    assert_eq!(parse_http_body(JSON, limited.to_string().as_bytes()).unwrap(), SlackRequest::RateLimited { team_id: Some("T1".into()) });
}

#[test]
fn bad_events_bodies_are_refused_with_reasons() {
    let cases: Vec<(Option<&str>, String, u16, &str)> = vec![
        (JSON, "{".into(), 400, "the Events API body is not valid"),
        (JSON, "[1,2]".into(), 400, "the Events API body is not valid"),
        (JSON, r#"{"type":"block_suggestion"}"#.into(), 400, "unknown variant `block_suggestion`"),
        (JSON, r#"{"type":"url_verification"}"#.into(), 400, "missing field `challenge`"),
        (JSON, r#"{"type":"event_callback","team_id":"T","event":{"type":"app_home_opened"}}"#.into(), 400, "missing field `event_id`"),
        (
            JSON,
            r#"{"type":"event_callback","team_id":"T","event_id":"Ev1","event":{"type":"app_home_opened","tab":"home","event_ts":"1.2"}}"#
                .into(),
            400,
            "app_home_opened has no `event.user`",
        ),
        (JSON, r#"{"type":"url_verification","challenge":"c"} trailing"#.into(), 400, "trailing characters"),
        (JSON, "   ".into(), 400, "the body is empty"),
        (FORM, "".into(), 400, "the body is empty"),
        (FORM, "a=b&c=d".into(), 400, "neither `command`"),
        (Some("text/plain"), "hello".into(), 415, "content type `text/plain` is not one Slack sends"),
        (Some("multipart/form-data; boundary=x"), "--x".into(), 415, "multipart/form-data"),
    ];
    for (content_type, body, status, expected) in cases {
        let r = rejected(content_type, &body);
        assert_eq!(r.status, status, "{body}");
        assert!(r.reason.contains(expected), "{body}: {}", r.reason);
    }
    // Deeply nested JSON is refused, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(rejected(JSON, &deep).status, 400);
}

#[test]
fn ssl_check() {
    assert_eq!(parse_http_body(FORM, b"ssl_check=1&token=abc").unwrap(), SlackRequest::SslCheck);
}

#[test]
fn socket_mode_payloads() {
    let command = requests::Command::new("/pulser deploy api", "U1");
    let SlackRequest::Command(c) = parse_socket("slash_commands", command.socket_payload()).unwrap() else { panic!() };
    assert_eq!(c.text, "deploy api");
    assert_eq!(c.trigger_id, command.trigger_id);
    assert_eq!(parse_socket("slash_commands", json!("x")).unwrap_err().status, 400);
    let r = parse_socket("hello", json!({})).unwrap_err();
    assert!(r.reason.contains("`hello` are not handled"), "{}", r.reason);
    let r = parse_socket("interactive", json!({"type": 3})).unwrap_err();
    assert_eq!(r.status, 400);
}

#[test]
fn long_input_is_shortened_in_reasons() {
    let r = rejected(Some(&format!("x/{}", "y".repeat(10_000))), "a=b");
    assert!(r.reason.len() < 300, "{}", r.reason.len());
    assert_eq!(shorten("héllo", 2), "hé…");
    assert_eq!(shorten("hé", 2), "hé");
}
