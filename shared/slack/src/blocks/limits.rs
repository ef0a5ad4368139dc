//! Slack's limits on Block Kit, and what Pulse does at each one: the one production module that
//! knows them. (The fake Slack's validator, `fake/validate.rs`, keeps its own copy on purpose: it
//! is the independent check that this module got them right.)
//!
//! Slack refuses a whole message or view (`invalid_blocks`, `view_too_large`, `msg_too_long`)
//! when any part of it is over a limit, and a refused alert or Home tab is worse than a shortened
//! one. So nothing here fails: every constructor of [`super`] fits what it is given on the spot,
//! by the rules below, and a renderer cannot build something Slack would refuse. Two kinds of
//! string are cut differently: what people read ends with `…` ([`cut`]); what apps read (ids,
//! values, `private_metadata`) is truncated without a mark, since a mark would only change the
//! data further. Lengths are in characters, as Slack counts them.
//!
//! | what | Slack's limit | what Pulse does over it |
//! |---|---|---|
//! | any text object; a section's text | 3,000 | cut with `…` |
//! | a section's fields | 10, each 2,000 | each cut with `…`; over 10: the first 9, then `… +N more` |
//! | a header | 150 | cut with `…` |
//! | a context block's elements | 10 | the first 9, then `… +N more` |
//! | an actions block's elements | 25 | the first 25; a row of buttons has no room for a note |
//! | a button's text / value / url | 75 / 2,000 / 3,000 | cut with `…` / truncated / left out (a cut URL leads elsewhere) |
//! | `action_id`, `block_id`, `callback_id` | 255 | truncated |
//! | a confirmation's title / text / buttons | 100 / 300 / 30 | cut with `…` |
//! | a select's options; an option's text / value; a placeholder | 100; 75 / 150; 150 | the first 100; cut with `…` / truncated; cut with `…` |
//! | an input's label / hint | 2,000 / 2,000 | cut with `…` |
//! | a modal's title / submit / close | 24 | cut with `…` |
//! | a view's `private_metadata` | 3,000 | truncated |
//! | blocks in a message | 50 | the first 49, then a context block saying how many were left out |
//! | blocks in a view | 100 | the first 99, then that note |
//! | a view's JSON | 250,000 bytes (`view_too_large`) | the blocks that fit, in order, then that note |
//! | a message's `text` | 40,000 | cut with `…` |
//!
//! A block with nothing in it (a section without text or fields, a context or actions block
//! without elements, a blank header), which Slack also refuses, is left out of the message or
//! view. Renderers that want a better cut (the Home tab adds whole PRs while they fit, and says
//! how many it left out) do it themselves within these numbers; this module is the backstop.
//! Sources: docs.slack.dev, Block Kit reference (blocks, block elements, composition objects,
//! view objects) and `chat.postMessage`.

use std::borrow::Cow;

use serde::Serialize;

use super::block::Block;
use super::element::{Element, SelectOption};
use super::text::Text;

/// Characters of any text object, and of a section's text.
pub const TEXT_OBJECT: usize = 3000;
pub const SECTION_TEXT: usize = 3000;
/// Fields of a section, and characters of each.
pub const FIELDS: usize = 10;
pub const FIELD_TEXT: usize = 2000;
pub const HEADER_TEXT: usize = 150;
pub const CONTEXT_ELEMENTS: usize = 10;
pub const ACTIONS_ELEMENTS: usize = 25;
pub const BUTTON_TEXT: usize = 75;
pub const BUTTON_VALUE: usize = 2000;
pub const URL: usize = 3000;
/// `action_id`, `block_id`, `callback_id`.
pub const ID: usize = 255;
pub const CONFIRM_TITLE: usize = 100;
pub const CONFIRM_TEXT: usize = 300;
pub const CONFIRM_BUTTON: usize = 30;
pub const OPTIONS: usize = 100;
pub const OPTION_TEXT: usize = 75;
pub const OPTION_VALUE: usize = 150;
pub const PLACEHOLDER: usize = 150;
pub const INPUT_LABEL: usize = 2000;
pub const INPUT_HINT: usize = 2000;
pub const MODAL_TITLE: usize = 24;
/// A modal's submit and close buttons.
pub const MODAL_BUTTON: usize = 24;
pub const PRIVATE_METADATA: usize = 3000;
pub const MESSAGE_BLOCKS: usize = 50;
pub const VIEW_BLOCKS: usize = 100;
/// Bytes of a view's JSON; Slack answers `view_too_large` above it.
pub const VIEW_BYTES: usize = 250_000;
/// Characters of a message's `text` (`msg_too_long` above it).
pub const MESSAGE_TEXT: usize = 40_000;

/// The mark of text cut short.
pub const ELLIPSIS: char = '…';

/// `text` cut to at most `max` characters, the last of them `…` when cut; borrowed when it fits.
pub fn cut(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        // Fast path: the byte length bounds the character count.
        return text.into();
    }
    if max == 0 {
        return "".into();
    }
    if text.char_indices().nth(max).is_none() {
        return text.into();
    }
    let end = text.char_indices().nth(max - 1).map_or(text.len(), |(i, _)| i);
    let mut out = String::with_capacity(end + ELLIPSIS.len_utf8());
    out.push_str(&text[..end]);
    out.push(ELLIPSIS);
    out.into()
}

/// [`cut`] in place.
pub fn cut_in_place(text: &mut String, max: usize) {
    if let Cow::Owned(cut) = cut(text, max) {
        *text = cut;
    }
}

/// The end of `text` in at most `max` characters, the first of them `…` when cut: for logs and
/// errors, whose last lines say what went wrong.
pub fn cut_start(text: &str, max: usize) -> Cow<'_, str> {
    let count = text.chars().count();
    if count <= max {
        return text.into();
    }
    if max == 0 {
        return "".into();
    }
    let start = text.char_indices().nth(count - (max - 1)).map_or(text.len(), |(i, _)| i);
    let mut out = String::with_capacity(text.len() - start + ELLIPSIS.len_utf8());
    out.push(ELLIPSIS);
    out.push_str(&text[start..]);
    out.into()
}

/// The length of `value`'s JSON, without building it.
pub fn json_len(value: &impl Serialize) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing to a counter cannot fail, nor can serialising this module's types.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// `text` truncated to `max` characters, without a mark: for what apps read.
fn truncated(mut text: String, max: usize) -> String {
    if text.len() > max
        && let Some((end, _)) = text.char_indices().nth(max)
    {
        text.truncate(end);
    }
    text
}

pub(super) fn id(id: String) -> String {
    truncated(id, ID)
}

pub(super) fn value(value: String) -> String {
    truncated(value, BUTTON_VALUE)
}

pub(super) fn option_value(value: String) -> String {
    truncated(value, OPTION_VALUE)
}

pub(super) fn private_metadata(meta: String) -> String {
    truncated(meta, PRIVATE_METADATA)
}

pub(super) fn url(url: String) -> Option<String> {
    (url.chars().count() <= URL).then_some(url)
}

/// At most `max` items: when there are more, the first `max - 1` and `note(how many were left
/// out)`.
fn with_note<T>(mut items: Vec<T>, max: usize, note: impl FnOnce(usize) -> T) -> Vec<T> {
    if items.len() <= max {
        return items;
    }
    let kept = max.saturating_sub(1);
    let left_out = items.len() - kept;
    items.truncate(kept);
    items.push(note(left_out));
    items
}

fn more(left_out: usize) -> Text {
    Text::mrkdwn(format!("{ELLIPSIS} +{left_out} more"))
}

pub(super) fn fields(fields: Vec<Text>) -> Vec<Text> {
    let fields = fields.into_iter().map(|f| f.cut(FIELD_TEXT)).collect();
    with_note(fields, FIELDS, more)
}

pub(super) fn context_elements(elements: Vec<Text>) -> Vec<Text> {
    with_note(elements, CONTEXT_ELEMENTS, more)
}

pub(super) fn actions_elements(mut elements: Vec<Element>) -> Vec<Element> {
    elements.truncate(ACTIONS_ELEMENTS);
    elements
}

pub(super) fn options(mut options: Vec<SelectOption>) -> Vec<SelectOption> {
    options.truncate(OPTIONS);
    options
}

/// The block that says how many blocks were left out of a message or view.
fn left_out_note(left_out: usize, surface: &str) -> Block {
    let blocks = if left_out == 1 { "block" } else { "blocks" };
    Block::context_text(format!(":scissors: {left_out} more {blocks} left out: Slack takes no more in one {surface}."))
}

pub(super) fn message_blocks(mut blocks: Vec<Block>) -> Vec<Block> {
    blocks.retain(|b| !b.is_empty());
    with_note(blocks, MESSAGE_BLOCKS, |n| left_out_note(n, "message"))
}

/// A view's blocks, fitted to [`VIEW_BLOCKS`] and to [`VIEW_BYTES`] given `head_bytes`, the JSON
/// length of the view without them.
pub(super) fn view_blocks(mut blocks: Vec<Block>, head_bytes: usize) -> Vec<Block> {
    blocks.retain(|b| !b.is_empty());
    let sizes: Vec<usize> = blocks.iter().map(|b| json_len(b) + 1).collect();
    if blocks.len() <= VIEW_BLOCKS && head_bytes + sizes.iter().sum::<usize>() <= VIEW_BYTES {
        return blocks;
    }
    // The note names at most blocks.len(): its size with that count bounds its real size.
    let mut used = head_bytes + json_len(&left_out_note(blocks.len(), "view")) + 1;
    let mut kept = 0;
    for size in sizes {
        if kept + 1 == VIEW_BLOCKS || used + size > VIEW_BYTES {
            break;
        }
        used += size;
        kept += 1;
    }
    let left_out = blocks.len() - kept;
    blocks.truncate(kept);
    blocks.push(left_out_note(left_out, "view"));
    blocks
}

#[cfg(test)]
mod tests;
