//! `slack.home_opened` v1: a user opened the app's Home (or Messages) tab (`app_home_opened`);
//! the home-renderer republishes their Home view.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackHomeOpened {
    pub team_id: String,
    pub user_id: String,
    pub tab: HomeTab,
    /// Slack's `event_ts`, e.g. `1763630282.000300`.
    pub event_ts: String,
}

/// The tab Slack says was opened. Only `home` needs a view published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HomeTab {
    Home,
    Messages,
}
