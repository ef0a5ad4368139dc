//! `/pulser subscribe | unsubscribe | subscriptions` (`slack.command` v2): the change to store
//! and the ephemeral answer on the command's `response_url`, once per command.
//!
//! Each change is stored with the command's time ([`Change::at`]); the store keeps the newest
//! per channel and repository, so a redelivered command rewrites the same thing and a late
//! older one changes nothing. An unsubscribe is kept as a tombstone for the same reason. The
//! answer is decided from the channel's subscriptions as read before the change.

use chrono::{DateTime, Utc};
use pulse_contracts::{CommandAction, RepoFilter, SlackCommand};
use pulse_slack::blocks::{Block, Message, ResponseMessage};

use super::filters::{describe, repo_key};
use crate::plan::{Effect, Plan};

/// One channel's subscription to one repository, as a command changed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub channel: String,
    /// [`repo_key`] of the repository.
    pub repository: String,
    /// The new filters; `None`: unsubscribed.
    pub filter: Option<RepoFilter>,
    /// When the command was typed: the newest change wins. (Who typed it is not kept: the
    /// table would then hold a person `pulse forget` must find.)
    pub at: DateTime<Utc>,
}

/// Whether `action` is one of these commands.
pub fn is_repo_command(action: &CommandAction) -> bool {
    matches!(action, CommandAction::SubscribeRepo(_) | CommandAction::UnsubscribeRepo { .. } | CommandAction::Subscriptions)
}

/// The plan for a repository command typed in a channel that has `current` subscriptions.
/// `None` when the command is not one of these.
pub fn plan(command: &SlackCommand, dedup_key: &str, at: DateTime<Utc>, current: &[RepoFilter]) -> Option<Plan> {
    let channel = command.channel_id.clone();
    let change =
        |repository: &str, filter: Option<RepoFilter>| Change { channel: channel.clone(), repository: repo_key(repository), filter, at };
    let existing = |repository: &str| current.iter().find(|f| repo_key(&f.repository) == repo_key(repository));
    let (store, text) = match &command.action {
        _ if channel.is_empty() && is_repo_command(&command.action) => {
            (None, ":warning: Repository subscriptions belong to a channel: type the command in the channel to post to.".to_owned())
        }
        CommandAction::SubscribeRepo(filter) => {
            let text = match existing(&filter.repository) {
                Some(old) if old == filter => format!(":white_check_mark: This channel already follows {}.", describe(filter)),
                Some(old) => format!(":white_check_mark: This channel now follows {} (was {}).", describe(filter), describe(old)),
                None => format!(
                    ":white_check_mark: This channel now follows {}: one message per workflow run, updated as it runs.",
                    describe(filter)
                ),
            };
            (Some(change(&filter.repository, Some(filter.clone()))), text)
        }
        CommandAction::UnsubscribeRepo { repository } => {
            let text = match existing(repository) {
                Some(old) => format!(":white_check_mark: This channel no longer follows {}.", describe(old)),
                None => format!("This channel does not follow `{}`; nothing changed.", repository.replace('`', "'")),
            };
            // Stored either way: a tombstone newer than any subscribe still in flight.
            (Some(change(repository, None)), text)
        }
        CommandAction::Subscriptions => (None, list(current)),
        _ => return None,
    };
    let answer = ResponseMessage::ephemeral(Message::new(text.clone(), [Block::section(text)]));
    let respond = Effect::Respond { marker: format!("resp#{dedup_key}"), response_url: command.response_url.clone(), body: answer };
    let effects = store.map(Effect::RepoSubscription).into_iter().chain([respond]).collect();
    Some(Plan::chain(format!("/pulser {} by {} in {channel}", command.action.name(), command.user_id), effects))
}

/// The channel's subscriptions, one per line, sorted by repository.
pub fn list(current: &[RepoFilter]) -> String {
    if current.is_empty() {
        return "This channel follows no repository. Add one with `/pulser subscribe OWNER/REPO`.".to_owned();
    }
    let mut lines: Vec<String> = current.iter().map(|f| format!("• {}", describe(f))).collect();
    lines.sort();
    format!("*This channel follows:*\n{}", lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use pulse_contracts::SlashCommand;

    fn command(channel: &str, action: CommandAction) -> SlackCommand {
        SlackCommand {
            team_id: "T1".into(),
            user_id: "U1".into(),
            user_name: "u".into(),
            channel_id: channel.into(),
            command: SlashCommand::Pulser,
            text: String::new(),
            action,
            response_url: "https://hooks.slack.com/r".into(),
            trigger_id: "t".into(),
        }
    }

    fn filter(repo: &str, branch: Option<&str>) -> RepoFilter {
        RepoFilter { repository: repo.into(), workflow: None, branch: branch.map(str::to_owned), event: None, failures: false }
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
    }

    fn answer(plan: &Plan) -> String {
        plan.effects()
            .find_map(|e| match e {
                Effect::Respond { body, .. } => Some(body.to_json().to_string()),
                _ => None,
            })
            .expect("an answer")
    }

    fn change(plan: &Plan) -> Option<&Change> {
        plan.effects().find_map(|e| match e {
            Effect::RepoSubscription(c) => Some(c),
            _ => None,
        })
    }

    #[test]
    fn subscribe_stores_the_filters_under_the_lower_cased_repository() {
        let f = filter("Octo/Widgets", Some("release/*"));
        let plan = plan(&command("C1", CommandAction::SubscribeRepo(f.clone())), "k", at(), &[]).unwrap();
        let c = change(&plan).unwrap();
        assert_eq!((c.channel.as_str(), c.repository.as_str(), c.filter.as_ref(), c.at), ("C1", "octo/widgets", Some(&f), at()));
        assert!(answer(&plan).contains("now follows `Octo/Widgets` · branch `release/*`"), "{}", answer(&plan));
        let again = super::plan(&command("C1", CommandAction::SubscribeRepo(f.clone())), "k", at(), &[f]).unwrap();
        assert!(answer(&again).contains("already follows"));
    }

    #[test]
    fn unsubscribe_writes_a_tombstone_even_when_not_subscribed() {
        let action = CommandAction::UnsubscribeRepo { repository: "o/r".into() };
        let plan = plan(&command("C1", action.clone()), "k", at(), &[]).unwrap();
        assert_eq!(change(&plan).unwrap().filter, None);
        assert!(answer(&plan).contains("does not follow `o/r`"));
        let plan = super::plan(&command("C1", action), "k", at(), &[filter("O/R", None)]).unwrap();
        assert!(answer(&plan).contains("no longer follows `O/R`"));
    }

    #[test]
    fn subscriptions_lists_the_channels_filters_without_changing_anything() {
        let plan =
            plan(&command("C1", CommandAction::Subscriptions), "k", at(), &[filter("z/z", None), filter("a/a", Some("main"))]).unwrap();
        assert!(change(&plan).is_none());
        let shown = answer(&plan);
        assert!(shown.find("`a/a` · branch `main`").unwrap() < shown.find("`z/z`").unwrap(), "{shown}");
        assert!(list(&[]).contains("follows no repository"));
    }

    #[test]
    fn outside_a_channel_nothing_is_stored() {
        let plan = plan(&command("", CommandAction::SubscribeRepo(filter("o/r", None))), "k", at(), &[]).unwrap();
        assert!(change(&plan).is_none());
        assert!(answer(&plan).contains("belong to a channel"));
        assert!(super::plan(&command("C1", CommandAction::Status), "k", at(), &[]).is_none());
    }
}
