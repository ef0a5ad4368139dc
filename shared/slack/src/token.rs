//! The bot token, wrapped so that it cannot end up in logs or error messages by accident.

use std::fmt;

/// A Slack bot token (`xoxb-...`).
///
/// `Debug` and `Display` print `xoxb-***` whatever the value, so that a token stored in a config
/// struct, an error or a `tracing` field never leaks. Use [`BotToken::expose`] at the one place
/// that really needs the value (the `Authorization` header).
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(String);

impl BotToken {
    /// Wraps a token value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Only for building the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("xoxb-***")
    }
}

impl fmt::Display for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("xoxb-***")
    }
}

impl From<String> for BotToken {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for BotToken {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let token = BotToken::new("xoxb-123-secret");
        assert_eq!(format!("{token}"), "xoxb-***");
        assert_eq!(format!("{token:?}"), "xoxb-***");
        assert_eq!(format!("{:?}", Some(&token)), "Some(xoxb-***)");
        assert_eq!(token.expose(), "xoxb-123-secret");
    }
}
