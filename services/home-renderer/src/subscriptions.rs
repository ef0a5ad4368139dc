//! Subscriptions as pure state transitions: the current state of one Slack user (or none) and a
//! request give the next state, or say why nothing changes.
//!
//! - **Subscribe** with no subscription creates one (revision 1, all toggles off). With a
//!   soft-deleted one it reactivates it (the toggles kept from before, `deleted_at` cleared).
//!   With an active one to another email it switches the feed (toggles kept). To the same email
//!   it changes nothing. `subscribed_at` is when the current feed was first followed.
//! - **Unsubscribe** soft-deletes: `state = unsubscribed`, `deleted_at = now`; the item is purged
//!   after the retention period (DynamoDB TTL, see [`crate::store`]).
//! - **Set** a toggle: only while subscribed; setting the value it already has changes nothing.
//!
//! - **Link a GitHub account** (`/praktika github add ID+login`): only while subscribed; its
//!   noreply address becomes one more feed followed ([`pulse_contracts::GithubAccount`]). An
//!   account is one id: linking an id already linked under another login (a renamed account)
//!   replaces it; the same id and login again changes nothing. At most [`MAX_GITHUB_ACCOUNTS`].
//! - **Unlink** one by login (any letter case): only a linked one. Unsubscribing keeps the
//!   accounts, as it keeps the toggles, for a comeback.
//! - **Import** from praktika: see [`crate::import`] (Pulse state the user made always wins).
//!
//! Every change increases `revision` by one; [`Subscription::changed_event`] is the
//! `subscription.changed` event announcing the full new state.

use chrono::{DateTime, Utc};
use pulse_contracts::{Email, Envelope, Event, GithubAccount, Preferences, SubscriptionChanged, SubscriptionImported, SubscriptionState};
use pulse_core::Ids;

use crate::filters::Toggle;

/// Most GitHub accounts one subscription links (the contract's `maxItems`).
pub const MAX_GITHUB_ACCOUNTS: usize = 10;

/// The envelope `source` of events this service publishes.
pub const SOURCE: &str = "pulse.home-renderer";

/// One Slack user's subscription, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub team_id: String,
    pub slack_user_id: String,
    /// The feed followed (while unsubscribed: the one followed last).
    pub email: Email,
    pub state: SubscriptionState,
    pub subscribed_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub preferences: Preferences,
    /// Starts at 1; +1 per change.
    pub revision: u64,
    /// The revision the last praktika import produced (`None`: never imported). Carried along
    /// by every other change, so `revision > imported_revision` means "changed in Pulse since".
    pub imported_revision: Option<u64>,
    /// Linked GitHub accounts, in the order they were linked.
    pub github: Vec<GithubAccount>,
}

impl Subscription {
    pub fn is_active(&self) -> bool {
        self.state == SubscriptionState::Subscribed
    }

    /// The `subscription.changed` detail for this state.
    pub fn changed_event(&self) -> SubscriptionChanged {
        SubscriptionChanged {
            team_id: self.team_id.clone(),
            slack_user_id: self.slack_user_id.clone(),
            email: self.email.clone(),
            state: self.state,
            subscribed_at: self.subscribed_at,
            deleted_at: self.deleted_at,
            preferences: self.preferences,
            revision: self.revision,
            github: self.github.clone(),
        }
    }

    /// The feeds this subscription follows: its email, then each linked account's noreply
    /// address; none while unsubscribed.
    pub fn followed_emails(&self) -> Vec<Email> {
        pulse_contracts::events::subscription_changed::followed_emails(self.state, &self.email, &self.github)
    }

    /// The envelope announcing this state at `now`, with the contract's dedup key
    /// `subscription.changed:{team_id}:{slack_user_id}:{revision}`.
    pub fn changed_envelope(&self, ids: &Ids, now: DateTime<Utc>) -> Envelope<Event> {
        let key = format!("subscription.changed:{}:{}:{}", self.team_id, self.slack_user_id, self.revision);
        Event::SubscriptionChangedV1(self.changed_event()).into_envelope(SOURCE, key, ids.uuid(), now)
    }
}

/// A request to change a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Subscribe {
        team_id: String,
        email: Email,
    },
    Unsubscribe,
    /// `on: None` flips the toggle.
    Set {
        toggle: Toggle,
        on: Option<bool>,
    },
    /// A subscription imported from praktika ([`crate::import`]).
    Import(Box<SubscriptionImported>),
    LinkGithub(GithubAccount),
    /// By login, any letter case.
    UnlinkGithub(String),
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Subscribed,
    /// Subscribed again after unsubscribing; the toggles are the ones kept from before.
    Resubscribed,
    /// Now following another email.
    Switched {
        from: Email,
    },
    Unsubscribed,
    Toggled {
        toggle: Toggle,
        on: bool,
    },
    /// Created from praktika's files (`again`: an earlier import, untouched since, updated).
    Imported {
        again: bool,
    },
    /// `replaced`: the same account under its former login.
    GithubLinked {
        account: GithubAccount,
        replaced: Option<String>,
    },
    GithubUnlinked {
        account: GithubAccount,
    },
}

/// Why nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoChange {
    AlreadySubscribed,
    NotSubscribed,
    AlreadySet {
        toggle: Toggle,
        on: bool,
    },
    /// An import left the user's state as it was.
    ImportKept(crate::import::Kept),
    AlreadyLinked(GithubAccount),
    NotLinked(String),
    TooManyAccounts,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Changed { next: Subscription, change: Change },
    Unchanged(NoChange),
}

/// The transition `op` makes from `current` (the state of `slack_user_id`) at `now`.
pub fn apply(current: Option<&Subscription>, slack_user_id: &str, op: &Op, now: DateTime<Utc>) -> Outcome {
    match (op, current) {
        (Op::Import(import), _) => crate::import::apply(current, slack_user_id, import),
        (Op::Subscribe { team_id, email }, None) => Outcome::Changed {
            next: Subscription {
                team_id: team_id.clone(),
                slack_user_id: slack_user_id.to_owned(),
                email: email.clone(),
                state: SubscriptionState::Subscribed,
                subscribed_at: now,
                deleted_at: None,
                preferences: Preferences::default(),
                revision: 1,
                imported_revision: None,
                github: Vec::new(),
            },
            change: Change::Subscribed,
        },
        (Op::Subscribe { team_id, email }, Some(cur)) => {
            if cur.is_active() && cur.email == *email {
                return Outcome::Unchanged(NoChange::AlreadySubscribed);
            }
            let change = if cur.is_active() { Change::Switched { from: cur.email.clone() } } else { Change::Resubscribed };
            let next = Subscription {
                team_id: team_id.clone(),
                email: email.clone(),
                state: SubscriptionState::Subscribed,
                subscribed_at: now,
                deleted_at: None,
                revision: cur.revision + 1,
                ..cur.clone()
            };
            Outcome::Changed { next, change }
        }
        (Op::Unsubscribe, Some(cur)) if cur.is_active() => Outcome::Changed {
            next: Subscription { state: SubscriptionState::Unsubscribed, deleted_at: Some(now), revision: cur.revision + 1, ..cur.clone() },
            change: Change::Unsubscribed,
        },
        (Op::Unsubscribe, _) => Outcome::Unchanged(NoChange::NotSubscribed),
        (Op::Set { toggle, on }, Some(cur)) if cur.is_active() => {
            let current = toggle.get(&cur.preferences);
            let wanted = on.unwrap_or(!current);
            if wanted == current {
                return Outcome::Unchanged(NoChange::AlreadySet { toggle: *toggle, on: current });
            }
            let mut next = Subscription { revision: cur.revision + 1, ..cur.clone() };
            toggle.set(&mut next.preferences, wanted);
            Outcome::Changed { next, change: Change::Toggled { toggle: *toggle, on: wanted } }
        }
        (Op::Set { .. }, _) => Outcome::Unchanged(NoChange::NotSubscribed),
        (Op::LinkGithub(account), Some(cur)) if cur.is_active() => link(cur, account),
        (Op::UnlinkGithub(login), Some(cur)) if cur.is_active() => {
            let Some(at) = cur.github.iter().position(|a| a.login.eq_ignore_ascii_case(login)) else {
                return Outcome::Unchanged(NoChange::NotLinked(login.clone()));
            };
            let mut next = Subscription { revision: cur.revision + 1, ..cur.clone() };
            let account = next.github.remove(at);
            Outcome::Changed { next, change: Change::GithubUnlinked { account } }
        }
        (Op::LinkGithub(_) | Op::UnlinkGithub(_), _) => Outcome::Unchanged(NoChange::NotSubscribed),
    }
}

fn link(cur: &Subscription, account: &GithubAccount) -> Outcome {
    let mut next = Subscription { revision: cur.revision + 1, ..cur.clone() };
    match next.github.iter_mut().find(|a| a.id == account.id) {
        Some(held) if held.login == account.login => Outcome::Unchanged(NoChange::AlreadyLinked(account.clone())),
        Some(held) => {
            let replaced = std::mem::replace(&mut held.login, account.login.clone());
            Outcome::Changed { next, change: Change::GithubLinked { account: account.clone(), replaced: Some(replaced) } }
        }
        None if cur.github.len() >= MAX_GITHUB_ACCOUNTS => Outcome::Unchanged(NoChange::TooManyAccounts),
        None => {
            next.github.push(account.clone());
            Outcome::Changed { next, change: Change::GithubLinked { account: account.clone(), replaced: None } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_763_640_000 + s, 0).unwrap()
    }

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    fn subscribe(e: &str) -> Op {
        Op::Subscribe { team_id: "T1".into(), email: email(e) }
    }

    fn changed(outcome: Outcome) -> (Subscription, Change) {
        match outcome {
            Outcome::Changed { next, change } => (next, change),
            other => panic!("expected a change, got {other:?}"),
        }
    }

    #[test]
    fn subscribe_creates_revision_one_with_everything_off() {
        let (sub, change) = changed(apply(None, "U1", &subscribe("a@x.com"), t(0)));
        assert_eq!(change, Change::Subscribed);
        assert_eq!(sub.revision, 1);
        assert_eq!(sub.preferences, Preferences::default());
        assert_eq!(sub.subscribed_at, t(0));
        assert!(sub.is_active());
        let event = sub.changed_event();
        assert_eq!((event.revision, event.state, event.deleted_at), (1, SubscriptionState::Subscribed, None));
        assert_eq!(sub.changed_envelope(&Ids::sequence(1), t(0)).dedup_key, "subscription.changed:T1:U1:1");
    }

    #[test]
    fn the_same_email_again_changes_nothing_another_switches_and_keeps_toggles() {
        let (mut sub, _) = changed(apply(None, "U1", &subscribe("a@x.com"), t(0)));
        sub.preferences.hide_merges = true;
        assert_eq!(apply(Some(&sub), "U1", &subscribe("a@x.com"), t(5)), Outcome::Unchanged(NoChange::AlreadySubscribed));
        let (next, change) = changed(apply(Some(&sub), "U1", &subscribe("b@x.com"), t(5)));
        assert_eq!(change, Change::Switched { from: email("a@x.com") });
        assert_eq!((next.email.as_str(), next.revision, next.subscribed_at), ("b@x.com", 2, t(5)));
        assert!(next.preferences.hide_merges);
    }

    #[test]
    fn unsubscribe_soft_deletes_and_resubscribe_restores() {
        let (sub, _) = changed(apply(None, "U1", &subscribe("a@x.com"), t(0)));
        let (gone, change) = changed(apply(Some(&sub), "U1", &Op::Unsubscribe, t(10)));
        assert_eq!(change, Change::Unsubscribed);
        assert_eq!((gone.state, gone.deleted_at, gone.revision), (SubscriptionState::Unsubscribed, Some(t(10)), 2));
        assert_eq!(gone.email.as_str(), "a@x.com", "the last feed is kept for the event and a comeback");
        assert_eq!(apply(Some(&gone), "U1", &Op::Unsubscribe, t(11)), Outcome::Unchanged(NoChange::NotSubscribed));
        assert_eq!(apply(None, "U1", &Op::Unsubscribe, t(11)), Outcome::Unchanged(NoChange::NotSubscribed));
        let (back, change) = changed(apply(Some(&gone), "U1", &subscribe("a@x.com"), t(20)));
        assert_eq!(change, Change::Resubscribed);
        assert_eq!((back.state, back.deleted_at, back.revision, back.subscribed_at), (SubscriptionState::Subscribed, None, 3, t(20)));
    }

    #[test]
    fn toggles_set_flip_and_need_a_subscription() {
        let (sub, _) = changed(apply(None, "U1", &subscribe("a@x.com"), t(0)));
        let set = |on| Op::Set { toggle: Toggle::NotifyOnFailure, on };
        let (on, change) = changed(apply(Some(&sub), "U1", &set(Some(true)), t(1)));
        assert_eq!(change, Change::Toggled { toggle: Toggle::NotifyOnFailure, on: true });
        assert!(on.preferences.notify_on_failure);
        assert_eq!(on.revision, 2);
        assert_eq!(
            apply(Some(&on), "U1", &set(Some(true)), t(2)),
            Outcome::Unchanged(NoChange::AlreadySet { toggle: Toggle::NotifyOnFailure, on: true })
        );
        let (off, _) = changed(apply(Some(&on), "U1", &set(None), t(2)));
        assert!(!off.preferences.notify_on_failure);
        let (gone, _) = changed(apply(Some(&off), "U1", &Op::Unsubscribe, t(3)));
        assert_eq!(apply(Some(&gone), "U1", &set(Some(true)), t(4)), Outcome::Unchanged(NoChange::NotSubscribed));
    }

    #[test]
    fn github_accounts_are_linked_once_renamed_in_place_unlinked_and_kept_across_a_comeback() {
        let account = |id, login: &str| GithubAccount { id, login: login.into() };
        let (sub, _) = changed(apply(None, "U1", &subscribe("a@x.com"), t(0)));
        let (linked, change) = changed(apply(Some(&sub), "U1", &Op::LinkGithub(account(7, "ada")), t(1)));
        assert_eq!(change, Change::GithubLinked { account: account(7, "ada"), replaced: None });
        assert_eq!(linked.revision, 2);
        let follows: Vec<String> = linked.followed_emails().into_iter().map(Email::into_string).collect();
        assert_eq!(follows, ["a@x.com", "7+ada@users.noreply.github.com"]);
        assert_eq!(linked.changed_event().github, [account(7, "ada")]);

        let again = apply(Some(&linked), "U1", &Op::LinkGithub(account(7, "ada")), t(2));
        assert_eq!(again, Outcome::Unchanged(NoChange::AlreadyLinked(account(7, "ada"))));
        let (renamed, change) = changed(apply(Some(&linked), "U1", &Op::LinkGithub(account(7, "ada-l")), t(2)));
        assert_eq!(change, Change::GithubLinked { account: account(7, "ada-l"), replaced: Some("ada".into()) });
        assert_eq!(renamed.github, [account(7, "ada-l")]);

        assert_eq!(
            apply(Some(&renamed), "U1", &Op::UnlinkGithub("nobody".into()), t(3)),
            Outcome::Unchanged(NoChange::NotLinked("nobody".into()))
        );
        let (gone, _) = changed(apply(Some(&renamed), "U1", &Op::Unsubscribe, t(3)));
        assert!(gone.followed_emails().is_empty(), "nothing is followed while unsubscribed");
        assert_eq!(apply(Some(&gone), "U1", &Op::LinkGithub(account(8, "bob")), t(4)), Outcome::Unchanged(NoChange::NotSubscribed));
        let (back, _) = changed(apply(Some(&gone), "U1", &subscribe("a@x.com"), t(5)));
        assert_eq!(back.github, [account(7, "ada-l")], "kept for a comeback, as the toggles are");
        let (unlinked, change) = changed(apply(Some(&back), "U1", &Op::UnlinkGithub("ADA-L".into()), t(6)));
        assert_eq!(change, Change::GithubUnlinked { account: account(7, "ada-l") });
        assert!(unlinked.github.is_empty());

        let mut full = back.clone();
        full.github = (1..=MAX_GITHUB_ACCOUNTS as u64).map(|id| account(id + 100, "x")).collect();
        assert_eq!(apply(Some(&full), "U1", &Op::LinkGithub(account(1, "y")), t(7)), Outcome::Unchanged(NoChange::TooManyAccounts));
    }
}
