//! What the CI fleet's kinds (`DedicatedHost`, `IAMInstanceProfile`, `EC2Instance`,
//! `LaunchTemplate`, `AutoScalingGroup`) share: ownership tags, praktika's identification tags,
//! the macOS rules, and EC2 tag and filter conversions.
//!
//! Ownership: everything these kinds create carries `pulse:stack=<prefix>` and
//! `pulse:resource=<name>`; hosts and instances also carry `pulse:kind=<kind>`, because an
//! Auto Scaling group's instances carry its (propagated) ownership tags too and shutdown must tell
//! them apart from `EC2Instance`'s. Observe and shutdown only ever look at resources with these
//! tags, so another stack's (or a person's) resources are never touched.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use serde_json::Value;

use crate::clients::Context;
use crate::error::{Error, Result};
use crate::model::{Kind, ResourceId};

pub const STACK_TAG: &str = "pulse:stack";
pub const RESOURCE_TAG: &str = "pulse:resource";
pub const KIND_TAG: &str = "pulse:kind";

/// Tags by key (sorted, so plans and requests are stable).
pub type Tags = BTreeMap<String, String>;

/// Whether an instance type is a macOS one (`mac1.metal`, `mac2-m2.metal`, ...). macOS instances
/// only run on dedicated hosts.
pub fn is_mac(instance_type: &str) -> bool {
    instance_type.starts_with("mac")
}

/// The ownership tags of a resource (with `pulse:kind` when `with_kind`).
pub fn ownership(stack: &str, kind: Kind, name: &str, with_kind: bool) -> Tags {
    let mut tags = Tags::from([(STACK_TAG.to_owned(), stack.to_owned()), (RESOURCE_TAG.to_owned(), name.to_owned())]);
    if with_kind {
        tags.insert(KIND_TAG.to_owned(), kind.as_str().to_owned());
    }
    tags
}

/// praktika's identification tags: `praktika_rn=<name>`, `praktika_resource_tag` when set,
/// `github:runner-type` when set, then the user's tags (which win, as in praktika).
pub fn praktika_tags(name: &str, resource_tag: &str, runner_type: &str, user: &Tags) -> Tags {
    let mut tags = Tags::from([("praktika_rn".to_owned(), name.to_owned())]);
    if !resource_tag.is_empty() {
        tags.insert("praktika_resource_tag".to_owned(), resource_tag.to_owned());
    }
    if !runner_type.is_empty() {
        tags.insert("github:runner-type".to_owned(), runner_type.to_owned());
    }
    tags.extend(user.iter().map(|(k, v)| (k.clone(), v.clone())));
    tags
}

/// Whether `tags` say the resource belongs to this stack's resource `name` (and `kind`, when the
/// kind tag is required).
pub fn is_owned(tags: &Tags, stack: &str, kind: Kind, name: &str, with_kind: bool) -> bool {
    ownership(stack, kind, name, with_kind).iter().all(|(k, v)| tags.get(k) == Some(v))
}

/// The error for a resource that exists under the declared name but belongs to someone else.
pub fn not_owned(id: &ResourceId, stack: &str, tags: &Tags) -> Error {
    let owner = tags.get(STACK_TAG).map_or("no pulse:stack tag".to_owned(), |s| format!("pulse:stack={s}"));
    Error::resource(
        id,
        format!("exists but is not owned by stack {stack} ({owner}); the reconciler does not take over resources it did not create"),
    )
}

/// A resource's `region` field must be the region being deployed (the clients' region).
pub fn check_region(id: &ResourceId, region: &str, cx: &Context) -> Result<()> {
    if !region.is_empty() && region != cx.region {
        return Err(Error::resource(
            id,
            format!("region {region} differs from the region being deployed ({}); set AWS_REGION={region}", cx.region),
        ));
    }
    Ok(())
}

/// Tags without AWS's own (`aws:*`), which nobody may change.
pub fn user_visible(tags: Tags) -> Tags {
    tags.into_iter().filter(|(k, _)| !k.starts_with("aws:")).collect()
}

pub fn tags_value(tags: &Tags) -> Value {
    serde_json::to_value(tags).unwrap_or(Value::Null)
}

/// Tag keys in `observed` that `desired` does not have (to delete).
pub fn stale_keys<'a>(desired: &Tags, observed: &'a Tags) -> Vec<&'a str> {
    observed.keys().filter(|k| !desired.contains_key(*k) && !k.starts_with("aws:")).map(String::as_str).collect()
}

pub fn ec2_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

pub fn from_ec2_tags(tags: &[Tag]) -> Tags {
    tags.iter().filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned()))).collect()
}

pub fn tag_spec(resource_type: ResourceType, tags: &Tags) -> TagSpecification {
    TagSpecification::builder().resource_type(resource_type).set_tags(Some(ec2_tags(tags))).build()
}

pub fn filter(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    Filter::builder().name(name).set_values(Some(values.into_iter().map(Into::into).collect())).build()
}

/// A string field that must be one of `allowed`.
pub fn check_one_of(field: &str, value: &str, allowed: &[&str]) -> std::result::Result<(), String> {
    if allowed.contains(&value) { Ok(()) } else { Err(format!("{field} {value:?} must be one of {allowed:?}")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn praktika_tags_merge_like_praktika() {
        let user = Tags::from([("praktika".into(), "mac".into()), ("praktika_rn".into(), "override".into())]);
        let tags = praktika_tags("pool", "mac", "", &user);
        assert_eq!(tags.get("praktika_rn").map(String::as_str), Some("override"));
        assert_eq!(tags.get("praktika_resource_tag").map(String::as_str), Some("mac"));
        assert!(!tags.contains_key("github:runner-type"));
        assert_eq!(praktika_tags("g", "", "arm_macos", &Tags::new())["github:runner-type"], "arm_macos");
    }

    #[test]
    fn ownership_needs_every_tag() {
        let mut tags = ownership("p1", Kind::EC2Instance, "runner", true);
        assert!(is_owned(&tags, "p1", Kind::EC2Instance, "runner", true));
        assert!(!is_owned(&tags, "p2", Kind::EC2Instance, "runner", true));
        assert!(!is_owned(&tags, "p1", Kind::EC2Instance, "other", true));
        tags.remove(KIND_TAG);
        assert!(!is_owned(&tags, "p1", Kind::EC2Instance, "runner", true));
        assert!(is_owned(&tags, "p1", Kind::EC2Instance, "runner", false));
    }

    #[test]
    fn mac_types_and_stale_tags() {
        assert!(is_mac("mac2-m2.metal") && is_mac("mac1.metal") && !is_mac("c6a.large"));
        let desired = Tags::from([("a".into(), "1".into())]);
        let observed = Tags::from([("a".into(), "2".into()), ("b".into(), "x".into()), ("aws:x".into(), "y".into())]);
        assert_eq!(stale_keys(&desired, &observed), ["b"]);
    }
}
