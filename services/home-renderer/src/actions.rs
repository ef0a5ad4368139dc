//! The Block Kit `action_id`s the home-renderer puts on the Home tab and handles when ingress
//! passes a click on as `slack.interaction` (`block_actions`, `action_id` and `value` as sent).
//!
//! | action_id | where | value | does |
//! |---|---|---|---|
//! | `toggle_hide_merged_prs` | toggles row (`block_id` `home_controls`) | `on` / `off`: the state asked for | sets `hide_merged_prs` |
//! | `toggle_hide_merges` | toggles row | `on` / `off` | sets `hide_merges` |
//! | `toggle_hide_secondary_prs` | toggles row | `on` / `off` | sets `hide_secondary_prs` |
//! | `toggle_show_last_7d` | toggles row | `on` / `off` | sets `show_last_7d` |
//! | `toggle_notify_on_complete` | toggles row | `on` / `off` | sets `notify_on_complete` |
//! | `toggle_notify_on_failure` | toggles row | `on` / `off` | sets `notify_on_failure` |
//! | `home_subscribe` | not-subscribed view (`block_id` `home_subscribe`) | `profile` | subscribes to the Slack profile's email |
//! | `home_unsubscribe` | footer (`block_id` `home_footer`), with a confirmation | `unsubscribe` | unsubscribes |
//!
//! A toggle's `value` is the state the click asks for (the button shows the current state), so
//! a double click or a click on a stale view sets, rather than flips, the preference; a missing
//! or unknown value flips it. Every other `action_id` (the notifier's ops buttons, ...) is
//! ignored.

pub use crate::filters::Toggle;

/// The Subscribe button of the not-subscribed view.
pub const SUBSCRIBE_ACTION_ID: &str = "home_subscribe";
/// The Unsubscribe button of the footer.
pub const UNSUBSCRIBE_ACTION_ID: &str = "home_unsubscribe";

/// Every `action_id` this service handles.
pub fn all() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = Toggle::ALL.iter().map(|t| t.action_id()).collect();
    ids.push(SUBSCRIBE_ACTION_ID);
    ids.push(UNSUBSCRIBE_ACTION_ID);
    ids
}

/// What a toggle's `value` asks for: `Some(true)` for `on`, `Some(false)` for `off`, `None`
/// (flip) otherwise.
pub fn requested_state(value: Option<&str>) -> Option<bool> {
    match value.map(|v| v.trim().to_ascii_lowercase()) {
        Some(v) if v == "on" || v == "true" => Some(true),
        Some(v) if v == "off" || v == "false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_requested_states() {
        assert_eq!(requested_state(Some("on")), Some(true));
        assert_eq!(requested_state(Some("OFF")), Some(false));
        assert_eq!(requested_state(Some("x")), None);
        assert_eq!(requested_state(None), None);
    }

    #[test]
    fn ids_are_unique() {
        let ids = all();
        let set: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(set.len(), ids.len());
        assert_eq!(ids.len(), 8);
    }
}
