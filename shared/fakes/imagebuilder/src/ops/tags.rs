//! Tags on any Image Builder resource, at `/tags/{resourceArn}`.

use serde_json::{Value, json};

use super::{required, tags_param};
use crate::error::ApiError;
use crate::state::State;

fn tags_of<'a>(state: &'a mut State, arn: &str) -> Result<&'a mut serde_json::Map<String, Value>, ApiError> {
    let resource = state.resources.find_mut(arn).ok_or_else(|| ApiError::not_found(arn))?;
    let Value::Object(map) = resource else { unreachable!("stored as objects") };
    let tags = map.entry("tags").or_insert_with(|| json!({}));
    if !tags.is_object() {
        *tags = json!({});
    }
    Ok(tags.as_object_mut().expect("just made an object"))
}

pub(crate) fn tag(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "resourceArn")?;
    let new = tags_param(p, "tags")?;
    if new.is_empty() {
        return Err(ApiError::invalid("tags", "At least one tag is required."));
    }
    tags_of(state, arn)?.extend(new);
    Ok(json!({}))
}

pub(crate) fn untag(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "resourceArn")?;
    let keys: Vec<String> = match p.get("tagKeys") {
        Some(Value::Array(keys)) => keys.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Some(Value::String(key)) => vec![key.clone()],
        _ => return Err(ApiError::invalid("tagKeys", "At least one tag key is required.")),
    };
    let tags = tags_of(state, arn)?;
    for key in keys {
        tags.remove(&key);
    }
    Ok(json!({}))
}

pub(crate) fn list(state: &mut State, p: &Value) -> Result<Value, ApiError> {
    let arn = required(p, "resourceArn")?;
    Ok(json!({"tags": tags_of(state, arn)?.clone()}))
}
