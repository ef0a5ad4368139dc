//! `slack.command` v1: a slash command that ingress verified (signature, timestamp, dedup) and
//! parsed, so consumers never read Slack's form encoding or re-parse the text.

use serde::{Deserialize, Serialize};

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
}

impl CommandAction {
    pub fn name(&self) -> &'static str {
        match self {
            CommandAction::Subscribe { .. } => "subscribe",
            CommandAction::Unsubscribe => "unsubscribe",
            CommandAction::Status => "status",
            CommandAction::Health => "health",
            CommandAction::Deploy { .. } => "deploy",
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
        ];
        for (action, wire) in cases {
            assert_eq!(serde_json::to_value(&action).unwrap(), wire);
            assert_eq!(action.name(), wire["name"]);
            assert_eq!(serde_json::from_value::<CommandAction>(wire).unwrap(), action);
        }
    }

    #[test]
    fn subscribe_without_the_email_key_means_profile_email() {
        let action: CommandAction = serde_json::from_value(json!({"name": "subscribe"})).unwrap();
        assert_eq!(action, CommandAction::Subscribe { email: None });
    }
}
