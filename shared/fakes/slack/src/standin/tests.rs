use super::*;

fn state_with_message() -> (State, String) {
    let mut state = State::default();
    let posted = state.answer(
        "chat.postMessage",
        &json!({"channel": "C0OPS", "text": "disk full", "blocks": [{"type": "actions", "block_id": "ops_actions", "elements": [
            {"type": "button", "action_id": "ops_ack", "text": {"type": "plain_text", "text": "Acknowledge"}, "value": "alert-1"}]}]}),
        Some("t"),
    );
    (state, posted["ts"].as_str().unwrap().to_owned())
}

fn form_field(body: &str, key: &str) -> Option<String> {
    form_urlencoded::parse(body.as_bytes()).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

#[test]
fn signs_only_for_a_local_ingress_with_a_local_secret() {
    for ok in ["http://127.0.0.1:3000", "http://localhost:3000/", "http://[::1]:3000", "http://127.0.0.2"] {
        assert_eq!(check(ok, "pulse-local-signing-secret"), Ok(()), "{ok}");
    }
    for far in [
        "https://127.0.0.1:3000",
        "http://10.0.0.7:3000",
        "http://abc.execute-api.us-east-1.amazonaws.com",
        "ftp://127.0.0.1",
        "http://127.0.0.1@evil.example:3000",
    ] {
        assert_eq!(check(far, "pulse-local-signing-secret"), Err(Refused::NotLocal(far.to_owned())), "{far}");
    }
    assert_eq!(check("http://127.0.0.1:3000", "8f742231b10e8888abcd99yyyzzz85a5"), Ok(()), "not hex");
    assert_eq!(check("http://127.0.0.1:3000", "8f742231b10e8888abcd99aaabbb85a5"), Err(Refused::RealSecret));
    assert_eq!(check("http://127.0.0.1:3000", "/pulse/slack/signing-secret"), Err(Refused::FromSsm));
    assert_eq!(check("http://127.0.0.1:3000", "arn:aws:ssm:us-east-1:1:parameter/x"), Err(Refused::FromSsm));
    assert_eq!(check("http://127.0.0.1:3000", "  "), Err(Refused::Empty));
    let refusal = StandIn::new("http://127.0.0.1:3000", "8f742231b10e8888abcd99aaabbb85a5").unwrap_err().to_string();
    assert!(!refusal.contains("8f742231"), "the refusal never repeats the secret: {refusal}");
}

#[test]
fn a_command_is_the_form_slack_posts_with_a_response_url_back_to_the_fake() {
    let mut state = State::default();
    state.users.insert(
        "U1".into(),
        super::super::state::FakeUser { id: "U1".into(), name: "alice".into(), real_name: "Alice".into(), email: None },
    );
    let act = Act::Command { user: "U1".into(), channel: "C0CI".into(), text: "/praktika subscribe a@b.c".into() };
    let prepared = prepare(&state, &act, "http://127.0.0.1:4599", "r1").unwrap();
    let request = prepared.request.unwrap();
    assert_eq!((request.path, request.content_type), ("/slack/commands", "application/x-www-form-urlencoded"));
    assert_eq!(form_field(&request.body, "command").as_deref(), Some("/praktika"));
    assert_eq!(form_field(&request.body, "text").as_deref(), Some("subscribe a@b.c"));
    assert_eq!(form_field(&request.body, "channel_id").as_deref(), Some("C0CI"));
    assert_eq!(form_field(&request.body, "user_name").as_deref(), Some("alice"));
    assert_eq!(form_field(&request.body, "response_url").as_deref(), Some("http://127.0.0.1:4599/response/r1"));
    assert_eq!(form_field(&request.body, "trigger_id"), prepared.trigger);
    let (id, target) = prepared.response.unwrap();
    assert_eq!((id.as_str(), target.channel.as_str(), target.user.as_str(), target.message_ts), ("r1", "C0CI", "U1", None));
}

#[test]
fn a_click_on_a_message_carries_the_message_as_shown_and_targets_it() {
    let (state, ts) = state_with_message();
    let act = Act::Click {
        user: "U1".into(),
        action_id: "ops_ack".into(),
        block_id: Some("ops_actions".into()),
        value: Some("alert-1".into()),
        text: Some("Acknowledge".into()),
        channel: Some("C0OPS".into()),
        ts: Some(ts.clone()),
        view_id: None,
    };
    let prepared = prepare(&state, &act, "http://127.0.0.1:4599", "r2").unwrap();
    let request = prepared.request.unwrap();
    assert_eq!(request.path, "/slack/interactivity");
    let payload: Value = serde_json::from_str(&form_field(&request.body, "payload").unwrap()).unwrap();
    assert_eq!(payload["type"], "block_actions");
    assert_eq!(payload["container"]["message_ts"], ts.as_str());
    assert_eq!(payload["message"]["text"], "disk full");
    assert_eq!(payload["actions"][0]["action_id"], "ops_ack");
    assert_eq!(payload["actions"][0]["value"], "alert-1");
    assert_eq!(payload["actions"][0]["block_id"], "ops_actions");
    assert_eq!(payload["response_url"], "http://127.0.0.1:4599/response/r2");
    assert_eq!(prepared.response.unwrap().1.message_ts, Some(ts));

    let mut gone = act;
    if let Act::Click { ts, .. } = &mut gone {
        *ts = Some("1.000100".into());
    }
    assert!(matches!(prepare(&state, &gone, "http://x", "r3"), Err(Unsendable::NoMessage { .. })));
}

fn state_with_modal(notify_on_close: bool) -> (State, String) {
    let mut state = State::default();
    state.triggers.insert("T1".into(), "U1".into());
    let view = json!({"type": "modal", "callback_id": "deploy_confirm", "private_metadata": "{\"service\":\"svc\"}",
        "notify_on_close": notify_on_close, "title": {"type": "plain_text", "text": "Deploy"}, "blocks": []});
    let opened = state.answer("views.open", &json!({"trigger_id": "T1", "view": view}), Some("t"));
    let id = opened["view"]["id"].as_str().unwrap().to_owned();
    assert_eq!(state.modal_users.get(&id), Some(&Some("U1".to_owned())), "the trigger's user sees it");
    (state, id)
}

#[test]
fn a_submission_sends_the_view_with_its_values_and_closes_it_unless_refused() {
    let (mut state, id) = state_with_modal(false);
    let values = json!({"deploy_only": {"only_kinds": {"type": "multi_static_select", "selected_options": []}}});
    let act = Act::Submit { user: "U1".into(), view_id: id.clone(), values: values.clone() };
    let prepared = prepare(&state, &act, "http://x", "r").unwrap();
    let payload: Value = serde_json::from_str(&form_field(&prepared.request.as_ref().unwrap().body, "payload").unwrap()).unwrap();
    assert_eq!(payload["type"], "view_submission");
    assert_eq!(payload["view"]["callback_id"], "deploy_confirm");
    assert_eq!(payload["view"]["private_metadata"], "{\"service\":\"svc\"}");
    assert_eq!(payload["view"]["state"]["values"], values);

    let refused = r#"{"response_action":"errors","errors":{"deploy_only":"pick one"}}"#;
    let outcome = settle(&mut state, &act, &prepared, Ok((200, refused.into())));
    assert_eq!(outcome.errors, Some(json!({"deploy_only": "pick one"})));
    assert!(state.modal_users.contains_key(&id), "stays open");
    let outcome = settle(&mut state, &act, &prepared, Ok((200, String::new())));
    assert!(outcome.ok && outcome.errors.is_none());
    assert!(!state.modal_users.contains_key(&id), "closed");
    assert!(matches!(prepare(&state, &act, "http://x", "r"), Err(Unsendable::NoView(_))), "a closed modal takes no submission");
}

#[test]
fn closing_reports_only_to_a_modal_that_asked() {
    let (state, id) = state_with_modal(false);
    let act = Act::Close { user: "U1".into(), view_id: id };
    assert_eq!(prepare(&state, &act, "http://x", "r").unwrap().request, None);
    let (state, id) = state_with_modal(true);
    let act = Act::Close { user: "U1".into(), view_id: id };
    let request = prepare(&state, &act, "http://x", "r").unwrap().request.unwrap();
    assert!(form_field(&request.body, "payload").unwrap().contains("\"view_closed\""));
}

#[test]
fn a_command_s_answer_shows_as_ephemeral_and_a_failure_as_slackbot_s() {
    let mut state = State::default();
    let act = Act::Command { user: "U1".into(), channel: "C0CI".into(), text: "/praktika subscribe".into() };
    let prepared = prepare(&state, &act, "http://x", "r").unwrap();
    settle(&mut state, &act, &prepared, Ok((200, r#"{"response_type":"ephemeral","text":"Subscribed"}"#.into())));
    settle(&mut state, &act, &prepared, Ok((401, "unauthorized".into())));
    let outcome = settle(&mut state, &act, &prepared, Err("operation_timeout"));
    assert_eq!(outcome.error.as_deref(), Some("operation_timeout"));
    let seen: Vec<(&str, &str)> = state.ephemerals().iter().map(|e| (e["via"].as_str().unwrap(), e["text"].as_str().unwrap())).collect();
    assert_eq!(
        seen,
        [
            ("command_answer", "Subscribed"),
            ("slackbot", "/praktika failed with the error \"http_status_401\""),
            ("slackbot", "/praktika failed with the error \"operation_timeout\""),
        ]
    );
    assert!(state.messages(None).is_empty(), "nothing reached the channel's history");
}

#[test]
fn opening_home_is_an_events_api_callback() {
    let act = Act::OpenHome { user: "U1".into() };
    let request = prepare(&State::default(), &act, "http://x", "r").unwrap().request.unwrap();
    assert_eq!((request.path, request.content_type), ("/slack/events", "application/json"));
    let body: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!((body["event"]["type"].as_str(), body["event"]["user"].as_str()), (Some("app_home_opened"), Some("U1")));
}
