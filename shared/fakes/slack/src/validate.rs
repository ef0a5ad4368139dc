//! Block Kit and view validation as Slack does it, so that a renderer that would be rejected
//! by Slack is rejected by the fake too. Limits: api.slack.com/reference/block-kit.

use std::collections::HashSet;

use serde_json::{Value, json};

/// Blocks per message (`chat.postMessage`, `chat.update`).
pub const MAX_MESSAGE_BLOCKS: usize = 50;
/// Blocks per view (App Home, modal).
pub const MAX_VIEW_BLOCKS: usize = 100;
/// Serialized view size beyond which Slack answers `view_too_large`.
pub const MAX_VIEW_BYTES: usize = 250_000;
const MAX_SECTION_TEXT: usize = 3000;
const MAX_SECTION_FIELDS: usize = 10;
const MAX_FIELD_TEXT: usize = 2000;
const MAX_HEADER_TEXT: usize = 150;
const MAX_CONTEXT_ELEMENTS: usize = 10;
const MAX_ACTIONS_ELEMENTS: usize = 25;
const MAX_BLOCK_ID: usize = 255;
const MAX_MODAL_TITLE: usize = 24;
const MAX_PRIVATE_METADATA: usize = 3000;
/// `chat.postMessage` text beyond this is `msg_too_long`.
pub const MAX_MESSAGE_TEXT: usize = 40_000;

/// A rejection: Slack's `error` code and its `response_metadata.messages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub error: &'static str,
    pub messages: Vec<String>,
}

impl Invalid {
    fn new(error: &'static str, message: impl Into<String>) -> Self {
        Self { error, messages: vec![message.into()] }
    }

    /// Slack's `ok:false` answer for this rejection.
    pub fn answer(&self) -> Value {
        json!({
            "ok": false,
            "error": self.error,
            "response_metadata": { "messages": self.messages },
        })
    }
}

fn error_at(message: &str, pointer: &str) -> String {
    format!("[ERROR] {message} [json-pointer:{pointer}]")
}

fn too_long(limit: usize, pointer: &str) -> Invalid {
    Invalid::new("invalid_blocks", error_at(&format!("must be no more than {limit} characters"), pointer))
}

fn chars(v: Option<&Value>) -> usize {
    v.and_then(Value::as_str).map_or(0, |s| s.chars().count())
}

/// Validates a `blocks` array of at most `max` blocks; `pointer` is its JSON pointer in the
/// request (for messages like Slack's).
pub fn validate_blocks(blocks: &Value, max: usize, pointer: &str) -> Result<(), Invalid> {
    let Some(blocks) = blocks.as_array() else {
        return Err(Invalid::new("invalid_blocks", error_at("must be an array", pointer)));
    };
    if blocks.len() > max {
        return Err(Invalid::new("invalid_blocks", error_at(&format!("must be no more than {max} items"), pointer)));
    }
    let mut block_ids = HashSet::new();
    for (i, block) in blocks.iter().enumerate() {
        let at = format!("{pointer}/{i}");
        validate_block(block, &at)?;
        if let Some(id) = block.get("block_id").and_then(Value::as_str) {
            if id.chars().count() > MAX_BLOCK_ID {
                return Err(too_long(MAX_BLOCK_ID, &format!("{at}/block_id")));
            }
            if !block_ids.insert(id) {
                return Err(Invalid::new("invalid_blocks", error_at(&format!("duplicate block_id: {id}"), &format!("{at}/block_id"))));
            }
        }
    }
    Ok(())
}

fn validate_block(block: &Value, at: &str) -> Result<(), Invalid> {
    let Some(kind) = block.get("type").and_then(Value::as_str) else {
        return Err(Invalid::new("invalid_blocks", error_at("missing required field: type", at)));
    };
    match kind {
        "section" => {
            let text = block.get("text");
            let fields = block.get("fields").and_then(Value::as_array);
            if text.is_none() && fields.is_none() {
                return Err(Invalid::new("invalid_blocks", error_at("must provide either text or fields", at)));
            }
            if chars(text.and_then(|t| t.get("text"))) > MAX_SECTION_TEXT {
                return Err(too_long(MAX_SECTION_TEXT, &format!("{at}/text/text")));
            }
            let fields = fields.map(Vec::as_slice).unwrap_or_default();
            if fields.len() > MAX_SECTION_FIELDS {
                return Err(Invalid::new(
                    "invalid_blocks",
                    error_at(&format!("must be no more than {MAX_SECTION_FIELDS} items"), &format!("{at}/fields")),
                ));
            }
            for (j, field) in fields.iter().enumerate() {
                if chars(field.get("text")) > MAX_FIELD_TEXT {
                    return Err(too_long(MAX_FIELD_TEXT, &format!("{at}/fields/{j}/text")));
                }
            }
        }
        "header" => {
            let text = block.get("text").and_then(|t| t.get("text"));
            if text.is_none() {
                return Err(Invalid::new("invalid_blocks", error_at("missing required field: text", at)));
            }
            if chars(text) > MAX_HEADER_TEXT {
                return Err(too_long(MAX_HEADER_TEXT, &format!("{at}/text/text")));
            }
        }
        "context" | "actions" => {
            let max = if kind == "context" { MAX_CONTEXT_ELEMENTS } else { MAX_ACTIONS_ELEMENTS };
            let count = block.get("elements").and_then(Value::as_array).map(Vec::len);
            match count {
                None | Some(0) => {
                    return Err(Invalid::new("invalid_blocks", error_at("missing required field: elements", at)));
                }
                Some(n) if n > max => {
                    return Err(Invalid::new(
                        "invalid_blocks",
                        error_at(&format!("must be no more than {max} items"), &format!("{at}/elements")),
                    ));
                }
                Some(_) => {}
            }
        }
        _ => {}
    }
    Ok(())
}

/// Validates a view for `views.publish` (`expected_type` "home") or `views.open` ("modal").
pub fn validate_view(view: &Value, expected_type: &str) -> Result<(), Invalid> {
    if !view.is_object() {
        return Err(Invalid::new("invalid_arguments", "[ERROR] missing required field: view"));
    }
    if view.to_string().len() > MAX_VIEW_BYTES {
        return Err(Invalid::new("view_too_large", format!("[ERROR] view must be no more than {MAX_VIEW_BYTES} bytes")));
    }
    let kind = view.get("type").and_then(Value::as_str);
    if kind != Some(expected_type) {
        return Err(Invalid::new("invalid_arguments", error_at(&format!("type must be {expected_type}"), "/view/type")));
    }
    if expected_type == "modal" {
        let title = view.get("title").and_then(|t| t.get("text"));
        if title.is_none() {
            return Err(Invalid::new("invalid_arguments", error_at("missing required field: title", "/view/title")));
        }
        if chars(title) > MAX_MODAL_TITLE {
            return Err(Invalid::new(
                "invalid_arguments",
                error_at(&format!("must be no more than {MAX_MODAL_TITLE} characters"), "/view/title/text"),
            ));
        }
    }
    if chars(view.get("private_metadata")) > MAX_PRIVATE_METADATA {
        return Err(Invalid::new(
            "invalid_arguments",
            error_at(&format!("must be no more than {MAX_PRIVATE_METADATA} characters"), "/view/private_metadata"),
        ));
    }
    let Some(blocks) = view.get("blocks") else {
        return Err(Invalid::new("invalid_arguments", error_at("missing required field: blocks", "/view")));
    };
    validate_blocks(blocks, MAX_VIEW_BLOCKS, "/view/blocks")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> Value {
        json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    }

    fn home(blocks: Vec<Value>) -> Value {
        json!({"type": "home", "blocks": blocks})
    }

    #[test]
    fn accepts_a_normal_home_view() {
        let view = home(vec![
            json!({"type": "header", "text": {"type": "plain_text", "text": "Pulse"}}),
            section(&"x".repeat(3000)),
            json!({"type": "divider"}),
            json!({"type": "actions", "elements": [{"type": "button"}]}),
        ]);
        assert_eq!(validate_view(&view, "home"), Ok(()));
    }

    #[test]
    fn block_count_limit() {
        let ok = home(vec![json!({"type": "divider"}); 100]);
        assert_eq!(validate_view(&ok, "home"), Ok(()));
        let err = validate_view(&home(vec![json!({"type": "divider"}); 101]), "home").unwrap_err();
        assert_eq!(err.error, "invalid_blocks");
        assert!(err.messages[0].contains("must be no more than 100 items"));
        let msg = vec![json!({"type": "divider"}); 51];
        assert!(validate_blocks(&json!(msg), MAX_MESSAGE_BLOCKS, "/blocks").is_err());
    }

    #[test]
    fn text_limits_count_characters() {
        // 3000 multi-byte characters are fine: the limit is characters, not bytes
        assert!(validate_view(&home(vec![section(&"é".repeat(3000))]), "home").is_ok());
        let err = validate_view(&home(vec![section(&"x".repeat(3001))]), "home").unwrap_err();
        assert_eq!(err.error, "invalid_blocks");
        assert!(err.messages[0].contains("/view/blocks/0/text/text"));
        let header = json!({"type": "header", "text": {"type": "plain_text", "text": "h".repeat(151)}});
        assert!(validate_view(&home(vec![header]), "home").is_err());
    }

    #[test]
    fn view_size_and_type() {
        let big = home(vec![json!({"type": "divider", "pad": "x".repeat(MAX_VIEW_BYTES)})]);
        assert_eq!(validate_view(&big, "home").unwrap_err().error, "view_too_large");
        let modal = json!({"type": "modal", "title": {"type": "plain_text", "text": "Deploy"}, "blocks": []});
        assert_eq!(validate_view(&modal, "modal"), Ok(()));
        assert_eq!(validate_view(&modal, "home").unwrap_err().error, "invalid_arguments");
    }

    #[test]
    fn duplicate_block_ids_and_missing_type() {
        let dup = home(vec![json!({"type": "divider", "block_id": "a"}), json!({"type": "divider", "block_id": "a"})]);
        assert_eq!(validate_view(&dup, "home").unwrap_err().error, "invalid_blocks");
        let untyped = home(vec![json!({"text": "x"})]);
        assert_eq!(validate_view(&untyped, "home").unwrap_err().error, "invalid_blocks");
    }
}
