//! Block Kit, typed: what Pulse sends to Slack as messages, `response_url` answers and views,
//! serialising (serde) to exactly the JSON Slack expects.
//!
//! Rules:
//! - Only what Pulse sends is here: text objects ([`Text`], [`PlainText`]), the blocks header,
//!   section (text, fields, accessory), context, actions, divider and input ([`Block`]), the
//!   elements button and static multi-select with their confirmation and options ([`Element`]),
//!   and the things sent whole: [`Message`], [`ResponseMessage`], [`View`]. A new kind is added
//!   when a renderer needs it.
//! - Fields are private and every constructor fits its input to Slack's limits on the spot
//!   ([`limits`], the one place that knows them), so no value of these types is one Slack would
//!   refuse, and making one never fails.
//! - Renderers return these types; the I/O shells turn them into JSON at the client's door
//!   ([`Message::into_parts`], [`View::to_json`], [`ResponseMessage::to_json`]): the client's
//!   methods take `serde_json::Value`, so the fake Slack and tests see exactly what Slack would.
//! - Text is taken as given: escaping mrkdwn (`&`, `<`, `>`) is the renderer's job, because
//!   only it knows which parts are links and markup it wrote itself.

mod block;
mod element;
pub mod limits;
mod surface;
mod text;

pub use block::{Actions, Block, Context, Divider, Header, Input, Section};
pub use element::{Button, Confirm, Element, MultiStaticSelect, SelectOption, Style};
pub use limits::{cut, cut_in_place, cut_start};
pub use surface::{Message, Modal, ResponseMessage, ResponseType, View};
pub use text::{PlainText, Text};

#[cfg(test)]
mod tests;
