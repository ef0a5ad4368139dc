//! `EventBus`: a custom EventBridge bus.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ApplyInput, Resource, check_name};
use crate::clients::{Clients, Context, DEFAULT_BUS};
use crate::error::{Error, Result, error_is};
use crate::model::{Change, Kind, Properties, ResourceId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBusSpec {
    pub name: String,
}

#[async_trait]
impl Resource for EventBusSpec {
    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::EventBus, &self.name)
    }

    fn references(&self) -> Vec<ResourceId> {
        Vec::new()
    }

    fn validate(&self) -> std::result::Result<(), String> {
        check_name("event bus", &self.name, 1..=256, |c| c.is_ascii_alphanumeric() || "/._-".contains(c), "A-Z a-z 0-9 / . _ -")?;
        if self.name == DEFAULT_BUS || self.name.starts_with("aws.") {
            return Err(format!("event bus name {:?} is reserved", self.name));
        }
        Ok(())
    }

    /// A bus has no declared properties: it exists or it does not.
    fn desired(&self, _cx: &Context) -> Properties {
        Properties::new()
    }

    async fn observe(&self, clients: &Clients, _cx: &Context) -> Result<Option<Properties>> {
        match clients.eventbridge.describe_event_bus().name(&self.name).send().await {
            Ok(out) => Ok(Some(Properties::from([("Arn".to_owned(), json!(out.arn()))]))),
            Err(err) if error_is(&err, &["ResourceNotFoundException"]) => Ok(None),
            Err(err) => Err(Error::aws(&self.id(), "events:DescribeEventBus", err)),
        }
    }

    async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
        match input.change {
            Change::Create => {
                clients
                    .eventbridge
                    .create_event_bus()
                    .name(&self.name)
                    .send()
                    .await
                    .map_err(|e| Error::aws(&self.id(), "events:CreateEventBus", e))?;
                Ok(())
            }
            Change::Update { .. } | Change::NoChange => Ok(()),
        }
    }
}
