//! Subscriptions, per-user preferences and the published-view record in DynamoDB
//! (`${prefix}-home-renderer-subscriptions`: partition key `pk`, sort key `sk`, TTL
//! `expires_at`, GSI `by-email` on `email`).
//!
//! # Items
//!
//! | pk | sk | what |
//! |---|---|---|
//! | `user#<slack_user_id>` | `sub` | the subscription: `team_id`, `slack_user_id`, `feed_email` (followed, or followed last), `email` (only while subscribed), `state`, `subscribed_at`, `deleted_at`, `preferences` (map of the six booleans and `digest`), `revision`, `imported_revision` (the revision a praktika import produced, see [`crate::import`]), `github` (the linked accounts, a list of `ID+login`), `published_revision`, `updated_at`, `expires_at` (only once soft-deleted) |
//! | `email#<email>` | `user#<slack_user_id>` | membership: this user follows this feed (`slack_user_id`, `team_id`, `since`): one per followed email, the subscription's and each linked account's noreply address ([`Subscription::followed_emails`]) |
//! | `user#<slack_user_id>` | `view` | the last Home view published: `seq`, `hash`, `feed_etag`, `sub_revision`, `published_at` (see [`crate::views`]) |
//!
//! # Never last-writer-wins
//!
//! Every change is conditional on the revision read: the subscription item is updated under
//! `revision = :expected` (or `attribute_not_exists(pk)` for the first). A change that moves the
//! membership (subscribe, switch, unsubscribe) is one `TransactWriteItems` that also puts /
//! deletes the membership items; a toggle, which leaves the membership alone, is a single
//! conditional `UpdateItem`. A lost race (`ConditionalCheckFailed`, `TransactionConflict`)
//! re-reads the item (strongly consistent) and recomputes the change from the fresh state with
//! [`crate::subscriptions::apply`], with jittered backoff. So two concurrent toggles of
//! different preferences both land, in some order, each on top of the other.
//!
//! On moto, these guarantees need the project's launcher (`localstack/moto_server.py`), which
//! makes conditional writes atomic as they are in AWS: plain moto checks a condition and writes
//! in two steps, and restores a cancelled transaction from a copy of the whole table, undoing
//! concurrent writes.
//!
//! # Finding every subscriber of an email
//!
//! [`Store::subscribers`] queries the membership items (partition `email#<email>`) with a
//! strongly consistent read. Because membership is written in the same transaction as the
//! subscription, a `feed.updated` handled right after a subscribe always finds the new
//! subscriber, and never finds one who left. The `by-email` GSI (the subscription item carries
//! `email` only while subscribed, so the index is sparse) stays available for operators, but is
//! not used for fan-out: GSI reads are eventually consistent, and a subscriber missing from it
//! for a moment would miss an update until the next one.
//!
//! # Retention
//!
//! Unsubscribing sets `deleted_at` and `expires_at = deleted_at + retention` (30 days by
//! default): DynamoDB's TTL purges the item afterwards; subscribing again before that clears
//! both and keeps the toggles.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use chrono::{DateTime, SecondsFormat, Utc};
use pulse_contracts::{DigestSchedule, Email, GithubAccount, Preferences, SubscriptionState};
use pulse_core::Clock;
use pulse_core::retry::Backoff;

use crate::filters::Toggle;
use crate::subscriptions::{self, Op, Outcome, Subscription};

/// How long a soft-deleted subscription is kept before DynamoDB's TTL purges it.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

const SUB_SK: &str = "sub";
const VIEW_SK: &str = "view";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB {operation} on table {table} failed: {message}")]
    Dynamo { table: String, operation: &'static str, message: String },
    #[error("item {key} in table {table} is malformed: {message}")]
    Malformed { table: String, key: String, message: String },
    #[error("the subscription of {user} in table {table} kept changing: gave up after {attempts} attempts")]
    Contended { table: String, user: String, attempts: u32 },
}

/// A subscription as stored, with the newest revision already announced.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub sub: Subscription,
    /// The newest revision a `subscription.changed` was published for (0 if none).
    pub published_revision: u64,
}

impl Stored {
    /// Whether the current state still has to be announced (a previous attempt stored it but
    /// stopped before publishing).
    pub fn needs_announcing(&self) -> bool {
        self.published_revision < self.sub.revision
    }
}

/// What [`Store::apply`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub outcome: Outcome,
    /// The subscription after the operation (as written, or as read when nothing changed).
    pub current: Option<Stored>,
    /// Read-compute-write cycles used, the successful one included.
    pub attempts: u32,
}

/// The record of the last Home view published for a user (see [`crate::views`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewRecord {
    /// Increases by one with every recorded publish; 0 when none was recorded.
    pub seq: u64,
    /// Slack's `hash` of the published view, for the next `views.publish`.
    pub hash: Option<String>,
    /// ETag of the feed object the view was rendered from (`""` for none).
    pub feed_etag: String,
    /// Subscription revision the view was rendered from (0 for none).
    pub sub_revision: u64,
}

/// The subscriptions table.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) client: aws_sdk_dynamodb::Client,
    pub(crate) table: String,
    retention: Duration,
    backoff: Backoff,
    /// Dates every change (`subscribed_at`, `deleted_at`, `updated_at`, `published_at`).
    clock: Clock,
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn user_pk(user: &str) -> String {
    format!("user#{user}")
}

pub(crate) fn email_pk(email: &str) -> String {
    format!("email#{email}")
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

impl Store {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>, clock: Clock) -> Self {
        Self {
            client,
            table: table.into(),
            retention: DEFAULT_RETENTION,
            backoff: Backoff::new(Duration::from_millis(20), Duration::from_secs(1), 12),
            clock,
        }
    }

    /// How long soft-deleted subscriptions are kept.
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub(crate) fn dynamo<E, R>(&self, operation: &'static str, err: &SdkError<E, R>) -> StoreError
    where
        E: std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        StoreError::Dynamo { table: self.table.clone(), operation, message: DisplayErrorContext(err).to_string() }
    }

    /// The subscription of `user` (strongly consistent), soft-deleted ones included.
    pub async fn get(&self, user: &str) -> Result<Option<Stored>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(user_pk(user)))
            .key("sk", s(SUB_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.dynamo("GetItem", &e))?;
        out.item().map(|item| self.parse_sub(user, item)).transpose()
    }

    /// Applies `op` to `user`'s subscription with optimistic concurrency (see the module docs),
    /// at the clock's time, asked once per attempt.
    pub async fn apply(&self, user: &str, op: &Op) -> Result<Applied, StoreError> {
        let max = self.backoff.max_attempts();
        for attempt in 0..max {
            let current = self.get(user).await?;
            let outcome = subscriptions::apply(current.as_ref().map(|c| &c.sub), user, op, self.clock.now());
            let Outcome::Changed { next, .. } = &outcome else {
                return Ok(Applied { outcome, current, attempts: attempt + 1 });
            };
            if self.write(current.as_ref(), next).await? {
                let published_revision = current.as_ref().map_or(0, |c| c.published_revision);
                let stored = Stored { sub: next.clone(), published_revision };
                return Ok(Applied { outcome, current: Some(stored), attempts: attempt + 1 });
            }
            tracing::debug!(user, attempt = attempt + 1, "subscription changed concurrently; re-reading");
            if attempt + 1 < max {
                tokio::time::sleep(self.backoff.delay(attempt)).await;
            }
        }
        Err(StoreError::Contended { table: self.table.clone(), user: user.to_owned(), attempts: max })
    }

    /// One conditional transaction from `current` to `next`. `Ok(false)` when it lost a race.
    async fn write(&self, current: Option<&Stored>, next: &Subscription) -> Result<bool, StoreError> {
        let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Dynamo {
            table: self.table.clone(),
            operation: "TransactWriteItems (build)",
            message: e.to_string(),
        };
        let user = next.slack_user_id.as_str();
        let now = self.clock.now();
        let mut set = vec![
            "#team = :team",
            "#user = :user",
            "#feed_email = :feed_email",
            "#state = :state",
            "#subscribed_at = :subscribed_at",
            "#preferences = :preferences",
            "#revision = :revision",
            "#updated_at = :updated_at",
        ];
        let mut remove = Vec::new();
        let mut names: HashMap<String, String> = [
            ("#team", "team_id"),
            ("#user", "slack_user_id"),
            ("#feed_email", "feed_email"),
            ("#state", "state"),
            ("#subscribed_at", "subscribed_at"),
            ("#preferences", "preferences"),
            ("#revision", "revision"),
            ("#updated_at", "updated_at"),
            ("#email", "email"),
            ("#deleted_at", "deleted_at"),
            ("#expires_at", "expires_at"),
            ("#imported_revision", "imported_revision"),
            ("#github", "github"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mut values: HashMap<String, AttributeValue> = HashMap::new();
        values.insert(":team".into(), s(&next.team_id));
        values.insert(":user".into(), s(user));
        values.insert(":feed_email".into(), s(next.email.as_str()));
        values.insert(":state".into(), s(state_str(next.state)));
        values.insert(":subscribed_at".into(), s(time(next.subscribed_at)));
        values.insert(":preferences".into(), prefs_value(&next.preferences));
        values.insert(":revision".into(), n(next.revision));
        values.insert(":updated_at".into(), s(time(now)));
        if let Some(imported) = next.imported_revision {
            set.push("#imported_revision = :imported_revision");
            values.insert(":imported_revision".into(), n(imported));
        }
        if next.github.is_empty() {
            remove.push("#github");
        } else {
            set.push("#github = :github");
            values.insert(":github".into(), AttributeValue::L(next.github.iter().map(|a| s(a.to_string())).collect()));
        }
        if next.is_active() {
            set.push("#email = :feed_email");
            remove.extend(["#deleted_at", "#expires_at"]);
        } else {
            let deleted_at = next.deleted_at.unwrap_or(now);
            let expires = deleted_at.timestamp() + i64::try_from(self.retention.as_secs()).unwrap_or(i64::MAX / 4);
            set.extend(["#deleted_at = :deleted_at", "#expires_at = :expires_at"]);
            values.insert(":deleted_at".into(), s(time(deleted_at)));
            values.insert(":expires_at".into(), n(expires));
            remove.push("#email");
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let condition = match current {
            None => "attribute_not_exists(pk)".to_owned(),
            Some(cur) => {
                values.insert(":expected".into(), n(cur.sub.revision));
                "#revision = :expected".to_owned()
            }
        };
        names.retain(|k, _| expression.contains(k.as_str()) || condition.contains(k.as_str()));

        // A toggle leaves the membership as it is: one conditional UpdateItem is enough (and
        // half the cost of a transaction).
        let followed_before = current.map(|c| c.sub.followed_emails()).unwrap_or_default();
        let followed_after = next.followed_emails();
        let same_membership = current.is_some() && followed_before == followed_after;
        if same_membership {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(user_pk(user)))
                .key("sk", s(SUB_SK))
                .update_expression(expression)
                .condition_expression(condition)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .send()
                .await;
            return match result {
                Ok(_) => Ok(true),
                Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(false),
                Err(e) => Err(self.dynamo("UpdateItem (subscription)", &e)),
            };
        }

        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(user_pk(user)))
            .key("sk", s(SUB_SK))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(build)?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];

        // Membership follows the followed emails: put each one followed now (again, harmlessly,
        // for those already followed: `since` is the subscription's), delete each one no more.
        for email in &followed_after {
            let put = Put::builder()
                .table_name(&self.table)
                .item("pk", s(email_pk(email.as_str())))
                .item("sk", s(user_pk(user)))
                .item("slack_user_id", s(user))
                .item("team_id", s(&next.team_id))
                .item("since", s(time(next.subscribed_at)))
                .build()
                .map_err(build)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        for old in followed_before.iter().filter(|old| !followed_after.contains(old)) {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key("pk", s(email_pk(old.as_str())))
                .key("sk", s(user_pk(user)))
                .build()
                .map_err(build)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }

        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if lost_race(e.err()) => Ok(false),
            Err(e) => Err(self.dynamo("TransactWriteItems", &e)),
        }
    }

    /// Records that `subscription.changed` for `revision` was published (never moves back).
    pub async fn mark_published(&self, user: &str, revision: u64) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(user_pk(user)))
            .key("sk", s(SUB_SK))
            .update_expression("SET published_revision = :r")
            .condition_expression("attribute_exists(pk) AND (attribute_not_exists(published_revision) OR published_revision < :r)")
            .expression_attribute_values(":r", n(revision))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(()),
            Err(e) => Err(self.dynamo("UpdateItem (published_revision)", &e)),
        }
    }

    /// The Slack users subscribed to `email` (strongly consistent; see the module docs).
    pub async fn subscribers(&self, email: &str) -> Result<Vec<String>, StoreError> {
        let mut users = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(email_pk(email)))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.dynamo("Query (subscribers)", &e))?;
            for item in out.items() {
                if let Some(user) = item.get("sk").and_then(|v| v.as_s().ok()).and_then(|sk| sk.strip_prefix("user#")) {
                    users.push(user.to_owned());
                }
            }
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        Ok(users)
    }

    /// The view record and the subscription of `user` in one strongly consistent read (both
    /// items share the partition `user#<id>`), so the record is never read after the
    /// subscription it is compared with.
    pub async fn user_state(&self, user: &str) -> Result<(ViewRecord, Option<Stored>), StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(user_pk(user)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.dynamo("Query (user)", &e))?;
        let mut record = ViewRecord::default();
        let mut stored = None;
        for item in out.items() {
            match item.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) {
                Some(SUB_SK) => stored = Some(self.parse_sub(user, item)?),
                Some(VIEW_SK) => record = parse_view(item),
                _ => {}
            }
        }
        Ok((record, stored))
    }

    /// The record of `user`'s last published view (default when none).
    pub async fn view_record(&self, user: &str) -> Result<ViewRecord, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(user_pk(user)))
            .key("sk", s(VIEW_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.dynamo("GetItem (view)", &e))?;
        Ok(out.item().map(parse_view).unwrap_or_default())
    }

    /// Records a publish as `next` if the record is still at `base_seq` (0: none yet).
    /// `Ok(false)` when someone recorded another publish first.
    pub async fn record_view(&self, user: &str, base_seq: u64, next: &ViewRecord) -> Result<bool, StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(user_pk(user)))
            .item("sk", s(VIEW_SK))
            .item("seq", n(next.seq))
            .item("feed_etag", s(&next.feed_etag))
            .item("sub_revision", n(next.sub_revision))
            .item("published_at", s(time(self.clock.now())));
        if let Some(hash) = &next.hash {
            put = put.item("hash", s(hash));
        }
        put = if base_seq == 0 {
            put.condition_expression("attribute_not_exists(pk)")
        } else {
            put.condition_expression("seq = :base").expression_attribute_values(":base", n(base_seq))
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(false),
            Err(e) => Err(self.dynamo("PutItem (view)", &e)),
        }
    }

    fn parse_sub(&self, user: &str, item: &HashMap<String, AttributeValue>) -> Result<Stored, StoreError> {
        let malformed = |message: String| StoreError::Malformed { table: self.table.clone(), key: user_pk(user), message };
        let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok());
        let required = |k: &str| text(k).ok_or_else(|| malformed(format!("no `{k}`")));
        let num = |k: &str| -> Result<u64, StoreError> {
            match item.get(k) {
                None => Ok(0),
                Some(v) => v.as_n().ok().and_then(|v| v.parse().ok()).ok_or_else(|| malformed(format!("`{k}` is not a number"))),
            }
        };
        let parse_time =
            |k: &str, v: &str| DateTime::parse_from_rfc3339(v).map(|t| t.with_timezone(&Utc)).map_err(|e| malformed(format!("`{k}`: {e}")));
        let email = Email::parse(required("feed_email")?.clone()).map_err(|e| malformed(e.to_string()))?;
        let state = match required("state")?.as_str() {
            "subscribed" => SubscriptionState::Subscribed,
            "unsubscribed" => SubscriptionState::Unsubscribed,
            other => return Err(malformed(format!("unknown state `{other}`"))),
        };
        let subscribed_at = parse_time("subscribed_at", required("subscribed_at")?)?;
        let deleted_at = text("deleted_at").map(|v| parse_time("deleted_at", v)).transpose()?;
        let preferences = match item.get("preferences") {
            None => Preferences::default(),
            Some(v) => parse_prefs(v).ok_or_else(|| malformed("`preferences` is not a map".into()))?,
        };
        let revision = num("revision")?;
        if revision == 0 {
            return Err(malformed("no `revision`".into()));
        }
        Ok(Stored {
            sub: Subscription {
                team_id: required("team_id")?.clone(),
                slack_user_id: text("slack_user_id").cloned().unwrap_or_else(|| user.to_owned()),
                email,
                state,
                subscribed_at,
                deleted_at,
                preferences,
                revision,
                imported_revision: Some(num("imported_revision")?).filter(|r| *r > 0),
                github: match item.get("github") {
                    None => Vec::new(),
                    Some(v) => v
                        .as_l()
                        .map_err(|_| malformed("`github` is not a list".into()))?
                        .iter()
                        .map(|a| a.as_s().ok().and_then(|a| GithubAccount::parse(a).ok()))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| malformed("`github` holds something that is not `ID+login`".into()))?,
                },
            },
            published_revision: num("published_revision")?,
        })
    }
}

fn parse_view(item: &HashMap<String, AttributeValue>) -> ViewRecord {
    let num = |k: &str| item.get(k).and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    ViewRecord {
        seq: num("seq"),
        hash: text("hash").filter(|h| !h.is_empty()),
        feed_etag: text("feed_etag").unwrap_or_default(),
        sub_revision: num("sub_revision"),
    }
}

fn lost_race(err: &TransactWriteItemsError) -> bool {
    match err {
        TransactWriteItemsError::TransactionCanceledException(e) => {
            e.cancellation_reasons().iter().any(|r| matches!(r.code(), Some("ConditionalCheckFailed") | Some("TransactionConflict")))
        }
        TransactWriteItemsError::TransactionInProgressException(_) => true,
        _ => false,
    }
}

fn state_str(state: SubscriptionState) -> &'static str {
    match state {
        SubscriptionState::Subscribed => "subscribed",
        SubscriptionState::Unsubscribed => "unsubscribed",
    }
}

fn prefs_value(p: &Preferences) -> AttributeValue {
    let mut map: HashMap<String, AttributeValue> =
        Toggle::ALL.iter().map(|t| (t.name().to_owned(), AttributeValue::Bool(t.get(p)))).collect();
    if let Some(digest) = p.digest {
        let text = serde_json::to_value(digest).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        map.insert("digest".into(), s(text));
    }
    AttributeValue::M(map)
}

fn parse_prefs(v: &AttributeValue) -> Option<Preferences> {
    let map = v.as_m().ok()?;
    let mut p = Preferences::default();
    for t in Toggle::ALL {
        if let Some(on) = map.get(t.name()).and_then(|v| v.as_bool().ok()) {
            t.set(&mut p, *on);
        }
    }
    p.digest = map
        .get("digest")
        .and_then(|v| v.as_s().ok())
        .and_then(|d| serde_json::from_value::<DigestSchedule>(serde_json::Value::String(d.clone())).ok());
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_round_trip_through_attribute_values() {
        let p = Preferences { hide_merges: true, notify_on_failure: true, digest: Some(DigestSchedule::Weekly), ..Preferences::default() };
        assert_eq!(parse_prefs(&prefs_value(&p)), Some(p));
        assert_eq!(parse_prefs(&prefs_value(&Preferences::default())), Some(Preferences::default()));
    }
}
