//! Infrastructure configurations (where builds run) and distribution configurations (where the
//! AMI goes). Both are named, mutable, and replaced wholesale by `Update*`: a field an update
//! leaves out is cleared, as on AWS.

use serde_json::{Map, Value, json};

use super::{list_answer, required, resource_name, tags_param};
use crate::error::ApiError;
use crate::state::{State, copy_fields};

const INFRA_FIELDS: [&str; 12] = [
    "description",
    "instanceTypes",
    "instanceProfileName",
    "securityGroupIds",
    "subnetId",
    "logging",
    "keyPair",
    "terminateInstanceOnFailure",
    "snsTopicArn",
    "resourceTags",
    "instanceMetadataOptions",
    "placement",
];

const INFRA_KIND: &str = "infrastructure-configuration";
const DIST_KIND: &str = "distribution-configuration";

fn infra_settings(p: &Value, into: &mut Map<String, Value>) -> Result<(), ApiError> {
    required(p, "instanceProfileName")?;
    for field in INFRA_FIELDS {
        into.remove(field);
    }
    copy_fields(p, into, &INFRA_FIELDS);
    // The service answers the default explicitly.
    into.entry("terminateInstanceOnFailure").or_insert(json!(true));
    if let Some(types) = p.get("instanceTypes")
        && !types.as_array().is_some_and(|t| t.iter().all(Value::is_string))
    {
        return Err(ApiError::invalid("instanceTypes", "It must be a list of instance type names."));
    }
    Ok(())
}

pub(crate) fn create_infrastructure(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let name = resource_name(p, "name")?;
    let arn = state.account.named(INFRA_KIND, name);
    if state.resources.infrastructure.contains_key(&arn) {
        return Err(ApiError::already_exists(&arn));
    }
    let mut config = Map::new();
    infra_settings(p, &mut config)?;
    config.insert("arn".into(), json!(arn));
    config.insert("name".into(), json!(name));
    config.insert("tags".into(), Value::Object(tags_param(p, "tags")?));
    config.insert("dateCreated".into(), json!(state.now()));
    state.resources.infrastructure.insert(arn.clone(), Value::Object(config));
    Ok(json!({"infrastructureConfigurationArn": arn}))
}

pub(crate) fn update_infrastructure(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "infrastructureConfigurationArn")?.to_owned();
    let now = state.now();
    let config = state.resources.infrastructure.get_mut(&arn).ok_or_else(|| ApiError::not_found(&arn))?;
    let Value::Object(map) = config else { unreachable!("stored as objects") };
    let mut updated = map.clone();
    infra_settings(p, &mut updated)?;
    updated.insert("dateUpdated".into(), json!(now));
    *map = updated;
    Ok(json!({"infrastructureConfigurationArn": arn}))
}

pub(crate) fn get_infrastructure(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "infrastructureConfigurationArn")?;
    let config = state.resources.infrastructure.get(arn).ok_or_else(|| ApiError::not_found(arn))?;
    Ok(json!({"infrastructureConfiguration": config}))
}

pub(crate) fn list_infrastructure(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let items = state
        .resources
        .infrastructure
        .values()
        .map(|c| {
            let mut v = Map::new();
            copy_fields(
                c,
                &mut v,
                &[
                    "arn",
                    "name",
                    "description",
                    "dateCreated",
                    "dateUpdated",
                    "resourceTags",
                    "tags",
                    "instanceTypes",
                    "instanceProfileName",
                    "placement",
                ],
            );
            Value::Object(v)
        })
        .collect();
    list_answer(p, "infrastructureConfigurationSummaryList", items)
}

pub(crate) fn delete_infrastructure(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "infrastructureConfigurationArn")?;
    delete_unused(state, p, arn, "infrastructureConfigurationArn", |s| &mut s.resources.infrastructure)
}

fn delete_unused(
    state: &mut State,
    _p: &Value,
    arn: &str,
    field: &str,
    map: fn(&mut State) -> &mut std::collections::BTreeMap<String, Value>,
) -> Result<Value, ApiError> {
    if !map(state).contains_key(arn) {
        return Err(ApiError::not_found(arn));
    }
    if let Some(pipeline) = state.resources.pipelines.values().find(|pl| pl[field] == json!(arn)) {
        return Err(ApiError::dependency(format!(
            "The resource '{arn}' is used by image pipeline '{}'.",
            pipeline["arn"].as_str().unwrap_or_default()
        )));
    }
    map(state).remove(arn);
    Ok(json!({ field: arn }))
}

fn distributions(p: &Value) -> Result<Value, ApiError> {
    let list = p.get("distributions").and_then(Value::as_array).filter(|d| !d.is_empty());
    let Some(list) = list else {
        return Err(ApiError::invalid("distributions", "At least one distribution is required."));
    };
    for d in list {
        if d.get("region").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(ApiError::invalid("distributions", "Each distribution needs a region."));
        }
        if let Some(name) = d.pointer("/amiDistributionConfiguration/name").and_then(Value::as_str)
            && !(1..=127).contains(&name.len())
        {
            return Err(ApiError::invalid("amiDistributionConfiguration.name", "It must be 1 to 127 characters long."));
        }
    }
    // The SDK leaves `setDefaultVersion: false` out (a default-valued boolean); the service
    // answers it explicitly.
    let mut list = list.clone();
    for d in &mut list {
        for lt in d.get_mut("launchTemplateConfigurations").and_then(Value::as_array_mut).into_iter().flatten() {
            if let Value::Object(lt) = lt {
                lt.entry("setDefaultVersion").or_insert(json!(false));
            }
        }
    }
    Ok(Value::Array(list))
}

pub(crate) fn create_distribution(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let name = resource_name(p, "name")?;
    let arn = state.account.named(DIST_KIND, name);
    if state.resources.distribution.contains_key(&arn) {
        return Err(ApiError::already_exists(&arn));
    }
    let mut config = Map::new();
    copy_fields(p, &mut config, &["description"]);
    config.insert("distributions".into(), distributions(p)?);
    config.insert("arn".into(), json!(arn));
    config.insert("name".into(), json!(name));
    config.insert("timeoutMinutes".into(), json!(360));
    config.insert("tags".into(), Value::Object(tags_param(p, "tags")?));
    config.insert("dateCreated".into(), json!(state.now()));
    state.resources.distribution.insert(arn.clone(), Value::Object(config));
    Ok(json!({"distributionConfigurationArn": arn}))
}

pub(crate) fn update_distribution(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "distributionConfigurationArn")?.to_owned();
    let distributions = distributions(p)?;
    let now = state.now();
    let config = state.resources.distribution.get_mut(&arn).ok_or_else(|| ApiError::not_found(&arn))?;
    let Value::Object(map) = config else { unreachable!("stored as objects") };
    map.remove("description");
    copy_fields(p, map, &["description"]);
    map.insert("distributions".into(), distributions);
    map.insert("dateUpdated".into(), json!(now));
    Ok(json!({"distributionConfigurationArn": arn}))
}

pub(crate) fn get_distribution(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "distributionConfigurationArn")?;
    let config = state.resources.distribution.get(arn).ok_or_else(|| ApiError::not_found(arn))?;
    Ok(json!({"distributionConfiguration": config}))
}

pub(crate) fn list_distribution(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let items = state
        .resources
        .distribution
        .values()
        .map(|c| {
            let mut v = Map::new();
            copy_fields(c, &mut v, &["arn", "name", "description", "dateCreated", "dateUpdated", "tags"]);
            let regions: Vec<Value> = c["distributions"].as_array().into_iter().flatten().map(|d| d["region"].clone()).collect();
            v.insert("regions".into(), Value::Array(regions));
            Value::Object(v)
        })
        .collect();
    list_answer(p, "distributionConfigurationSummaryList", items)
}

pub(crate) fn delete_distribution(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "distributionConfigurationArn")?;
    delete_unused(state, p, arn, "distributionConfigurationArn", |s| &mut s.resources.distribution)
}
