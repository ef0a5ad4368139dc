//! Published schemas evolve only compatibly. `contracts/published/` holds each schema as it was
//! published; the live one in `contracts/schemas/` may change only so that every event valid
//! under the published schema stays valid (consumers of the new schema still read what old
//! producers send). A change that breaks that needs a new version (`<type>.v2`), published next
//! to the old one (see `contracts/README.md`). A compatible change is published by copying the
//! schema over its frozen copy (or `PULSE_BLESS=1` with this test).
//!
//! The rules of `contracts/README.md` ("Versioning rules"), checked structurally: producers and
//! consumers upgrade independently, so a change must keep old events valid for new consumers and
//! new events valid for old ones. So, within one version:
//! - an optional property may be added to an object that allows unknown properties (a
//!   `detail`), and documentation (`description`, `title`, `examples`, ...) may change;
//! - nothing else: no property removed or newly required, no type, `enum`, `const`, `$ref`,
//!   format or bound changed, no property added where unknown ones are refused.

use std::collections::BTreeSet;
use std::fs;

use serde_json::Value;

use crate::contracts_dir;

/// Keys that document a schema without constraining it.
const DOCUMENTATION: [&str; 6] = ["description", "title", "$comment", "examples", "default", "$id"];

/// Why `new` is not `old` in the sense of the rules above; empty when it is. `at` names the place.
fn breaks(old: &Value, new: &Value, at: &str) -> Vec<String> {
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => {
            let mut out = Vec::new();
            let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
            for key in keys.into_iter().filter(|k| !DOCUMENTATION.contains(&k.as_str())) {
                let here = format!("{at}/{key}");
                match (key.as_str(), old.get(key), new.get(key)) {
                    ("required", o, n) => {
                        let set = |v: Option<&Value>| -> BTreeSet<String> {
                            v.and_then(Value::as_array).into_iter().flatten().map(Value::to_string).collect()
                        };
                        let (was, is) = (set(o), set(n));
                        out.extend(is.difference(&was).map(|r| format!("{here}: {r} is newly required")));
                        out.extend(was.difference(&is).map(|r| format!("{here}: {r} is no longer required")));
                    }
                    ("properties" | "$defs", o, n) => {
                        let empty = serde_json::Map::new();
                        let was = o.and_then(Value::as_object).unwrap_or(&empty);
                        let is = n.and_then(Value::as_object).unwrap_or(&empty);
                        for (name, old_sub) in was {
                            match is.get(name) {
                                Some(new_sub) => out.extend(breaks(old_sub, new_sub, &format!("{here}/{name}"))),
                                None => out.push(format!("{here}/{name}: removed")),
                            }
                        }
                        let closed = old.get("additionalProperties") == Some(&Value::Bool(false));
                        if key == "properties" && closed {
                            out.extend(
                                is.keys()
                                    .filter(|k| !was.contains_key(*k))
                                    .map(|k| format!("{here}/{k}: added where unknown properties are refused")),
                            );
                        }
                    }
                    (_, Some(o), Some(n)) => out.extend(breaks(o, n, &here)),
                    (_, o, n) => out.push(format!("{here}: changed from {} to {}", show(o), show(n))),
                }
            }
            out
        }
        (Value::Array(old_items), Value::Array(new_items)) if old_items.len() == new_items.len() && !at.ends_with("/enum") => {
            old_items.iter().zip(new_items).enumerate().flat_map(|(i, (o, n))| breaks(o, n, &format!("{at}/{i}"))).collect()
        }
        _ if old == new => Vec::new(),
        _ => vec![format!("{at}: changed from {old} to {new}")],
    }
}

fn show(v: Option<&Value>) -> String {
    v.map_or("(absent)".to_owned(), Value::to_string)
}

fn read(path: &std::path::Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

#[test]
fn every_published_schema_changed_only_as_the_versioning_rules_allow() {
    let published = contracts_dir().join("published");
    let mut names: Vec<_> = fs::read_dir(&published).expect("contracts/published exists").map(|e| e.unwrap().file_name()).collect();
    names.sort();
    let mut failures = Vec::new();
    for name in &names {
        let live = contracts_dir().join("schemas").join(name);
        if !live.exists() {
            failures.push(format!("{}: published but gone from contracts/schemas (a published version stays)", name.to_string_lossy()));
            continue;
        }
        let (old, new) = (read(&published.join(name)), read(&live));
        let broken = breaks(&old, &new, &name.to_string_lossy());
        if broken.is_empty() && old != new && std::env::var_os("PULSE_BLESS").is_some() {
            fs::write(published.join(name), serde_json::to_string_pretty(&new).unwrap() + "\n").unwrap();
        }
        failures.extend(broken);
    }
    assert!(names.len() >= 14, "only {} published schemas", names.len());
    assert!(failures.is_empty(), "incompatible changes to published schemas (publish a new version instead):\n{}", failures.join("\n"));
    // Every live schema is published: a new version is frozen the moment it is added.
    for live in fs::read_dir(contracts_dir().join("schemas")).unwrap() {
        let name = live.unwrap().file_name();
        assert!(names.contains(&name), "{} is not in contracts/published: copy it there to publish it", name.to_string_lossy());
    }
}

#[test]
fn the_checker_refuses_what_the_versioning_rules_call_a_new_version() {
    let old = serde_json::json!({
        "type": "object", "required": ["a", "detail"], "additionalProperties": false,
        "properties": {
            "a": {"type": "string"},
            "n": {"type": "integer", "minimum": 0},
            "detail": {"type": "object", "required": ["k"], "properties": {"k": {"enum": ["x", "y"]}}}
        }
    });
    let with = |patch: &dyn Fn(&mut Value)| {
        let mut new = old.clone();
        patch(&mut new);
        breaks(&old, &new, "s")
    };
    // Allowed: an optional field in the open `detail`, and documentation.
    assert_eq!(
        with(&|v| {
            v["properties"]["detail"]["properties"]["c"] = serde_json::json!({"type": "string"});
        }),
        Vec::<String>::new()
    );
    assert_eq!(
        with(&|v| {
            v["properties"]["a"]["description"] = serde_json::json!("now documented");
        }),
        Vec::<String>::new()
    );
    // Each of these is a new version, and says why.
    let refused = |patch: &dyn Fn(&mut Value), says: &str| {
        let found = with(patch);
        assert!(found.iter().any(|f| f.contains(says)), "expected {says:?} in {found:?}");
    };
    refused(
        &|v| {
            v["properties"]["detail"]["required"] = serde_json::json!(["k", "c"]);
        },
        "\"c\" is newly required",
    );
    refused(
        &|v| {
            v["properties"]["detail"]["required"] = serde_json::json!([]);
        },
        "\"k\" is no longer required",
    );
    refused(
        &|v| {
            v["properties"]["detail"]["properties"].as_object_mut().unwrap().remove("k");
        },
        "s/properties/detail/properties/k: removed",
    );
    refused(
        &|v| {
            v["properties"]["detail"]["properties"]["k"]["enum"] = serde_json::json!(["x", "y", "z"]);
        },
        "/enum: changed",
    );
    refused(
        &|v| {
            v["properties"]["a"]["type"] = serde_json::json!("integer");
        },
        "s/properties/a/type: changed",
    );
    refused(
        &|v| {
            v["properties"]["n"]["minimum"] = serde_json::json!(1);
        },
        "minimum: changed",
    );
    refused(
        &|v| {
            v["properties"]["b"] = serde_json::json!({"type": "string"});
        },
        "added where unknown properties are refused",
    );
}
