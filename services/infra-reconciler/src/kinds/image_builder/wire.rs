//! Between the SDK's types and the JSON (API field names) the kind's properties are made of.
//! Absent and empty values are left out on both sides, so what the service omits and what a
//! stack does not declare compare equal.

use aws_sdk_imagebuilder::types::{
    AmiDistributionConfiguration, ComponentConfiguration, Distribution, DistributionConfiguration, EbsInstanceBlockDeviceSpecification,
    EbsVolumeType, ImagePipeline, ImageRecipe, ImageTestsConfiguration, InfrastructureConfiguration, InstanceBlockDeviceMapping,
    LaunchPermissionConfiguration, LaunchTemplateConfiguration, PipelineExecutionStartCondition, PipelineStatus, Schedule,
};
use serde_json::{Map, Value, json};

/// Insert `value` unless it is null, an empty string, list or object.
pub(crate) fn put(map: &mut Map<String, Value>, key: &str, value: Value) {
    let empty = match &value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    if !empty {
        map.insert(key.to_owned(), value);
    }
}

fn strings(v: &[String]) -> Value {
    json!(v)
}

/// A declared value as API text. Plans hold normalised properties (`"true"` became `true`,
/// `"60"` became `60`), so scalars are turned back into the text that was declared.
pub(crate) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn str_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array).into_iter().flatten().filter_map(text).collect()
}

pub(crate) fn recipe_json(r: &ImageRecipe) -> Map<String, Value> {
    let mut m = Map::new();
    put(&mut m, "name", json!(r.name()));
    put(&mut m, "description", json!(r.description()));
    put(&mut m, "parentImage", json!(r.parent_image()));
    let components: Vec<&str> = r.components().iter().map(ComponentConfiguration::component_arn).collect();
    put(&mut m, "components", json!(components));
    put(&mut m, "workingDirectory", json!(r.working_directory()));
    let bdm: Vec<Value> = r.block_device_mappings().iter().map(block_device_json).collect();
    put(&mut m, "blockDeviceMappings", Value::Array(bdm));
    m
}

fn block_device_json(b: &InstanceBlockDeviceMapping) -> Value {
    let mut m = Map::new();
    put(&mut m, "deviceName", json!(b.device_name()));
    put(&mut m, "virtualName", json!(b.virtual_name()));
    put(&mut m, "noDevice", json!(b.no_device()));
    if let Some(e) = b.ebs() {
        let mut ebs = Map::new();
        put(&mut ebs, "encrypted", json!(e.encrypted()));
        put(&mut ebs, "deleteOnTermination", json!(e.delete_on_termination()));
        put(&mut ebs, "iops", json!(e.iops()));
        put(&mut ebs, "kmsKeyId", json!(e.kms_key_id()));
        put(&mut ebs, "snapshotId", json!(e.snapshot_id()));
        put(&mut ebs, "volumeSize", json!(e.volume_size()));
        put(&mut ebs, "volumeType", json!(e.volume_type().map(EbsVolumeType::as_str)));
        put(&mut ebs, "throughput", json!(e.throughput()));
        put(&mut m, "ebs", Value::Object(ebs));
    }
    Value::Object(m)
}

pub(crate) fn block_device_sdk(v: &Value) -> InstanceBlockDeviceMapping {
    let s = |k: &str| v.get(k).and_then(text);
    let ebs = v.get("ebs").map(|e| {
        let s = |k: &str| e.get(k).and_then(text);
        let i = |k: &str| e.get(k).and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok());
        let b = |k: &str| e.get(k).and_then(Value::as_bool);
        EbsInstanceBlockDeviceSpecification::builder()
            .set_encrypted(b("encrypted"))
            .set_delete_on_termination(b("deleteOnTermination"))
            .set_iops(i("iops"))
            .set_kms_key_id(s("kmsKeyId"))
            .set_snapshot_id(s("snapshotId"))
            .set_volume_size(i("volumeSize"))
            .set_volume_type(s("volumeType").map(|t| EbsVolumeType::from(t.as_str())))
            .set_throughput(i("throughput"))
            .build()
    });
    InstanceBlockDeviceMapping::builder()
        .set_device_name(s("deviceName"))
        .set_virtual_name(s("virtualName"))
        .set_no_device(s("noDevice"))
        .set_ebs(ebs)
        .build()
}

pub(crate) fn infrastructure_json(c: &InfrastructureConfiguration) -> Map<String, Value> {
    let mut m = Map::new();
    put(&mut m, "description", json!(c.description()));
    put(&mut m, "instanceProfileName", json!(c.instance_profile_name()));
    put(&mut m, "instanceTypes", strings(c.instance_types()));
    put(&mut m, "subnetId", json!(c.subnet_id()));
    let mut groups = c.security_group_ids().to_vec();
    groups.sort();
    put(&mut m, "securityGroupIds", strings(&groups));
    put(&mut m, "keyPair", json!(c.key_pair()));
    put(&mut m, "snsTopicArn", json!(c.sns_topic_arn()));
    put(&mut m, "terminateInstanceOnFailure", json!(c.terminate_instance_on_failure()));
    put(&mut m, "resourceTags", json!(c.resource_tags()));
    m
}

pub(crate) fn distribution_json(c: &DistributionConfiguration) -> Map<String, Value> {
    let mut m = Map::new();
    put(&mut m, "description", json!(c.description()));
    let list: Vec<Value> = c.distributions().iter().map(distribution_item_json).collect();
    put(&mut m, "distributions", Value::Array(list));
    m
}

fn distribution_item_json(d: &Distribution) -> Value {
    let mut m = Map::new();
    put(&mut m, "region", json!(d.region()));
    if let Some(a) = d.ami_distribution_configuration() {
        let mut ami = Map::new();
        put(&mut ami, "name", json!(a.name()));
        put(&mut ami, "description", json!(a.description()));
        put(&mut ami, "targetAccountIds", strings(a.target_account_ids()));
        let tags: Option<std::collections::BTreeMap<&String, &String>> = a.ami_tags().map(|t| t.iter().collect());
        put(&mut ami, "amiTags", json!(tags));
        put(&mut ami, "kmsKeyId", json!(a.kms_key_id()));
        if let Some(p) = a.launch_permission() {
            let mut lp = Map::new();
            put(&mut lp, "userIds", strings(p.user_ids()));
            put(&mut lp, "userGroups", strings(p.user_groups()));
            put(&mut lp, "organizationArns", strings(p.organization_arns()));
            put(&mut lp, "organizationalUnitArns", strings(p.organizational_unit_arns()));
            put(&mut ami, "launchPermission", Value::Object(lp));
        }
        put(&mut m, "amiDistributionConfiguration", Value::Object(ami));
    }
    let lts: Vec<Value> = d
        .launch_template_configurations()
        .iter()
        .map(|l| {
            let mut lt = Map::new();
            put(&mut lt, "launchTemplateId", json!(l.launch_template_id()));
            put(&mut lt, "accountId", json!(l.account_id()));
            lt.insert("setDefaultVersion".into(), json!(l.set_default_version()));
            Value::Object(lt)
        })
        .collect();
    put(&mut m, "launchTemplateConfigurations", Value::Array(lts));
    Value::Object(m)
}

pub(crate) fn distributions_sdk(v: Option<&Value>) -> Result<Vec<Distribution>, String> {
    let mut out = Vec::new();
    for d in v.and_then(Value::as_array).into_iter().flatten() {
        let ami = d.get("amiDistributionConfiguration").map(|a| {
            let s = |k: &str| a.get(k).and_then(text);
            let tags = a
                .get("amiTags")
                .and_then(Value::as_object)
                .map(|t| t.iter().map(|(k, v)| (k.clone(), text(v).unwrap_or_default())).collect());
            let permission = a.get("launchPermission").map(|p| {
                LaunchPermissionConfiguration::builder()
                    .set_user_ids(Some(str_list(p.get("userIds"))).filter(|l| !l.is_empty()))
                    .set_user_groups(Some(str_list(p.get("userGroups"))).filter(|l| !l.is_empty()))
                    .set_organization_arns(Some(str_list(p.get("organizationArns"))).filter(|l| !l.is_empty()))
                    .set_organizational_unit_arns(Some(str_list(p.get("organizationalUnitArns"))).filter(|l| !l.is_empty()))
                    .build()
            });
            AmiDistributionConfiguration::builder()
                .set_name(s("name"))
                .set_description(s("description"))
                .set_target_account_ids(Some(str_list(a.get("targetAccountIds"))).filter(|l| !l.is_empty()))
                .set_ami_tags(tags)
                .set_kms_key_id(s("kmsKeyId"))
                .set_launch_permission(permission)
                .build()
        });
        let mut lts = Vec::new();
        for l in d.get("launchTemplateConfigurations").and_then(Value::as_array).into_iter().flatten() {
            let lt = LaunchTemplateConfiguration::builder()
                .set_launch_template_id(l.get("launchTemplateId").and_then(text))
                .set_account_id(l.get("accountId").and_then(text))
                .set_set_default_version(l.get("setDefaultVersion").and_then(Value::as_bool))
                .build()
                .map_err(|e| format!("launchTemplateConfigurations: {e}"))?;
            lts.push(lt);
        }
        let item = Distribution::builder()
            .set_region(d.get("region").and_then(text))
            .set_ami_distribution_configuration(ami)
            .set_launch_template_configurations(Some(lts).filter(|l| !l.is_empty()))
            .build()
            .map_err(|e| format!("distributions: {e}"))?;
        out.push(item);
    }
    Ok(out)
}

pub(crate) fn pipeline_json(p: &ImagePipeline) -> Map<String, Value> {
    let mut m = Map::new();
    put(&mut m, "description", json!(p.description()));
    put(&mut m, "imageRecipeArn", json!(p.image_recipe_arn()));
    put(&mut m, "infrastructureConfigurationArn", json!(p.infrastructure_configuration_arn()));
    put(&mut m, "distributionConfigurationArn", json!(p.distribution_configuration_arn()));
    put(&mut m, "status", json!(p.status().map(PipelineStatus::as_str)));
    put(&mut m, "enhancedImageMetadataEnabled", json!(p.enhanced_image_metadata_enabled()));
    if let Some(s) = p.schedule() {
        let mut sm = Map::new();
        put(&mut sm, "scheduleExpression", json!(s.schedule_expression()));
        put(&mut sm, "timezone", json!(s.timezone()));
        put(&mut sm, "pipelineExecutionStartCondition", json!(s.pipeline_execution_start_condition().map(|c| c.as_str())));
        put(&mut m, "schedule", Value::Object(sm));
    }
    if let Some(t) = p.image_tests_configuration() {
        let mut tm = Map::new();
        put(&mut tm, "imageTestsEnabled", json!(t.image_tests_enabled()));
        put(&mut tm, "timeoutMinutes", json!(t.timeout_minutes()));
        put(&mut m, "imageTestsConfiguration", Value::Object(tm));
    }
    m
}

pub(crate) fn schedule_sdk(v: Option<&Value>) -> Option<Schedule> {
    let v = v.filter(|v| v.is_object())?;
    let s = |k: &str| v.get(k).and_then(text);
    Some(
        Schedule::builder()
            .set_schedule_expression(s("scheduleExpression"))
            .set_timezone(s("timezone"))
            .set_pipeline_execution_start_condition(
                s("pipelineExecutionStartCondition").map(|c| PipelineExecutionStartCondition::from(c.as_str())),
            )
            .build(),
    )
}

pub(crate) fn image_tests_sdk(v: Option<&Value>) -> Option<ImageTestsConfiguration> {
    let v = v.filter(|v| v.is_object())?;
    Some(
        ImageTestsConfiguration::builder()
            .set_image_tests_enabled(v.get("imageTestsEnabled").and_then(Value::as_bool))
            .set_timeout_minutes(v.get("timeoutMinutes").and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok()))
            .build(),
    )
}
