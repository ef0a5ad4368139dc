//! Components: versioned build documents. A version is created once and never changed; the
//! fake keeps build 1 of each version (`component/<name>/<version>/1`).

use serde_json::{Map, Value, json};

use super::{list_answer, matches_filters, required, resource_name, tags_param};
use crate::arn::{self, arn_name, is_semver};
use crate::error::ApiError;
use crate::state::{State, copy_fields};

const PLATFORMS: [&str; 3] = ["Linux", "Windows", "macOS"];

pub(crate) fn create(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let name = resource_name(p, "name")?;
    let version = required(p, "semanticVersion")?;
    if !is_semver(version) {
        return Err(ApiError::invalid("semanticVersion", format!("{version:?} is not <major>.<minor>.<patch>.")));
    }
    let platform = required(p, "platform")?;
    if !PLATFORMS.contains(&platform) {
        return Err(ApiError::invalid("platform", format!("{platform:?} is not one of {PLATFORMS:?}.")));
    }
    match (p.get("data").and_then(Value::as_str), p.get("uri").and_then(Value::as_str)) {
        (Some(data), None) => check_document(data)?,
        (None, Some(_)) => {}
        _ => return Err(ApiError::invalid("data", "Exactly one of data and uri must be given.")),
    }
    let arn = state.account.arn("component", &format!("{}/{version}/1", arn_name(name)));
    if state.resources.components.contains_key(&arn) {
        return Err(ApiError::already_exists(&arn));
    }
    let mut component = Map::new();
    copy_fields(p, &mut component, &["name", "description", "changeDescription", "platform", "supportedOsVersions", "data", "kmsKeyId"]);
    component.insert("arn".into(), json!(arn));
    component.insert("version".into(), json!(version));
    component.insert("type".into(), json!("BUILD"));
    component.insert("owner".into(), json!(state.account.account_id));
    component.insert("encrypted".into(), json!(true));
    component.insert("state".into(), json!({"status": "ACTIVE"}));
    component.insert("tags".into(), Value::Object(tags_param(p, "tags")?));
    component.insert("dateCreated".into(), json!(state.now()));
    state.resources.components.insert(arn.clone(), Value::Object(component));
    Ok(json!({"componentBuildVersionArn": arn}))
}

/// A component document is YAML with `schemaVersion` and `phases`; the fake checks that much.
fn check_document(data: &str) -> Result<(), ApiError> {
    let has = |key: &str| data.lines().any(|l| l.trim_start().starts_with(key));
    if !has("schemaVersion:") || !has("phases:") {
        return Err(ApiError::invalid("data", "The component document must have schemaVersion and phases."));
    }
    Ok(())
}

/// The build-version ARN a component ARN names: a build ARN as is, a version ARN
/// (`.../<name>/<version>`) as its build 1. `None` when it is not a component ARN.
pub(crate) fn build_arn(arn: &str) -> Option<String> {
    let parsed = arn::parse(arn)?;
    if parsed.kind != "component" {
        return None;
    }
    match parsed.segments.len() {
        3 => Some(arn.to_owned()),
        2 => Some(format!("{arn}/1")),
        _ => None,
    }
}

pub(crate) fn get(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "componentBuildVersionArn")?;
    let build = build_arn(arn).ok_or_else(|| ApiError::invalid("componentBuildVersionArn", "It is not a component ARN."))?;
    let component = state.resources.components.get(&build).ok_or_else(|| ApiError::not_found(arn))?;
    Ok(json!({"component": component}))
}

pub(crate) fn list(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let owner = p.get("owner").and_then(Value::as_str).unwrap_or("Self");
    let items: Vec<Value> = if owner != "Self" {
        Vec::new()
    } else {
        state
            .resources
            .components
            .values()
            .filter(|c| matches_filters(p, c))
            .map(|c| {
                let mut v = Map::new();
                copy_fields(
                    c,
                    &mut v,
                    &["name", "version", "description", "platform", "supportedOsVersions", "type", "owner", "dateCreated"],
                );
                let arn = c["arn"].as_str().unwrap_or_default();
                // Listed by version: the ARN without the build number.
                v.insert("arn".into(), json!(arn.rsplit_once('/').map_or(arn, |(head, _)| head)));
                Value::Object(v)
            })
            .collect()
    };
    list_answer(p, "componentVersionList", items)
}

pub(crate) fn delete(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "componentBuildVersionArn")?;
    let build = build_arn(arn).ok_or_else(|| ApiError::invalid("componentBuildVersionArn", "It is not a component ARN."))?;
    if !state.resources.components.contains_key(&build) {
        return Err(ApiError::not_found(arn));
    }
    let used_by = state.resources.recipes.values().find(|r| {
        r["components"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["componentArn"].as_str().and_then(build_arn).as_deref() == Some(build.as_str()))
    });
    if let Some(recipe) = used_by {
        return Err(ApiError::dependency(format!(
            "The component '{build}' is used by image recipe '{}'.",
            recipe["arn"].as_str().unwrap_or_default()
        )));
    }
    state.resources.components.remove(&build);
    Ok(json!({"componentBuildVersionArn": build}))
}
