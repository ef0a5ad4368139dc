//! Image recipes: immutable. Changing a recipe means creating a new `semanticVersion`; creating
//! an existing name and version is `ResourceAlreadyExistsException`.

use serde_json::{Map, Value, json};

use super::components::build_arn;
use super::{list_answer, matches_filters, required, resource_name, tags_param};
use crate::arn::{self, arn_name, is_semver};
use crate::error::ApiError;
use crate::state::{State, copy_fields};

pub(crate) fn create(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let name = resource_name(p, "name")?;
    let version = required(p, "semanticVersion")?;
    if !is_semver(version) {
        return Err(ApiError::invalid("semanticVersion", format!("{version:?} is not <major>.<minor>.<patch>.")));
    }
    required(p, "parentImage")?;
    let components = p.get("components").and_then(Value::as_array).filter(|c| !c.is_empty());
    let Some(components) = components else {
        return Err(ApiError::invalid("components", "A recipe needs at least one component."));
    };
    let mut platform = None;
    for c in components {
        let arn = c.get("componentArn").and_then(Value::as_str).unwrap_or_default();
        let parsed = arn::parse(arn).filter(|p| p.kind == "component");
        let Some(parsed) = parsed else {
            return Err(ApiError::invalid("components", format!("{arn:?} is not a component ARN.")));
        };
        // Amazon-managed components (owner `aws`) exist everywhere; the account's own must.
        if parsed.owner != "aws" {
            let found = build_arn(arn).and_then(|b| state.resources.components.get(&b));
            let Some(found) = found else {
                return Err(ApiError::invalid("components", format!("The component '{arn}' does not exist.")));
            };
            platform = platform.or_else(|| found["platform"].as_str().map(str::to_owned));
        }
    }
    let arn = state.account.arn("image-recipe", &format!("{}/{version}", arn_name(name)));
    if state.resources.recipes.contains_key(&arn) {
        return Err(ApiError::already_exists(&arn));
    }
    let mut recipe = Map::new();
    copy_fields(
        p,
        &mut recipe,
        &[
            "name",
            "description",
            "components",
            "parentImage",
            "blockDeviceMappings",
            "workingDirectory",
            "additionalInstanceConfiguration",
            "amiTags",
        ],
    );
    recipe.insert("arn".into(), json!(arn));
    recipe.insert("type".into(), json!("AMI"));
    recipe.insert("version".into(), json!(version));
    recipe.insert("platform".into(), json!(platform.unwrap_or_else(|| "Linux".to_owned())));
    recipe.insert("owner".into(), json!(state.account.account_id));
    recipe.insert("tags".into(), Value::Object(tags_param(p, "tags")?));
    recipe.insert("dateCreated".into(), json!(state.now()));
    state.resources.recipes.insert(arn.clone(), Value::Object(recipe));
    Ok(json!({"imageRecipeArn": arn}))
}

pub(crate) fn get(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "imageRecipeArn")?;
    let recipe = state.resources.recipes.get(arn).ok_or_else(|| ApiError::not_found(arn))?;
    Ok(json!({"imageRecipe": recipe}))
}

pub(crate) fn list(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let owner = p.get("owner").and_then(Value::as_str).unwrap_or("Self");
    let items: Vec<Value> = if owner != "Self" {
        Vec::new()
    } else {
        state
            .resources
            .recipes
            .values()
            .filter(|r| matches_filters(p, r))
            .map(|r| {
                let mut v = Map::new();
                copy_fields(r, &mut v, &["arn", "name", "platform", "owner", "parentImage", "dateCreated", "tags"]);
                Value::Object(v)
            })
            .collect()
    };
    list_answer(p, "imageRecipeSummaryList", items)
}

pub(crate) fn delete(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "imageRecipeArn")?;
    if !state.resources.recipes.contains_key(arn) {
        return Err(ApiError::not_found(arn));
    }
    if let Some(pipeline) = state.resources.pipelines.values().find(|pl| pl["imageRecipeArn"] == json!(arn)) {
        return Err(ApiError::dependency(format!(
            "The image recipe '{arn}' is used by image pipeline '{}'.",
            pipeline["arn"].as_str().unwrap_or_default()
        )));
    }
    state.resources.recipes.remove(arn);
    Ok(json!({"imageRecipeArn": arn}))
}
