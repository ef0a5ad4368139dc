//! Slack user groups, for the policy: which of some groups a person is a member of, through
//! `usergroups.users.list` (scope `usergroups:read`), each group's members cached for a few
//! minutes so a burst of clicks costs one call per group.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pulse_slack::{SlackClient, SlackError};
use serde_json::Value;

/// How long a group's members are reused.
const TTL: Duration = Duration::from_secs(300);

/// Group membership through Slack's API.
#[derive(Debug)]
pub struct UserGroups {
    slack: SlackClient,
    cache: Mutex<HashMap<String, (Instant, BTreeSet<String>)>>,
}

impl UserGroups {
    pub fn new(slack: SlackClient) -> Self {
        Self { slack, cache: Mutex::default() }
    }

    /// Which of `groups` `user` is a member of. A group Slack cannot list right now fails the
    /// whole answer: the caller retries rather than refuse someone who may be allowed.
    pub async fn member_of(&self, user: &str, groups: &BTreeSet<String>) -> Result<BTreeSet<String>, SlackError> {
        let mut member_of = BTreeSet::new();
        for group in groups {
            if self.members(group).await?.contains(user) {
                member_of.insert(group.clone());
            }
        }
        Ok(member_of)
    }

    async fn members(&self, group: &str) -> Result<BTreeSet<String>, SlackError> {
        if let Some((at, members)) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(group)
            && at.elapsed() < TTL
        {
            return Ok(members.clone());
        }
        const METHOD: &str = "usergroups.users.list";
        let answer = match self.slack.call_form(METHOD, &[("usergroup", group.to_owned())]).await {
            // A group the workspace does not have (a typo in the policy) has no members: asking
            // again cannot change that, and refusing is the safe answer.
            Err(SlackError::Api { error, .. }) if error == "no_such_subteam" => {
                tracing::warn!(group, "the policy names a user group Slack does not know; it has no members");
                return Ok(BTreeSet::new());
            }
            other => other?,
        };
        let users = answer
            .get("users")
            .and_then(Value::as_array)
            .ok_or_else(|| SlackError::Decode { method: METHOD.to_owned(), message: "the answer has no `users` list".to_owned() })?;
        let members: BTreeSet<String> = users.iter().filter_map(Value::as_str).map(str::to_owned).collect();
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(group.to_owned(), (Instant::now(), members.clone()));
        Ok(members)
    }
}
