//! Importing a subscription from praktika (`subscription.imported`, published by `pulse migrate
//! praktika`) as a pure transition, like [`crate::subscriptions::apply`]: the user's current
//! state and the import give the next state, or say why the user's state is kept.
//!
//! The rule: **Pulse state the user made wins over praktika's, always.**
//!
//! - No subscription: create it from the import (revision 1, praktika's toggles, email and
//!   `subscribed_at`), and remember `imported_revision` = the revision the import produced.
//! - A subscription that was never imported (the user subscribed — or unsubscribed — in Pulse
//!   before the import): kept as it is ([`Kept::OwnPulseState`]).
//! - A subscription that was imported and has not changed since (`revision ==
//!   imported_revision`): praktika's newer values replace it (a new revision, which becomes the
//!   new `imported_revision`), or nothing happens when they are the same
//!   ([`Kept::AlreadyImported`]).
//! - A subscription that changed after its import (`revision > imported_revision`: a toggle, a
//!   switch of email, an unsubscribe, a resubscribe — any change the user made in Pulse): kept
//!   as it is ([`Kept::ChangedInPulse`]). So running the import a second time never overwrites a
//!   preference the user changed in Pulse, whatever praktika's files say by then.
//!
//! Every other transition carries `imported_revision` along unchanged, so "changed since the
//! import" is exactly "revision moved past it".

use chrono::{DateTime, Utc};
use pulse_contracts::{Preferences, SubscriptionImported, SubscriptionState};

use crate::subscriptions::{Change, NoChange, Outcome, Subscription};

/// Why an import left the user's subscription as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// The user has a subscription made in Pulse, never imported.
    OwnPulseState,
    /// The user changed their subscription in Pulse after it was imported.
    ChangedInPulse { imported_revision: u64, revision: u64 },
    /// The subscription already holds exactly what this import says.
    AlreadyImported,
}

/// The transition an import makes from `current` (the state of `slack_user_id`).
pub fn apply(current: Option<&Subscription>, slack_user_id: &str, import: &SubscriptionImported) -> Outcome {
    let Some(cur) = current else {
        let next = imported(None, slack_user_id, import, 1);
        return Outcome::Changed { next, change: Change::Imported { again: false } };
    };
    match cur.imported_revision {
        None => Outcome::Unchanged(NoChange::ImportKept(Kept::OwnPulseState)),
        Some(imported_revision) if cur.revision != imported_revision => {
            Outcome::Unchanged(NoChange::ImportKept(Kept::ChangedInPulse { imported_revision, revision: cur.revision }))
        }
        Some(_) => {
            let next = imported(Some(cur), slack_user_id, import, cur.revision + 1);
            if same_state(cur, &next) {
                Outcome::Unchanged(NoChange::ImportKept(Kept::AlreadyImported))
            } else {
                Outcome::Changed { next, change: Change::Imported { again: true } }
            }
        }
    }
}

fn imported(cur: Option<&Subscription>, user: &str, import: &SubscriptionImported, revision: u64) -> Subscription {
    // The digest is Pulse's own (praktika has none): keep it.
    let preferences = Preferences { digest: cur.and_then(|c| c.preferences.digest), ..import.preferences };
    Subscription {
        team_id: import.team_id.clone(),
        slack_user_id: user.to_owned(),
        email: import.email.clone(),
        state: SubscriptionState::Subscribed,
        subscribed_at: import.subscribed_at,
        deleted_at: None,
        preferences,
        revision,
        imported_revision: Some(revision),
        // praktika knows no GitHub accounts: the user's own links stay.
        github: cur.map(|c| c.github.clone()).unwrap_or_default(),
    }
}

fn same_state(cur: &Subscription, next: &Subscription) -> bool {
    let when = |t: DateTime<Utc>| t.timestamp_millis();
    cur.is_active()
        && cur.email == next.email
        && cur.team_id == next.team_id
        && cur.preferences == next.preferences
        && when(cur.subscribed_at) == when(next.subscribed_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::Toggle;
    use crate::subscriptions::{self, Op};
    use chrono::TimeZone;
    use pulse_contracts::{Email, ImportSource, LastNotified};

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_763_640_000 + s, 0).unwrap()
    }

    fn import(email: &str, prefs: Preferences) -> SubscriptionImported {
        SubscriptionImported {
            team_id: "T1".into(),
            slack_user_id: "U1".into(),
            email: Email::parse(email).unwrap(),
            preferences: prefs,
            subscribed_at: t(-1000),
            dm_channel_id: None,
            last_notified: LastNotified::default(),
            source: ImportSource {
                bucket: "b".into(),
                key: "p/subscriptions/email_a_at_x.io.json".into(),
                etag: "\"e1\"".into(),
                last_modified: t(-10),
            },
            publish_home: false,
        }
    }

    fn changed(outcome: Outcome) -> Subscription {
        match outcome {
            Outcome::Changed { next, .. } => next,
            other => panic!("expected a change, got {other:?}"),
        }
    }

    fn kept(outcome: Outcome) -> Kept {
        match outcome {
            Outcome::Unchanged(NoChange::ImportKept(why)) => why,
            other => panic!("expected the state kept, got {other:?}"),
        }
    }

    const FAILURES: Preferences = Preferences {
        notify_on_failure: true,
        hide_merges: true,
        hide_merged_prs: false,
        hide_secondary_prs: false,
        show_last_7d: false,
        notify_on_complete: false,
        digest: None,
    };

    #[test]
    fn a_new_user_is_created_with_praktikas_toggles_and_a_second_identical_import_changes_nothing() {
        let sub = changed(apply(None, "U1", &import("a@x.io", FAILURES)));
        assert_eq!((sub.revision, sub.imported_revision, sub.email.as_str(), sub.subscribed_at), (1, Some(1), "a@x.io", t(-1000)));
        assert_eq!(sub.preferences, FAILURES);
        assert!(sub.is_active());
        assert_eq!(kept(apply(Some(&sub), "U1", &import("a@x.io", FAILURES))), Kept::AlreadyImported);
    }

    #[test]
    fn an_untouched_import_follows_praktikas_newer_values() {
        let sub = changed(apply(None, "U1", &import("a@x.io", FAILURES)));
        let newer = Preferences { show_last_7d: true, ..FAILURES };
        let next = changed(apply(Some(&sub), "U1", &import("b@x.io", newer)));
        assert_eq!((next.revision, next.imported_revision, next.email.as_str()), (2, Some(2), "b@x.io"));
        assert_eq!(next.preferences, newer);
    }

    #[test]
    fn a_change_in_pulse_after_the_import_is_never_overwritten() {
        let sub = changed(apply(None, "U1", &import("a@x.io", FAILURES)));
        let Outcome::Changed { next: toggled, .. } =
            subscriptions::apply(Some(&sub), "U1", &Op::Set { toggle: Toggle::NotifyOnFailure, on: Some(false) }, t(5))
        else {
            panic!()
        };
        assert_eq!(toggled.imported_revision, Some(1), "carried along by every transition");
        assert_eq!(
            kept(apply(Some(&toggled), "U1", &import("a@x.io", FAILURES))),
            Kept::ChangedInPulse { imported_revision: 1, revision: 2 }
        );
        // Also when praktika's values changed meanwhile, and after an unsubscribe in Pulse.
        let other = Preferences { hide_secondary_prs: true, ..FAILURES };
        assert!(matches!(kept(apply(Some(&toggled), "U1", &import("c@x.io", other))), Kept::ChangedInPulse { .. }));
        let Outcome::Changed { next: gone, .. } = subscriptions::apply(Some(&sub), "U1", &Op::Unsubscribe, t(6)) else { panic!() };
        assert!(matches!(kept(apply(Some(&gone), "U1", &import("a@x.io", FAILURES))), Kept::ChangedInPulse { .. }));
    }

    #[test]
    fn a_user_who_subscribed_in_pulse_first_keeps_their_state() {
        let op = Op::Subscribe { team_id: "T1".into(), email: Email::parse("mine@x.io").unwrap() };
        let Outcome::Changed { next: own, .. } = subscriptions::apply(None, "U1", &op, t(0)) else { panic!() };
        assert_eq!(own.imported_revision, None);
        assert_eq!(kept(apply(Some(&own), "U1", &import("a@x.io", FAILURES))), Kept::OwnPulseState);
    }
}
