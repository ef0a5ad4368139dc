//! `Bucket`: an S3 bucket, optionally with every public-access block switched on, with
//! EventBridge notifications (S3 then sends all its object events to the default bus), and with
//! versioning and a lifecycle rule that expires old versions (so an overwritten or deleted
//! object can be recovered for a while, and old versions do not pile up), and lifecycle rules
//! that expire the objects under a key prefix (records only needed for a while, such as the
//! feed-projector's per-commit GitHub states).
//!
//! S3 replaces a bucket's lifecycle configuration whole, so the stack owns it: [`lifecycle_rules`]
//! is every rule the spec declares, written together whenever one of them drifts, and
//! [`observed_lifecycle`] reads back only the rules Pulse names, so a second deploy changes
//! nothing.
//!
//! EventBridge delivery is one flag of the bucket's notification configuration, which S3 only
//! replaces whole: applying it reads the configuration and writes it back with the flag changed,
//! keeping any queue, topic or Lambda notifications ([`eventbridge_notifications`] and
//! [`put_eventbridge`], shared with `BucketNotifications`, the kind for buckets the file does
//! not own).

use async_trait::async_trait;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_bucket_notification_configuration::GetBucketNotificationConfigurationOutput;
use std::collections::BTreeMap;

use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, EventBridgeConfiguration,
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration, NotificationConfiguration,
    PublicAccessBlockConfiguration, VersioningConfiguration,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ApplyInput, Resource, check_name};
use crate::clients::{Clients, Context};
use crate::error::{Error, Result, error_is};
use crate::model::{Change, Kind, Properties, ResourceId};

/// Codes an emulator answers for an S3 feature it lacks; the property is then skipped.
const UNSUPPORTED: [&str; 2] = ["NotImplemented", "NotImplementedError"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketSpec {
    pub name: String,
    /// `true`: all four public-access blocks on; `false`: all off; absent: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_public_access: Option<bool>,
    /// `true`: object events go to EventBridge's default bus; `false`: they do not; absent: not
    /// managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eventbridge_notifications: Option<bool>,
    /// `true`: versioning on; `false`: suspended; absent: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versioning: Option<bool>,
    /// Noncurrent versions are deleted this many days after they stop being current (the
    /// lifecycle rule [`NONCURRENT_RULE`]; the bucket's lifecycle configuration is the stack's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_version_expiration_days: Option<i32>,
    /// Key prefix → days: objects under the prefix are deleted this many days after they were
    /// last written (one lifecycle rule each, id [`expire_rule_id`]). In a versioned bucket the
    /// object becomes a noncurrent version, which `noncurrent_version_expiration_days` removes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub expire_prefixes: BTreeMap<String, i32>,
}

/// The id of the lifecycle rule that expires noncurrent versions.
pub const NONCURRENT_RULE: &str = "pulse-noncurrent-versions";

/// The start of the id of every rule that expires the objects under a prefix.
const EXPIRE_RULE: &str = "pulse-expire:";

/// S3 takes rule ids of at most 255 characters.
const MAX_PREFIX_LEN: usize = 255 - EXPIRE_RULE.len();

/// The id of the lifecycle rule that expires the objects under `prefix`: `pulse-expire:{prefix}`.
pub fn expire_rule_id(prefix: &str) -> String {
    format!("{EXPIRE_RULE}{prefix}")
}

/// The lifecycle rules `spec` declares (empty when it manages none).
fn lifecycle_rules(spec: &BucketSpec) -> std::result::Result<Vec<LifecycleRule>, aws_sdk_s3::error::BuildError> {
    let rule = |id: &str, prefix: &str| {
        LifecycleRule::builder().id(id).status(ExpirationStatus::Enabled).filter(LifecycleRuleFilter::builder().prefix(prefix).build())
    };
    let mut rules = Vec::new();
    if let Some(days) = spec.noncurrent_version_expiration_days {
        rules.push(
            rule(NONCURRENT_RULE, "")
                .noncurrent_version_expiration(NoncurrentVersionExpiration::builder().noncurrent_days(days).build())
                .build()?,
        );
    }
    for (prefix, days) in &spec.expire_prefixes {
        rules.push(rule(&expire_rule_id(prefix), prefix).expiration(LifecycleExpiration::builder().days(*days).build()).build()?);
    }
    Ok(rules)
}

/// What a bucket's lifecycle rules say in [`BucketSpec`]'s terms: the noncurrent-version days
/// and the prefix expirations, from enabled rules with Pulse's ids only (a rule someone added
/// by hand is not Pulse's, and is replaced at the next write).
fn observed_lifecycle(rules: &[LifecycleRule]) -> (Option<i32>, BTreeMap<String, i32>) {
    let enabled = || rules.iter().filter(|r| r.status() == &ExpirationStatus::Enabled);
    let noncurrent = enabled()
        .find(|r| r.id() == Some(NONCURRENT_RULE))
        .and_then(|r| r.noncurrent_version_expiration())
        .and_then(|e| e.noncurrent_days());
    let prefixes = enabled()
        .filter_map(|r| {
            let prefix = r.filter().and_then(|f| f.prefix()).unwrap_or_default();
            let days = r.expiration().and_then(|e| e.days())?;
            (r.id() == Some(expire_rule_id(prefix).as_str())).then(|| (prefix.to_owned(), days))
        })
        .collect();
    (noncurrent, prefixes)
}

fn block_value(on: bool) -> Value {
    json!({"BlockPublicAcls": on, "IgnorePublicAcls": on, "BlockPublicPolicy": on, "RestrictPublicBuckets": on})
}

impl BucketSpec {
    async fn put_versioning(&self, clients: &Clients, on: bool) -> Result<()> {
        let status = if on { BucketVersioningStatus::Enabled } else { BucketVersioningStatus::Suspended };
        clients
            .s3
            .put_bucket_versioning()
            .bucket(&self.name)
            .versioning_configuration(VersioningConfiguration::builder().status(status).build())
            .send()
            .await
            .map_err(|e| Error::aws(&self.id(), "s3:PutBucketVersioning", e))?;
        Ok(())
    }

    /// Writes every lifecycle rule the spec declares (S3 replaces the configuration whole).
    async fn put_lifecycle(&self, clients: &Clients) -> Result<()> {
        let id = self.id();
        let rules = lifecycle_rules(self).map_err(|e| Error::resource(&id, e.to_string()))?;
        let config =
            BucketLifecycleConfiguration::builder().set_rules(Some(rules)).build().map_err(|e| Error::resource(&id, e.to_string()))?;
        clients
            .s3
            .put_bucket_lifecycle_configuration()
            .bucket(&self.name)
            .lifecycle_configuration(config)
            .send()
            .await
            .map_err(|e| Error::aws(&id, "s3:PutBucketLifecycleConfiguration", e))?;
        Ok(())
    }

    fn manages_lifecycle(&self) -> bool {
        self.noncurrent_version_expiration_days.is_some() || !self.expire_prefixes.is_empty()
    }

    async fn put_block(&self, clients: &Clients, on: bool) -> Result<()> {
        let config = PublicAccessBlockConfiguration::builder()
            .block_public_acls(on)
            .ignore_public_acls(on)
            .block_public_policy(on)
            .restrict_public_buckets(on)
            .build();
        match clients.s3.put_public_access_block().bucket(&self.name).public_access_block_configuration(config).send().await {
            Ok(_) => Ok(()),
            Err(err) if error_is(&err, &UNSUPPORTED) => {
                tracing::warn!(bucket = %self.name, "the S3 endpoint does not support public access blocks; skipped");
                Ok(())
            }
            Err(err) => Err(Error::aws(&self.id(), "s3:PutPublicAccessBlock", err)),
        }
    }
}

/// Whether `bucket` sends its object events to EventBridge; `None` when the endpoint cannot say
/// (moto's `<GetBucketNotificationResponse>` root, which the SDK cannot parse; the project's
/// `localstack/moto_server.py` answers properly). `id` names the resource in errors.
pub(crate) async fn eventbridge_notifications(clients: &Clients, bucket: &str, id: &ResourceId) -> Result<Option<bool>> {
    Ok(notifications(clients, bucket, id).await?.map(|out| out.event_bridge_configuration().is_some()))
}

/// The bucket's notification configuration; `None` when the endpoint answered in moto's form
/// (a `<GetBucketNotificationResponse>` root instead of `<NotificationConfiguration>`, which
/// the SDK cannot parse and which never shows the EventBridge setting moto does apply).
async fn notifications(clients: &Clients, bucket: &str, id: &ResourceId) -> Result<Option<GetBucketNotificationConfigurationOutput>> {
    match clients.s3.get_bucket_notification_configuration().bucket(bucket).send().await {
        Ok(out) => Ok(Some(out)),
        Err(SdkError::ServiceError(e))
            if e.raw().status().as_u16() == 200
                && e.raw().body().bytes().is_some_and(|b| String::from_utf8_lossy(b).contains("<GetBucketNotificationResponse")) =>
        {
            Ok(None)
        }
        Err(err) => Err(Error::aws(id, "s3:GetBucketNotificationConfiguration", err)),
    }
}

/// Turn EventBridge delivery of `bucket` on or off, keeping the rest of its notification
/// configuration (queue, topic and Lambda notifications).
pub(crate) async fn put_eventbridge(clients: &Clients, bucket: &str, id: &ResourceId, on: bool) -> Result<()> {
    let current = notifications(clients, bucket, id).await?.unwrap_or_else(|| GetBucketNotificationConfigurationOutput::builder().build());
    let config = NotificationConfiguration::builder()
        .set_topic_configurations(current.topic_configurations)
        .set_queue_configurations(current.queue_configurations)
        .set_lambda_function_configurations(current.lambda_function_configurations)
        .set_event_bridge_configuration(on.then(|| EventBridgeConfiguration::builder().build()))
        .build();
    clients
        .s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(config)
        .send()
        .await
        .map_err(|e| Error::aws(id, "s3:PutBucketNotificationConfiguration", e))?;
    Ok(())
}

/// S3's bucket naming rules (the subset a stack can get wrong).
pub(crate) fn check_bucket_name(name: &str) -> std::result::Result<(), String> {
    check_name("bucket", name, 3..=63, |c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(c), "a-z 0-9 . -")?;
    let edges = [name.chars().next(), name.chars().last()];
    if edges.iter().any(|c| !c.is_some_and(|c| c.is_ascii_alphanumeric())) {
        return Err(format!("bucket name {name:?} must begin and end with a letter or digit"));
    }
    Ok(())
}

#[async_trait]
impl Resource for BucketSpec {
    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::Bucket, &self.name)
    }

    fn references(&self) -> Vec<ResourceId> {
        Vec::new()
    }

    fn validate(&self) -> std::result::Result<(), String> {
        check_bucket_name(&self.name)?;
        if let Some(days) = self.noncurrent_version_expiration_days {
            if days < 1 {
                return Err(format!("noncurrent_version_expiration_days must be at least 1 (found {days})"));
            }
            if self.versioning != Some(true) {
                return Err(
                    "noncurrent_version_expiration_days needs `versioning: true` (without versions there is nothing to expire)".to_owned()
                );
            }
        }
        for (prefix, days) in &self.expire_prefixes {
            if prefix.is_empty() || prefix.len() > MAX_PREFIX_LEN {
                return Err(format!(
                    "expire_prefixes: a prefix must have 1 to {MAX_PREFIX_LEN} characters (found {prefix:?}; an empty one would expire the whole bucket)"
                ));
            }
            if *days < 1 {
                return Err(format!("expire_prefixes: {prefix:?} must expire after at least 1 day (found {days})"));
            }
        }
        Ok(())
    }

    fn desired(&self, _cx: &Context) -> Properties {
        let mut p = Properties::new();
        if let Some(on) = self.block_public_access {
            p.insert("PublicAccessBlock".into(), block_value(on));
        }
        if let Some(on) = self.eventbridge_notifications {
            p.insert("EventBridgeNotifications".into(), json!(on));
        }
        if let Some(on) = self.versioning {
            p.insert("Versioning".into(), json!(on));
        }
        if let Some(days) = self.noncurrent_version_expiration_days {
            p.insert("NoncurrentVersionExpirationDays".into(), json!(days));
        }
        if !self.expire_prefixes.is_empty() {
            p.insert("ExpirePrefixes".into(), json!(self.expire_prefixes));
        }
        p
    }

    async fn observe(&self, clients: &Clients, cx: &Context) -> Result<Option<Properties>> {
        let id = self.id();
        match clients.s3.head_bucket().bucket(&self.name).send().await {
            Ok(_) => {}
            Err(err) if error_is(&err, &["404", "NotFound", "NoSuchBucket"]) => return Ok(None),
            Err(err) => return Err(Error::aws(&id, "s3:HeadBucket", err)),
        }
        let mut p = Properties::new();
        if self.block_public_access.is_some() {
            match clients.s3.get_public_access_block().bucket(&self.name).send().await {
                Ok(out) => {
                    let c = out.public_access_block_configuration();
                    let flag = |f: Option<bool>| f.unwrap_or(false);
                    p.insert(
                        "PublicAccessBlock".into(),
                        json!({
                            "BlockPublicAcls": flag(c.and_then(|c| c.block_public_acls())),
                            "IgnorePublicAcls": flag(c.and_then(|c| c.ignore_public_acls())),
                            "BlockPublicPolicy": flag(c.and_then(|c| c.block_public_policy())),
                            "RestrictPublicBuckets": flag(c.and_then(|c| c.restrict_public_buckets())),
                        }),
                    );
                }
                Err(err) if error_is(&err, &["NoSuchPublicAccessBlockConfiguration"]) => {
                    p.insert("PublicAccessBlock".into(), block_value(false));
                }
                Err(err) if error_is(&err, &UNSUPPORTED) => {
                    tracing::warn!(bucket = %self.name, "the S3 endpoint does not support public access blocks; not compared");
                    p.extend(self.desired(cx));
                }
                Err(err) => return Err(Error::aws(&id, "s3:GetPublicAccessBlock", err)),
            }
        }
        if self.eventbridge_notifications.is_some() {
            match eventbridge_notifications(clients, &self.name, &id).await? {
                Some(on) => {
                    p.insert("EventBridgeNotifications".into(), json!(on));
                }
                None => {
                    tracing::warn!(bucket = %self.name, "the S3 endpoint does not report EventBridge notifications; not compared");
                    if let Some(on) = self.eventbridge_notifications {
                        p.insert("EventBridgeNotifications".into(), json!(on));
                    }
                }
            }
        }
        if self.versioning.is_some() {
            let out = clients
                .s3
                .get_bucket_versioning()
                .bucket(&self.name)
                .send()
                .await
                .map_err(|e| Error::aws(&id, "s3:GetBucketVersioning", e))?;
            p.insert("Versioning".into(), json!(out.status() == Some(&BucketVersioningStatus::Enabled)));
        }
        if self.manages_lifecycle() {
            let rules = match clients.s3.get_bucket_lifecycle_configuration().bucket(&self.name).send().await {
                Ok(out) => out.rules,
                Err(err) if error_is(&err, &["NoSuchLifecycleConfiguration"]) => None,
                Err(err) => return Err(Error::aws(&id, "s3:GetBucketLifecycleConfiguration", err)),
            };
            let (noncurrent, prefixes) = observed_lifecycle(rules.as_deref().unwrap_or_default());
            if self.noncurrent_version_expiration_days.is_some() {
                p.insert("NoncurrentVersionExpirationDays".into(), noncurrent.map_or(Value::Null, |d| json!(d)));
            }
            if !self.expire_prefixes.is_empty() {
                p.insert("ExpirePrefixes".into(), json!(prefixes));
            }
        }
        Ok(Some(p))
    }

    async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
        let id = self.id();
        match input.change {
            Change::NoChange => {}
            Change::Create => {
                let mut request = clients.s3.create_bucket().bucket(&self.name);
                // us-east-1 is the one region that takes no location constraint.
                if input.cx.region != "us-east-1" && !input.cx.region.is_empty() {
                    request = request.create_bucket_configuration(
                        CreateBucketConfiguration::builder()
                            .location_constraint(BucketLocationConstraint::from(input.cx.region.as_str()))
                            .build(),
                    );
                }
                match request.send().await {
                    Ok(_) => {}
                    Err(err) if error_is(&err, &["BucketAlreadyOwnedByYou"]) => {}
                    Err(err) => return Err(Error::aws(&id, "s3:CreateBucket", err)),
                }
                if let Some(on) = self.block_public_access {
                    self.put_block(clients, on).await?;
                }
                if let Some(on) = self.eventbridge_notifications {
                    put_eventbridge(clients, &self.name, &id, on).await?;
                }
                if let Some(on) = self.versioning {
                    self.put_versioning(clients, on).await?;
                }
                if self.manages_lifecycle() {
                    self.put_lifecycle(clients).await?;
                }
            }
            Change::Update { .. } => {
                if let (true, Some(on)) = (input.change.touches("PublicAccessBlock"), self.block_public_access) {
                    self.put_block(clients, on).await?;
                }
                if let (true, Some(on)) = (input.change.touches("EventBridgeNotifications"), self.eventbridge_notifications) {
                    put_eventbridge(clients, &self.name, &id, on).await?;
                }
                if let (true, Some(on)) = (input.change.touches("Versioning"), self.versioning) {
                    self.put_versioning(clients, on).await?;
                }
                if input.change.touches("NoncurrentVersionExpirationDays") || input.change.touches("ExpirePrefixes") {
                    self.put_lifecycle(clients).await?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feeds() -> BucketSpec {
        serde_json::from_value(json!({
            "name": "p1-feeds", "versioning": true, "noncurrent_version_expiration_days": 30,
            "expire_prefixes": {"pulse-github-state/": 30, "tmp/": 1}
        }))
        .unwrap()
    }

    #[test]
    fn the_declared_rules_read_back_as_the_declared_properties() {
        let spec = feeds();
        let rules = lifecycle_rules(&spec).unwrap();
        let ids: Vec<_> = rules.iter().filter_map(|r| r.id()).collect();
        assert_eq!(ids, ["pulse-noncurrent-versions", "pulse-expire:pulse-github-state/", "pulse-expire:tmp/"]);
        let state = &rules[1];
        assert_eq!(state.filter().and_then(|f| f.prefix()), Some("pulse-github-state/"));
        assert_eq!(state.expiration().and_then(|e| e.days()), Some(30));
        assert_eq!(observed_lifecycle(&rules), (Some(30), spec.expire_prefixes.clone()));
    }

    #[test]
    fn rules_that_are_not_pulses_or_are_disabled_are_not_seen() {
        let mut rules = lifecycle_rules(&feeds()).unwrap();
        rules[0].status = ExpirationStatus::Disabled;
        // Same id, another prefix: a hand-edited rule, not the declared one.
        rules[2].filter = Some(LifecycleRuleFilter::builder().prefix("other/").build());
        let (noncurrent, prefixes) = observed_lifecycle(&rules);
        assert_eq!(noncurrent, None);
        assert_eq!(prefixes, BTreeMap::from([("pulse-github-state/".to_owned(), 30)]));
    }

    #[test]
    fn an_empty_prefix_or_a_day_count_below_one_is_refused() {
        let with = |prefix: &str, days: i32| BucketSpec { expire_prefixes: BTreeMap::from([(prefix.to_owned(), days)]), ..feeds() };
        assert!(with("", 30).validate().unwrap_err().contains("whole bucket"));
        assert!(with("x/", 0).validate().unwrap_err().contains("at least 1 day"));
        assert!(with(&"x".repeat(MAX_PREFIX_LEN + 1), 30).validate().is_err());
        assert_eq!(with("x/", 1).validate(), Ok(()));
    }
}
