//! A GitHub account a Slack user links to their subscription, and the feed it stands for.
//!
//! GitHub gives every account a private commit address, `{id}+{login}@users.noreply.github.com`
//! (Settings → Emails). Commits authored with it land in that address's feed like any other
//! author's, and the feed-projector also puts there the runs the account *triggered* on commits
//! authored by someone else (contracts/README.md, "GitHub runs in praktika's feeds"). So linking
//! an account is following one more feed: [`GithubAccount::noreply_email`].
//!
//! The numeric id is part of the address and never changes (a login can be renamed), so an
//! account is written `ID+login`; the full noreply address is taken too.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::types::Email;

/// The domain of GitHub's private commit addresses.
pub const NOREPLY_DOMAIN: &str = "users.noreply.github.com";

/// A GitHub account: its numeric id and its login.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GithubAccount {
    pub id: u64,
    pub login: String,
}

impl GithubAccount {
    /// `ID+login` or `ID+login@users.noreply.github.com` (case of the domain ignored).
    pub fn parse(text: &str) -> Result<Self, String> {
        let local = match text.rsplit_once('@') {
            Some((local, domain)) if domain.eq_ignore_ascii_case(NOREPLY_DOMAIN) => local,
            Some((_, domain)) => return Err(format!("`{domain}` is not GitHub's noreply domain ({NOREPLY_DOMAIN})")),
            None => text,
        };
        let Some((id, login)) = local.split_once('+') else {
            return Err("it needs the account's numeric id: `ID+login`".to_owned());
        };
        let id = id.parse::<u64>().ok().filter(|id| *id > 0).ok_or_else(|| format!("`{id}` is not a numeric account id"))?;
        if !is_login(login) {
            return Err(format!("`{login}` is not a GitHub login (1 to 39 letters, digits or single hyphens)"));
        }
        Ok(Self { id, login: login.to_owned() })
    }

    /// The account's private commit address, the key of its feed.
    pub fn noreply_email(&self) -> Email {
        Email::parse(format!("{}+{}@{NOREPLY_DOMAIN}", self.id, self.login)).expect("a login has no whitespace or @")
    }
}

impl fmt::Display for GithubAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{}", self.id, self.login)
    }
}

/// GitHub's rule for logins: letters, digits and single hyphens, not at either end, at most 39.
pub fn is_login(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 39
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !text.starts_with('-')
        && !text.ends_with('-')
        && !text.contains("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_id_plus_login_or_its_noreply_address() {
        let octo = GithubAccount { id: 583231, login: "octo-cat".into() };
        assert_eq!(GithubAccount::parse("583231+octo-cat").unwrap(), octo);
        assert_eq!(GithubAccount::parse("583231+octo-cat@users.noreply.github.com").unwrap(), octo);
        assert_eq!(GithubAccount::parse("583231+octo-cat@Users.Noreply.GitHub.com").unwrap(), octo);
        assert_eq!(octo.noreply_email().as_str(), "583231+octo-cat@users.noreply.github.com");
        assert_eq!(octo.to_string(), "583231+octo-cat");
    }

    #[test]
    fn anything_else_says_what_is_wrong() {
        for (text, says) in [
            ("octocat", "numeric id"),
            ("x+octocat", "not a numeric account id"),
            ("0+octocat", "not a numeric account id"),
            ("12+-octo", "not a GitHub login"),
            ("12+oc--to", "not a GitHub login"),
            ("12+octo cat", "not a GitHub login"),
            ("12+octocat@example.com", "noreply domain"),
            ("12+", "not a GitHub login"),
        ] {
            let err = GithubAccount::parse(text).unwrap_err();
            assert!(err.contains(says), "{text:?}: {err}");
        }
    }
}
