//! `IamRole`: an execution role with a trust policy, inline least-privilege policies and managed
//! policy ARNs. Pulse's functions each get their own role, so a compromised function can only
//! touch what its service owns.
//!
//! Observed inline policies that the file does not declare show in the plan as `Policy/<name>:
//! … → (absent)` and are deleted by the deploy: the file is the whole truth about the role.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ApplyInput, Resource, check_name};
use crate::clients::{Clients, Context};
use crate::error::{Error, Result, error_is};
use crate::model::{self, Change, FieldChange, Kind, Properties, ResourceId, normalize};

/// Prefix of the property holding one inline policy (`Policy/<name>`).
pub const POLICY_FIELD: &str = "Policy/";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamRoleSpec {
    pub name: String,
    /// Services allowed to assume the role (its trust policy); Lambda by default.
    #[serde(default = "default_trusted")]
    pub trusted_services: Vec<String>,
    /// Inline policies by name: each a policy document, or just its list of statements.
    /// ARNs may use `${partition}`, `${region}` and `${account}`.
    #[serde(default)]
    pub policies: BTreeMap<String, Value>,
    /// Managed policies to attach (e.g. `arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole`).
    #[serde(default)]
    pub managed_policy_arns: Vec<String>,
}

fn default_trusted() -> Vec<String> {
    vec!["lambda.amazonaws.com".to_owned()]
}

impl IamRoleSpec {
    fn trust_policy(&self) -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": if self.trusted_services.len() == 1 { json!(self.trusted_services[0]) } else { json!(self.trusted_services) }},
                "Action": "sts:AssumeRole"
            }]
        })
    }

    /// A declared policy as a full document, with the account's ARNs spelled out.
    fn policy_document(policy: &Value, cx: &Context) -> Value {
        let doc = match policy {
            Value::Array(statements) => json!({"Version": "2012-10-17", "Statement": statements}),
            other => other.clone(),
        };
        serde_json::from_str(&cx.expand(&doc.to_string())).unwrap_or(doc)
    }

    fn managed_sorted(&self) -> Vec<String> {
        let mut arns = self.managed_policy_arns.clone();
        arns.sort();
        arns.dedup();
        arns
    }
}

/// Least privilege, checked before any call: every statement names its actions and resources,
/// and no statement allows every action.
fn check_policy(name: &str, policy: &Value) -> std::result::Result<(), String> {
    let statements = match policy {
        Value::Array(s) => s,
        Value::Object(doc) => match doc.get("Statement") {
            Some(Value::Array(s)) => s,
            _ => return Err(format!("policy {name:?}: a document needs a `Statement` list")),
        },
        _ => return Err(format!("policy {name:?} must be a policy document or a list of statements")),
    };
    if statements.is_empty() {
        return Err(format!("policy {name:?} has no statements"));
    }
    for (i, st) in statements.iter().enumerate() {
        let at = format!("policy {name:?} statement {i}");
        for field in ["Effect", "Action", "Resource"] {
            if st.get(field).is_none() {
                return Err(format!("{at}: missing {field}"));
            }
        }
        let actions: Vec<&str> = match &st["Action"] {
            Value::String(a) => vec![a.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if actions.is_empty() {
            return Err(format!("{at}: Action must be a name or a list of names"));
        }
        if let Some(a) = actions.iter().find(|a| **a == "*" || a.ends_with(":*")) {
            return Err(format!("{at}: action {a:?} allows everything; list the actions the function calls"));
        }
    }
    Ok(())
}

/// IAM answers policy documents percent-encoded (RFC 3986); moto answers them encoded too.
pub(crate) fn decode_policy(text: &str) -> Value {
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
    serde_json::from_str(&decoded).unwrap_or_else(|_| Value::String(decoded.into_owned()))
}

#[async_trait]
impl Resource for IamRoleSpec {
    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::IamRole, &self.name)
    }

    fn references(&self) -> Vec<ResourceId> {
        Vec::new()
    }

    fn validate(&self) -> std::result::Result<(), String> {
        check_name("role", &self.name, 1..=64, |c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c), "A-Z a-z 0-9 + = , . @ _ -")?;
        if self.trusted_services.is_empty() {
            return Err("trusted_services must name at least one service (e.g. lambda.amazonaws.com)".into());
        }
        for (name, policy) in &self.policies {
            check_name("policy", name, 1..=128, |c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c), "A-Z a-z 0-9 + = , . @ _ -")?;
            check_policy(name, policy)?;
        }
        Ok(())
    }

    fn desired(&self, cx: &Context) -> Properties {
        let mut props = Properties::new();
        props.insert("AssumeRolePolicyDocument".into(), self.trust_policy());
        for (name, policy) in &self.policies {
            props.insert(format!("{POLICY_FIELD}{name}"), Self::policy_document(policy, cx));
        }
        props.insert("ManagedPolicyArns".into(), json!(self.managed_sorted()));
        props
    }

    async fn observe(&self, clients: &Clients, _cx: &Context) -> Result<Option<Properties>> {
        let id = self.id();
        let role = match clients.iam.get_role().role_name(&self.name).send().await {
            Ok(out) => out.role,
            Err(err) if error_is(&err, &["NoSuchEntity"]) => return Ok(None),
            Err(err) => return Err(Error::aws(&id, "iam:GetRole", err)),
        };
        let mut props = Properties::new();
        if let Some(role) = role {
            props.insert("Arn".into(), json!(role.arn()));
            if let Some(doc) = role.assume_role_policy_document() {
                props.insert("AssumeRolePolicyDocument".into(), decode_policy(doc));
            }
        }
        let names =
            clients.iam.list_role_policies().role_name(&self.name).send().await.map_err(|e| Error::aws(&id, "iam:ListRolePolicies", e))?;
        for policy in names.policy_names() {
            let out = clients
                .iam
                .get_role_policy()
                .role_name(&self.name)
                .policy_name(policy)
                .send()
                .await
                .map_err(|e| Error::aws(&id, "iam:GetRolePolicy", e))?;
            props.insert(format!("{POLICY_FIELD}{policy}"), decode_policy(out.policy_document()));
        }
        let attached = clients
            .iam
            .list_attached_role_policies()
            .role_name(&self.name)
            .send()
            .await
            .map_err(|e| Error::aws(&id, "iam:ListAttachedRolePolicies", e))?;
        let mut arns: Vec<String> = attached.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_owned)).collect();
        arns.sort();
        props.insert("ManagedPolicyArns".into(), json!(arns));
        Ok(Some(props))
    }

    /// The declared fields, plus every inline policy the role has and the file does not declare.
    fn diff(&self, desired: &Properties, observed: Option<&Properties>) -> Change {
        let change = model::diff(desired, observed);
        let Some(observed) = observed else { return change };
        let extra: Vec<FieldChange> = observed
            .iter()
            .filter(|(k, _)| k.starts_with(POLICY_FIELD) && !desired.contains_key(*k))
            .map(|(k, v)| FieldChange { field: k.clone(), from: Some(normalize(v)), to: Value::Null })
            .collect();
        if extra.is_empty() {
            return change;
        }
        let mut fields = change.fields().to_vec();
        fields.extend(extra);
        Change::Update { fields }
    }

    async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
        let id = self.id();
        let put = |name: String, doc: Value| {
            let id = id.clone();
            async move {
                clients
                    .iam
                    .put_role_policy()
                    .role_name(&self.name)
                    .policy_name(name)
                    .policy_document(doc.to_string())
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "iam:PutRolePolicy", e))
                    .map(|_| ())
            }
        };
        let desired_managed = self.managed_sorted();
        let observed_managed: Vec<String> = input
            .observed
            .and_then(|o| o.get("ManagedPolicyArns"))
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        match input.change {
            Change::Create => {
                clients
                    .iam
                    .create_role()
                    .role_name(&self.name)
                    .assume_role_policy_document(self.trust_policy().to_string())
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "iam:CreateRole", e))?;
                for (field, doc) in input.desired {
                    if let Some(name) = field.strip_prefix(POLICY_FIELD) {
                        put(name.to_owned(), doc.clone()).await?;
                    }
                }
            }
            Change::Update { fields } => {
                for f in fields {
                    if f.field == "AssumeRolePolicyDocument" {
                        clients
                            .iam
                            .update_assume_role_policy()
                            .role_name(&self.name)
                            .policy_document(self.trust_policy().to_string())
                            .send()
                            .await
                            .map_err(|e| Error::aws(&id, "iam:UpdateAssumeRolePolicy", e))?;
                    } else if let Some(name) = f.field.strip_prefix(POLICY_FIELD) {
                        match input.desired.get(&f.field) {
                            Some(doc) => put(name.to_owned(), doc.clone()).await?,
                            None => {
                                clients
                                    .iam
                                    .delete_role_policy()
                                    .role_name(&self.name)
                                    .policy_name(name)
                                    .send()
                                    .await
                                    .map_err(|e| Error::aws(&id, "iam:DeleteRolePolicy", e))?;
                            }
                        }
                    }
                }
                if !input.change.touches("ManagedPolicyArns") {
                    return Ok(());
                }
            }
            Change::NoChange => return Ok(()),
        }
        for arn in desired_managed.iter().filter(|a| !observed_managed.contains(a)) {
            clients
                .iam
                .attach_role_policy()
                .role_name(&self.name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| Error::aws(&id, "iam:AttachRolePolicy", e))?;
        }
        for arn in observed_managed.iter().filter(|a| !desired_managed.contains(a)) {
            clients
                .iam
                .detach_role_policy()
                .role_name(&self.name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| Error::aws(&id, "iam:DetachRolePolicy", e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(policies: Value) -> IamRoleSpec {
        serde_json::from_value(json!({"name": "p-notifier", "policies": policies})).unwrap()
    }

    #[test]
    fn wildcard_actions_and_incomplete_statements_are_refused() {
        let ok = role(
            json!({"bus": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": "arn:${partition}:events:${region}:${account}:event-bus/p-bus"}]}),
        );
        ok.validate().unwrap();
        let star = role(json!({"all": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}]}));
        assert!(star.validate().unwrap_err().contains("\"s3:*\" allows everything"));
        let missing = role(json!({"x": [{"Effect": "Allow", "Action": "s3:GetObject"}]}));
        assert!(missing.validate().unwrap_err().contains("missing Resource"));
    }

    #[test]
    fn arns_are_expanded_and_undeclared_inline_policies_are_removed() {
        let cx = Context::new("aws", "eu-west-1", "111122223333");
        let spec = role(
            json!({"bus": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": "arn:${partition}:events:${region}:${account}:event-bus/p-bus"}]}),
        );
        let desired = spec.desired(&cx);
        assert_eq!(desired["Policy/bus"]["Statement"][0]["Resource"], json!("arn:aws:events:eu-west-1:111122223333:event-bus/p-bus"));
        let mut observed = desired.clone();
        observed.insert("Policy/legacy".into(), json!("%7B%22Version%22%3A%222012-10-17%22%7D"));
        let change = spec.diff(&desired, Some(&observed));
        assert_eq!(change.fields().len(), 1);
        assert_eq!(change.fields()[0].field, "Policy/legacy");
        assert_eq!(change.fields()[0].to, Value::Null);
        assert_eq!(spec.diff(&desired, Some(&desired)), Change::NoChange);
    }

    #[test]
    fn percent_encoded_documents_decode() {
        assert_eq!(decode_policy("%7B%22a%22%3A1%7D"), json!({"a": 1}));
        assert_eq!(decode_policy("{\"a\":1}"), json!({"a": 1}));
    }
}
