//! `BucketNotifications`: makes sure an S3 bucket the file does **not** own sends its object
//! events to EventBridge (the default bus), e.g. the bucket where praktika's runner writes the
//! feeds, which may belong to another team.
//!
//! ```json
//! { "kind": "BucketNotifications", "name": "praktika-ci-feeds" }
//! ```
//!
//! Rules:
//! - It never creates, deletes or otherwise changes the bucket: only the EventBridge flag of its
//!   notification configuration, turned on. S3 replaces that configuration whole, so the deploy
//!   reads it and writes it back with the flag on, keeping every queue, topic and Lambda
//!   notification its owner set (the same code as `Bucket`'s `eventbridge_notifications`:
//!   [`super::bucket::put_eventbridge`]).
//! - A bucket that does not exist (or that the deploy cannot see) fails the **plan**, naming it:
//!   the bucket is its owner's to create.
//! - A bucket the same file declares as a `Bucket` is refused before any AWS call: set
//!   `eventbridge_notifications` there instead (one owner per setting).
//! - Nothing undoes it: `pulse infra shutdown` stops only instances and hosts, and no command
//!   deletes what this kind touches. Turning notifications off again is the owner's decision.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::bucket::{check_bucket_name, eventbridge_notifications, put_eventbridge};
use super::{ApplyInput, Resource};
use crate::clients::{Clients, Context};
use crate::error::{Error, Result, error_is};
use crate::model::{Change, Kind, Properties, ResourceId};

/// The one property: whether S3 sends the bucket's object events to EventBridge.
pub const FIELD: &str = "EventBridgeNotifications";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketNotificationsSpec {
    /// The existing bucket.
    pub name: String,
}

#[async_trait]
impl Resource for BucketNotificationsSpec {
    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::BucketNotifications, &self.name)
    }

    fn references(&self) -> Vec<ResourceId> {
        Vec::new()
    }

    fn validate(&self) -> std::result::Result<(), String> {
        check_bucket_name(&self.name)
    }

    fn desired(&self, _cx: &Context) -> Properties {
        Properties::from([(FIELD.to_owned(), json!(true))])
    }

    async fn observe(&self, clients: &Clients, _cx: &Context) -> Result<Option<Properties>> {
        let id = self.id();
        match clients.s3.head_bucket().bucket(&self.name).send().await {
            Ok(_) => {}
            Err(err) if error_is(&err, &["404", "NotFound", "NoSuchBucket"]) => {
                return Err(Error::resource(
                    &id,
                    format!(
                        "bucket {} does not exist; BucketNotifications never creates a bucket (it belongs to its owner): create it there, or fix the name",
                        self.name
                    ),
                ));
            }
            Err(err) => return Err(Error::aws(&id, "s3:HeadBucket", err)),
        }
        let on = match eventbridge_notifications(clients, &self.name, &id).await? {
            Some(on) => on,
            None => {
                tracing::warn!(bucket = %self.name, "the S3 endpoint does not report EventBridge notifications; not compared");
                true
            }
        };
        Ok(Some(Properties::from([(FIELD.to_owned(), json!(on))])))
    }

    async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
        match input.change {
            Change::NoChange => Ok(()),
            // `observe` never reports the bucket absent, so there is nothing to create: only the
            // flag to turn on.
            Change::Create | Change::Update { .. } => put_eventbridge(clients, &self.name, &self.id(), true).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_declares_only_the_flag_and_checks_the_name() {
        let spec: BucketNotificationsSpec = serde_json::from_value(json!({"name": "praktika-feeds"})).unwrap();
        spec.validate().unwrap();
        let cx = Context::new("aws", "us-east-1", "1");
        assert_eq!(spec.desired(&cx), Properties::from([(FIELD.to_owned(), json!(true))]));
        assert!(spec.references().is_empty());
        assert!(serde_json::from_value::<BucketNotificationsSpec>(json!({"name": "b", "block_public_access": true})).is_err());
        let bad: BucketNotificationsSpec = serde_json::from_value(json!({"name": "Not_A_Bucket"})).unwrap();
        assert!(bad.validate().unwrap_err().contains("bucket name"));
    }
}
