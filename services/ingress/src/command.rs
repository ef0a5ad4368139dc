//! Slash command text → what it asks for, or the usage message to answer with.
//!
//! Two commands are registered: `/praktika subscribe [email]`, `/praktika unsubscribe` (praktika's
//! feed commands), `/praktika github add ID+login | remove LOGIN` (GitHub accounts followed too) and `/pulser status | health | deploy <service>` (seed 004), with a channel's
//! GitHub repository subscriptions (`/pulser subscribe | unsubscribe | subscriptions`, [`repo`]). Sub-commands are
//! matched ignoring letter case; anything else — no sub-command, `help`, an unknown one, a
//! missing or extra argument, an argument of the wrong shape — gets the command's usage as an
//! ephemeral message and nothing is published.

use pulse_contracts::{CommandAction, Email, GithubAccount, SlashCommand};

mod repo;

/// The usage hint shown by Slack's command autocomplete (also in the app manifest).
pub const PRAKTIKA_HINT: &str = "subscribe [email] | unsubscribe | github add ID+login | github remove LOGIN";
/// The usage hint of `/pulser`.
pub const PULSER_HINT: &str =
    "status | health | deploy <service> | subscribe OWNER/REPO [filters] | unsubscribe OWNER/REPO | subscriptions";

pub const PRAKTIKA_USAGE: &str = "*Usage of `/praktika`* (follow a commit author's CI feed on your Pulse Home tab):\n\
• `/praktika subscribe [email]` — follow the feed of `email` (default: the email of your Slack profile)\n\
• `/praktika unsubscribe` — stop following it\n\
• `/praktika github add ID+login` — also follow a GitHub account: the commits it authored with its noreply address and the runs it triggered (`ID+login` is the start of its noreply address, GitHub → Settings → Emails)\n\
• `/praktika github remove LOGIN` — stop following that account";

pub const PULSER_USAGE: &str = "*Usage of `/pulser`* (platform operations):\n\
• `/pulser status` — current platform status\n\
• `/pulser health` — health checks\n\
• `/pulser deploy <service>` — deploy a service (asks you to confirm first)\n\
• `/pulser subscribe OWNER/REPO [workflow:NAME] [branch:GLOB] [event:EVENT] [failures]` — post this repository's GitHub Actions runs in this channel (`failures`: only failing runs; `workflow:\"Name with spaces\"`)\n\
• `/pulser unsubscribe OWNER/REPO` — stop posting them here\n\
• `/pulser subscriptions` — this channel's repositories and their filters";

/// Longest service name accepted by `/pulser deploy`.
pub const MAX_SERVICE_LEN: usize = 64;

/// A command ingress does not take: the ephemeral message to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub message: String,
}

impl Usage {
    fn new(problem: Option<String>, usage: &str) -> Self {
        let message = match problem {
            Some(problem) => format!("{problem}\n{usage}"),
            None => usage.to_owned(),
        };
        Self { message }
    }
}

/// Which registered command `command` is (`/praktika`, `/pulser`).
pub fn slash_command(command: &str) -> Option<SlashCommand> {
    match command.trim() {
        c if c.eq_ignore_ascii_case("/praktika") => Some(SlashCommand::Praktika),
        c if c.eq_ignore_ascii_case("/pulser") => Some(SlashCommand::Pulser),
        _ => None,
    }
}

/// Understand `text` typed after `command`.
pub fn parse(command: SlashCommand, text: &str) -> Result<CommandAction, Usage> {
    let mut words = text.split_whitespace();
    let sub = words.next();
    let args: Vec<&str> = words.collect();
    match command {
        SlashCommand::Praktika => parse_praktika(sub, &args),
        SlashCommand::Pulser => {
            // The text after the sub-command as typed: a quoted filter keeps its spaces.
            let rest = sub.map_or("", |s| text.trim_start()[s.len()..].trim_start());
            parse_pulser(sub, &args, rest)
        }
    }
}

fn is(word: &str, name: &str) -> bool {
    word.eq_ignore_ascii_case(name)
}

fn quoted(word: &str) -> String {
    let shown: String = word.chars().take(60).collect();
    format!("`{}`", shown.replace('`', "'"))
}

fn parse_praktika(sub: Option<&str>, args: &[&str]) -> Result<CommandAction, Usage> {
    let usage = |problem: Option<String>| Usage::new(problem, PRAKTIKA_USAGE);
    match sub {
        None => Err(usage(None)),
        Some(s) if is(s, "help") => Err(usage(None)),
        Some(s) if is(s, "subscribe") => match args {
            [] => Ok(CommandAction::Subscribe { email: None }),
            [email] => {
                let email = Email::parse(unwrap_mailto(email))
                    .map_err(|e| usage(Some(format!("{} is not an email address ({}).", quoted(email), e.reason))))?;
                Ok(CommandAction::Subscribe { email: Some(email) })
            }
            _ => Err(usage(Some("`subscribe` takes at most one email address.".to_owned()))),
        },
        Some(s) if is(s, "unsubscribe") => match args {
            [] => Ok(CommandAction::Unsubscribe),
            _ => Err(usage(Some("`unsubscribe` takes no arguments.".to_owned()))),
        },
        Some(s) if is(s, "github") => parse_github(args).map_err(|problem| usage(Some(problem))),
        Some(other) => Err(usage(Some(format!("I don't know {}.", quoted(other))))),
    }
}

/// `github add ID+login` (or the account's noreply address) and `github remove LOGIN`.
fn parse_github(args: &[&str]) -> Result<CommandAction, String> {
    match args {
        [op, account] if is(op, "add") => {
            let account = unwrap_mailto(account).trim_start_matches('@');
            GithubAccount::parse(account).map(|account| CommandAction::GithubLink { account }).map_err(|why| {
                let login = account.rsplit_once('+').map_or(account, |(_, login)| login).split('@').next().unwrap_or_default();
                let login = if pulse_contracts::github_account::is_login(login) { login } else { "LOGIN" };
                format!(
                    "{} is not a GitHub account as `ID+login` ({why}). The numeric id starts your noreply address (GitHub → Settings → Emails), and https://api.github.com/users/{login} shows it as `id`.",
                    quoted(account)
                )
            })
        }
        [op, login] if is(op, "remove") => {
            let login = login.trim_start_matches('@');
            let login = GithubAccount::parse(login).map_or_else(|_| login.to_owned(), |account| account.login);
            if pulse_contracts::github_account::is_login(&login) {
                Ok(CommandAction::GithubUnlink { login })
            } else {
                Err(format!("{} is not a GitHub login.", quoted(&login)))
            }
        }
        [op, ..] if is(op, "add") || is(op, "remove") => Err(format!("`github {}` takes one account.", op.to_ascii_lowercase())),
        _ => Err("`github` is followed by `add ID+login` or `remove LOGIN`.".to_owned()),
    }
}

fn parse_pulser(sub: Option<&str>, args: &[&str], rest: &str) -> Result<CommandAction, Usage> {
    let usage = |problem: Option<String>| Usage::new(problem, PULSER_USAGE);
    match sub {
        None => Err(usage(None)),
        Some(s) if is(s, "help") => Err(usage(None)),
        Some(s) if is(s, "status") || is(s, "health") => {
            if !args.is_empty() {
                return Err(usage(Some(format!("`{}` takes no arguments.", s.to_ascii_lowercase()))));
            }
            Ok(if is(s, "status") { CommandAction::Status } else { CommandAction::Health })
        }
        Some(s) if is(s, "deploy") => match args {
            [] => Err(usage(Some("`deploy` needs the service to deploy.".to_owned()))),
            [service] if is_service_name(service) => Ok(CommandAction::Deploy { service: (*service).to_owned() }),
            [service] => Err(usage(Some(format!(
                "{} is not a service name (up to {MAX_SERVICE_LEN} letters, digits, `.`, `_` or `-`).",
                quoted(service)
            )))),
            _ => Err(usage(Some("`deploy` takes exactly one service.".to_owned()))),
        },
        Some(s) if is(s, "subscribe") => repo::subscribe(rest).map_err(|problem| usage(Some(problem))),
        Some(s) if is(s, "unsubscribe") => repo::unsubscribe(args).map_err(|problem| usage(Some(problem))),
        Some(s) if is(s, "subscriptions") => match args {
            [] => Ok(CommandAction::Subscriptions),
            _ => Err(usage(Some("`subscriptions` takes no arguments.".to_owned()))),
        },
        Some(other) => Err(usage(Some(format!("I don't know {}.", quoted(other))))),
    }
}

/// Slack may send an email typed in a command as `<mailto:a@b.c|a@b.c>` (when the command
/// escapes links); take the address out.
fn unwrap_mailto(word: &str) -> &str {
    let Some(inner) = word.strip_prefix('<').and_then(|w| w.strip_suffix('>')) else {
        return word;
    };
    let inner = inner.strip_prefix("mailto:").unwrap_or(inner);
    match inner.split_once('|') {
        Some((_, label)) if !label.is_empty() => label,
        Some((address, _)) => address,
        None => inner,
    }
}

fn is_service_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_SERVICE_LEN
        && bytes[0].is_ascii_alphanumeric()
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The short ephemeral answer to an accepted command (the real outcome follows from the services
/// through the command's `response_url`).
pub fn acknowledgement(action: &CommandAction) -> String {
    match action {
        CommandAction::Subscribe { email: Some(email) } => {
            format!(":hourglass_flowing_sand: Subscribing you to the CI feed of {email}…")
        }
        CommandAction::Subscribe { email: None } => {
            ":hourglass_flowing_sand: Subscribing you to the CI feed of your Slack profile's email…".to_owned()
        }
        CommandAction::Unsubscribe => ":hourglass_flowing_sand: Unsubscribing you…".to_owned(),
        CommandAction::Status => ":hourglass_flowing_sand: Checking the platform status…".to_owned(),
        CommandAction::Health => ":hourglass_flowing_sand: Running the health checks…".to_owned(),
        CommandAction::Deploy { service } => format!(":rocket: Confirm the deploy of `{service}` in the dialog."),
        CommandAction::SubscribeRepo(f) => format!(":hourglass_flowing_sand: Subscribing this channel to `{}`…", f.repository),
        CommandAction::UnsubscribeRepo { repository } => {
            format!(":hourglass_flowing_sand: Unsubscribing this channel from `{repository}`…")
        }
        CommandAction::Subscriptions => ":hourglass_flowing_sand: Listing this channel's subscriptions…".to_owned(),
        CommandAction::GithubLink { account } => {
            format!(":hourglass_flowing_sand: Adding the GitHub account `{}` to your subscription…", account.login)
        }
        CommandAction::GithubUnlink { login } => {
            format!(":hourglass_flowing_sand: Removing the GitHub account `{login}` from your subscription…")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(command: SlashCommand, text: &str) -> CommandAction {
        parse(command, text).unwrap_or_else(|u| panic!("{text:?}: {}", u.message))
    }

    fn usage(command: SlashCommand, text: &str) -> String {
        match parse(command, text) {
            Ok(action) => panic!("{text:?} was accepted as {action:?}"),
            Err(u) => u.message,
        }
    }

    #[test]
    fn praktika_subscribe_and_unsubscribe() {
        use SlashCommand::Praktika;
        assert_eq!(ok(Praktika, "subscribe"), CommandAction::Subscribe { email: None });
        assert_eq!(ok(Praktika, "  Subscribe  "), CommandAction::Subscribe { email: None });
        assert_eq!(
            ok(Praktika, "subscribe alice@clickhouse.com"),
            CommandAction::Subscribe { email: Some(Email::parse("alice@clickhouse.com").unwrap()) }
        );
        assert_eq!(
            ok(Praktika, "subscribe <mailto:bob+ci@example.com|bob+ci@example.com>"),
            CommandAction::Subscribe { email: Some(Email::parse("bob+ci@example.com").unwrap()) }
        );
        assert_eq!(ok(Praktika, "SUBSCRIBE\u{a0}<mailto:c@d.e>"), CommandAction::Subscribe { email: Some(Email::parse("c@d.e").unwrap()) });
        assert_eq!(ok(Praktika, "unsubscribe"), CommandAction::Unsubscribe);
        assert_eq!(ok(Praktika, "UNSUBSCRIBE"), CommandAction::Unsubscribe);
    }

    #[test]
    fn praktika_usage_messages() {
        use SlashCommand::Praktika;
        assert_eq!(usage(Praktika, ""), PRAKTIKA_USAGE);
        assert_eq!(usage(Praktika, "help"), PRAKTIKA_USAGE);
        let m = usage(Praktika, "subscribe not-an-email");
        assert!(m.starts_with("`not-an-email` is not an email address (it has no `@`).") && m.ends_with(PRAKTIKA_USAGE), "{m}");
        let m = usage(Praktika, "subscribe a@b c@d");
        assert!(m.contains("at most one email"), "{m}");
        let m = usage(Praktika, "unsubscribe now");
        assert!(m.contains("takes no arguments"), "{m}");
        let m = usage(Praktika, "follow me");
        assert!(m.starts_with("I don't know `follow`.") && m.contains("/praktika subscribe [email]"), "{m}");
        // Backticks in user text cannot break out of the code span.
        let m = usage(Praktika, "x`y");
        assert!(m.starts_with("I don't know `x'y`."), "{m}");
    }

    #[test]
    fn praktika_github_accounts() {
        use SlashCommand::Praktika;
        let ada = GithubAccount { id: 7, login: "ada-l".into() };
        assert_eq!(ok(Praktika, "github add 7+ada-l"), CommandAction::GithubLink { account: ada.clone() });
        assert_eq!(ok(Praktika, "GitHub Add 7+ada-l@users.noreply.github.com"), CommandAction::GithubLink { account: ada.clone() });
        assert_eq!(
            ok(Praktika, "github add <mailto:7+ada-l@users.noreply.github.com|7+ada-l@users.noreply.github.com>"),
            CommandAction::GithubLink { account: ada }
        );
        assert_eq!(ok(Praktika, "github remove ada-l"), CommandAction::GithubUnlink { login: "ada-l".into() });
        assert_eq!(ok(Praktika, "github remove @ada-l"), CommandAction::GithubUnlink { login: "ada-l".into() });
        assert_eq!(ok(Praktika, "github remove 7+ada-l"), CommandAction::GithubUnlink { login: "ada-l".into() });

        // A login alone: the answer says where the numeric id is.
        let m = usage(Praktika, "github add ada-l");
        assert!(m.starts_with("`ada-l` is not a GitHub account as `ID+login`") && m.contains("https://api.github.com/users/ada-l"), "{m}");
        assert!(m.ends_with(PRAKTIKA_USAGE), "{m}");
        let m = usage(Praktika, "github add ev!l?x=1");
        assert!(m.contains("/users/LOGIN") && !m.contains("/users/ev!l"), "{m}");
        assert!(usage(Praktika, "github add 7+a 8+b").contains("`github add` takes one account"));
        assert!(usage(Praktika, "github remove bad--login").contains("is not a GitHub login"));
        assert!(usage(Praktika, "github").contains("`github` is followed by"));
        assert!(PRAKTIKA_USAGE.contains("/praktika github add ID+login") && PRAKTIKA_HINT.contains("github add"));
    }

    #[test]
    fn pulser_subcommands() {
        use SlashCommand::Pulser;
        assert_eq!(ok(Pulser, "status"), CommandAction::Status);
        assert_eq!(ok(Pulser, "Health"), CommandAction::Health);
        assert_eq!(ok(Pulser, "deploy api"), CommandAction::Deploy { service: "api".into() });
        assert_eq!(ok(Pulser, "deploy odoo-web_2.1"), CommandAction::Deploy { service: "odoo-web_2.1".into() });
        assert_eq!(ok(Pulser, "Subscriptions"), CommandAction::Subscriptions);
        assert_eq!(ok(Pulser, "unsubscribe o/r"), CommandAction::UnsubscribeRepo { repository: "o/r".into() });
        let CommandAction::SubscribeRepo(f) = ok(Pulser, "  subscribe   o/r  workflow:\"Build  and test\" failures") else { panic!() };
        assert_eq!((f.repository.as_str(), f.workflow.as_deref(), f.failures), ("o/r", Some("Build  and test"), true));
    }

    #[test]
    fn pulser_repository_usage_messages() {
        use SlashCommand::Pulser;
        let m = usage(Pulser, "subscribe");
        assert!(m.starts_with("`subscribe` needs the repository") && m.ends_with(PULSER_USAGE), "{m}");
        assert!(usage(Pulser, "subscribe o/r colour:red").contains("I don't know the filter"));
        assert!(usage(Pulser, "unsubscribe").starts_with("`unsubscribe` needs the repository"));
        assert!(usage(Pulser, "subscriptions all").starts_with("`subscriptions` takes no arguments"));
        assert!(PULSER_USAGE.contains("/pulser subscribe OWNER/REPO") && PULSER_HINT.contains("subscriptions"));
    }

    #[test]
    fn pulser_usage_messages() {
        use SlashCommand::Pulser;
        assert_eq!(usage(Pulser, ""), PULSER_USAGE);
        assert_eq!(usage(Pulser, "HELP"), PULSER_USAGE);
        assert!(usage(Pulser, "deploy").starts_with("`deploy` needs the service"));
        assert!(usage(Pulser, "deploy a b").starts_with("`deploy` takes exactly one service"));
        assert!(usage(Pulser, "deploy ../etc").starts_with("`../etc` is not a service name"));
        assert!(usage(Pulser, &format!("deploy {}", "a".repeat(65))).contains("is not a service name"));
        assert!(usage(Pulser, "status now").starts_with("`status` takes no arguments"));
        assert!(usage(Pulser, "reboot prod").starts_with("I don't know `reboot`."));
        // A long unknown word is shortened in the answer.
        let m = usage(Pulser, &"z".repeat(500));
        assert!(m.len() < 500 + PULSER_USAGE.len() && !m.contains(&"z".repeat(100)), "{m}");
    }

    #[test]
    fn registered_commands() {
        assert_eq!(slash_command("/praktika"), Some(SlashCommand::Praktika));
        assert_eq!(slash_command("/PULSER"), Some(SlashCommand::Pulser));
        assert_eq!(slash_command("/webhook-collect"), None);
    }

    #[test]
    fn acknowledgements_are_short_and_specific() {
        let ack = acknowledgement(&CommandAction::Deploy { service: "api".into() });
        assert!(ack.contains("`api`"), "{ack}");
        let ack = acknowledgement(&CommandAction::Subscribe { email: Some(Email::parse("a@b").unwrap()) });
        assert!(ack.contains("a@b"), "{ack}");
        for action in [CommandAction::Unsubscribe, CommandAction::Status, CommandAction::Health] {
            assert!(acknowledgement(&action).len() < 100);
        }
    }
}
