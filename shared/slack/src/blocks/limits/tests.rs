//! One test per limit: what a value over it becomes, checked on the JSON Slack receives and,
//! where the fake Slack's validator knows the limit, by that independent check too.

use serde_json::{Value, json};

use super::*;
use crate::blocks::{Block, Button, Confirm, Input, Message, Modal, MultiStaticSelect, PlainText, Section, SelectOption, Text, View};
use pulse_fake_slack::validate::{MAX_MESSAGE_BLOCKS, validate_blocks, validate_view};

fn chars(v: &Value) -> usize {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).chars().count()
}

fn json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap()
}

fn message_json(blocks: Vec<Block>) -> Value {
    Message::new("fallback", blocks).blocks_json()
}

/// The fake Slack accepts these blocks in a message.
fn accepted(blocks: &Value) {
    validate_blocks(blocks, MAX_MESSAGE_BLOCKS, "/blocks").unwrap_or_else(|e| panic!("refused: {e:?} {blocks}"));
}

fn home(blocks: Vec<Block>) -> Value {
    View::home(blocks, None).to_json()
}

#[test]
fn cut_counts_characters_and_marks_the_cut() {
    assert_eq!(cut("abcdef", 4), "abc…");
    assert_eq!(cut("abc", 4), "abc");
    assert_eq!(cut("hello", 5), "hello");
    assert_eq!(cut("hello!", 5), "hell…");
    assert_eq!(cut("ééééé", 5), "ééééé", "five two-byte characters fit in five");
    assert_eq!(cut("éééééé", 5).chars().count(), 5);
    assert_eq!(cut("", 5), "");
    assert_eq!(cut("abc", 0), "");
    assert!(matches!(cut("fits", 10), Cow::Borrowed(_)), "no copy when nothing is cut");
    let mut s = "x".repeat(4000);
    cut_in_place(&mut s, 3000);
    assert_eq!(s.chars().count(), 3000);
    assert!(s.ends_with(ELLIPSIS));
}

#[test]
fn cut_start_keeps_the_end() {
    assert_eq!(cut_start("abcdef", 4), "…def");
    assert_eq!(cut_start("abc", 4), "abc");
    assert_eq!(cut_start("ééééé THE END", 8), "…THE END");
    assert_eq!(cut_start("abc", 0), "");
}

#[test]
fn text_objects_and_section_text_are_cut_to_3000() {
    let section = message_json(vec![Block::section("ü".repeat(5000))]);
    assert_eq!(chars(&section[0]["text"]["text"]), SECTION_TEXT);
    assert!(section[0]["text"]["text"].as_str().unwrap().ends_with('…'));
    accepted(&section);
    assert_eq!(Text::mrkdwn("x".repeat(3001)).text().chars().count(), TEXT_OBJECT);
    assert_eq!(Text::mrkdwn("x".repeat(3000)).text(), "x".repeat(3000), "3000 is allowed");
}

#[test]
fn fields_are_ten_of_2000_and_say_how_many_more() {
    let fields = (0..13).map(|i| Text::mrkdwn(format!("*f{i}:* {}", "y".repeat(2500))));
    let blocks = message_json(vec![Section::fields(fields).into()]);
    let shown = blocks[0]["fields"].as_array().unwrap();
    assert_eq!(shown.len(), FIELDS);
    assert!(shown[..9].iter().all(|f| chars(&f["text"]) == FIELD_TEXT));
    assert_eq!(shown[9]["text"], "… +4 more", "the tenth says what is missing");
    accepted(&blocks);
    let ten = message_json(vec![Section::fields((0..10).map(|i| Text::mrkdwn(format!("f{i}")))).into()]);
    assert_eq!(ten[0]["fields"][9]["text"], "f9", "ten fit");
}

#[test]
fn headers_are_cut_to_150() {
    let blocks = message_json(vec![Block::header("h".repeat(200))]);
    assert_eq!(chars(&blocks[0]["text"]["text"]), HEADER_TEXT);
    accepted(&blocks);
}

#[test]
fn context_blocks_keep_nine_elements_and_say_how_many_more() {
    let blocks = message_json(vec![Block::context((0..12).map(|i| Text::mrkdwn(format!("c{i}"))))]);
    let elements = blocks[0]["elements"].as_array().unwrap();
    assert_eq!(elements.len(), CONTEXT_ELEMENTS);
    assert_eq!(elements[8]["text"], "c8");
    assert_eq!(elements[9]["text"], "… +3 more");
    accepted(&blocks);
}

#[test]
fn actions_blocks_keep_the_first_25_elements() {
    let blocks = message_json(vec![Block::actions((0..30).map(|i| Button::new(format!("b{i}"), "B")))]);
    let elements = blocks[0]["elements"].as_array().unwrap();
    assert_eq!(elements.len(), ACTIONS_ELEMENTS);
    assert_eq!(elements[24]["action_id"], "b24");
    accepted(&blocks);
}

#[test]
fn buttons_cut_text_ids_and_values_and_drop_overlong_urls() {
    let button =
        json(&Button::new("a".repeat(300), "label ".repeat(20)).value("v".repeat(2500)).url(format!("https://x/{}", "p".repeat(3000))));
    assert_eq!(chars(&button["text"]["text"]), BUTTON_TEXT);
    assert!(button["text"]["text"].as_str().unwrap().ends_with('…'));
    assert_eq!(button["action_id"], "a".repeat(ID), "ids are truncated without a mark");
    assert_eq!(button["value"], "v".repeat(BUTTON_VALUE));
    assert!(button.get("url").is_none(), "a cut URL would lead elsewhere: {button}");
    let fine = json(&Button::new("go", "Go").url("https://example.com/run/1"));
    assert_eq!(fine["url"], "https://example.com/run/1");
}

#[test]
fn block_ids_are_truncated_to_255() {
    let blocks = message_json(vec![Block::divider().block_id("d".repeat(400)), Block::section("s").block_id("é".repeat(300))]);
    assert_eq!(blocks[0]["block_id"], "d".repeat(ID));
    assert_eq!(chars(&blocks[1]["block_id"]), ID);
    accepted(&blocks);
}

#[test]
fn confirmations_cut_title_text_and_buttons() {
    let confirm = json(&Confirm::new("t".repeat(150), Text::mrkdwn("x".repeat(400)), "c".repeat(40), "d".repeat(40)));
    assert_eq!(chars(&confirm["title"]["text"]), CONFIRM_TITLE);
    assert_eq!(chars(&confirm["text"]["text"]), CONFIRM_TEXT);
    assert_eq!(chars(&confirm["confirm"]["text"]), CONFIRM_BUTTON);
    assert_eq!(chars(&confirm["deny"]["text"]), CONFIRM_BUTTON);
}

#[test]
fn selects_keep_100_options_and_cut_their_texts_and_values() {
    let options = (0..120).map(|i| SelectOption::new(format!("{i} {}", "o".repeat(100)), format!("{i}{}", "v".repeat(200))));
    let select = json(&MultiStaticSelect::new("kinds", options).placeholder("p".repeat(200)));
    let options = select["options"].as_array().unwrap();
    assert_eq!(options.len(), OPTIONS);
    assert_eq!(chars(&options[0]["text"]["text"]), OPTION_TEXT);
    assert_eq!(chars(&options[0]["value"]), OPTION_VALUE);
    assert!(options[99]["value"].as_str().unwrap().starts_with("99"));
    assert_eq!(chars(&select["placeholder"]["text"]), PLACEHOLDER);
}

#[test]
fn inputs_cut_label_and_hint_to_2000() {
    let input = json(&Block::from(Input::new("l".repeat(2500), MultiStaticSelect::new("a", [])).hint("h".repeat(2500))));
    assert_eq!(chars(&input["label"]["text"]), INPUT_LABEL);
    assert_eq!(chars(&input["hint"]["text"]), INPUT_HINT);
}

#[test]
fn modals_cut_title_submit_close_and_metadata() {
    let view = View::modal(Modal {
        title: "A title much longer than Slack allows".into(),
        submit: Some("Submit this long thing now".into()),
        close: Some("Close this long thing now".into()),
        callback_id: Some("c".repeat(300)),
        private_metadata: Some("m".repeat(3500)),
        blocks: vec![Block::section("s")],
    })
    .to_json();
    assert_eq!(chars(&view["title"]["text"]), MODAL_TITLE);
    assert_eq!(chars(&view["submit"]["text"]), MODAL_BUTTON);
    assert_eq!(chars(&view["close"]["text"]), MODAL_BUTTON);
    assert_eq!(chars(&view["callback_id"]), ID);
    assert_eq!(view["private_metadata"], "m".repeat(PRIVATE_METADATA), "metadata is data: truncated, no mark");
    validate_view(&view, "modal").unwrap();
}

#[test]
fn home_metadata_is_truncated_to_3000() {
    let view = View::home([Block::divider()], Some(&"é".repeat(3100))).to_json();
    assert_eq!(chars(&view["private_metadata"]), PRIVATE_METADATA);
    validate_view(&view, "home").unwrap();
}

#[test]
fn messages_keep_49_blocks_and_say_how_many_were_left_out() {
    let blocks = message_json((0..60).map(|i| Block::section(format!("s{i}"))).collect());
    let blocks = blocks.as_array().unwrap();
    assert_eq!(blocks.len(), MESSAGE_BLOCKS);
    assert_eq!(blocks[48]["text"]["text"], "s48");
    assert_eq!(blocks[49]["elements"][0]["text"], ":scissors: 11 more blocks left out: Slack takes no more in one message.");
    accepted(&Value::Array(blocks.clone()));
    assert_eq!(message_json((0..50).map(|i| Block::section(format!("s{i}"))).collect()).as_array().unwrap().len(), 50, "fifty fit");
}

#[test]
fn views_keep_99_blocks_and_say_how_many_were_left_out() {
    let view = home((0..150).map(|_| Block::divider()).collect());
    let blocks = view["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), VIEW_BLOCKS);
    assert_eq!(blocks[99]["elements"][0]["text"], ":scissors: 51 more blocks left out: Slack takes no more in one view.");
    validate_view(&view, "home").unwrap();
    assert_eq!(home((0..100).map(|_| Block::divider()).collect())["blocks"].as_array().unwrap().len(), 100, "a hundred fit");
}

#[test]
fn views_stay_under_250_kb_keeping_the_blocks_that_fit_in_order() {
    // 90 sections of 3,000 characters that each take 6 bytes as JSON: about 1.6 MB.
    let blocks: Vec<Block> = (0..90).map(|i| Block::section(format!("{i} {}", "\u{1}".repeat(2990)))).collect();
    let view = home(blocks);
    let bytes = view.to_string().len();
    assert!(bytes <= VIEW_BYTES, "{bytes} bytes");
    let shown = view["blocks"].as_array().unwrap();
    assert!(shown.len() > 5, "as many as fit: {}", shown.len());
    assert!(shown[0]["text"]["text"].as_str().unwrap().starts_with("0 "), "in order, from the first");
    let note = shown.last().unwrap()["elements"][0]["text"].as_str().unwrap();
    assert!(note.contains(&format!("{} more blocks left out", 90 - (shown.len() - 1))), "{note}");
    validate_view(&view, "home").unwrap();
}

#[test]
fn message_text_is_cut_to_40000() {
    let message = Message::new("t".repeat(50_000), []);
    assert_eq!(message.text().chars().count(), MESSAGE_TEXT);
    assert!(message.text().ends_with('…'));
}

#[test]
fn blocks_with_nothing_in_them_are_left_out() {
    let blocks = message_json(vec![
        Block::section("  "),
        Section::fields([]).into(),
        Block::context([]),
        Block::actions(Vec::<Button>::new()),
        Block::header(""),
        Block::section("kept"),
    ]);
    assert_eq!(blocks, json!([{"type": "section", "text": {"type": "mrkdwn", "text": "kept"}}]));
    let view = home(vec![Block::context([]), Block::divider()]);
    assert_eq!(view["blocks"], json!([{"type": "divider"}]));
}

#[test]
fn plain_text_keeps_its_emoji_flag_only_when_asked() {
    assert_eq!(json(&PlainText::new("a")), json!({"type": "plain_text", "text": "a"}));
    assert_eq!(json(&PlainText::with_emoji("a")), json!({"type": "plain_text", "text": "a", "emoji": true}));
}
