//! `IAMInstanceProfile`: an IAM role that EC2 may assume, its managed and inline policies, and an
//! instance profile holding it (praktika's `IAMInstanceProfile.Config`; Image Builder
//! infrastructure configurations and instances use it).
//!
//! Both the role and the profile are tagged with the ownership tags; a role of that name without
//! them is reported, never taken over.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::fleet::{self, Tags};
use super::{ApplyInput, Resource, check_name};
use crate::clients::{Clients, Context};
use crate::error::{Error, Result, error_is};
use crate::model::{Change, Kind, Properties, ResourceId, normalize};

const MISSING: [&str; 1] = ["NoSuchEntity"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamInstanceProfileSpec {
    /// The instance profile's name.
    pub name: String,
    /// Must be the deploy's region when set (IAM itself is global).
    #[serde(default)]
    pub region: String,
    /// The role to create and put in the profile (required).
    #[serde(default)]
    pub role_name: String,
    /// Managed policies attached to the role; others are detached.
    #[serde(default)]
    pub policy_arns: Vec<String>,
    /// Inline policies (name → policy document); others are deleted.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, Value>,
    /// Tags on the role and the profile (besides the ownership tags).
    #[serde(default)]
    pub tags: Tags,
    #[serde(skip)]
    pub stack: String,
}

/// The trust policy praktika gives the role: EC2 may assume it.
pub fn ec2_trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    })
}

/// IAM answers policy documents URL-encoded.
fn decode_policy(raw: &str) -> Value {
    let decoded = percent_decode(raw);
    serde_json::from_str(&decoded).unwrap_or(Value::String(decoded))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl IamInstanceProfileSpec {
    fn all_tags(&self) -> Tags {
        let mut tags = self.tags.clone();
        tags.extend(fleet::ownership(&self.stack, Kind::IAMInstanceProfile, &self.name, false));
        tags
    }

    fn iam_tags(&self) -> Vec<aws_sdk_iam::types::Tag> {
        self.all_tags().iter().filter_map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build().ok()).collect()
    }

    fn policy_arns(&self) -> Vec<String> {
        let mut arns: Vec<String> = self.policy_arns.iter().filter(|a| !a.is_empty()).cloned().collect();
        arns.sort();
        arns.dedup();
        arns
    }

    async fn attached(&self, clients: &Clients) -> Result<Vec<String>> {
        let id = self.id();
        let mut arns = Vec::new();
        let mut marker = None;
        loop {
            let out = clients
                .iam
                .list_attached_role_policies()
                .role_name(&self.role_name)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| Error::aws(&id, "iam:ListAttachedRolePolicies", e))?;
            arns.extend(out.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_owned)));
            marker = out.marker().filter(|_| out.is_truncated()).map(str::to_owned);
            if marker.is_none() {
                break;
            }
        }
        arns.sort();
        Ok(arns)
    }

    async fn inline(&self, clients: &Clients) -> Result<BTreeMap<String, Value>> {
        let id = self.id();
        let mut names = Vec::new();
        let mut marker = None;
        loop {
            let out = clients
                .iam
                .list_role_policies()
                .role_name(&self.role_name)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| Error::aws(&id, "iam:ListRolePolicies", e))?;
            names.extend(out.policy_names().iter().cloned());
            marker = out.marker().filter(|_| out.is_truncated()).map(str::to_owned);
            if marker.is_none() {
                break;
            }
        }
        let mut docs = BTreeMap::new();
        for name in names {
            let out = clients
                .iam
                .get_role_policy()
                .role_name(&self.role_name)
                .policy_name(&name)
                .send()
                .await
                .map_err(|e| Error::aws(&id, "iam:GetRolePolicy", e))?;
            docs.insert(name, decode_policy(out.policy_document()));
        }
        Ok(docs)
    }

    /// The roles in the profile, or `None` when the profile does not exist.
    async fn profile_roles(&self, clients: &Clients) -> Result<Option<Vec<String>>> {
        match clients.iam.get_instance_profile().instance_profile_name(&self.name).send().await {
            Ok(out) => {
                Ok(Some(out.instance_profile().map(|p| p.roles().iter().map(|r| r.role_name().to_owned()).collect()).unwrap_or_default()))
            }
            Err(err) if error_is(&err, &MISSING) => Ok(None),
            Err(err) => Err(Error::aws(&self.id(), "iam:GetInstanceProfile", err)),
        }
    }
}

#[async_trait]
impl Resource for IamInstanceProfileSpec {
    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::IAMInstanceProfile, &self.name)
    }

    fn references(&self) -> Vec<ResourceId> {
        Vec::new()
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let iam_chars = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
        check_name("instance profile", &self.name, 1..=128, iam_chars, "A-Z a-z 0-9 + = , . @ _ -")?;
        if self.role_name.is_empty() {
            return Err("role_name must be set".into());
        }
        check_name("role", &self.role_name, 1..=64, iam_chars, "A-Z a-z 0-9 + = , . @ _ -")?;
        for arn in &self.policy_arns {
            if !arn.starts_with("arn:") {
                return Err(format!("policy_arns: {arn:?} is not an ARN"));
            }
        }
        for (name, doc) in &self.inline_policies {
            if !doc.is_object() {
                return Err(format!("inline_policies.{name} must be a policy document (a JSON object)"));
            }
        }
        Ok(())
    }

    fn desired(&self, _cx: &Context) -> Properties {
        let mut p = Properties::new();
        p.insert("AssumeRolePolicyDocument".into(), ec2_trust_policy());
        p.insert("ManagedPolicyArns".into(), json!(self.policy_arns()));
        p.insert("InlinePolicies".into(), json!(self.inline_policies));
        p.insert("InstanceProfileRoles".into(), json!([self.role_name]));
        p
    }

    async fn observe(&self, clients: &Clients, cx: &Context) -> Result<Option<Properties>> {
        let id = self.id();
        fleet::check_region(&id, &self.region, cx)?;
        let role = match clients.iam.get_role().role_name(&self.role_name).send().await {
            Ok(out) => out.role,
            Err(err) if error_is(&err, &MISSING) => None,
            Err(err) => return Err(Error::aws(&id, "iam:GetRole", err)),
        };
        let Some(role) = role else {
            return Ok(None);
        };
        let tags: Tags = role.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
        if !fleet::is_owned(&tags, &self.stack, Kind::IAMInstanceProfile, &self.name, false) {
            return Err(fleet::not_owned(&id, &self.stack, &tags));
        }
        let mut p = Properties::new();
        if let Some(doc) = role.assume_role_policy_document() {
            p.insert("AssumeRolePolicyDocument".into(), decode_policy(doc));
        }
        p.insert("ManagedPolicyArns".into(), json!(self.attached(clients).await?));
        p.insert("InlinePolicies".into(), json!(self.inline(clients).await?));
        p.insert("InstanceProfileRoles".into(), json!(self.profile_roles(clients).await?));
        p.insert("RoleArn".into(), json!(role.arn()));
        Ok(Some(p))
    }

    async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
        let id = self.id();
        let observed = input.observed.cloned().unwrap_or_default();
        let create = matches!(input.change, Change::Create);
        if create {
            clients
                .iam
                .create_role()
                .role_name(&self.role_name)
                .assume_role_policy_document(ec2_trust_policy().to_string())
                .set_tags(Some(self.iam_tags()))
                .send()
                .await
                .map_err(|e| Error::aws(&id, "iam:CreateRole", e))?;
        } else if input.change.touches("AssumeRolePolicyDocument") {
            clients
                .iam
                .update_assume_role_policy()
                .role_name(&self.role_name)
                .policy_document(ec2_trust_policy().to_string())
                .send()
                .await
                .map_err(|e| Error::aws(&id, "iam:UpdateAssumeRolePolicy", e))?;
        }

        if create || input.change.touches("ManagedPolicyArns") {
            let have: Vec<String> =
                serde_json::from_value(observed.get("ManagedPolicyArns").cloned().unwrap_or(json!([]))).unwrap_or_default();
            let want = self.policy_arns();
            for arn in have.iter().filter(|a| !want.contains(a)) {
                clients
                    .iam
                    .detach_role_policy()
                    .role_name(&self.role_name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "iam:DetachRolePolicy", e))?;
            }
            for arn in want.iter().filter(|a| !have.contains(a)) {
                clients
                    .iam
                    .attach_role_policy()
                    .role_name(&self.role_name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "iam:AttachRolePolicy", e))?;
            }
        }

        if create || input.change.touches("InlinePolicies") {
            let have: BTreeMap<String, Value> =
                serde_json::from_value(observed.get("InlinePolicies").cloned().unwrap_or(json!({}))).unwrap_or_default();
            for name in have.keys().filter(|n| !self.inline_policies.contains_key(*n)) {
                clients
                    .iam
                    .delete_role_policy()
                    .role_name(&self.role_name)
                    .policy_name(name)
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "iam:DeleteRolePolicy", e))?;
            }
            for (name, doc) in &self.inline_policies {
                if have.get(name).map(normalize) == Some(normalize(doc)) {
                    continue;
                }
                clients
                    .iam
                    .put_role_policy()
                    .role_name(&self.role_name)
                    .policy_name(name)
                    .policy_document(doc.to_string())
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "iam:PutRolePolicy", e))?;
            }
        }

        if create || input.change.touches("InstanceProfileRoles") {
            let roles: Option<Vec<String>> = if create {
                self.profile_roles(clients).await?
            } else {
                observed.get("InstanceProfileRoles").cloned().and_then(|v| serde_json::from_value(v).ok())
            };
            let roles = match roles {
                Some(roles) => roles,
                None => {
                    clients
                        .iam
                        .create_instance_profile()
                        .instance_profile_name(&self.name)
                        .set_tags(Some(self.iam_tags()))
                        .send()
                        .await
                        .map_err(|e| Error::aws(&id, "iam:CreateInstanceProfile", e))?;
                    Vec::new()
                }
            };
            // A profile holds at most one role.
            for other in roles.iter().filter(|r| **r != self.role_name) {
                clients
                    .iam
                    .remove_role_from_instance_profile()
                    .instance_profile_name(&self.name)
                    .role_name(other)
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "iam:RemoveRoleFromInstanceProfile", e))?;
            }
            if !roles.contains(&self.role_name) {
                clients
                    .iam
                    .add_role_to_instance_profile()
                    .instance_profile_name(&self.name)
                    .role_name(&self.role_name)
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "iam:AddRoleToInstanceProfile", e))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_decode_from_iams_url_encoding() {
        let raw = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(decode_policy(raw), json!({"Version": "2012-10-17", "Statement": []}));
        assert_eq!(decode_policy("{\"a\": 1}"), json!({"a": 1}));
    }

    #[test]
    fn role_name_is_required_and_documents_are_objects() {
        let s: IamInstanceProfileSpec = serde_json::from_value(json!({"name": "p"})).unwrap();
        assert_eq!(s.validate().unwrap_err(), "role_name must be set");
        let s: IamInstanceProfileSpec =
            serde_json::from_value(json!({"name": "p", "role_name": "r", "inline_policies": {"x": "nope"}})).unwrap();
        assert!(s.validate().unwrap_err().contains("inline_policies.x"));
        let s: IamInstanceProfileSpec = serde_json::from_value(
            json!({"name": "p", "role_name": "r", "policy_arns": ["arn:aws:iam::aws:policy/A", "arn:aws:iam::aws:policy/A"]}),
        )
        .unwrap();
        assert_eq!(s.desired(&Context::new("aws", "r", "1"))["ManagedPolicyArns"], json!(["arn:aws:iam::aws:policy/A"]));
    }
}
