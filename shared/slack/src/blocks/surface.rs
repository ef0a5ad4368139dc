//! What is sent whole: a [`Message`] (`chat.postMessage`, `chat.update`), a [`ResponseMessage`]
//! (a `response_url` body) and a [`View`] (`views.publish`, `views.open`). Each is fitted to
//! Slack's limits when made ([`super::limits`]), so whatever a renderer put in, Slack accepts it.

use serde::Serialize;
use serde_json::Value;

use super::block::Block;
use super::limits;
use super::text::PlainText;

/// A message: the notification fallback `text` and its blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    blocks: Vec<Block>,
}

impl Message {
    pub fn new(text: impl Into<String>, blocks: impl IntoIterator<Item = Block>) -> Self {
        let mut text = text.into();
        limits::cut_in_place(&mut text, limits::MESSAGE_TEXT);
        Self { text, blocks: limits::message_blocks(blocks.into_iter().collect()) }
    }

    /// The notification fallback (and what clients without Block Kit show).
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The `blocks` argument of `chat.postMessage` / `chat.update`.
    pub fn blocks_json(&self) -> Value {
        to_json(&self.blocks)
    }

    /// `(text, blocks)` as the client's methods take them.
    pub fn into_parts(self) -> (String, Value) {
        let blocks = to_json(&self.blocks);
        (self.text, blocks)
    }
}

/// Who sees a `response_url` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// Only the user who typed the command or clicked.
    Ephemeral,
    InChannel,
}

/// A `response_url` body (or a slash command's immediate answer): a message and who sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseMessage {
    response_type: ResponseType,
    #[serde(skip_serializing_if = "Option::is_none")]
    replace_original: Option<bool>,
    #[serde(flatten)]
    message: Message,
}

impl ResponseMessage {
    /// A message only the user who asked sees.
    pub fn ephemeral(message: Message) -> Self {
        Self { response_type: ResponseType::Ephemeral, replace_original: None, message }
    }

    /// Whether it replaces the message the command or click came from (`false`: a new one).
    pub fn replace_original(mut self, replace: bool) -> Self {
        self.replace_original = Some(replace);
        self
    }

    pub fn message(&self) -> &Message {
        &self.message
    }

    pub fn to_json(&self) -> Value {
        to_json(self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum ViewKind {
    Home,
    Modal,
}

/// A modal's parts, for [`View::modal`].
#[derive(Debug, Clone, Default)]
pub struct Modal {
    pub title: String,
    pub submit: Option<String>,
    pub close: Option<String>,
    /// Names the modal in its `view_submission`.
    pub callback_id: Option<String>,
    /// Sent back with every interaction and the submission.
    pub private_metadata: Option<String>,
    pub blocks: Vec<Block>,
}

/// A view: a user's Home tab or a modal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct View {
    #[serde(rename = "type")]
    kind: ViewKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<PlainText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    submit: Option<PlainText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    close: Option<PlainText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    private_metadata: Option<String>,
    blocks: Vec<Block>,
}

impl View {
    /// A Home tab.
    pub fn home(blocks: impl IntoIterator<Item = Block>, private_metadata: Option<&str>) -> Self {
        Self::fitted(Self {
            kind: ViewKind::Home,
            title: None,
            submit: None,
            close: None,
            callback_id: None,
            private_metadata: private_metadata.map(str::to_owned),
            blocks: blocks.into_iter().collect(),
        })
    }

    pub fn modal(modal: Modal) -> Self {
        let button = |text: String| PlainText::new(text).cut(limits::MODAL_BUTTON);
        Self::fitted(Self {
            kind: ViewKind::Modal,
            title: Some(PlainText::new(modal.title).cut(limits::MODAL_TITLE)),
            submit: modal.submit.map(button),
            close: modal.close.map(button),
            callback_id: modal.callback_id.map(limits::id),
            private_metadata: modal.private_metadata,
            blocks: modal.blocks,
        })
    }

    fn fitted(mut view: View) -> View {
        view.private_metadata = view.private_metadata.take().map(limits::private_metadata);
        let blocks = std::mem::take(&mut view.blocks);
        let head_bytes = limits::json_len(&view);
        view.blocks = limits::view_blocks(blocks, head_bytes);
        view
    }

    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    pub fn private_metadata(&self) -> Option<&str> {
        self.private_metadata.as_deref()
    }

    /// The `view` argument of `views.publish` / `views.open`.
    pub fn to_json(&self) -> Value {
        to_json(self)
    }
}

/// Serialises one of this module's values. That cannot fail: every map key is a string and no
/// `Serialize` here returns an error; `Null` would stand for a broken invariant, not a panic.
fn to_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
