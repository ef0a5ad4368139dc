//! `AutoScalingGroup`: an EC2 Auto Scaling group on a launch template (praktika's
//! `AutoScalingGroup.Config`), in explicit subnets or in the subnets of a VPC found by id or by
//! its `Name` tag, filtered by availability zone.
//!
//! Its tags (praktika's, the user's and the ownership tags) are propagated to the instances it
//! launches.

use async_trait::async_trait;
use aws_sdk_autoscaling::types::{LaunchTemplateSpecification, Tag as AsgTag};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::fleet::{self, Tags};
use super::{ApplyInput, Resource};
use crate::clients::{Clients, Context};
use crate::error::{Error, Result};
use crate::model::{self, Change, Kind, Properties, ResourceId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoScalingGroupSpec {
    pub name: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub praktika_resource_tag: String,
    /// Tagged as `github:runner-type`.
    #[serde(default)]
    pub runner_type: String,
    /// Explicit subnets; when set, nothing is discovered.
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    /// The VPC whose subnets to use (when `subnet_ids` is empty).
    #[serde(default)]
    pub vpc_id: String,
    /// The VPC's `Name` tag (when `vpc_id` is empty too).
    #[serde(default)]
    pub vpc_name: String,
    /// Only discovered subnets in these zones.
    #[serde(default)]
    pub availability_zones: Vec<String>,
    #[serde(default)]
    pub min_size: u32,
    #[serde(default)]
    pub max_size: u32,
    /// Defaults to `min_size`.
    #[serde(default)]
    pub desired_capacity: Option<u32>,
    /// `EC2` or `ELB`.
    #[serde(default = "ec2")]
    pub health_check_type: String,
    #[serde(default)]
    pub health_check_grace_period_sec: u32,
    #[serde(default)]
    pub launch_template_id: String,
    #[serde(default)]
    pub launch_template_name: String,
    #[serde(default = "latest")]
    pub launch_template_version: String,
    #[serde(default)]
    pub target_group_arns: Vec<String>,
    /// Propagated to launched instances.
    #[serde(default)]
    pub tags: Tags,
    #[serde(skip)]
    pub stack: String,
    /// The instance type of the `LaunchTemplate` this group names, when the stack declares it
    /// (filled in by the loader, for the macOS rules).
    #[serde(skip)]
    pub launch_template_instance_type: Option<String>,
}

fn ec2() -> String {
    "EC2".into()
}

fn latest() -> String {
    "$Latest".into()
}

impl AutoScalingGroupSpec {
    pub fn desired_capacity(&self) -> u32 {
        self.desired_capacity.unwrap_or(self.min_size)
    }

    pub fn group_tags(&self) -> Tags {
        let mut tags = fleet::praktika_tags(&self.name, &self.praktika_resource_tag, &self.runner_type, &self.tags);
        tags.extend(fleet::ownership(&self.stack, Kind::AutoScalingGroup, &self.name, false));
        tags
    }

    fn launch_template(&self) -> Value {
        if self.launch_template_id.is_empty() {
            json!({"LaunchTemplateName": self.launch_template_name, "Version": self.launch_template_version})
        } else {
            json!({"LaunchTemplateId": self.launch_template_id, "Version": self.launch_template_version})
        }
    }

    fn sdk_launch_template(&self) -> LaunchTemplateSpecification {
        let b = LaunchTemplateSpecification::builder().version(&self.launch_template_version);
        if self.launch_template_id.is_empty() {
            b.launch_template_name(&self.launch_template_name).build()
        } else {
            b.launch_template_id(&self.launch_template_id).build()
        }
    }

    fn sorted(list: &[String]) -> Vec<String> {
        let mut v = list.to_vec();
        v.sort();
        v.dedup();
        v
    }

    /// The subnets: explicit, or those of the VPC (by id or `Name` tag) in the declared zones
    /// (read calls only; praktika's `_resolve_subnet_ids`).
    pub async fn resolve_subnets(&self, clients: &Clients) -> Result<Vec<String>> {
        let id = self.id();
        if !self.subnet_ids.is_empty() {
            return Ok(Self::sorted(&self.subnet_ids));
        }
        let vpc_id = if self.vpc_id.is_empty() {
            let out = clients
                .ec2
                .describe_vpcs()
                .filters(fleet::filter("tag:Name", [self.vpc_name.as_str()]))
                .send()
                .await
                .map_err(|e| Error::aws(&id, "ec2:DescribeVpcs", e))?;
            match out.vpcs() {
                [vpc] => vpc.vpc_id().unwrap_or_default().to_owned(),
                [] => return Err(Error::resource(&id, format!("vpc_name {}: no VPC has this Name tag", self.vpc_name))),
                more => {
                    return Err(Error::resource(
                        &id,
                        format!("vpc_name {}: {} VPCs have this Name tag; set vpc_id", self.vpc_name, more.len()),
                    ));
                }
            }
        } else {
            self.vpc_id.clone()
        };
        let mut request = clients.ec2.describe_subnets().filters(fleet::filter("vpc-id", [vpc_id.as_str()]));
        if !self.availability_zones.is_empty() {
            request = request.filters(fleet::filter("availability-zone", self.availability_zones.iter().cloned()));
        }
        let out = request.send().await.map_err(|e| Error::aws(&id, "ec2:DescribeSubnets", e))?;
        let subnets: Vec<String> = out.subnets().iter().filter_map(|s| s.subnet_id().map(str::to_owned)).collect();
        if subnets.is_empty() {
            let zones = if self.availability_zones.is_empty() { "any".to_owned() } else { self.availability_zones.join(", ") };
            return Err(Error::resource(&id, format!("no subnets in VPC {vpc_id} (zones: {zones})")));
        }
        Ok(Self::sorted(&subnets))
    }

    fn asg_tags(&self, tags: &Tags) -> Result<Vec<AsgTag>> {
        Ok(tags
            .iter()
            .map(|(k, v)| {
                AsgTag::builder()
                    .key(k)
                    .value(v)
                    .resource_id(&self.name)
                    .resource_type("auto-scaling-group")
                    .propagate_at_launch(true)
                    .build()
            })
            .collect())
    }

    async fn subnets_for_apply(&self, clients: &Clients, input: &ApplyInput<'_>) -> Result<Vec<String>> {
        match input.observed.and_then(|o| o.get("ResolvedSubnets")) {
            Some(v) => Ok(serde_json::from_value(v.clone()).unwrap_or_default()),
            None => self.resolve_subnets(clients).await,
        }
    }
}

#[async_trait]
impl Resource for AutoScalingGroupSpec {
    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::AutoScalingGroup, &self.name)
    }

    fn references(&self) -> Vec<ResourceId> {
        Vec::new()
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.launch_template_id.is_empty() && self.launch_template_name.is_empty() {
            return Err("launch_template_id or launch_template_name must be set".into());
        }
        if self.subnet_ids.is_empty() && self.vpc_id.is_empty() && self.vpc_name.is_empty() {
            return Err(
                "no networking: set subnet_ids, or vpc_id / vpc_name (with optional availability_zones) for subnet discovery".into()
            );
        }
        fleet::check_one_of("health_check_type", &self.health_check_type, &["EC2", "ELB"])?;
        let desired = self.desired_capacity();
        if self.min_size > self.max_size {
            return Err(format!("min_size {} is greater than max_size {}", self.min_size, self.max_size));
        }
        if desired > self.max_size {
            return Err(format!("desired_capacity {desired} is greater than max_size {}", self.max_size));
        }
        if desired < self.min_size {
            return Err(format!("desired_capacity {desired} is less than min_size {}", self.min_size));
        }
        if let Some(t) = self.launch_template_instance_type.as_deref().filter(|t| fleet::is_mac(t))
            && self.min_size != 0
        {
            return Err(format!(
                "min_size must be 0 for a group of mac instances (launch template {} has {t}): mac hosts are scarce, start at 0 (it is {})",
                self.launch_template_name, self.min_size
            ));
        }
        Ok(())
    }

    fn desired(&self, _cx: &Context) -> Properties {
        let mut p = Properties::new();
        p.insert("MinSize".into(), json!(self.min_size));
        p.insert("MaxSize".into(), json!(self.max_size));
        p.insert("DesiredCapacity".into(), json!(self.desired_capacity()));
        p.insert("HealthCheckType".into(), json!(self.health_check_type));
        p.insert("HealthCheckGracePeriod".into(), json!(self.health_check_grace_period_sec));
        p.insert("LaunchTemplate".into(), self.launch_template());
        if !self.subnet_ids.is_empty() {
            p.insert("Subnets".into(), json!(Self::sorted(&self.subnet_ids)));
        }
        p.insert("TargetGroupARNs".into(), json!(Self::sorted(&self.target_group_arns)));
        p.insert("Tags".into(), fleet::tags_value(&self.group_tags()));
        p
    }

    async fn observe(&self, clients: &Clients, cx: &Context) -> Result<Option<Properties>> {
        let id = self.id();
        fleet::check_region(&id, &self.region, cx)?;
        let out = clients
            .autoscaling
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(&self.name)
            .send()
            .await
            .map_err(|e| Error::aws(&id, "autoscaling:DescribeAutoScalingGroups", e))?;
        let Some(g) = out.auto_scaling_groups().first() else {
            return Ok(None);
        };
        let all_tags: Tags =
            g.tags().iter().filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned()))).collect();
        if !fleet::is_owned(&all_tags, &self.stack, Kind::AutoScalingGroup, &self.name, false) {
            return Err(fleet::not_owned(&id, &self.stack, &all_tags));
        }
        let propagated: Tags = g
            .tags()
            .iter()
            .filter(|t| t.propagate_at_launch() == Some(true))
            .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
            .collect();
        let mut p = Properties::new();
        p.insert("MinSize".into(), json!(g.min_size()));
        p.insert("MaxSize".into(), json!(g.max_size()));
        p.insert("DesiredCapacity".into(), json!(g.desired_capacity()));
        p.insert("HealthCheckType".into(), json!(g.health_check_type()));
        p.insert("HealthCheckGracePeriod".into(), json!(g.health_check_grace_period()));
        let lt = g.launch_template();
        let lt_value = if self.launch_template_id.is_empty() {
            json!({"LaunchTemplateName": lt.and_then(|l| l.launch_template_name()), "Version": lt.and_then(|l| l.version())})
        } else {
            json!({"LaunchTemplateId": lt.and_then(|l| l.launch_template_id()), "Version": lt.and_then(|l| l.version())})
        };
        p.insert("LaunchTemplate".into(), lt_value);
        let subnets: Vec<String> =
            g.vpc_zone_identifier().unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        p.insert("Subnets".into(), json!(Self::sorted(&subnets)));
        p.insert("TargetGroupARNs".into(), json!(Self::sorted(g.target_group_arns())));
        p.insert("Tags".into(), fleet::tags_value(&propagated));
        if self.subnet_ids.is_empty() {
            p.insert("ResolvedSubnets".into(), json!(self.resolve_subnets(clients).await?));
        }
        Ok(Some(p))
    }

    fn diff(&self, desired: &Properties, observed: Option<&Properties>) -> Change {
        let mut desired = desired.clone();
        if let Some(resolved) = observed.and_then(|o| o.get("ResolvedSubnets")) {
            desired.insert("Subnets".into(), resolved.clone());
        }
        model::diff(&desired, observed)
    }

    async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
        let id = self.id();
        let grace = i32::try_from(self.health_check_grace_period_sec).unwrap_or(i32::MAX);
        let int = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        match input.change {
            Change::NoChange => {}
            Change::Create => {
                let subnets = self.subnets_for_apply(clients, &input).await?;
                clients
                    .autoscaling
                    .create_auto_scaling_group()
                    .auto_scaling_group_name(&self.name)
                    .min_size(int(self.min_size))
                    .max_size(int(self.max_size))
                    .desired_capacity(int(self.desired_capacity()))
                    .vpc_zone_identifier(subnets.join(","))
                    .health_check_type(&self.health_check_type)
                    .health_check_grace_period(grace)
                    .launch_template(self.sdk_launch_template())
                    .set_target_group_arns((!self.target_group_arns.is_empty()).then(|| self.target_group_arns.clone()))
                    .set_tags(Some(self.asg_tags(&self.group_tags())?))
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "autoscaling:CreateAutoScalingGroup", e))?;
                if grace == 0 {
                    // moto stores 300 when CreateAutoScalingGroup says 0 (AWS keeps 0); its
                    // UpdateAutoScalingGroup honours 0. On AWS this read finds nothing to fix.
                    let out = clients
                        .autoscaling
                        .describe_auto_scaling_groups()
                        .auto_scaling_group_names(&self.name)
                        .send()
                        .await
                        .map_err(|e| Error::aws(&id, "autoscaling:DescribeAutoScalingGroups", e))?;
                    if out.auto_scaling_groups().first().and_then(|g| g.health_check_grace_period()).unwrap_or(0) != 0 {
                        clients
                            .autoscaling
                            .update_auto_scaling_group()
                            .auto_scaling_group_name(&self.name)
                            .health_check_grace_period(0)
                            .send()
                            .await
                            .map_err(|e| Error::aws(&id, "autoscaling:UpdateAutoScalingGroup", e))?;
                    }
                }
            }
            Change::Update { fields } => {
                const GROUP_FIELDS: [&str; 7] =
                    ["MinSize", "MaxSize", "DesiredCapacity", "HealthCheckType", "HealthCheckGracePeriod", "LaunchTemplate", "Subnets"];
                if fields.iter().any(|f| GROUP_FIELDS.contains(&f.field.as_str())) {
                    let mut req = clients.autoscaling.update_auto_scaling_group().auto_scaling_group_name(&self.name);
                    for f in fields {
                        req = match f.field.as_str() {
                            "MinSize" => req.min_size(int(self.min_size)),
                            "MaxSize" => req.max_size(int(self.max_size)),
                            "DesiredCapacity" => req.desired_capacity(int(self.desired_capacity())),
                            "HealthCheckType" => req.health_check_type(&self.health_check_type),
                            "HealthCheckGracePeriod" => req.health_check_grace_period(grace),
                            "LaunchTemplate" => req.launch_template(self.sdk_launch_template()),
                            "Subnets" => req.vpc_zone_identifier(self.subnets_for_apply(clients, &input).await?.join(",")),
                            _ => req,
                        };
                    }
                    req.send().await.map_err(|e| Error::aws(&id, "autoscaling:UpdateAutoScalingGroup", e))?;
                }
                if let Some(f) = fields.iter().find(|f| f.field == "TargetGroupARNs") {
                    let have: Vec<String> = f.from.clone().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
                    let want = Self::sorted(&self.target_group_arns);
                    let detach: Vec<String> = have.iter().filter(|a| !want.contains(a)).cloned().collect();
                    let attach: Vec<String> = want.iter().filter(|a| !have.contains(a)).cloned().collect();
                    if !detach.is_empty() {
                        clients
                            .autoscaling
                            .detach_load_balancer_target_groups()
                            .auto_scaling_group_name(&self.name)
                            .set_target_group_arns(Some(detach))
                            .send()
                            .await
                            .map_err(|e| Error::aws(&id, "autoscaling:DetachLoadBalancerTargetGroups", e))?;
                    }
                    if !attach.is_empty() {
                        clients
                            .autoscaling
                            .attach_load_balancer_target_groups()
                            .auto_scaling_group_name(&self.name)
                            .set_target_group_arns(Some(attach))
                            .send()
                            .await
                            .map_err(|e| Error::aws(&id, "autoscaling:AttachLoadBalancerTargetGroups", e))?;
                    }
                }
                if let Some(f) = fields.iter().find(|f| f.field == "Tags") {
                    let have: Tags = f.from.clone().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
                    let want = self.group_tags();
                    let changed: Tags = want.iter().filter(|(k, v)| have.get(*k) != Some(v)).map(|(k, v)| (k.clone(), v.clone())).collect();
                    if !changed.is_empty() {
                        clients
                            .autoscaling
                            .create_or_update_tags()
                            .set_tags(Some(self.asg_tags(&changed)?))
                            .send()
                            .await
                            .map_err(|e| Error::aws(&id, "autoscaling:CreateOrUpdateTags", e))?;
                    }
                    let stale: Tags = fleet::stale_keys(&want, &have).into_iter().map(|k| (k.to_owned(), have[k].clone())).collect();
                    if !stale.is_empty() {
                        clients
                            .autoscaling
                            .delete_tags()
                            .set_tags(Some(self.asg_tags(&stale)?))
                            .send()
                            .await
                            .map_err(|e| Error::aws(&id, "autoscaling:DeleteTags", e))?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: Value) -> AutoScalingGroupSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn praktika_defaults() {
        let s = spec(json!({"name": "g", "launch_template_name": "lt", "vpc_name": "ci"}));
        assert_eq!((s.min_size, s.max_size, s.desired_capacity()), (0, 0, 0));
        assert_eq!((s.health_check_type.as_str(), s.health_check_grace_period_sec), ("EC2", 0));
        assert_eq!(s.launch_template_version, "$Latest");
        assert_eq!(s.launch_template(), json!({"LaunchTemplateName": "lt", "Version": "$Latest"}));
        let s = spec(json!({"name": "g", "launch_template_id": "lt-1", "subnet_ids": ["b", "a"], "min_size": 2, "max_size": 3}));
        assert_eq!(s.desired_capacity(), 2, "desired defaults to min");
        assert_eq!(s.desired(&Context::new("aws", "r", "1"))["Subnets"], json!(["a", "b"]));
        assert!(s.validate().is_ok());
    }

    #[test]
    fn validation_names_the_field() {
        let err = spec(json!({"name": "g", "launch_template_name": "lt"})).validate().unwrap_err();
        assert!(err.starts_with("no networking"), "{err}");
        let err = spec(json!({"name": "g", "vpc_id": "v"})).validate().unwrap_err();
        assert!(err.contains("launch_template_id or launch_template_name"), "{err}");
        let err = spec(json!({"name": "g", "launch_template_name": "lt", "vpc_id": "v", "max_size": 1, "desired_capacity": 2}))
            .validate()
            .unwrap_err();
        assert_eq!(err, "desired_capacity 2 is greater than max_size 1");
        let err =
            spec(json!({"name": "g", "launch_template_name": "lt", "vpc_id": "v", "health_check_type": "HTTP"})).validate().unwrap_err();
        assert!(err.contains("health_check_type"), "{err}");
        let mut mac = spec(json!({"name": "g", "launch_template_name": "lt", "vpc_id": "v", "min_size": 1, "max_size": 2}));
        assert!(mac.validate().is_ok());
        mac.launch_template_instance_type = Some("mac2-m2.metal".into());
        let err = mac.validate().unwrap_err();
        assert!(err.contains("min_size must be 0") && err.contains("mac2-m2.metal"), "{err}");
    }

    #[test]
    fn discovered_subnets_are_compared_once_observe_resolved_them() {
        let s = spec(json!({"name": "g", "launch_template_name": "lt", "vpc_name": "ci"}));
        let desired = s.desired(&Context::new("aws", "r", "1"));
        let mut observed = desired.clone();
        observed.insert("Subnets".into(), json!(["subnet-1"]));
        observed.insert("ResolvedSubnets".into(), json!(["subnet-1", "subnet-2"]));
        let change = s.diff(&desired, Some(&observed));
        assert_eq!(change.fields().len(), 1);
        assert_eq!(change.fields()[0].field, "Subnets");
    }
}
