//! `/pulser subscribe OWNER/REPO [workflow:NAME] [branch:GLOB] [event:EVENT] [failures]`,
//! `/pulser unsubscribe OWNER/REPO` and `/pulser subscriptions`: a channel's subscriptions to a
//! GitHub repository's workflow runs.
//!
//! Rules, each refused with a sentence saying which:
//! - the repository is `owner/name` as GitHub allows them (letters, digits, `-`, `_`, `.`;
//!   owner up to 39 characters, name up to 100), or its `https://github.com/owner/name` URL;
//! - each filter is given at most once; `workflow:` takes the exact name, in double quotes when
//!   it has spaces (`workflow:"Build and test"`, Slack's curly quotes too); `branch:` a glob
//!   without spaces; `event:` a GitHub event name (lower case letters and `_`);
//! - `failures` is a bare word; anything else is unknown.

use pulse_contracts::{CommandAction, RepoFilter};

/// Longest filter value kept (a branch name may be 255 bytes on GitHub).
pub const MAX_FILTER_LEN: usize = 255;

/// `subscribe`'s arguments.
pub fn subscribe(args: &str) -> Result<CommandAction, String> {
    let mut tokens = tokens(args)?.into_iter();
    let repository = match tokens.next() {
        None => return Err("`subscribe` needs the repository, `OWNER/REPO`.".to_owned()),
        Some(word) => repository(&word)?,
    };
    let mut filter = RepoFilter { repository, workflow: None, branch: None, event: None, failures: false };
    for token in tokens {
        if token.eq_ignore_ascii_case("failures") {
            if filter.failures {
                return Err("`failures` is given twice.".to_owned());
            }
            filter.failures = true;
            continue;
        }
        let Some((key, value)) = token.split_once(':') else {
            return Err(format!("I don't know {}: filters are `workflow:`, `branch:`, `event:` and `failures`.", super::quoted(&token)));
        };
        let key = key.to_ascii_lowercase();
        let slot = match key.as_str() {
            "workflow" => &mut filter.workflow,
            "branch" => &mut filter.branch,
            "event" => &mut filter.event,
            _ => {
                return Err(format!(
                    "I don't know the filter {}: filters are `workflow:`, `branch:`, `event:` and `failures`.",
                    super::quoted(&key)
                ));
            }
        };
        if slot.is_some() {
            return Err(format!("`{key}:` is given twice."));
        }
        *slot = Some(filter_value(&key, value)?);
    }
    Ok(CommandAction::SubscribeRepo(filter))
}

/// `unsubscribe`'s arguments.
pub fn unsubscribe(args: &[&str]) -> Result<CommandAction, String> {
    match args {
        [] => Err("`unsubscribe` needs the repository, `OWNER/REPO`.".to_owned()),
        [word] => Ok(CommandAction::UnsubscribeRepo { repository: repository(word)? }),
        _ => Err("`unsubscribe` takes exactly one repository.".to_owned()),
    }
}

fn filter_value(key: &str, value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err(format!("`{key}:` needs a value."));
    }
    if value.len() > MAX_FILTER_LEN {
        return Err(format!("`{key}:` is longer than {MAX_FILTER_LEN} characters."));
    }
    let ok = match key {
        "event" => value.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
        "branch" => !value.chars().any(|c| c.is_whitespace() || c.is_control()),
        _ => !value.chars().any(char::is_control),
    };
    if !ok {
        let what = match key {
            "event" => "a GitHub event name (`push`, `pull_request`, `schedule`, ...)",
            "branch" => "a branch name or glob (`main`, `release/*`)",
            _ => "a workflow name",
        };
        return Err(format!("{} is not {what}.", super::quoted(value)));
    }
    Ok(value.to_owned())
}

/// `owner/name`, from itself or its GitHub URL (Slack may send a URL as `<https://...>`).
fn repository(word: &str) -> Result<String, String> {
    let bare = word.strip_prefix('<').and_then(|w| w.strip_suffix('>')).map_or(word, |w| w.split('|').next().unwrap_or(w));
    let path = bare.strip_prefix("https://github.com/").unwrap_or(bare).trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let valid = |part: &str, max: usize| {
        !part.is_empty() && part.len() <= max && part.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    match path.split_once('/') {
        Some((owner, name)) if valid(owner, 39) && valid(name, 100) && name != "." && name != ".." => Ok(path.to_owned()),
        _ => Err(format!("{} is not a repository: write `OWNER/REPO`, e.g. `octo-org/widgets`.", super::quoted(word))),
    }
}

/// Words, a double-quoted span (straight or curly quotes) kept as one: `workflow:"Build and
/// test"` is one token, `workflow:Build and test` without quotes is three.
fn tokens(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut started = false;
    for c in text.chars() {
        match c {
            '"' | '\u{201c}' | '\u{201d}' => {
                in_quotes = !in_quotes;
                started = true;
            }
            c if c.is_whitespace() && !in_quotes => {
                if started {
                    out.push(std::mem::take(&mut current));
                    started = false;
                }
            }
            c => {
                current.push(c);
                started = true;
            }
        }
    }
    if in_quotes {
        return Err("a quote is not closed.".to_owned());
    }
    if started {
        out.push(current);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(text: &str) -> RepoFilter {
        match subscribe(text) {
            Ok(CommandAction::SubscribeRepo(f)) => f,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn subscribe_with_and_without_filters() {
        let f = filter("octo-org/widgets");
        assert_eq!(f, RepoFilter { repository: "octo-org/widgets".into(), workflow: None, branch: None, event: None, failures: false });
        let f = filter("octo-org/widgets workflow:CI branch:release/* event:push failures");
        assert_eq!(f.workflow.as_deref(), Some("CI"));
        assert_eq!(f.branch.as_deref(), Some("release/*"));
        assert_eq!(f.event.as_deref(), Some("push"));
        assert!(f.failures);
        assert_eq!(filter("o/r WORKFLOW:\"Build and  test\" FAILURES").workflow.as_deref(), Some("Build and  test"));
        assert_eq!(filter("o/r workflow:\u{201c}Nightly build\u{201d}").workflow.as_deref(), Some("Nightly build"));
        assert_eq!(filter("https://github.com/octo-org/widgets/").repository, "octo-org/widgets");
        assert_eq!(filter("<https://github.com/o/r.git>").repository, "o/r");
    }

    #[test]
    fn subscribe_refusals_say_what_is_wrong() {
        let err = |text: &str| subscribe(text).expect_err(text);
        assert!(err("").contains("needs the repository"));
        assert!(err("widgets").contains("is not a repository"));
        assert!(err("a/b/c").contains("is not a repository"));
        assert!(err("o/..").contains("is not a repository"));
        assert!(err(&format!("{}/r", "o".repeat(40))).contains("is not a repository"));
        assert!(err("o/r branch:a branch:b").contains("`branch:` is given twice"));
        assert!(err("o/r failures failures").contains("twice"));
        assert!(err("o/r colour:red").contains("I don't know the filter `colour`"));
        assert!(err("o/r loud").contains("I don't know `loud`"));
        assert!(err("o/r event:Push").contains("is not a GitHub event name"));
        assert!(err("o/r branch:").contains("needs a value"));
        assert!(err("o/r workflow:\"open").contains("quote is not closed"));
        assert!(err(&format!("o/r branch:{}", "b".repeat(300))).contains("longer than"));
    }

    #[test]
    fn unsubscribe_takes_one_repository() {
        assert_eq!(unsubscribe(&["o/r"]), Ok(CommandAction::UnsubscribeRepo { repository: "o/r".into() }));
        assert!(unsubscribe(&[]).unwrap_err().contains("needs the repository"));
        assert!(unsubscribe(&["o/r", "x/y"]).unwrap_err().contains("exactly one"));
        assert!(unsubscribe(&["nope"]).unwrap_err().contains("is not a repository"));
    }
}
