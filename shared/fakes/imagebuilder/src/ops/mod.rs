//! The Image Builder operations the fake serves: one function per operation, from the request's
//! parameters to the response body, over [`State`].

mod components;
mod configs;
mod pipelines;
mod recipes;
mod tags;

use axum::http::Method;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::{State, TokenUse};

type Handler = fn(&mut State, &Value) -> Result<Value, ApiError>;

/// One operation: its name (the last path segment of its URI), HTTP method and handler.
pub(crate) struct Operation {
    pub name: &'static str,
    pub method: Method,
    handler: Handler,
    /// Whether it takes a `clientToken` (and so is idempotent by token).
    idempotent: bool,
}

macro_rules! op {
    ($name:literal, $method:ident, $handler:path, $idem:literal) => {
        Operation { name: $name, method: Method::$method, handler: $handler, idempotent: $idem }
    };
}

/// Every operation, with the method and path the SDK uses (`/<Name>`; tags: `/tags/{arn}`).
pub(crate) const OPERATIONS: &[Operation] = &[
    op!("CreateComponent", PUT, components::create, true),
    op!("GetComponent", GET, components::get, false),
    op!("ListComponents", POST, components::list, false),
    op!("DeleteComponent", DELETE, components::delete, false),
    op!("CreateImageRecipe", PUT, recipes::create, true),
    op!("GetImageRecipe", GET, recipes::get, false),
    op!("ListImageRecipes", POST, recipes::list, false),
    op!("DeleteImageRecipe", DELETE, recipes::delete, false),
    op!("CreateInfrastructureConfiguration", PUT, configs::create_infrastructure, true),
    op!("GetInfrastructureConfiguration", GET, configs::get_infrastructure, false),
    op!("UpdateInfrastructureConfiguration", PUT, configs::update_infrastructure, true),
    op!("ListInfrastructureConfigurations", POST, configs::list_infrastructure, false),
    op!("DeleteInfrastructureConfiguration", DELETE, configs::delete_infrastructure, false),
    op!("CreateDistributionConfiguration", PUT, configs::create_distribution, true),
    op!("GetDistributionConfiguration", GET, configs::get_distribution, false),
    op!("UpdateDistributionConfiguration", PUT, configs::update_distribution, true),
    op!("ListDistributionConfigurations", POST, configs::list_distribution, false),
    op!("DeleteDistributionConfiguration", DELETE, configs::delete_distribution, false),
    op!("CreateImagePipeline", PUT, pipelines::create, true),
    op!("GetImagePipeline", GET, pipelines::get, false),
    op!("UpdateImagePipeline", PUT, pipelines::update, true),
    op!("ListImagePipelines", POST, pipelines::list, false),
    op!("DeleteImagePipeline", DELETE, pipelines::delete, false),
    op!("StartImagePipelineExecution", PUT, pipelines::start_execution, true),
    op!("ListImagePipelineImages", POST, pipelines::list_images, false),
    op!("GetImage", GET, pipelines::get_image, false),
    op!("TagResource", POST, tags::tag, false),
    op!("UntagResource", DELETE, tags::untag, false),
    op!("ListTagsForResource", GET, tags::list, false),
];

/// The operation at `name`, if the fake serves it.
pub(crate) fn find(name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|op| op.name == name)
}

/// The names of the tag operations, by method, at `/tags/{resourceArn}`.
pub(crate) fn tag_operation(method: &Method) -> Option<&'static Operation> {
    let name = match *method {
        Method::POST => "TagResource",
        Method::DELETE => "UntagResource",
        Method::GET => "ListTagsForResource",
        _ => return None,
    };
    find(name)
}

/// Run `op` with `params`. A repeated `clientToken` answers the first call's response when the
/// parameters are the same, and `IdempotentParameterMismatchException` when they differ.
pub(crate) fn call(state: &mut State, op: &Operation, params: &Value) -> Result<Value, ApiError> {
    let token = op.idempotent.then(|| params.get("clientToken").and_then(Value::as_str)).flatten();
    let compared = without_token(params);
    if let Some(token) = token
        && let Some(used) = state.tokens.get(token)
    {
        return if used.operation == op.name && used.params == compared {
            Ok(used.response.clone())
        } else {
            Err(ApiError::idempotency_mismatch(token))
        };
    }
    let mut response = (op.handler)(state, params)?;
    let request_id = format!("{:08x}-fake-{}", state.serial(), uuid::Uuid::new_v4().simple());
    if let Value::Object(map) = &mut response {
        map.insert("requestId".into(), json!(request_id));
        if let Some(token) = token {
            map.insert("clientToken".into(), json!(token));
        }
    }
    if let Some(token) = token {
        let used = TokenUse { operation: op.name.to_owned(), params: compared, response: response.clone() };
        state.tokens.insert(token.to_owned(), used);
    }
    Ok(response)
}

fn without_token(params: &Value) -> Value {
    let mut p = params.clone();
    if let Value::Object(map) = &mut p {
        map.remove("clientToken");
    }
    p
}

/// A required, non-empty string parameter.
pub(crate) fn required<'a>(params: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    params
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::invalid(name, "It is required and must be a non-empty string."))
}

/// A resource name: 1–128 characters of letters, digits, `-`, `_` and inner spaces.
pub(crate) fn resource_name<'a>(params: &'a Value, field: &str) -> Result<&'a str, ApiError> {
    let name = required(params, field)?;
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || "-_ ".contains(c));
    if name.len() > 128 || !ok_chars || name.starts_with(' ') || name.ends_with(' ') {
        return Err(ApiError::invalid(field, format!("{name:?} must be 1 to 128 of A-Z a-z 0-9 - _ and inner spaces.")));
    }
    Ok(name)
}

/// `maxResults`/`nextToken` paging over items already in answer order.
pub(crate) fn page(params: &Value, items: Vec<Value>) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let max = match params.get("maxResults") {
        None | Some(Value::Null) => 25,
        Some(v) => match v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())) {
            Some(n @ 1..=25) => n as usize,
            _ => return Err(ApiError::invalid("maxResults", "It must be between 1 and 25.")),
        },
    };
    let start = match params.get("nextToken").and_then(Value::as_str) {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| ApiError::new(400, "InvalidPaginationTokenException", format!("The pagination token '{t}' is not valid.")))?,
    };
    let end = (start + max).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((items.into_iter().skip(start).take(max).collect(), next))
}

/// A list answer: `{<key>: items, nextToken?}`.
pub(crate) fn list_answer(params: &Value, key: &str, items: Vec<Value>) -> Result<Value, ApiError> {
    let (items, next) = page(params, items)?;
    let mut out = json!({ key: items });
    if let Some(next) = next {
        out["nextToken"] = json!(next);
    }
    Ok(out)
}

/// Whether an item passes the request's `filters` (`[{name, values}]`): each filter's field,
/// looked up by name, must equal one of its values.
pub(crate) fn matches_filters(params: &Value, item: &Value) -> bool {
    let Some(filters) = params.get("filters").and_then(Value::as_array) else {
        return true;
    };
    filters.iter().all(|f| {
        let Some(name) = f.get("name").and_then(Value::as_str) else {
            return true;
        };
        let values: Vec<&str> = f.get("values").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        let field = match name {
            "semanticVersion" => "version",
            other => other,
        };
        let have = item.get(field).and_then(Value::as_str).unwrap_or_default();
        values.is_empty() || values.contains(&have)
    })
}

/// The string-to-string `tags` parameter (absent: empty).
pub(crate) fn tags_param(params: &Value, field: &str) -> Result<serde_json::Map<String, Value>, ApiError> {
    match params.get(field) {
        None | Some(Value::Null) => Ok(serde_json::Map::new()),
        Some(Value::Object(map)) if map.values().all(Value::is_string) => Ok(map.clone()),
        Some(_) => Err(ApiError::invalid(field, "It must map tag keys to string values.")),
    }
}
