//! `slack.command` v1, v2 and v3: a slash command that ingress verified (signature, timestamp,
//! dedup) and parsed, so consumers never read Slack's form encoding or re-parse the text.
//!
//! v2 is v1 with three more `action.name`s — a channel's GitHub repository subscriptions
//! (`subscribe_repo`, `unsubscribe_repo`, `subscriptions`). A new value of a closed enum is a new
//! version (contracts/README.md), so ingress publishes those three as v2 and every other action
//! as v1 ([`SlackCommand::into_event`]): a consumer that declares only v1 never sees an action it
//! cannot read. v3 adds, the same way, `/praktika github add|remove` (`github_link`,
//! `github_unlink`). Every version parses into the one [`SlackCommand`].

use serde::{Deserialize, Serialize};

use crate::github_account::GithubAccount;
use crate::types::Email;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlackCommand {
    pub team_id: String,
    pub user_id: String,
    pub user_name: String,
    pub channel_id: String,
    pub command: SlashCommand,
    /// The raw text after the command, as typed (for logs and error replies).
    pub text: String,
    /// What ingress understood the text to ask for.
    pub action: CommandAction,
    /// Where the outcome is posted (Slack allows 5 uses within 30 minutes).
    pub response_url: String,
    /// Opens a modal (the `/pulser deploy` confirmation); valid for 3 seconds after the command.
    pub trigger_id: String,
}

/// The two commands Pulse registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SlashCommand {
    /// praktika's feed commands: subscribe, unsubscribe.
    #[serde(rename = "/praktika")]
    Praktika,
    /// Ops commands: status, health, deploy.
    #[serde(rename = "/pulser")]
    Pulser,
}

impl SlashCommand {
    pub fn as_str(self) -> &'static str {
        match self {
            SlashCommand::Praktika => "/praktika",
            SlashCommand::Pulser => "/pulser",
        }
    }
}

/// `slack.command` v2: the same detail as v1, whose `action` may also be one of the repository
/// subscription actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SlackCommandV2(pub SlackCommand);

/// `slack.command` v3: the same detail as v2, whose `action` may also be a GitHub account's
/// link or unlink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SlackCommandV3(pub SlackCommand);

impl SlackCommand {
    /// The event to publish: the first version that has the action (so consumers that declare
    /// only older versions keep working).
    pub fn into_event(self) -> crate::Event {
        match self.action.since_version() {
            1 => crate::Event::SlackCommandV1(self),
            2 => crate::Event::SlackCommandV2(SlackCommandV2(self)),
            _ => crate::Event::SlackCommandV3(SlackCommandV3(self)),
        }
    }
}

/// A channel's subscription to one GitHub repository's workflow runs, with its filters
/// (`/pulser subscribe OWNER/REPO [workflow:NAME] [branch:GLOB] [event:EVENT] [failures]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RepoFilter {
    /// `owner/name`, as typed (GitHub compares it ignoring case; consumers lower-case it).
    pub repository: String,
    /// Only runs of the workflow of this exact name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// Only runs on branches matching this glob (`*` any run of characters, `?` one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Only runs triggered by this event (`push`, `pull_request`, `schedule`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Only failing runs: posted at their first failing job, never for a passing run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failures: bool,
}

/// The parsed sub-command, tagged by `name` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum CommandAction {
    /// `subscribe [email]`: `email` is `null` when not given, meaning "use my Slack profile's".
    Subscribe {
        email: Option<Email>,
    },
    Unsubscribe,
    /// `/pulser status`: answered ephemerally with service statuses.
    Status,
    /// `/pulser health`: answered ephemerally with health checks.
    Health,
    /// `/pulser deploy <service>`: opens a confirmation modal.
    Deploy {
        service: String,
    },
    /// `/pulser subscribe OWNER/REPO [filters]` (v2): the channel follows the repository's runs.
    SubscribeRepo(RepoFilter),
    /// `/pulser unsubscribe OWNER/REPO` (v2).
    UnsubscribeRepo {
        repository: String,
    },
    /// `/pulser subscriptions` (v2): list the channel's repository subscriptions.
    Subscriptions,
    /// `/praktika github add ID+login` (v3): follow the account's feed too.
    GithubLink {
        account: GithubAccount,
    },
    /// `/praktika github remove LOGIN` (v3).
    GithubUnlink {
        login: String,
    },
}

impl CommandAction {
    pub fn name(&self) -> &'static str {
        match self {
            CommandAction::Subscribe { .. } => "subscribe",
            CommandAction::Unsubscribe => "unsubscribe",
            CommandAction::Status => "status",
            CommandAction::Health => "health",
            CommandAction::Deploy { .. } => "deploy",
            CommandAction::SubscribeRepo(_) => "subscribe_repo",
            CommandAction::UnsubscribeRepo { .. } => "unsubscribe_repo",
            CommandAction::Subscriptions => "subscriptions",
            CommandAction::GithubLink { .. } => "github_link",
            CommandAction::GithubUnlink { .. } => "github_unlink",
        }
    }

    /// The first `slack.command` version that has this action.
    pub fn since_version(&self) -> u32 {
        match self {
            CommandAction::SubscribeRepo(_) | CommandAction::UnsubscribeRepo { .. } | CommandAction::Subscriptions => 2,
            CommandAction::GithubLink { .. } | CommandAction::GithubUnlink { .. } => 3,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn actions_are_tagged_by_name() {
        let cases = [
            (CommandAction::Subscribe { email: None }, json!({"name": "subscribe", "email": null})),
            (CommandAction::Subscribe { email: Some(Email::parse("a@b").unwrap()) }, json!({"name": "subscribe", "email": "a@b"})),
            (CommandAction::Unsubscribe, json!({"name": "unsubscribe"})),
            (CommandAction::Status, json!({"name": "status"})),
            (CommandAction::Health, json!({"name": "health"})),
            (CommandAction::Deploy { service: "notifier".into() }, json!({"name": "deploy", "service": "notifier"})),
            (
                CommandAction::SubscribeRepo(RepoFilter {
                    repository: "o/r".into(),
                    workflow: None,
                    branch: Some("release/*".into()),
                    event: None,
                    failures: true,
                }),
                json!({"name": "subscribe_repo", "repository": "o/r", "branch": "release/*", "failures": true}),
            ),
            (CommandAction::UnsubscribeRepo { repository: "o/r".into() }, json!({"name": "unsubscribe_repo", "repository": "o/r"})),
            (CommandAction::Subscriptions, json!({"name": "subscriptions"})),
            (
                CommandAction::GithubLink { account: GithubAccount { id: 7, login: "ada".into() } },
                json!({"name": "github_link", "account": {"id": 7, "login": "ada"}}),
            ),
            (CommandAction::GithubUnlink { login: "ada".into() }, json!({"name": "github_unlink", "login": "ada"})),
        ];
        for (action, wire) in cases {
            assert_eq!(serde_json::to_value(&action).unwrap(), wire);
            assert_eq!(action.name(), wire["name"]);
            assert_eq!(serde_json::from_value::<CommandAction>(wire).unwrap(), action);
        }
    }

    #[test]
    fn only_the_repository_actions_are_published_as_v2() {
        let command = |action| SlackCommand {
            team_id: "T".into(),
            user_id: "U".into(),
            user_name: "u".into(),
            channel_id: "C".into(),
            command: SlashCommand::Pulser,
            text: String::new(),
            action,
            response_url: "https://hooks.slack.com/x".into(),
            trigger_id: "t".into(),
        };
        assert!(matches!(command(CommandAction::Status).into_event(), crate::Event::SlackCommandV1(_)));
        assert!(matches!(command(CommandAction::Subscriptions).into_event(), crate::Event::SlackCommandV2(_)));
        let filter: RepoFilter = serde_json::from_value(json!({"repository": "o/r"})).unwrap();
        assert!(!filter.failures);
        assert!(matches!(command(CommandAction::SubscribeRepo(filter)).into_event(), crate::Event::SlackCommandV2(_)));
        let link = CommandAction::GithubLink { account: GithubAccount { id: 7, login: "ada".into() } };
        assert!(matches!(command(link).into_event(), crate::Event::SlackCommandV3(_)));
        assert!(matches!(command(CommandAction::GithubUnlink { login: "ada".into() }).into_event(), crate::Event::SlackCommandV3(_)));
    }

    #[test]
    fn subscribe_without_the_email_key_means_profile_email() {
        let action: CommandAction = serde_json::from_value(json!({"name": "subscribe"})).unwrap();
        assert_eq!(action, CommandAction::Subscribe { email: None });
    }
}
