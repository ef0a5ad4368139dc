//! What praktika looks up by name at deploy time:
//! - `vpc_name` / `security_group_names`: the VPC named by its `Name` tag, its first subnet
//!   (when no `subnet_id` is given) and the ids of the named security groups in it;
//! - `launch_templates`: the ids of the named launch templates, which the distribution updates
//!   with each new AMI. A template that does not exist yet is left out (praktika skips it too),
//!   so the deploy after the template's first one adds it.
//!
//! Lookups are reads, so they happen in observe; the ids found travel in the observed
//! properties (`_Resolved*`, never compared themselves) and are laid into the declared
//! configurations before the diff and before apply.

use aws_sdk_ec2::types::Filter;
use serde_json::{Value, json};

use super::{DIST, INFRA, ImageBuilderSpec};
use crate::clients::Clients;
use crate::error::{Error, Result};
use crate::model::{Properties, ResourceId};

pub(super) const RESOLVED_SUBNET: &str = "_ResolvedSubnetId";
pub(super) const RESOLVED_GROUPS: &str = "_ResolvedSecurityGroupIds";
pub(super) const RESOLVED_TEMPLATES: &str = "_ResolvedLaunchTemplateIds";
const LOOKUPS: [&str; 3] = [RESOLVED_SUBNET, RESOLVED_GROUPS, RESOLVED_TEMPLATES];

fn filter(name: &str, values: &[String]) -> Filter {
    Filter::builder().name(name).set_values(Some(values.to_vec())).build()
}

/// Every lookup the spec asks for, into `props`.
pub(super) async fn resolve(spec: &ImageBuilderSpec, clients: &Clients, id: &ResourceId, props: &mut Properties) -> Result<()> {
    resolve_vpc(spec, clients, id, props).await?;
    resolve_launch_templates(spec, clients, id, props).await
}

/// The ids of the declared launch templates that exist, in declaration order.
async fn resolve_launch_templates(spec: &ImageBuilderSpec, clients: &Clients, id: &ResourceId, props: &mut Properties) -> Result<()> {
    if spec.launch_templates.is_empty() {
        return Ok(());
    }
    // A filter, not `LaunchTemplateNames`: a missing name is then no error, just absent.
    let out = clients
        .ec2
        .describe_launch_templates()
        .filters(filter("launch-template-name", &spec.launch_templates))
        .send()
        .await
        .map_err(|e| Error::aws(id, "ec2:DescribeLaunchTemplates", e))?;
    let found = out.launch_templates();
    let ids: Vec<&str> = spec
        .launch_templates
        .iter()
        .filter_map(|name| found.iter().find(|t| t.launch_template_name() == Some(name.as_str()))?.launch_template_id())
        .collect();
    if !ids.is_empty() {
        props.insert(RESOLVED_TEMPLATES.into(), json!(ids));
    }
    Ok(())
}

/// Look the VPC up and add what it resolves to `props`. Nothing to do without `vpc_name`.
async fn resolve_vpc(spec: &ImageBuilderSpec, clients: &Clients, id: &ResourceId, props: &mut Properties) -> Result<()> {
    let Some(vpc_name) = spec.vpc_name.as_deref().filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    let vpcs = clients
        .ec2
        .describe_vpcs()
        .filters(filter("tag:Name", &[vpc_name.to_owned()]))
        .send()
        .await
        .map_err(|e| Error::aws(id, "ec2:DescribeVpcs", e))?;
    let vpc_id = match vpcs.vpcs() {
        [vpc] => vpc.vpc_id().unwrap_or_default().to_owned(),
        [] => return Err(Error::resource(id, format!("vpc_name {vpc_name:?}: no VPC has that Name tag"))),
        many => return Err(Error::resource(id, format!("vpc_name {vpc_name:?}: {} VPCs have that Name tag", many.len()))),
    };
    if spec.subnet_id.is_none() {
        let subnets = clients
            .ec2
            .describe_subnets()
            .filters(filter("vpc-id", std::slice::from_ref(&vpc_id)))
            .send()
            .await
            .map_err(|e| Error::aws(id, "ec2:DescribeSubnets", e))?;
        // The first by id, so every plan picks the same one.
        let first = subnets.subnets().iter().filter_map(|s| s.subnet_id()).min();
        let Some(first) = first else {
            return Err(Error::resource(id, format!("vpc_name {vpc_name:?}: VPC {vpc_id} has no subnet")));
        };
        props.insert(RESOLVED_SUBNET.into(), json!(first));
    }
    if !spec.security_group_names.is_empty() {
        let groups = clients
            .ec2
            .describe_security_groups()
            .filters(filter("vpc-id", std::slice::from_ref(&vpc_id)))
            .filters(filter("group-name", &spec.security_group_names))
            .send()
            .await
            .map_err(|e| Error::aws(id, "ec2:DescribeSecurityGroups", e))?;
        let found: Vec<(&str, &str)> = groups.security_groups().iter().filter_map(|g| Some((g.group_name()?, g.group_id()?))).collect();
        if let Some(missing) = spec.security_group_names.iter().find(|n| !found.iter().any(|(name, _)| name == n)) {
            return Err(Error::resource(id, format!("security_group_names: no group {missing:?} in VPC {vpc_name:?} ({vpc_id})")));
        }
        let ids: Vec<&str> = found.iter().map(|(_, id)| *id).collect();
        props.insert(RESOLVED_GROUPS.into(), json!(ids));
    }
    Ok(())
}

/// The declared properties with the looked-up subnet and security groups in the
/// infrastructure configuration (the set sorted, as declared ones are), and the launch templates
/// in every distribution.
pub(super) fn with_resolved(desired: &Properties, observed: Option<&Properties>, set_default_version: bool) -> Properties {
    let mut out = desired.clone();
    let Some(observed) = observed else {
        return out;
    };
    if let Some(Value::Array(ids)) = observed.get(RESOLVED_TEMPLATES)
        && let Some(Value::Array(distributions)) = out.get_mut(DIST).and_then(|d| d.get_mut("distributions"))
    {
        let configs: Vec<Value> = ids.iter().map(|id| json!({"launchTemplateId": id, "setDefaultVersion": set_default_version})).collect();
        for d in distributions.iter_mut().filter(|d| d.is_object()) {
            d["launchTemplateConfigurations"] = json!(configs);
        }
    }
    let Some(Value::Object(infra)) = out.get_mut(INFRA) else {
        return out;
    };
    if let Some(subnet) = observed.get(RESOLVED_SUBNET)
        && infra.get("subnetId").is_none_or(Value::is_null)
    {
        infra.insert("subnetId".into(), subnet.clone());
    }
    if let Some(Value::Array(extra)) = observed.get(RESOLVED_GROUPS) {
        let mut groups: Vec<Value> = infra.get("securityGroupIds").and_then(Value::as_array).cloned().unwrap_or_default();
        for g in extra {
            if !groups.contains(g) {
                groups.push(g.clone());
            }
        }
        groups.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        infra.insert("securityGroupIds".into(), Value::Array(groups));
    }
    out
}

/// Whether observed properties hold only lookups (nothing of Image Builder exists yet).
pub(super) fn only_lookups(observed: &Properties) -> bool {
    observed.keys().all(|k| LOOKUPS.contains(&k.as_str()))
}
