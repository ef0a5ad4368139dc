//! Layout blocks: header, section, context, actions, divider, input — the ones Pulse sends.
//! Each is cut to Slack's limits when made ([`super::limits`]); the whole list is fitted when a
//! [`super::Message`] or [`super::View`] is made.

use serde::Serialize;

use super::element::Element;
use super::limits;
use super::text::{PlainText, Text};

/// One block of a message or view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Header(Header),
    Section(Section),
    Context(Context),
    Actions(Actions),
    Divider(Divider),
    Input(Input),
}

impl Block {
    /// A header: large bold plain text, `:emoji:` shortcodes shown.
    pub fn header(text: impl Into<String>) -> Self {
        Block::Header(Header { block_id: None, text: PlainText::with_emoji(text).cut(limits::HEADER_TEXT) })
    }

    /// A section of mrkdwn text.
    pub fn section(text: impl Into<String>) -> Self {
        Section::text(Text::mrkdwn(text)).into()
    }

    /// A section of mrkdwn fields, in two columns.
    pub fn fields<T: Into<String>>(fields: impl IntoIterator<Item = T>) -> Self {
        Section::fields(fields.into_iter().map(Text::mrkdwn)).into()
    }

    /// A context block: small grey text (and, in Slack, images), in a row.
    pub fn context(elements: impl IntoIterator<Item = Text>) -> Self {
        Block::Context(Context { block_id: None, elements: limits::context_elements(elements.into_iter().collect()) })
    }

    /// A context block of one mrkdwn text, Pulse's usual small print.
    pub fn context_text(text: impl Into<String>) -> Self {
        Self::context([Text::mrkdwn(text)])
    }

    /// A row of interactive elements.
    pub fn actions<E: Into<Element>>(elements: impl IntoIterator<Item = E>) -> Self {
        Block::Actions(Actions { block_id: None, elements: limits::actions_elements(elements.into_iter().map(Into::into).collect()) })
    }

    pub fn divider() -> Self {
        Block::Divider(Divider { block_id: None })
    }

    /// Names the block, so an interaction payload says which block it came from.
    pub fn block_id(mut self, id: impl Into<String>) -> Self {
        let slot = match &mut self {
            Block::Header(b) => &mut b.block_id,
            Block::Section(b) => &mut b.block_id,
            Block::Context(b) => &mut b.block_id,
            Block::Actions(b) => &mut b.block_id,
            Block::Divider(b) => &mut b.block_id,
            Block::Input(b) => &mut b.block_id,
        };
        *slot = Some(limits::id(id.into()));
        self
    }

    /// Whether Slack would refuse the block for having nothing in it (a section without text or
    /// fields, a context or actions block without elements).
    pub(super) fn is_empty(&self) -> bool {
        match self {
            Block::Section(s) => s.text.as_ref().is_none_or(Text::is_blank) && s.fields.is_empty(),
            Block::Context(c) => c.elements.is_empty(),
            Block::Actions(a) => a.elements.is_empty(),
            Block::Header(h) => h.text.text().trim().is_empty(),
            Block::Divider(_) | Block::Input(_) => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Header {
    #[serde(skip_serializing_if = "Option::is_none")]
    block_id: Option<String>,
    text: PlainText,
}

/// A section: text, or up to ten short fields in two columns, or both, with an optional
/// element beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    #[serde(skip_serializing_if = "Option::is_none")]
    block_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<Text>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    accessory: Option<Element>,
}

impl Section {
    pub fn text(text: Text) -> Self {
        Self { block_id: None, text: Some(text.cut(limits::SECTION_TEXT)), fields: Vec::new(), accessory: None }
    }

    /// A section of fields only.
    pub fn fields(fields: impl IntoIterator<Item = Text>) -> Self {
        Self { block_id: None, text: None, fields: limits::fields(fields.into_iter().collect()), accessory: None }
    }

    pub fn accessory(mut self, element: impl Into<Element>) -> Self {
        self.accessory = Some(element.into());
        self
    }
}

impl From<Section> for Block {
    fn from(section: Section) -> Self {
        Block::Section(section)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Context {
    #[serde(skip_serializing_if = "Option::is_none")]
    block_id: Option<String>,
    elements: Vec<Text>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actions {
    #[serde(skip_serializing_if = "Option::is_none")]
    block_id: Option<String>,
    elements: Vec<Element>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Divider {
    #[serde(skip_serializing_if = "Option::is_none")]
    block_id: Option<String>,
}

/// An input block of a modal: a label over one element, an optional hint under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Input {
    #[serde(skip_serializing_if = "Option::is_none")]
    block_id: Option<String>,
    label: PlainText,
    element: Element,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<PlainText>,
    /// Slack's default is `false` (the modal cannot be submitted empty); sent only when `true`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    optional: bool,
}

impl Input {
    pub fn new(label: impl Into<PlainText>, element: impl Into<Element>) -> Self {
        Self { block_id: None, label: label.into().cut(limits::INPUT_LABEL), element: element.into(), hint: None, optional: false }
    }

    pub fn hint(mut self, hint: impl Into<PlainText>) -> Self {
        self.hint = Some(hint.into().cut(limits::INPUT_HINT));
        self
    }

    /// The modal may be submitted with this input left empty.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
}

impl From<Input> for Block {
    fn from(input: Input) -> Self {
        Block::Input(input)
    }
}
