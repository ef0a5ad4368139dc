//! Each type serialises to exactly the JSON Slack documents for it.

use serde_json::json;

use super::*;

#[test]
fn blocks_serialise_as_slack_documents_them() {
    let message = Message::new(
        "fallback",
        [
            Block::header("Your CI feed"),
            Block::section("*bold*").block_id("summary"),
            Section::fields([Text::mrkdwn("*a:* 1"), PlainText::new("b").into()]).accessory(Button::new("go", "Go")).into(),
            Block::context_text("small print"),
            Block::divider(),
            Block::actions([
                Button::new("ack", "Acknowledge").value("a1"),
                Button::new("approve", PlainText::with_emoji("Approve :rocket:")).value("a1").style(Style::Primary),
                Button::new("unsubscribe", "Unsubscribe")
                    .style(Style::Danger)
                    .confirm(Confirm::new("Sure?", Text::mrkdwn("Stop *it*?"), "Yes", "No").style(Style::Danger)),
                Button::new("docs", "Docs").url("https://example.com/docs"),
            ])
            .block_id("row"),
        ],
    );
    assert_eq!(message.text(), "fallback");
    assert_eq!(
        message.blocks_json(),
        json!([
            {"type": "header", "text": {"type": "plain_text", "text": "Your CI feed", "emoji": true}},
            {"type": "section", "block_id": "summary", "text": {"type": "mrkdwn", "text": "*bold*"}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "*a:* 1"}, {"type": "plain_text", "text": "b"}],
             "accessory": {"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "Go"}}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "small print"}]},
            {"type": "divider"},
            {"type": "actions", "block_id": "row", "elements": [
                {"type": "button", "action_id": "ack", "text": {"type": "plain_text", "text": "Acknowledge"}, "value": "a1"},
                {"type": "button", "action_id": "approve", "text": {"type": "plain_text", "text": "Approve :rocket:", "emoji": true}, "value": "a1", "style": "primary"},
                {"type": "button", "action_id": "unsubscribe", "text": {"type": "plain_text", "text": "Unsubscribe"}, "style": "danger",
                 "confirm": {"title": {"type": "plain_text", "text": "Sure?"}, "text": {"type": "mrkdwn", "text": "Stop *it*?"},
                             "confirm": {"type": "plain_text", "text": "Yes"}, "deny": {"type": "plain_text", "text": "No"}, "style": "danger"}},
                {"type": "button", "action_id": "docs", "text": {"type": "plain_text", "text": "Docs"}, "url": "https://example.com/docs"},
            ]},
        ])
    );
    let (text, blocks) = message.clone().into_parts();
    assert_eq!((text.as_str(), blocks), ("fallback", message.blocks_json()));
}

#[test]
fn a_modal_serialises_with_its_input_and_metadata() {
    let view = View::modal(Modal {
        title: "Confirm deploy".into(),
        submit: Some("Deploy".into()),
        close: Some("Cancel".into()),
        callback_id: Some("deploy_confirm".into()),
        private_metadata: Some(r#"{"service":"api"}"#.into()),
        blocks: vec![
            Input::new(
                "Only these kinds",
                MultiStaticSelect::new("only_kinds", [SelectOption::new("Lambda", "Lambda")]).placeholder("All kinds"),
            )
            .hint("Leave empty for all.")
            .optional()
            .into(),
        ],
    });
    assert_eq!(
        view.to_json(),
        json!({
            "type": "modal",
            "callback_id": "deploy_confirm",
            "title": {"type": "plain_text", "text": "Confirm deploy"},
            "submit": {"type": "plain_text", "text": "Deploy"},
            "close": {"type": "plain_text", "text": "Cancel"},
            "private_metadata": "{\"service\":\"api\"}",
            "blocks": [{
                "type": "input",
                "label": {"type": "plain_text", "text": "Only these kinds"},
                "hint": {"type": "plain_text", "text": "Leave empty for all."},
                "optional": true,
                "element": {
                    "type": "multi_static_select",
                    "action_id": "only_kinds",
                    "placeholder": {"type": "plain_text", "text": "All kinds"},
                    "options": [{"text": {"type": "plain_text", "text": "Lambda"}, "value": "Lambda"}],
                },
            }],
        })
    );
    let required = serde_json::to_value(Block::from(Input::new("x", MultiStaticSelect::new("a", [])))).unwrap();
    assert!(required.get("optional").is_none(), "Slack's default (required) is not spelled out");
}

#[test]
fn a_home_view_and_a_response_message_serialise_as_slack_documents_them() {
    assert_eq!(
        View::home([Block::divider()], Some("{}")).to_json(),
        json!({"type": "home", "private_metadata": "{}", "blocks": [{"type": "divider"}]})
    );
    assert_eq!(View::home([], None).to_json(), json!({"type": "home", "blocks": []}));
    assert_eq!(
        ResponseMessage::ephemeral(Message::new("done", [])).replace_original(false).to_json(),
        json!({"response_type": "ephemeral", "replace_original": false, "text": "done"})
    );
    assert_eq!(
        ResponseMessage::ephemeral(Message::new("t", [Block::section("s")])).to_json(),
        json!({"response_type": "ephemeral", "text": "t", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "s"}}]})
    );
}
