//! The names that go into request paths, parsed once so a path can never be steered elsewhere:
//! GitHub's own rules (letters, digits, `-`, `_`, `.`; no `..`) leave no `/`, `?`, `%` or
//! space to inject.

use std::fmt;

/// `owner/name` of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName {
    owner: String,
    name: String,
}

impl RepoName {
    /// Parses `owner/name`; the error says what is wrong, quoting the input.
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some((owner, name)) = text.split_once('/') else {
            return Err(format!("a repository is `owner/name`, got {text:?}"));
        };
        Ok(Self { owner: segment("repository owner", owner)?.to_owned(), name: segment("repository name", name)?.to_owned() })
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl std::str::FromStr for RepoName {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Self::parse(text)
    }
}

/// A user or organisation login: GitHub allows letters, digits and single hyphens (the
/// `[bot]` suffix of an App's user aside, which is never a collaborator).
pub fn login(what: &str, text: &str) -> Result<String, String> {
    if text.is_empty() || text.len() > 39 || !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(format!("a {what} is 1 to 39 letters, digits or hyphens, got {text:?}"));
    }
    Ok(text.to_owned())
}

/// A commit sha: 7 to 64 hex digits (SHA-1 or SHA-256 repositories, abbreviated or not).
pub fn sha(text: &str) -> Result<String, String> {
    if !(7..=64).contains(&text.len()) || !text.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("a commit sha is 7 to 64 hex digits, got {text:?}"));
    }
    Ok(text.to_ascii_lowercase())
}

/// One path segment of a repository name: 1 to 100 of `[A-Za-z0-9-_.]`, not `.` or `..`.
fn segment<'a>(what: &str, text: &'a str) -> Result<&'a str, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if text.is_empty() || text.len() > 100 || !text.chars().all(allowed) || text == "." || text == ".." {
        return Err(format!("a {what} is 1 to 100 letters, digits, `-`, `_` or `.`, got {text:?}"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_parse_and_paths_cannot_be_steered() {
        let repo = RepoName::parse("octo-org/hello.world_2").unwrap();
        assert_eq!((repo.owner(), repo.name(), repo.to_string().as_str()), ("octo-org", "hello.world_2", "octo-org/hello.world_2"));
        for bad in ["", "a", "a/", "/b", "a/b/c", "a/..", "a/b?x=1", "a/b%2f", "a b/c", "ünï/x"] {
            assert!(RepoName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(RepoName::parse("a/b/c").unwrap_err().contains("\"b/c\""));
    }

    #[test]
    fn logins_and_shas() {
        assert_eq!(login("login", "mona-lisa"), Ok("mona-lisa".to_owned()));
        assert!(login("login", "a/b").is_err() && login("login", "").is_err() && login("login", &"x".repeat(40)).is_err());
        assert_eq!(sha("ABCDEF1"), Ok("abcdef1".to_owned()));
        assert!(sha("abc").is_err() && sha("xyz1234").is_err());
    }
}
