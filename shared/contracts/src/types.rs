//! Small value types shared by several events.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An email address as a producer knows it: exactly one `@`, something on each side, no
/// whitespace.
///
/// Feeds are keyed by commit-author email and subscriptions resolve to one, so a value that cannot
/// be an address is refused where it enters rather than creating a feed nobody can subscribe to.
/// The address is kept byte for byte (no case folding): praktika keys its feeds the same way.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

/// Why a string is not an [`Email`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not an email address: {reason}")]
pub struct InvalidEmail {
    pub value: String,
    pub reason: &'static str,
}

impl Email {
    /// Checks the shape the schemas require (`^[^@\s]+@[^@\s]+$`).
    pub fn parse(value: impl Into<String>) -> Result<Self, InvalidEmail> {
        let value = value.into();
        let reason = match value.split_once('@') {
            _ if value.chars().any(char::is_whitespace) => Some("it contains whitespace"),
            None => Some("it has no `@`"),
            Some((local, domain)) if local.is_empty() || domain.is_empty() => Some("it needs text on both sides of the `@`"),
            Some((_, domain)) if domain.contains('@') => Some("it has more than one `@`"),
            Some(_) => None,
        };
        match reason {
            Some(reason) => Err(InvalidEmail { value, reason }),
            None => Ok(Email(value)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidEmail;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::parse(value)
    }
}

impl std::str::FromStr for Email {
    type Err = InvalidEmail;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Email::parse(s)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The Slack user who asked for something: kept for the audit log and so messages can say who
/// did it without another Slack lookup.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: String,
    pub user_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_and_plus_addresses() {
        for ok in ["alice@clickhouse.com", "bob+ci@users.noreply.github.com", "root@localhost"] {
            assert_eq!(Email::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_what_cannot_be_an_address() {
        for (bad, why) in [
            ("", "no `@`"),
            ("alice", "no `@`"),
            ("@example.com", "both sides"),
            ("alice@", "both sides"),
            ("a@b@c", "more than one"),
            ("alice @example.com", "whitespace"),
        ] {
            let err = Email::parse(bad).unwrap_err();
            assert!(err.to_string().contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn deserializing_checks_the_shape() {
        assert!(serde_json::from_str::<Email>("\"a@b\"").is_ok());
        let err = serde_json::from_str::<Email>("\"nobody\"").unwrap_err();
        assert!(err.to_string().contains("`nobody` is not an email address"), "{err}");
    }
}
