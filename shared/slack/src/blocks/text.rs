//! Text objects: `mrkdwn` and `plain_text`.
//!
//! [`Text`] is either kind, for the places Slack accepts both (section text and fields, context
//! elements, a confirmation's text); [`PlainText`] is only `plain_text`, for the places that
//! accept nothing else (headers, buttons, titles, labels, options), so the type says which is
//! which. Every text object is cut to Slack's 3,000 characters when made; the field it goes into
//! may cut it further ([`super::limits`]).

use serde::Serialize;

use super::limits;

/// A text object: `{"type": "mrkdwn" | "plain_text", "text": ..., "emoji"?: true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Text {
    #[serde(rename = "type")]
    kind: TextKind,
    text: String,
    /// Only ever set on `plain_text` (Slack refuses it on `mrkdwn`); left out unless asked for,
    /// so the JSON is what Slack would echo back.
    #[serde(skip_serializing_if = "Option::is_none")]
    emoji: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum TextKind {
    Mrkdwn,
    PlainText,
}

impl Text {
    /// A `mrkdwn` text. The caller escapes what must not be markup.
    pub fn mrkdwn(text: impl Into<String>) -> Self {
        Self::made(TextKind::Mrkdwn, text.into(), None)
    }

    fn made(kind: TextKind, mut text: String, emoji: Option<bool>) -> Self {
        limits::cut_in_place(&mut text, limits::TEXT_OBJECT);
        Self { kind, text, emoji }
    }

    /// The text as it will be sent.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Cut to `max` characters (with an ellipsis): a field allowing less than a text object.
    pub(super) fn cut(mut self, max: usize) -> Self {
        limits::cut_in_place(&mut self.text, max);
        self
    }

    /// Whether Slack would refuse it for having no text.
    pub(super) fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }
}

/// A `plain_text` object: what Slack accepts for headers, button labels, titles, labels and
/// options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PlainText(Text);

impl PlainText {
    /// Plain text without the `emoji` flag.
    pub fn new(text: impl Into<String>) -> Self {
        Self(Text::made(TextKind::PlainText, text.into(), None))
    }

    /// Plain text with `"emoji": true`: `:shortcodes:` become emoji.
    pub fn with_emoji(text: impl Into<String>) -> Self {
        Self(Text::made(TextKind::PlainText, text.into(), Some(true)))
    }

    pub fn text(&self) -> &str {
        self.0.text()
    }

    pub(super) fn cut(self, max: usize) -> Self {
        Self(self.0.cut(max))
    }
}

impl From<PlainText> for Text {
    fn from(plain: PlainText) -> Self {
        plain.0
    }
}

impl From<&str> for PlainText {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl From<String> for PlainText {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}
