//! Interactive elements: the button (Home tab toggles, Subscribe / Unsubscribe, the ops alert's
//! four buttons) and the static multi-select (the deploy modal's resource kinds), with the
//! confirmation dialog and option objects they use. Each is cut to Slack's limits when made
//! ([`super::limits`]).

use serde::Serialize;

use super::limits;
use super::text::{PlainText, Text};

/// An element of an `actions` or `input` block, or a section's accessory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Element {
    Button(Button),
    MultiStaticSelect(MultiStaticSelect),
}

impl From<Button> for Element {
    fn from(button: Button) -> Self {
        Element::Button(button)
    }
}

impl From<MultiStaticSelect> for Element {
    fn from(select: MultiStaticSelect) -> Self {
        Element::MultiStaticSelect(select)
    }
}

/// A button's (or a confirmation's) colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    Primary,
    Danger,
}

/// A `button`: a label and an `action_id`, with an optional `value` (what the click carries),
/// `url`, `style` and confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Button {
    action_id: String,
    text: PlainText,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    style: Option<Style>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirm: Option<Confirm>,
}

impl Button {
    pub fn new(action_id: impl Into<String>, text: impl Into<PlainText>) -> Self {
        Self {
            action_id: limits::id(action_id.into()),
            text: text.into().cut(limits::BUTTON_TEXT),
            value: None,
            url: None,
            style: None,
            confirm: None,
        }
    }

    /// What the click sends back (`actions[].value`).
    pub fn value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(limits::value(value.into()));
        self
    }

    /// A link the button opens; left out when longer than Slack allows (a cut URL would lead
    /// somewhere else).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = limits::url(url.into());
        self
    }

    /// `Style::Primary`, `Style::Danger`, or `None` for the default look.
    pub fn style(mut self, style: impl Into<Option<Style>>) -> Self {
        self.style = style.into();
        self
    }

    pub fn confirm(mut self, confirm: Confirm) -> Self {
        self.confirm = Some(confirm);
        self
    }
}

/// A confirmation dialog shown before an element's action is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confirm {
    title: PlainText,
    text: Text,
    confirm: PlainText,
    deny: PlainText,
    #[serde(skip_serializing_if = "Option::is_none")]
    style: Option<Style>,
}

impl Confirm {
    pub fn new(title: impl Into<PlainText>, text: Text, confirm: impl Into<PlainText>, deny: impl Into<PlainText>) -> Self {
        Self {
            title: title.into().cut(limits::CONFIRM_TITLE),
            text: text.cut(limits::CONFIRM_TEXT),
            confirm: confirm.into().cut(limits::CONFIRM_BUTTON),
            deny: deny.into().cut(limits::CONFIRM_BUTTON),
            style: None,
        }
    }

    pub fn style(mut self, style: Style) -> Self {
        self.style = Some(style);
        self
    }
}

/// A `multi_static_select`: choose any of a fixed list of options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MultiStaticSelect {
    action_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    placeholder: Option<PlainText>,
    options: Vec<SelectOption>,
}

impl MultiStaticSelect {
    pub fn new(action_id: impl Into<String>, options: impl IntoIterator<Item = SelectOption>) -> Self {
        Self { action_id: limits::id(action_id.into()), placeholder: None, options: limits::options(options.into_iter().collect()) }
    }

    pub fn placeholder(mut self, placeholder: impl Into<PlainText>) -> Self {
        self.placeholder = Some(placeholder.into().cut(limits::PLACEHOLDER));
        self
    }
}

/// One option of a select: what the user reads and what the app receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelectOption {
    text: PlainText,
    value: String,
}

impl SelectOption {
    pub fn new(text: impl Into<PlainText>, value: impl Into<String>) -> Self {
        Self { text: text.into().cut(limits::OPTION_TEXT), value: limits::option_value(value.into()) }
    }
}
