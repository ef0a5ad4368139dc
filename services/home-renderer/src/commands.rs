//! Which incoming events are the home-renderer's, and what each asks for.
//!
//! Mine:
//! - `slack.command` `/praktika subscribe [email]` and `/praktika unsubscribe`;
//! - `slack.interaction` `block_actions` with one of [`crate::actions`]' ids;
//! - `slack.home_opened` for the `home` tab;
//! - `feed.updated`;
//! - `subscription.imported` (from `pulse migrate praktika`).
//!
//! Everything else that reaches the queue through the shared Slack rules (`/pulser …`, ops
//! buttons, modal submissions, the Messages tab) belongs to the notifier or to nobody, and is
//! acknowledged and dropped ([`Classified::Ignore`]). Event types this service does not consume
//! at all are rejected to the dead-letter queue ([`Classified::Reject`]).

use pulse_contracts::{CommandAction, Email, Event, FeedUpdated, HomeTab, InteractionKind, SlashCommand, SubscriptionImported};

use crate::actions::{self, SUBSCRIBE_ACTION_ID, Toggle, UNSUBSCRIBE_ACTION_ID};

/// What a subscribe asks to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailChoice {
    /// An address given with the command.
    Given(Email),
    /// Something was given that is not an address.
    Invalid { given: String, reason: String },
    /// Nothing given: the Slack profile's email.
    Profile,
}

/// Where the outcome of a command is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The slash command's `response_url` (an ephemeral message).
    ResponseUrl(String),
    /// A Home-tab button: the outcome shows in the re-rendered view.
    HomeTab,
}

/// One unit of work for the handler.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    Subscribe {
        team_id: String,
        user_id: String,
        email: EmailChoice,
        reply: Reply,
    },
    Unsubscribe {
        team_id: String,
        user_id: String,
        reply: Reply,
    },
    /// `on: None` flips the preference.
    Toggle {
        team_id: String,
        user_id: String,
        toggle: Toggle,
        on: Option<bool>,
    },
    /// Republish the user's view (the Home tab was opened).
    Refresh {
        team_id: String,
        user_id: String,
    },
    FeedUpdated(Box<FeedUpdated>),
    /// A subscription imported from praktika (`pulse migrate praktika`).
    Import(Box<SubscriptionImported>),
    /// `pulse forget` (see [`crate::forget`]).
    Forget(Box<pulse_contracts::PersonForget>),
    /// `/praktika github add|remove`: link or unlink a GitHub account.
    Github {
        user_id: String,
        op: crate::subscriptions::Op,
        response_url: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Classified {
    Work(Work),
    /// Not for this service; acknowledged without doing anything.
    Ignore(String),
    /// An event type this service never consumes: dead-letter it.
    Reject(String),
}

/// Sorts an event into [`Classified`].
pub fn classify(event: Event) -> Classified {
    match event {
        // v2 adds only `/pulser` actions (the notifier's), which the check below ignores; v3 the
        // GitHub account actions.
        Event::SlackCommandV1(cmd)
        | Event::SlackCommandV2(pulse_contracts::SlackCommandV2(cmd))
        | Event::SlackCommandV3(pulse_contracts::SlackCommandV3(cmd)) => {
            if cmd.command != SlashCommand::Praktika {
                return Classified::Ignore(format!("{} is the notifier's", cmd.command.as_str()));
            }
            match cmd.action {
                CommandAction::Subscribe { email } => Classified::Work(Work::Subscribe {
                    email: email_choice(email, &cmd.text),
                    team_id: cmd.team_id,
                    user_id: cmd.user_id,
                    reply: Reply::ResponseUrl(cmd.response_url),
                }),
                CommandAction::Unsubscribe => Classified::Work(Work::Unsubscribe {
                    team_id: cmd.team_id,
                    user_id: cmd.user_id,
                    reply: Reply::ResponseUrl(cmd.response_url),
                }),
                CommandAction::GithubLink { account } => Classified::Work(Work::Github {
                    user_id: cmd.user_id,
                    op: crate::subscriptions::Op::LinkGithub(account),
                    response_url: cmd.response_url,
                }),
                CommandAction::GithubUnlink { login } => Classified::Work(Work::Github {
                    user_id: cmd.user_id,
                    op: crate::subscriptions::Op::UnlinkGithub(login),
                    response_url: cmd.response_url,
                }),
                other => Classified::Ignore(format!("/praktika {} is not a home-renderer command", other.name())),
            }
        }
        Event::SlackInteractionV1(interaction) => match interaction.kind {
            InteractionKind::BlockActions { action_id, value, .. } => {
                if let Some(toggle) = Toggle::from_action_id(&action_id) {
                    Classified::Work(Work::Toggle {
                        team_id: interaction.team_id,
                        user_id: interaction.user_id,
                        toggle,
                        on: actions::requested_state(value.as_deref()),
                    })
                } else if action_id == SUBSCRIBE_ACTION_ID {
                    Classified::Work(Work::Subscribe {
                        team_id: interaction.team_id,
                        user_id: interaction.user_id,
                        email: EmailChoice::Profile,
                        reply: Reply::HomeTab,
                    })
                } else if action_id == UNSUBSCRIBE_ACTION_ID {
                    Classified::Work(Work::Unsubscribe {
                        team_id: interaction.team_id,
                        user_id: interaction.user_id,
                        reply: Reply::HomeTab,
                    })
                } else {
                    Classified::Ignore(format!("action `{action_id}` is not a Home-tab control"))
                }
            }
            InteractionKind::ViewSubmission { callback_id, .. } => {
                Classified::Ignore(format!("view submission `{callback_id}` is not the home-renderer's"))
            }
        },
        Event::SlackHomeOpenedV1(opened) => match opened.tab {
            HomeTab::Home => Classified::Work(Work::Refresh { team_id: opened.team_id, user_id: opened.user_id }),
            HomeTab::Messages => Classified::Ignore("the Messages tab has no view to publish".into()),
        },
        Event::FeedUpdatedV1(update) => Classified::Work(Work::FeedUpdated(Box::new(update))),
        Event::SubscriptionImportedV1(import) => Classified::Work(Work::Import(Box::new(import))),
        Event::PersonForgetV1(request) => Classified::Work(Work::Forget(Box::new(request))),
        other => Classified::Reject(format!("home-renderer does not consume `{}` version {}", other.event_type(), other.version())),
    }
}

/// The email a subscribe asks for. Ingress parses the text (`action.email`); when it found no
/// valid address but the user typed an argument, that argument is checked here so the user
/// hears why it is not an address instead of silently getting the profile's email.
pub fn email_choice(parsed: Option<Email>, text: &str) -> EmailChoice {
    if let Some(email) = parsed {
        return EmailChoice::Given(email);
    }
    match subscribe_argument(text) {
        None => EmailChoice::Profile,
        Some(arg) => match Email::parse(arg.clone()) {
            Ok(email) => EmailChoice::Given(email),
            Err(err) => EmailChoice::Invalid { given: arg, reason: err.reason.to_owned() },
        },
    }
}

/// The argument after `subscribe` in a command's text, unwrapping Slack's escaped
/// `<mailto:a@b|a@b>` form.
pub fn subscribe_argument(text: &str) -> Option<String> {
    let mut words = text.split_whitespace();
    let first = words.next()?;
    if !first.eq_ignore_ascii_case("subscribe") {
        return None;
    }
    let rest: Vec<&str> = words.collect();
    if rest.is_empty() {
        return None;
    }
    let arg = rest.join(" ");
    let unwrapped = arg
        .strip_prefix('<')
        .and_then(|a| a.strip_suffix('>'))
        .map(|inner| {
            let inner = inner.split_once('|').map_or(inner, |(_, label)| label);
            inner.strip_prefix("mailto:").unwrap_or(inner)
        })
        .unwrap_or(&arg);
    Some(unwrapped.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulse_contracts::{Container, SlackCommand, SlackHomeOpened, SlackInteraction};

    fn command(command: SlashCommand, text: &str, action: CommandAction) -> Event {
        Event::SlackCommandV1(SlackCommand {
            team_id: "T1".into(),
            user_id: "U1".into(),
            user_name: "u".into(),
            channel_id: "C1".into(),
            command,
            text: text.into(),
            action,
            response_url: "https://hooks.slack.com/x".into(),
            trigger_id: "t".into(),
        })
    }

    fn click(action_id: &str, value: Option<&str>) -> Event {
        Event::SlackInteractionV1(SlackInteraction {
            team_id: "T1".into(),
            user_id: "U1".into(),
            user_name: "u".into(),
            kind: InteractionKind::BlockActions {
                action_id: action_id.into(),
                value: value.map(str::to_owned),
                block_id: None,
                container: Container::View { view_id: "V1".into() },
            },
            response_url: None,
            trigger_id: None,
        })
    }

    #[test]
    fn praktika_subscribe_and_unsubscribe_are_mine() {
        let given =
            command(SlashCommand::Praktika, "subscribe a@b.c", CommandAction::Subscribe { email: Some(Email::parse("a@b.c").unwrap()) });
        assert!(
            matches!(classify(given), Classified::Work(Work::Subscribe { email: EmailChoice::Given(e), reply: Reply::ResponseUrl(_), .. }) if e.as_str() == "a@b.c")
        );
        let profile = command(SlashCommand::Praktika, "subscribe", CommandAction::Subscribe { email: None });
        assert!(matches!(classify(profile), Classified::Work(Work::Subscribe { email: EmailChoice::Profile, .. })));
        let unsub = command(SlashCommand::Praktika, "unsubscribe", CommandAction::Unsubscribe);
        assert!(matches!(classify(unsub), Classified::Work(Work::Unsubscribe { .. })));
    }

    #[test]
    fn pulser_commands_are_ignored() {
        for action in [CommandAction::Status, CommandAction::Health, CommandAction::Deploy { service: "x".into() }] {
            assert!(matches!(classify(command(SlashCommand::Pulser, "status", action)), Classified::Ignore(_)));
        }
    }

    #[test]
    fn an_invalid_argument_is_reported_not_replaced_by_the_profile_email() {
        assert_eq!(email_choice(None, "subscribe alice"), EmailChoice::Invalid { given: "alice".into(), reason: "it has no `@`".into() });
        assert_eq!(email_choice(None, "subscribe"), EmailChoice::Profile);
        assert_eq!(email_choice(None, "  SUBSCRIBE   <mailto:a@b.c|a@b.c> "), EmailChoice::Given(Email::parse("a@b.c").unwrap()));
        assert!(matches!(email_choice(None, "subscribe a b@c"), EmailChoice::Invalid { .. }));
    }

    #[test]
    fn home_controls_are_mine_other_buttons_are_not() {
        assert_eq!(
            classify(click("toggle_hide_merges", Some("on"))),
            Classified::Work(Work::Toggle { team_id: "T1".into(), user_id: "U1".into(), toggle: Toggle::HideMerges, on: Some(true) })
        );
        assert!(matches!(
            classify(click("home_subscribe", Some("profile"))),
            Classified::Work(Work::Subscribe { reply: Reply::HomeTab, .. })
        ));
        assert!(matches!(classify(click("home_unsubscribe", None)), Classified::Work(Work::Unsubscribe { reply: Reply::HomeTab, .. })));
        assert!(matches!(classify(click("approve_deploy", None)), Classified::Ignore(_)));
    }

    #[test]
    fn home_tab_only() {
        let opened =
            |tab| Event::SlackHomeOpenedV1(SlackHomeOpened { team_id: "T1".into(), user_id: "U1".into(), tab, event_ts: "1.2".into() });
        assert!(matches!(classify(opened(HomeTab::Home)), Classified::Work(Work::Refresh { .. })));
        assert!(matches!(classify(opened(HomeTab::Messages)), Classified::Ignore(_)));
    }

    #[test]
    fn foreign_event_types_are_rejected() {
        let tick = Event::DigestTickV1(pulse_contracts::DigestTick {
            period: pulse_contracts::DigestPeriod::Daily,
            scheduled_for: chrono::Utc::now(),
        });
        assert!(matches!(classify(tick), Classified::Reject(r) if r.contains("digest.tick")));
    }
}
