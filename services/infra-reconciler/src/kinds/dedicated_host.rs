//! `DedicatedHost`: a pool of EC2 Dedicated Hosts, `quantity_per_az` in each availability zone
//! (praktika's `DedicatedHost.Config`). macOS instances only run on such hosts.
//!
//! The pool is found by its ownership tags, never by name alone. Hosts of the pool of another
//! instance type or in an undeclared zone are released; missing ones are allocated; surplus ones
//! are released (AWS refuses to release a host with running instances, and says so).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{AllocationState, AutoPlacement as SdkAutoPlacement, Host, ResourceType};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::fleet::{self, Tags};
use super::{ApplyInput, Resource};
use crate::clients::{Clients, Context};
use crate::error::{Error, Result};
use crate::model::{self, Change, Kind, Properties, ResourceId};

/// Host states that still hold capacity (praktika counts the same ones), plus `pending`.
const LIVE_STATES: [&str; 4] = ["available", "under-assessment", "permanent-failure", "pending"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedicatedHostSpec {
    /// The pool's name (tags `praktika_rn` and `pulse:resource`).
    pub name: String,
    /// Must be the deploy's region when set.
    #[serde(default)]
    pub region: String,
    /// Tagged as `praktika_resource_tag` when set.
    #[serde(default)]
    pub praktika_resource_tag: String,
    /// Allocate in every available zone of the region (when `availability_zones` is empty).
    #[serde(default)]
    pub all_availability_zones: bool,
    #[serde(default)]
    pub availability_zones: Vec<String>,
    /// Required, e.g. `mac2-m2.metal`.
    #[serde(default)]
    pub instance_type: String,
    /// `on` lets EC2 place `tenancy: host` instances on the pool without naming a host; required
    /// for mac types. praktika's default is `off`.
    #[serde(default)]
    pub auto_placement: AutoPlacement,
    #[serde(default = "one")]
    pub quantity_per_az: u32,
    #[serde(default)]
    pub tags: Tags,
    /// Accepted for praktika compatibility; like praktika's deploy, no Resource Group is made.
    #[serde(default)]
    pub host_resource_group_name: String,
    /// The stack prefix (filled in by the loader; goes into the ownership tags).
    #[serde(skip)]
    pub stack: String,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoPlacement {
    On,
    #[default]
    Off,
}

impl AutoPlacement {
    pub fn as_str(self) -> &'static str {
        match self {
            AutoPlacement::On => "on",
            AutoPlacement::Off => "off",
        }
    }
}

/// An owned host as observe saw it.
#[derive(Debug, Clone)]
struct OwnedHost {
    id: String,
    zone: String,
    instance_type: String,
    auto_placement: String,
    tags: Tags,
}

impl DedicatedHostSpec {
    pub fn host_tags(&self) -> Tags {
        let mut tags = fleet::praktika_tags(&self.name, &self.praktika_resource_tag, "", &self.tags);
        tags.extend(fleet::ownership(&self.stack, Kind::DedicatedHost, &self.name, true));
        tags
    }

    /// The zones to hold hosts in: the declared ones, or every available zone of the region.
    async fn zones(&self, clients: &Clients) -> Result<Vec<String>> {
        if !self.availability_zones.is_empty() {
            return Ok(self.availability_zones.clone());
        }
        let out = clients
            .ec2
            .describe_availability_zones()
            .filters(fleet::filter("state", ["available"]))
            .send()
            .await
            .map_err(|e| Error::aws(&self.id(), "ec2:DescribeAvailabilityZones", e))?;
        let mut zones: Vec<String> = out.availability_zones().iter().filter_map(|z| z.zone_name().map(str::to_owned)).collect();
        zones.sort();
        Ok(zones)
    }

    /// Every live host carrying this pool's ownership tags. (moto's DescribeHosts ignores
    /// `tag:<key>` filters, so the tag values are checked here; `tag-key` narrows it on AWS.)
    async fn owned_hosts(&self, clients: &Clients) -> Result<Vec<OwnedHost>> {
        let mut hosts = Vec::new();
        let mut token = None;
        loop {
            let out = clients
                .ec2
                .describe_hosts()
                .filter(fleet::filter("tag-key", [fleet::STACK_TAG]))
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| Error::aws(&self.id(), "ec2:DescribeHosts", e))?;
            hosts.extend(out.hosts().iter().filter_map(|h| self.owned(h)));
            token = out.next_token().filter(|t| !t.is_empty()).map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        hosts.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(hosts)
    }

    fn owned(&self, host: &Host) -> Option<OwnedHost> {
        let tags = fleet::from_ec2_tags(host.tags());
        let state = host.state().map(AllocationState::as_str).unwrap_or_default();
        (fleet::is_owned(&tags, &self.stack, Kind::DedicatedHost, &self.name, true) && LIVE_STATES.contains(&state)).then(|| OwnedHost {
            id: host.host_id().unwrap_or_default().to_owned(),
            zone: host.availability_zone().unwrap_or_default().to_owned(),
            instance_type: host.host_properties().and_then(|p| p.instance_type()).unwrap_or_default().to_owned(),
            auto_placement: host.auto_placement().map_or("off", SdkAutoPlacement::as_str).to_owned(),
            tags: fleet::user_visible(tags),
        })
    }

    /// The host ids this pool would release on shutdown (read calls only).
    pub async fn shutdown_targets(&self, clients: &Clients) -> Result<Vec<String>> {
        Ok(self.owned_hosts(clients).await?.into_iter().map(|h| h.id).collect())
    }

    pub async fn release(&self, clients: &Clients, host_ids: &[String]) -> Result<()> {
        if host_ids.is_empty() {
            return Ok(());
        }
        let out = clients
            .ec2
            .release_hosts()
            .set_host_ids(Some(host_ids.to_vec()))
            .send()
            .await
            .map_err(|e| Error::aws(&self.id(), "ec2:ReleaseHosts", e))?;
        if let Some(failed) = out.unsuccessful().first() {
            let why = failed.error().and_then(|e| e.message()).unwrap_or("no reason given");
            return Err(Error::resource(&self.id(), format!("could not release host {}: {why}", failed.resource_id().unwrap_or("?"))));
        }
        Ok(())
    }

    async fn allocate(&self, clients: &Clients, zone: &str, quantity: i32) -> Result<()> {
        clients
            .ec2
            .allocate_hosts()
            .availability_zone(zone)
            .instance_type(&self.instance_type)
            .quantity(quantity)
            .auto_placement(SdkAutoPlacement::from(self.auto_placement.as_str()))
            .tag_specifications(fleet::tag_spec(ResourceType::DedicatedHost, &self.host_tags()))
            .send()
            .await
            .map_err(|e| Error::aws(&self.id(), "ec2:AllocateHosts", e))?;
        Ok(())
    }

    /// `HostsPerZone` as declared: `quantity_per_az` in each zone (for `all_availability_zones`,
    /// the zones observe found).
    fn wanted_per_zone(&self, zones: &[String]) -> Value {
        let map: BTreeMap<&str, u32> = zones.iter().map(|z| (z.as_str(), self.quantity_per_az)).collect();
        json!(map)
    }
}

#[async_trait]
impl Resource for DedicatedHostSpec {
    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::DedicatedHost, &self.name)
    }

    fn references(&self) -> Vec<ResourceId> {
        Vec::new()
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.instance_type.is_empty() {
            return Err("instance_type must be set (e.g. mac2-m2.metal)".into());
        }
        if self.quantity_per_az < 1 {
            return Err("quantity_per_az must be at least 1".into());
        }
        if self.availability_zones.is_empty() && !self.all_availability_zones {
            return Err("availability_zones must be set, or all_availability_zones: true".into());
        }
        if fleet::is_mac(&self.instance_type) && self.auto_placement != AutoPlacement::On {
            return Err(format!(
                "auto_placement must be \"on\" for mac instance type {}: instances with tenancy \"host\" are only placed on hosts with auto placement on (it is {:?})",
                self.instance_type,
                self.auto_placement.as_str()
            ));
        }
        Ok(())
    }

    fn desired(&self, _cx: &Context) -> Properties {
        let mut p = Properties::new();
        if !self.availability_zones.is_empty() {
            p.insert("HostsPerZone".into(), self.wanted_per_zone(&self.availability_zones));
        }
        p.insert("AutoPlacement".into(), json!(self.auto_placement.as_str()));
        p.insert("Tags".into(), fleet::tags_value(&self.host_tags()));
        p.insert("OtherHosts".into(), json!([]));
        p
    }

    async fn observe(&self, clients: &Clients, cx: &Context) -> Result<Option<Properties>> {
        fleet::check_region(&self.id(), &self.region, cx)?;
        let hosts = self.owned_hosts(clients).await?;
        if hosts.is_empty() {
            return Ok(None);
        }
        let zones = self.zones(clients).await?;
        let (pool, other): (Vec<&OwnedHost>, Vec<&OwnedHost>) =
            hosts.iter().partition(|h| h.instance_type == self.instance_type && zones.contains(&h.zone));
        let mut per_zone: BTreeMap<&str, u32> = zones.iter().map(|z| (z.as_str(), 0)).collect();
        let mut ids: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for h in &pool {
            *per_zone.entry(&h.zone).or_default() += 1;
            ids.entry(&h.zone).or_default().push(&h.id);
        }
        let placements: std::collections::BTreeSet<&str> = pool.iter().map(|h| h.auto_placement.as_str()).collect();
        let placement = match placements.len() {
            0 => Value::Null,
            1 => json!(placements.first()),
            _ => json!("mixed"),
        };
        let wanted = self.host_tags();
        let tags = pool.iter().map(|h| &h.tags).find(|t| **t != wanted).unwrap_or(&wanted);
        let mut p = Properties::new();
        p.insert("HostsPerZone".into(), json!(per_zone));
        p.insert("AutoPlacement".into(), placement);
        p.insert("Tags".into(), fleet::tags_value(if pool.is_empty() { &hosts[0].tags } else { tags }));
        p.insert("OtherHosts".into(), json!(other.iter().map(|h| &h.id).collect::<Vec<_>>()));
        p.insert("HostIds".into(), json!(ids));
        p.insert("Zones".into(), json!(zones));
        Ok(Some(p))
    }

    fn diff(&self, desired: &Properties, observed: Option<&Properties>) -> Change {
        let mut desired = desired.clone();
        if let Some(Value::Array(zones)) = observed.and_then(|o| o.get("Zones")) {
            let zones: Vec<String> = zones.iter().filter_map(|z| z.as_str().map(str::to_owned)).collect();
            desired.entry("HostsPerZone".into()).or_insert_with(|| self.wanted_per_zone(&zones));
        }
        model::diff(&desired, observed)
    }

    async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
        match input.change {
            Change::NoChange => {}
            Change::Create => {
                let quantity = i32::try_from(self.quantity_per_az).unwrap_or(i32::MAX);
                for zone in self.zones(clients).await? {
                    self.allocate(clients, &zone, quantity).await?;
                }
            }
            Change::Update { fields } => {
                let observed = input.observed.cloned().unwrap_or_default();
                let ids_in = |zone: &str| -> Vec<String> {
                    observed["HostIds"]
                        .get(zone)
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                        .unwrap_or_default()
                };
                let mut kept: Vec<String> = Vec::new();
                if let Some(Value::Object(zones)) = observed.get("HostIds") {
                    for zone in zones.keys() {
                        kept.extend(ids_in(zone));
                    }
                }
                for field in fields {
                    match field.field.as_str() {
                        "OtherHosts" => {
                            let stale: Vec<String> = field
                                .from
                                .as_ref()
                                .and_then(Value::as_array)
                                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                                .unwrap_or_default();
                            self.release(clients, &stale).await?;
                        }
                        "HostsPerZone" => {
                            let Value::Object(want) = &field.to else { continue };
                            for (zone, n) in want {
                                let want = n.as_i64().unwrap_or(0);
                                let have = ids_in(zone);
                                let have_n = i64::try_from(have.len()).unwrap_or(0);
                                if want > have_n {
                                    self.allocate(clients, zone, i32::try_from(want - have_n).unwrap_or(0)).await?;
                                } else if want < have_n {
                                    let surplus = have[usize::try_from(want).unwrap_or(0)..].to_vec();
                                    kept.retain(|id| !surplus.contains(id));
                                    self.release(clients, &surplus).await?;
                                }
                            }
                        }
                        _ => {}
                    }
                }
                if input.change.touches("AutoPlacement") && !kept.is_empty() {
                    clients
                        .ec2
                        .modify_hosts()
                        .set_host_ids(Some(kept.clone()))
                        .auto_placement(SdkAutoPlacement::from(self.auto_placement.as_str()))
                        .send()
                        .await
                        .map_err(|e| Error::aws(&self.id(), "ec2:ModifyHosts", e))?;
                }
                if let Some(change) = fields.iter().find(|f| f.field == "Tags")
                    && !kept.is_empty()
                {
                    let wanted = self.host_tags();
                    let have: Tags = change.from.clone().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
                    sync_tags(clients, &self.id(), &kept, &wanted, &have).await?;
                }
            }
        }
        Ok(())
    }
}

/// Put the wanted tags on EC2 resources and delete the keys they should not have.
pub(crate) async fn sync_tags(clients: &Clients, id: &ResourceId, resources: &[String], wanted: &Tags, have: &Tags) -> Result<()> {
    clients
        .ec2
        .create_tags()
        .set_resources(Some(resources.to_vec()))
        .set_tags(Some(fleet::ec2_tags(wanted)))
        .send()
        .await
        .map_err(|e| Error::aws(id, "ec2:CreateTags", e))?;
    let stale = fleet::stale_keys(wanted, have);
    if !stale.is_empty() {
        clients
            .ec2
            .delete_tags()
            .set_resources(Some(resources.to_vec()))
            .set_tags(Some(stale.iter().map(|k| aws_sdk_ec2::types::Tag::builder().key(*k).build()).collect()))
            .send()
            .await
            .map_err(|e| Error::aws(id, "ec2:DeleteTags", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: Value) -> DedicatedHostSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn praktika_defaults() {
        let s = spec(json!({"name": "pool", "instance_type": "c5.metal", "availability_zones": ["us-east-1a"]}));
        assert_eq!(s.auto_placement, AutoPlacement::Off);
        assert_eq!(s.quantity_per_az, 1);
        assert!(!s.all_availability_zones && s.tags.is_empty() && s.region.is_empty());
        assert!(s.validate().is_ok(), "non-mac hosts may keep auto placement off");
    }

    #[test]
    fn mac_hosts_need_auto_placement_and_every_pool_needs_zones_and_a_type() {
        let err =
            spec(json!({"name": "p", "instance_type": "mac2-m2.metal", "availability_zones": ["us-east-1a"]})).validate().unwrap_err();
        assert!(err.contains("auto_placement must be \"on\"") && err.contains("mac2-m2.metal"), "{err}");
        let err = spec(json!({"name": "p", "instance_type": "mac2.metal", "auto_placement": "on"})).validate().unwrap_err();
        assert!(err.contains("availability_zones"), "{err}");
        let err = spec(json!({"name": "p", "availability_zones": ["a"]})).validate().unwrap_err();
        assert!(err.contains("instance_type must be set"), "{err}");
        let err =
            spec(json!({"name": "p", "instance_type": "x", "availability_zones": ["a"], "quantity_per_az": 0})).validate().unwrap_err();
        assert!(err.contains("quantity_per_az"), "{err}");
        assert!(serde_json::from_value::<DedicatedHostSpec>(json!({"name": "p", "auto_placement": "yes"})).is_err());
    }

    #[test]
    fn all_zones_are_wanted_where_observe_found_them() {
        let s = spec(
            json!({"name": "p", "instance_type": "mac2.metal", "auto_placement": "on", "all_availability_zones": true, "quantity_per_az": 2}),
        );
        let cx = Context::new("aws", "us-east-1", "1");
        let desired = s.desired(&cx);
        assert!(!desired.contains_key("HostsPerZone"));
        let mut observed = desired.clone();
        observed.insert("Zones".into(), json!(["us-east-1a", "us-east-1b"]));
        observed.insert("HostsPerZone".into(), json!({"us-east-1a": 2, "us-east-1b": 1}));
        let change = s.diff(&desired, Some(&observed));
        assert_eq!(change.fields().len(), 1);
        assert_eq!(change.fields()[0].to, json!({"us-east-1a": 2, "us-east-1b": 2}));
    }
}
