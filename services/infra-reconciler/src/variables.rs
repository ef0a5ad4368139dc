//! Stack-file variables and placeholder substitution.
//!
//! A stack file may declare variables at its top level:
//!
//! ```json
//! "variables": {
//!   "feed_bucket": { "default": "${prefix}-feeds", "description": "where the feeds are" },
//!   "feed_prefix": { "default": "" }
//! }
//! ```
//!
//! Rules:
//! - `${var.NAME}` in any string of a resource becomes the variable's value;
//!   `${var.NAME:+TEXT}` becomes `TEXT` (itself substituted, so it may hold `${var.OTHER}`) when
//!   the value is not empty, and nothing when it is (the shell's `:+`): how a file spells
//!   "`bucket/prefix` only when there is a prefix".
//! - A value is the `--var NAME=VALUE` override (`LoadOptions::var`), else the declared `default`;
//!   a variable with neither is an error naming it. Values are strings (empty is allowed).
//! - Defaults and overrides may use `${prefix}` (and the ARN placeholders below), never another
//!   variable: there is no evaluation order to get wrong.
//! - `${var.X}` for an undeclared `X`, and an override of an undeclared variable, are errors that
//!   list the declared ones.
//! - Includes share one set of variables: declarations are merged like flags (the included
//!   files' first, the including file's replace them), then every resource, wherever it was
//!   written, is substituted with the result. So an included file sees the including file's
//!   declarations and the command line's overrides; a file meant to be included declares the
//!   variables it uses itself, with defaults, so that it also loads alone.
//!
//! Other placeholders: `${prefix}` is the stack prefix; `${partition}`, `${region}` and
//! `${account}` are left as they are for the kinds to expand with the account they deploy to
//! (`Context::expand`); anything else is an error.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// Placeholders the loader leaves for [`crate::clients::Context::expand`].
pub const LATE_PLACEHOLDERS: [&str; 3] = ["partition", "region", "account"];

/// One declared variable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// Parse the top-level `variables` object (keys starting with `//` are comments).
pub fn declarations(value: Option<Value>) -> Result<BTreeMap<String, Declaration>, String> {
    let Some(value) = value else { return Ok(BTreeMap::new()) };
    let Value::Object(mut map) = value else {
        return Err("`variables` must map names to {\"default\": ..., \"description\": ...}".into());
    };
    map.retain(|k, _| !k.starts_with("//"));
    let mut out = BTreeMap::new();
    for (name, decl) in map {
        check_name(&name)?;
        let decl = match decl {
            Value::Object(mut fields) => {
                fields.retain(|k, _| !k.starts_with("//"));
                Declaration::deserialize(Value::Object(fields)).map_err(|e| format!("variable {name:?}: {e}"))?
            }
            _ => return Err(format!("variable {name:?} must be an object with `default` and/or `description`")),
        };
        out.insert(name, decl);
    }
    Ok(out)
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok { Ok(()) } else { Err(format!("variable name {name:?} must be lowercase letters, digits and '_', not starting with a digit")) }
}

/// What substitution needs: the prefix and every variable's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub prefix: String,
    pub values: BTreeMap<String, String>,
}

impl Scope {
    /// Resolve every declared variable: the override, else the default (with `${prefix}`
    /// substituted). Unknown overrides and variables without a value are errors.
    pub fn resolve(prefix: &str, declared: &BTreeMap<String, Declaration>, overrides: &BTreeMap<String, String>) -> Result<Self, String> {
        let known = || declared.keys().map(String::as_str).collect::<Vec<_>>();
        if let Some(name) = overrides.keys().find(|n| !declared.contains_key(*n)) {
            return Err(format!("--var {name}: the file declares no variable {name:?}; it declares {:?}", known()));
        }
        let bare = Scope { prefix: prefix.to_owned(), values: BTreeMap::new() };
        let mut values = BTreeMap::new();
        for (name, decl) in declared {
            let raw = match (overrides.get(name), &decl.default) {
                (Some(v), _) => v,
                (None, Some(d)) => d,
                (None, None) => return Err(format!("variable {name:?} has no default: pass --var {name}=VALUE")),
            };
            let value =
                bare.expand(raw).map_err(|e| format!("variable {name:?}: {e} (a value may use ${{prefix}}, not other variables)"))?;
            values.insert(name.clone(), value);
        }
        Ok(Scope { prefix: prefix.to_owned(), values })
    }

    /// Substitute every string inside `value` (object keys are left alone).
    pub fn substitute(&self, value: Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(s) => Value::String(self.expand(&s)?),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.substitute(v)).collect::<Result<_, _>>()?),
            Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| Ok((k, self.substitute(v)?))).collect::<Result<_, String>>()?),
            other => other,
        })
    }

    /// Substitute the placeholders of one string.
    pub fn expand(&self, s: &str) -> Result<String, String> {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = matching_brace(after) else {
                return Err(format!("unclosed placeholder in {s:?}"));
            };
            let body = &after[..end];
            out.push_str(&self.placeholder(body, s)?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn placeholder(&self, body: &str, whole: &str) -> Result<String, String> {
        if body == "prefix" {
            return Ok(self.prefix.clone());
        }
        if LATE_PLACEHOLDERS.contains(&body) {
            return Ok(format!("${{{body}}}"));
        }
        if let Some(var) = body.strip_prefix("var.") {
            let (name, text) = match var.split_once(":+") {
                Some((name, text)) => (name, Some(text)),
                None => (var, None),
            };
            let Some(value) = self.values.get(name) else {
                let known: Vec<&str> = self.values.keys().map(String::as_str).collect();
                return Err(format!("${{var.{name}}} in {whole:?}: the file declares no variable {name:?} (declared: {known:?})"));
            };
            return match text {
                None => Ok(value.clone()),
                Some(_) if value.is_empty() => Ok(String::new()),
                Some(text) => self.expand(text),
            };
        }
        Err(format!(
            "unknown placeholder ${{{body}}} in {whole:?}; defined are ${{prefix}}, ${{var.NAME}}, ${{var.NAME:+TEXT}} (and, in ARNs, ${{partition}}, ${{region}}, ${{account}})"
        ))
    }
}

/// The index of the `}` closing a placeholder whose body starts `s`, counting nested `${`.
fn matching_brace(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(overrides: &[(&str, &str)]) -> Result<Scope, String> {
        let declared = declarations(Some(json!({
            "feed_bucket": {"default": "${prefix}-feeds", "description": "the bucket"},
            "feed_prefix": {"default": ""},
            "// note": "comments are allowed"
        })))?;
        let overrides = overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Scope::resolve("p1", &declared, &overrides)
    }

    #[test]
    fn defaults_use_the_prefix_and_overrides_win() {
        let s = scope(&[]).unwrap();
        assert_eq!(s.expand("${var.feed_bucket}/x").unwrap(), "p1-feeds/x");
        let s = scope(&[("feed_bucket", "other"), ("feed_prefix", "ci")]).unwrap();
        assert_eq!(s.expand("${var.feed_bucket}/${var.feed_prefix}").unwrap(), "other/ci");
    }

    #[test]
    fn the_conditional_form_appears_only_for_a_non_empty_value() {
        let empty = scope(&[]).unwrap();
        let text = "${var.feed_prefix:+${var.feed_bucket}/${var.feed_prefix}}";
        assert_eq!(empty.expand(text).unwrap(), "");
        assert_eq!(empty.expand("${var.feed_prefix}${var.feed_prefix:+/}events/*").unwrap(), "events/*");
        let set = scope(&[("feed_prefix", "ci/p")]).unwrap();
        assert_eq!(set.expand(text).unwrap(), "p1-feeds/ci/p");
        assert_eq!(set.expand("${var.feed_prefix}${var.feed_prefix:+/}events/*").unwrap(), "ci/p/events/*");
    }

    #[test]
    fn arn_placeholders_stay_and_mistakes_are_named() {
        let s = scope(&[]).unwrap();
        assert_eq!(s.expand("arn:${partition}:s3:::${var.feed_bucket}").unwrap(), "arn:${partition}:s3:::p1-feeds");
        let err = s.expand("${var.nope}").unwrap_err();
        assert!(err.contains("declares no variable \"nope\"") && err.contains("feed_bucket"), "{err}");
        assert!(s.expand("${stack}").unwrap_err().contains("unknown placeholder ${stack}"));
        assert!(s.expand("${var.feed_bucket").unwrap_err().contains("unclosed"));
        let err = scope(&[("nope", "x")]).unwrap_err();
        assert!(err.contains("--var nope") && err.contains("feed_bucket"), "{err}");
    }

    #[test]
    fn values_cannot_refer_to_variables_and_need_a_value() {
        let declared = declarations(Some(json!({"a": {"default": "x"}, "b": {"default": "${var.a}"}}))).unwrap();
        let err = Scope::resolve("p", &declared, &BTreeMap::new()).unwrap_err();
        assert!(err.contains("variable \"b\""), "{err}");
        let declared = declarations(Some(json!({"needed": {"description": "no default"}}))).unwrap();
        let err = Scope::resolve("p", &declared, &BTreeMap::new()).unwrap_err();
        assert!(err.contains("pass --var needed=VALUE"), "{err}");
        assert!(declarations(Some(json!({"Bad-Name": {}}))).is_err());
        assert!(declarations(Some(json!({"a": {"defualt": "x"}}))).unwrap_err().contains("unknown field"));
    }
}
