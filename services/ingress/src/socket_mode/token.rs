//! The app-level token, wrapped so that it cannot end up in logs or error messages by accident.

use std::fmt;

/// A Slack app-level token (`xapp-...`), the credential of Socket Mode.
///
/// `Debug` and `Display` print `xapp-***` whatever the value, so a token kept in a config
/// struct, an error or a `tracing` field never leaks. [`AppToken::expose`] is used at exactly one
/// place: the `Authorization` header of `apps.connections.open`.
#[derive(Clone, PartialEq, Eq)]
pub struct AppToken(String);

impl AppToken {
    /// Wraps a token value (surrounding whitespace, as left by `echo` into SSM, is trimmed).
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        let trimmed = value.trim();
        if trimmed.len() == value.len() {
            Self(value)
        } else {
            Self(trimmed.to_owned())
        }
    }

    /// Whether the value looks like an app-level token (`xapp-` prefix). Bot (`xoxb-`) and user
    /// (`xoxp-`) tokens cannot open Socket Mode connections.
    pub fn is_app_level(&self) -> bool {
        self.0.starts_with("xapp-") && self.0.len() > "xapp-".len()
    }

    /// The secret value. Only for building the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AppToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("xapp-***")
    }
}

impl fmt::Display for AppToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("xapp-***")
    }
}

impl From<String> for AppToken {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for AppToken {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let token = AppToken::new("xapp-1-A0-123-secretsecret");
        assert_eq!(format!("{token}"), "xapp-***");
        assert_eq!(format!("{token:?}"), "xapp-***");
        assert_eq!(format!("{:?}", Some(&token)), "Some(xapp-***)");
        assert_eq!(token.expose(), "xapp-1-A0-123-secretsecret");
    }

    #[test]
    fn recognises_app_level_tokens() {
        assert!(AppToken::new(" xapp-1-abc\n").is_app_level());
        assert_eq!(AppToken::new(" xapp-1-abc\n").expose(), "xapp-1-abc");
        assert!(!AppToken::new("xoxb-1-abc").is_app_level());
        assert!(!AppToken::new("xapp-").is_app_level());
        assert!(!AppToken::new("").is_app_level());
    }
}
