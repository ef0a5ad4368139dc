//! `EC2Instance`: `quantity` instances launched with `RunInstances` (praktika's
//! `EC2Instance.Config`), found again by their ownership tags.
//!
//! Reconciled in place: the count (missing ones launched, surplus ones terminated), tags,
//! stopped instances (started when `start_on_deploy`) and the IAM instance profile. The image,
//! type and subnet cannot change on a running instance: a plan shows such drift and the deploy
//! stops with a message to shut the instances down first (praktika ignores it).

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, IamInstanceProfileSpecification, Instance, InstanceType, Placement, ResourceType, Tenancy,
    VolumeType,
};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::dedicated_host::sync_tags;
use super::fleet::{self, Tags};
use super::{ApplyInput, Resource};
use crate::clients::{Clients, Context};
use crate::error::{Error, Result};
use crate::model::{Change, Kind, Properties, ResourceId};

/// States of an instance that still exists (praktika's filter).
const LIVE_STATES: [&str; 4] = ["pending", "running", "stopping", "stopped"];

/// Fields a running instance cannot change.
const IMMUTABLE: [&str; 4] = ["ImageId", "InstanceType", "SubnetId", "KeyName"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ec2InstanceSpec {
    pub name: String,
    #[serde(default)]
    pub region: String,
    /// How many instances share this name and tags.
    #[serde(default = "one")]
    pub quantity: u32,
    #[serde(default)]
    pub praktika_resource_tag: String,
    /// Tagged as `github:runner-type`, comma-separated.
    #[serde(default)]
    pub runner_labels: Vec<String>,
    #[serde(default)]
    pub image_id: String,
    #[serde(default)]
    pub instance_type: String,
    #[serde(default)]
    pub subnet_id: String,
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    #[serde(default)]
    pub iam_instance_profile_name: String,
    #[serde(default)]
    pub key_name: String,
    /// The script itself (sent base64-encoded).
    #[serde(default)]
    pub user_data: String,
    /// A file holding the script, read at deploy time when `user_data` is empty (relative paths
    /// from the working directory, as praktika).
    #[serde(default)]
    pub user_data_file: String,
    /// Empty: the image's root device.
    #[serde(default)]
    pub root_device_name: String,
    /// GiB; 0 keeps the image's.
    #[serde(default)]
    pub root_volume_size: u32,
    #[serde(default)]
    pub root_volume_type: String,
    #[serde(default)]
    pub root_volume_encrypted: bool,
    /// `default`, `dedicated` or `host` (mac types: `host`).
    #[serde(default)]
    pub tenancy: String,
    #[serde(default)]
    pub host_id: String,
    /// Not supported (no Resource Groups client); rejected when set. Use a `DedicatedHost` pool
    /// with `auto_placement: on` instead, as praktika's docs recommend.
    #[serde(default)]
    pub host_resource_group_name: String,
    /// Start stopped instances on deploy; `false` stops new ones right after launch.
    #[serde(default = "yes")]
    pub start_on_deploy: bool,
    #[serde(default)]
    pub tags: Tags,
    #[serde(skip)]
    pub stack: String,
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

/// An owned instance as observe saw it.
#[derive(Debug, Clone)]
struct OwnedInstance {
    id: String,
    state: String,
    tags: Tags,
    profile: Option<String>,
    launched: i64,
    fields: [(&'static str, Option<String>); 4],
}

impl Ec2InstanceSpec {
    pub fn instance_tags(&self) -> Tags {
        let mut tags = Tags::from([("Name".to_owned(), self.name.clone())]);
        tags.extend(fleet::praktika_tags(&self.name, &self.praktika_resource_tag, &self.runner_labels.join(","), &self.tags));
        tags.extend(fleet::ownership(&self.stack, Kind::EC2Instance, &self.name, true));
        tags
    }

    async fn owned_instances(&self, clients: &Clients) -> Result<Vec<OwnedInstance>> {
        let mut found = Vec::new();
        let mut token = None;
        loop {
            let out = clients
                .ec2
                .describe_instances()
                .filters(fleet::filter("instance-state-name", LIVE_STATES))
                .filters(fleet::filter(&format!("tag:{}", fleet::STACK_TAG), [self.stack.as_str()]))
                .filters(fleet::filter(&format!("tag:{}", fleet::RESOURCE_TAG), [self.name.as_str()]))
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| Error::aws(&self.id(), "ec2:DescribeInstances", e))?;
            for i in out.reservations().iter().flat_map(|r| r.instances()) {
                if let Some(owned) = self.owned(i) {
                    found.push(owned);
                }
            }
            token = out.next_token().filter(|t| !t.is_empty()).map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        // Oldest first: surplus instances are the newest.
        found.sort_by(|a, b| (a.launched, &a.id).cmp(&(b.launched, &b.id)));
        Ok(found)
    }

    fn owned(&self, i: &Instance) -> Option<OwnedInstance> {
        let tags = fleet::from_ec2_tags(i.tags());
        let state = i.state().and_then(|s| s.name()).map(|n| n.as_str().to_owned()).unwrap_or_default();
        if !fleet::is_owned(&tags, &self.stack, Kind::EC2Instance, &self.name, true) || !LIVE_STATES.contains(&state.as_str()) {
            return None;
        }
        let s = |v: Option<&str>| v.filter(|v| !v.is_empty()).map(str::to_owned);
        Some(OwnedInstance {
            id: i.instance_id().unwrap_or_default().to_owned(),
            state,
            tags: fleet::user_visible(tags),
            profile: i.iam_instance_profile().and_then(|p| p.arn()).and_then(|a| a.rsplit('/').next()).map(str::to_owned),
            launched: i.launch_time().map_or(0, |t| t.secs()),
            fields: [
                ("ImageId", s(i.image_id())),
                ("InstanceType", s(i.instance_type().map(InstanceType::as_str))),
                ("SubnetId", s(i.subnet_id())),
                ("KeyName", s(i.key_name())),
            ],
        })
    }

    /// The instance ids shutdown would terminate (read calls only).
    pub async fn shutdown_targets(&self, clients: &Clients) -> Result<Vec<String>> {
        Ok(self.owned_instances(clients).await?.into_iter().map(|i| i.id).collect())
    }

    pub async fn terminate(&self, clients: &Clients, ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        clients
            .ec2
            .terminate_instances()
            .set_instance_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| Error::aws(&self.id(), "ec2:TerminateInstances", e))?;
        Ok(())
    }

    fn user_data(&self) -> Result<String> {
        if !self.user_data.is_empty() || self.user_data_file.is_empty() {
            return Ok(self.user_data.clone());
        }
        std::fs::read_to_string(&self.user_data_file)
            .map_err(|e| Error::resource(&self.id(), format!("user_data_file {:?}: {e}", self.user_data_file)))
    }

    async fn root_device(&self, clients: &Clients) -> Result<String> {
        if !self.root_device_name.is_empty() {
            return Ok(self.root_device_name.clone());
        }
        let out = clients
            .ec2
            .describe_images()
            .image_ids(&self.image_id)
            .send()
            .await
            .map_err(|e| Error::aws(&self.id(), "ec2:DescribeImages", e))?;
        out.images().first().and_then(|i| i.root_device_name()).map(str::to_owned).ok_or_else(|| {
            Error::resource(&self.id(), format!("cannot find the root device of image {}; set root_device_name", self.image_id))
        })
    }

    async fn launch(&self, clients: &Clients, count: u32) -> Result<()> {
        let id = self.id();
        let count = i32::try_from(count).unwrap_or(i32::MAX);
        let mut req = clients
            .ec2
            .run_instances()
            .image_id(&self.image_id)
            .instance_type(InstanceType::from(self.instance_type.as_str()))
            .min_count(count)
            .max_count(count)
            .tag_specifications(fleet::tag_spec(ResourceType::Instance, &self.instance_tags()));
        if !self.subnet_id.is_empty() {
            req = req.subnet_id(&self.subnet_id);
        }
        if !self.security_group_ids.is_empty() {
            req = req.set_security_group_ids(Some(self.security_group_ids.clone()));
        }
        if !self.iam_instance_profile_name.is_empty() {
            req = req.iam_instance_profile(IamInstanceProfileSpecification::builder().name(&self.iam_instance_profile_name).build());
        }
        if !self.key_name.is_empty() {
            req = req.key_name(&self.key_name);
        }
        let user_data = self.user_data()?;
        if !user_data.is_empty() {
            // boto3 encodes RunInstances user data itself; the Rust SDK sends what it is given.
            req = req.user_data(base64::engine::general_purpose::STANDARD.encode(user_data));
        }
        if self.root_volume_size > 0 || !self.root_volume_type.is_empty() || self.root_volume_encrypted {
            let mut ebs = EbsBlockDevice::builder();
            if self.root_volume_size > 0 {
                ebs = ebs.volume_size(i32::try_from(self.root_volume_size).unwrap_or(i32::MAX));
            }
            if !self.root_volume_type.is_empty() {
                ebs = ebs.volume_type(VolumeType::from(self.root_volume_type.as_str()));
            }
            if self.root_volume_encrypted {
                ebs = ebs.encrypted(true);
            }
            let device = self.root_device(clients).await?;
            req = req.block_device_mappings(BlockDeviceMapping::builder().device_name(device).ebs(ebs.build()).build());
        }
        if !self.tenancy.is_empty() || !self.host_id.is_empty() {
            let mut placement = Placement::builder();
            if !self.tenancy.is_empty() {
                placement = placement.tenancy(Tenancy::from(self.tenancy.as_str()));
            }
            if !self.host_id.is_empty() {
                placement = placement.tenancy(Tenancy::Host).host_id(&self.host_id);
            }
            req = req.placement(placement.build());
        }
        let out = req.send().await.map_err(|e| Error::aws(&id, "ec2:RunInstances", e))?;
        let ids: Vec<String> = out.instances().iter().filter_map(|i| i.instance_id().map(str::to_owned)).collect();
        if !self.iam_instance_profile_name.is_empty() && ids.len() > 1 {
            // moto associates the profile with the first instance of a RunInstances call only;
            // AWS with all of them. One read finds nothing to do on AWS.
            self.sync_profile(clients, &ids).await?;
        }
        if !self.start_on_deploy {
            clients.ec2.stop_instances().set_instance_ids(Some(ids)).send().await.map_err(|e| Error::aws(&id, "ec2:StopInstances", e))?;
        }
        Ok(())
    }

    /// Give every instance the declared profile (or none).
    async fn sync_profile(&self, clients: &Clients, ids: &[String]) -> Result<()> {
        let id = self.id();
        let out = clients
            .ec2
            .describe_iam_instance_profile_associations()
            .filters(fleet::filter("instance-id", ids.iter().cloned()))
            .filters(fleet::filter("state", ["associated"]))
            .send()
            .await
            .map_err(|e| Error::aws(&id, "ec2:DescribeIamInstanceProfileAssociations", e))?;
        let spec = || IamInstanceProfileSpecification::builder().name(&self.iam_instance_profile_name).build();
        for instance in ids {
            let assoc = out.iam_instance_profile_associations().iter().find(|a| a.instance_id() == Some(instance.as_str()));
            let current = assoc.and_then(|a| a.iam_instance_profile()).and_then(|p| p.arn()).and_then(|a| a.rsplit('/').next());
            let assoc_id = assoc.and_then(|a| a.association_id()).map(str::to_owned);
            let want = &self.iam_instance_profile_name;
            match (want.is_empty(), assoc_id) {
                (false, _) if current == Some(want.as_str()) => {}
                (false, Some(aid)) => {
                    clients
                        .ec2
                        .replace_iam_instance_profile_association()
                        .association_id(aid)
                        .iam_instance_profile(spec())
                        .send()
                        .await
                        .map_err(|e| Error::aws(&id, "ec2:ReplaceIamInstanceProfileAssociation", e))?;
                }
                (false, None) => {
                    clients
                        .ec2
                        .associate_iam_instance_profile()
                        .instance_id(instance)
                        .iam_instance_profile(spec())
                        .send()
                        .await
                        .map_err(|e| Error::aws(&id, "ec2:AssociateIamInstanceProfile", e))?;
                }
                (true, Some(aid)) => {
                    clients
                        .ec2
                        .disassociate_iam_instance_profile()
                        .association_id(aid)
                        .send()
                        .await
                        .map_err(|e| Error::aws(&id, "ec2:DisassociateIamInstanceProfile", e))?;
                }
                (true, None) => {}
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Resource for Ec2InstanceSpec {
    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::EC2Instance, &self.name)
    }

    fn references(&self) -> Vec<ResourceId> {
        Vec::new()
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.image_id.is_empty() || self.instance_type.is_empty() {
            return Err("image_id and instance_type must be set".into());
        }
        if self.quantity < 1 {
            return Err("quantity must be at least 1".into());
        }
        if !self.tenancy.is_empty() {
            fleet::check_one_of("tenancy", &self.tenancy, &["default", "dedicated", "host"])?;
        }
        if fleet::is_mac(&self.instance_type) && self.tenancy != "host" && self.host_id.is_empty() {
            return Err(format!(
                "tenancy must be \"host\" for mac instance type {}: macOS instances only run on dedicated hosts (it is {:?})",
                self.instance_type, self.tenancy
            ));
        }
        if !self.host_resource_group_name.is_empty() {
            return Err(
                "host_resource_group_name is not supported; use a DedicatedHost pool with auto_placement \"on\" and tenancy \"host\""
                    .into(),
            );
        }
        Ok(())
    }

    fn desired(&self, _cx: &Context) -> Properties {
        let mut p = Properties::new();
        p.insert("Quantity".into(), json!(self.quantity));
        p.insert("Tags".into(), fleet::tags_value(&self.instance_tags()));
        p.insert("ImageId".into(), json!(self.image_id));
        p.insert("InstanceType".into(), json!(self.instance_type));
        if !self.subnet_id.is_empty() {
            p.insert("SubnetId".into(), json!(self.subnet_id));
        }
        if !self.key_name.is_empty() {
            p.insert("KeyName".into(), json!(self.key_name));
        }
        let profile = (!self.iam_instance_profile_name.is_empty()).then(|| self.iam_instance_profile_name.clone());
        p.insert("IamInstanceProfile".into(), json!(profile));
        if self.start_on_deploy {
            p.insert("StoppedInstances".into(), json!(0));
        }
        p
    }

    async fn observe(&self, clients: &Clients, cx: &Context) -> Result<Option<Properties>> {
        fleet::check_region(&self.id(), &self.region, cx)?;
        let instances = self.owned_instances(clients).await?;
        if instances.is_empty() {
            return Ok(None);
        }
        let wanted = self.instance_tags();
        let mut p = Properties::new();
        p.insert("Quantity".into(), json!(instances.len()));
        let tags = instances.iter().map(|i| &i.tags).find(|t| **t != wanted).unwrap_or(&instances[0].tags);
        p.insert("Tags".into(), fleet::tags_value(tags));
        for (n, field) in IMMUTABLE.iter().enumerate() {
            let want = self.desired(cx).get(*field).cloned();
            // The value that differs, if any instance has one; otherwise the common one.
            let values: Vec<Option<String>> = instances.iter().map(|i| i.fields[n].1.clone()).collect();
            let shown = values.iter().find(|v| v.as_ref().map(|s| json!(s)) != want).unwrap_or(&values[0]);
            p.insert((*field).into(), json!(shown));
        }
        let want_profile = (!self.iam_instance_profile_name.is_empty()).then(|| self.iam_instance_profile_name.clone());
        let profile = instances.iter().map(|i| &i.profile).find(|p| **p != want_profile).unwrap_or(&want_profile);
        p.insert("IamInstanceProfile".into(), json!(profile));
        p.insert("StoppedInstances".into(), json!(instances.iter().filter(|i| i.state == "stopped").count()));
        p.insert("InstanceIds".into(), json!(instances.iter().map(|i| &i.id).collect::<Vec<_>>()));
        p.insert("StoppedIds".into(), json!(instances.iter().filter(|i| i.state == "stopped").map(|i| &i.id).collect::<Vec<_>>()));
        Ok(Some(p))
    }

    async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
        let id = self.id();
        let Change::Update { fields } = input.change else {
            if matches!(input.change, Change::Create) {
                self.launch(clients, self.quantity).await?;
            }
            return Ok(());
        };
        if let Some(f) = fields.iter().find(|f| IMMUTABLE.contains(&f.field.as_str())) {
            return Err(Error::resource(
                &id,
                format!(
                    "{} of the running instances is {} but {} is declared; instances are not replaced in place: run `pulse infra shutdown --only EC2Instance`, then deploy",
                    f.field,
                    crate::model::show(f.from.as_ref()),
                    crate::model::show(Some(&f.to))
                ),
            ));
        }
        let observed = input.observed.cloned().unwrap_or_default();
        let list =
            |key: &str| -> Vec<String> { serde_json::from_value(observed.get(key).cloned().unwrap_or(json!([]))).unwrap_or_default() };
        let mut ids = list("InstanceIds");
        let want = usize::try_from(self.quantity).unwrap_or(usize::MAX);
        if ids.len() > want {
            let surplus = ids.split_off(want);
            self.terminate(clients, &surplus).await?;
        }
        if let Some(f) = fields.iter().find(|f| f.field == "Tags") {
            let have: Tags = f.from.clone().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
            sync_tags(clients, &id, &ids, &self.instance_tags(), &have).await?;
        }
        if input.change.touches("StoppedInstances") {
            let stopped: Vec<String> = list("StoppedIds").into_iter().filter(|s| ids.contains(s)).collect();
            if !stopped.is_empty() {
                clients
                    .ec2
                    .start_instances()
                    .set_instance_ids(Some(stopped))
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "ec2:StartInstances", e))?;
            }
        }
        if input.change.touches("IamInstanceProfile") {
            self.sync_profile(clients, &ids).await?;
        }
        if ids.len() < want {
            self.launch(clients, u32::try_from(want - ids.len()).unwrap_or(0)).await?;
        }
        Ok(())
    }
}

/// The instance types whose value differs are reported as such by the plan (see `IMMUTABLE`).
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn spec(v: Value) -> Ec2InstanceSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn praktika_defaults_and_tags() {
        let mut s = spec(json!({"name": "runner", "image_id": "ami-1", "instance_type": "c6a.large", "runner_labels": ["a", "b"]}));
        s.stack = "p1".into();
        assert_eq!((s.quantity, s.start_on_deploy, s.root_volume_size, s.root_volume_encrypted), (1, true, 0, false));
        let tags = s.instance_tags();
        assert_eq!(tags["Name"], "runner");
        assert_eq!(tags["praktika_rn"], "runner");
        assert_eq!(tags["github:runner-type"], "a,b");
        assert_eq!(tags["pulse:stack"], "p1");
        assert_eq!(tags["pulse:kind"], "EC2Instance");
        assert!(s.validate().is_ok());
    }

    #[test]
    fn mac_instances_need_host_tenancy() {
        let s = spec(json!({"name": "m", "image_id": "ami-1", "instance_type": "mac2.metal"}));
        let err = s.validate().unwrap_err();
        assert!(err.contains("tenancy must be \"host\"") && err.contains("mac2.metal"), "{err}");
        let s = spec(json!({"name": "m", "image_id": "ami-1", "instance_type": "mac2.metal", "tenancy": "host"}));
        assert!(s.validate().is_ok());
        let s = spec(json!({"name": "m", "image_id": "ami-1", "instance_type": "t3.micro", "tenancy": "shared"}));
        assert!(s.validate().unwrap_err().contains("tenancy"));
        let s = spec(json!({"name": "m", "instance_type": "t3.micro"}));
        assert!(s.validate().unwrap_err().contains("image_id and instance_type"));
        let s = spec(json!({"name": "m", "image_id": "ami-1", "instance_type": "t3.micro", "host_resource_group_name": "g"}));
        assert!(s.validate().unwrap_err().contains("host_resource_group_name is not supported"));
    }
}
