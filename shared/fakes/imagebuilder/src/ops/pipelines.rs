//! Image pipelines, their executions and the images they produce. A build finishes at once:
//! `StartImagePipelineExecution` records an image with the AMI id a test chose (see
//! `POST /_fake/pipelines/{name}/next-ami`) or a generated `ami-...`.

use serde_json::{Map, Value, json};

use super::{list_answer, required, resource_name, tags_param};
use crate::arn::arn_name;
use crate::error::ApiError;
use crate::state::{State, copy_fields};

/// The fields `UpdateImagePipeline` replaces.
const SETTINGS: [&str; 12] = [
    "description",
    "imageRecipeArn",
    "containerRecipeArn",
    "infrastructureConfigurationArn",
    "distributionConfigurationArn",
    "imageTestsConfiguration",
    "enhancedImageMetadataEnabled",
    "schedule",
    "status",
    "imageScanningConfiguration",
    "workflows",
    "executionRole",
];

fn settings(state: &State, p: &Value, into: &mut Map<String, Value>) -> Result<(), ApiError> {
    let recipe = required(p, "imageRecipeArn")?;
    let infra = required(p, "infrastructureConfigurationArn")?;
    if !state.resources.recipes.contains_key(recipe) {
        return Err(ApiError::invalid("imageRecipeArn", format!("The image recipe '{recipe}' does not exist.")));
    }
    if !state.resources.infrastructure.contains_key(infra) {
        return Err(ApiError::invalid(
            "infrastructureConfigurationArn",
            format!("The infrastructure configuration '{infra}' does not exist."),
        ));
    }
    if let Some(dist) = p.get("distributionConfigurationArn").and_then(Value::as_str)
        && !state.resources.distribution.contains_key(dist)
    {
        return Err(ApiError::invalid("distributionConfigurationArn", format!("The distribution configuration '{dist}' does not exist.")));
    }
    if let Some(status) = p.get("status").and_then(Value::as_str)
        && !["ENABLED", "DISABLED"].contains(&status)
    {
        return Err(ApiError::invalid("status", format!("{status:?} is not ENABLED or DISABLED.")));
    }
    if let Some(schedule) = p.get("schedule").filter(|s| !s.is_null()) {
        let expr = schedule.get("scheduleExpression").and_then(Value::as_str).unwrap_or_default();
        if !(expr.starts_with("cron(") || expr.starts_with("rate(")) || !expr.ends_with(')') {
            return Err(ApiError::invalid("schedule.scheduleExpression", format!("{expr:?} is not a cron(...) or rate(...) expression.")));
        }
        let condition = schedule.get("pipelineExecutionStartCondition").and_then(Value::as_str);
        let known = ["EXPRESSION_MATCH_ONLY", "EXPRESSION_MATCH_AND_DEPENDENCY_UPDATES_AVAILABLE"];
        if condition.is_some_and(|c| !known.contains(&c)) {
            return Err(ApiError::invalid("schedule.pipelineExecutionStartCondition", format!("{condition:?} is not one of {known:?}.")));
        }
    }
    for field in SETTINGS {
        into.remove(field);
    }
    copy_fields(p, into, &SETTINGS);
    // What the service answers for settings left out.
    into.entry("status").or_insert(json!("ENABLED"));
    into.entry("enhancedImageMetadataEnabled").or_insert(json!(true));
    into.entry("imageTestsConfiguration").or_insert(json!({"imageTestsEnabled": true, "timeoutMinutes": 720}));
    if let Some(platform) = state.resources.recipes[recipe].get("platform") {
        into.insert("platform".into(), platform.clone());
    }
    Ok(())
}

pub(crate) fn create(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let name = resource_name(p, "name")?;
    let arn = state.account.named("image-pipeline", name);
    if state.resources.pipelines.contains_key(&arn) {
        return Err(ApiError::already_exists(&arn));
    }
    let mut pipeline = Map::new();
    settings(state, p, &mut pipeline)?;
    pipeline.insert("arn".into(), json!(arn));
    pipeline.insert("name".into(), json!(name));
    pipeline.insert("tags".into(), Value::Object(tags_param(p, "tags")?));
    pipeline.insert("dateCreated".into(), json!(state.now()));
    state.resources.pipelines.insert(arn.clone(), Value::Object(pipeline));
    Ok(json!({"imagePipelineArn": arn}))
}

pub(crate) fn update(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "imagePipelineArn")?.to_owned();
    let mut updated = match state.resources.pipelines.get(&arn) {
        Some(Value::Object(map)) => map.clone(),
        _ => return Err(ApiError::not_found(&arn)),
    };
    settings(state, p, &mut updated)?;
    updated.insert("dateUpdated".into(), json!(state.now()));
    state.resources.pipelines.insert(arn.clone(), Value::Object(updated));
    Ok(json!({"imagePipelineArn": arn}))
}

pub(crate) fn get(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "imagePipelineArn")?;
    let pipeline = state.resources.pipelines.get(arn).ok_or_else(|| ApiError::not_found(arn))?;
    Ok(json!({"imagePipeline": pipeline}))
}

pub(crate) fn list(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let items = state.resources.pipelines.values().filter(|pl| super::matches_filters(p, pl)).cloned().collect();
    list_answer(p, "imagePipelineList", items)
}

pub(crate) fn delete(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "imagePipelineArn")?;
    state.resources.pipelines.remove(arn).ok_or_else(|| ApiError::not_found(arn))?;
    Ok(json!({"imagePipelineArn": arn}))
}

/// Build an image now: recipe version `v` gets builds `image/<recipe>/<v>/1`, `/2`, ...
pub(crate) fn start_execution(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "imagePipelineArn")?.to_owned();
    let pipeline = state.resources.pipelines.get(&arn).cloned().ok_or_else(|| ApiError::not_found(&arn))?;
    let pipeline_name = pipeline["name"].as_str().unwrap_or_default().to_owned();
    let recipe_arn = pipeline["imageRecipeArn"].as_str().unwrap_or_default();
    let recipe = state.resources.recipes.get(recipe_arn).cloned().ok_or_else(|| ApiError::not_found(recipe_arn))?;
    let recipe_name = recipe["name"].as_str().unwrap_or_default();
    let version = recipe["version"].as_str().unwrap_or_default();
    let prefix = state.account.arn("image", &format!("{}/{version}/", arn_name(recipe_name)));
    let build = state.resources.images.keys().filter(|k| k.starts_with(&prefix)).count() + 1;
    let image_arn = format!("{prefix}{build}");

    let outcome = state.next_build(&pipeline_name);
    let now = state.now();
    let dist = pipeline["distributionConfigurationArn"].as_str().and_then(|d| state.resources.distribution.get(d)).cloned();
    let mut amis = Vec::new();
    if outcome.status == "AVAILABLE" {
        let distributions = dist.as_ref().and_then(|d| d["distributions"].as_array().cloned());
        let regions: Vec<(String, Option<String>)> = match distributions {
            Some(list) => list
                .iter()
                .map(|d| {
                    let region = d["region"].as_str().unwrap_or_default().to_owned();
                    let name = d.pointer("/amiDistributionConfiguration/name").and_then(Value::as_str).map(str::to_owned);
                    (region, name)
                })
                .collect(),
            None => vec![(state.account.region.clone(), None)],
        };
        let home = regions.iter().position(|(r, _)| *r == state.account.region).unwrap_or(0);
        for (i, (region, name)) in regions.into_iter().enumerate() {
            let image = if i == home { outcome.ami_id.clone() } else { format!("ami-{:017x}", state.serial()) };
            let name = name.map_or_else(|| format!("{recipe_name} {now}"), |n| render_ami_name(&n, &now));
            amis.push(json!({
                "region": region,
                "image": image,
                "name": name,
                "state": {"status": "AVAILABLE"},
                "accountId": state.account.account_id,
            }));
        }
    }
    let mut image = json!({
        "arn": image_arn,
        "type": "AMI",
        "name": recipe_name,
        "version": format!("{version}/{build}"),
        "platform": recipe["platform"],
        "enhancedImageMetadataEnabled": pipeline["enhancedImageMetadataEnabled"],
        "state": {"status": outcome.status},
        "imageRecipe": recipe,
        "sourcePipelineName": pipeline_name,
        "sourcePipelineArn": arn,
        "imageTestsConfiguration": pipeline["imageTestsConfiguration"],
        "dateCreated": now,
        "outputResources": {"amis": amis},
        "buildType": "USER_INITIATED",
        "imageSource": "CUSTOM",
        "tags": tags_param(p, "tags")?,
    });
    if let Some(infra) = pipeline["infrastructureConfigurationArn"].as_str().and_then(|a| state.resources.infrastructure.get(a)) {
        image["infrastructureConfiguration"] = infra.clone();
    }
    if let Some(dist) = dist {
        image["distributionConfiguration"] = dist;
    }
    if outcome.status != "AVAILABLE" {
        image["state"]["reason"] = json!("the fake was told this build fails");
    }
    state.resources.images.insert(image_arn.clone(), image);
    if let Some(Value::Object(pl)) = state.resources.pipelines.get_mut(&arn) {
        pl.insert("dateLastRun".into(), json!(now));
        pl.insert("lastRunStatus".into(), json!(outcome.status));
    }
    Ok(json!({"imageBuildVersionArn": image_arn}))
}

/// `{{imagebuilder:buildDate}}` (spaces allowed inside the braces) becomes the build time.
fn render_ami_name(template: &str, now: &str) -> String {
    let date: String = now.chars().filter(char::is_ascii_digit).take(14).collect();
    let mut out = template.to_owned();
    while let Some(start) = out.find("{{") {
        let Some(len) = out[start..].find("}}") else { break };
        let inner = out[start + 2..start + len].trim();
        let value = if inner == "imagebuilder:buildDate" { date.clone() } else { inner.replace(':', "-") };
        out.replace_range(start..start + len + 2, &value);
    }
    out
}

/// The pipeline's images, newest first.
pub(crate) fn list_images(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "imagePipelineArn")?;
    if !state.resources.pipelines.contains_key(arn) {
        return Err(ApiError::not_found(arn));
    }
    let mut images: Vec<&Value> =
        state.resources.images.values().filter(|i| i["sourcePipelineArn"] == json!(arn) && super::matches_filters(p, i)).collect();
    images.sort_by(|a, b| b["dateCreated"].as_str().cmp(&a["dateCreated"].as_str()));
    let summaries = images
        .into_iter()
        .map(|i| {
            let mut v = Map::new();
            copy_fields(
                i,
                &mut v,
                &[
                    "arn",
                    "name",
                    "type",
                    "version",
                    "platform",
                    "state",
                    "dateCreated",
                    "outputResources",
                    "tags",
                    "buildType",
                    "imageSource",
                ],
            );
            v.insert("owner".into(), json!(state.account.account_id));
            Value::Object(v)
        })
        .collect();
    list_answer(p, "imageSummaryList", summaries)
}

pub(crate) fn get_image(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "imageBuildVersionArn")?;
    let image = state.resources.images.get(arn).ok_or_else(|| ApiError::not_found(arn))?;
    Ok(json!({"image": image}))
}

#[cfg(test)]
mod tests {
    use super::render_ami_name;

    #[test]
    fn build_date_placeholders_are_rendered() {
        let now = "2024-05-01T12:34:56.789Z";
        assert_eq!(render_ami_name("linux-{{imagebuilder:buildDate}}", now), "linux-20240501123456");
        assert_eq!(render_ami_name("x-{{ imagebuilder:buildDate }}", now), "x-20240501123456");
    }
}
