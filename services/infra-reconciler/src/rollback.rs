//! Rollbacks that are real: a Lambda's alias moves back to the version published before the one
//! it points at; a launch template's default version becomes the one before it. Each returns
//! the versions it moved between, for `deploy.status`.
//!
//! The choice of "previous" is pure ([`previous_lambda_version`], [`previous_template_version`]);
//! the functions around them read and make one write.

use aws_sdk_ec2::types::Filter;

use crate::clients::Clients;
use crate::error::{Error, Result, error_is};
use crate::model::{Kind, ResourceId};

/// From which version to which a deploy or rollback moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionMove {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The published version just below `current` (`$LATEST` is not a published version).
pub fn previous_lambda_version(versions: &[String], current: &str) -> Option<String> {
    let current: u64 = current.parse().ok()?;
    versions.iter().filter_map(|v| v.parse::<u64>().ok()).filter(|v| *v < current).max().map(|v| v.to_string())
}

/// The existing template version just below the default one.
pub fn previous_template_version(existing: &[i64], default: i64) -> Option<i64> {
    existing.iter().copied().filter(|v| *v < default).max()
}

/// The version an alias points at, `None` when the function or alias does not exist.
pub async fn alias_version(clients: &Clients, function: &str, alias: &str) -> Result<Option<String>> {
    let id = ResourceId::new(Kind::Lambda, function);
    match clients.lambda.get_alias().function_name(function).name(alias).send().await {
        Ok(out) => Ok(out.function_version().map(str::to_owned)),
        Err(err) if error_is(&err, &["ResourceNotFoundException"]) => Ok(None),
        Err(err) => Err(Error::aws(&id, "lambda:GetAlias", err)),
    }
}

/// Move `alias` of `function` back to the previous published version.
pub async fn rollback_lambda(clients: &Clients, function: &str, alias: &str) -> Result<VersionMove> {
    let id = ResourceId::new(Kind::Lambda, function);
    let current = alias_version(clients, function, alias)
        .await?
        .ok_or_else(|| Error::resource(&id, format!("alias {alias} does not exist: nothing was deployed to roll back")))?;
    let mut versions = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = clients
            .lambda
            .list_versions_by_function()
            .function_name(function)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| Error::aws(&id, "lambda:ListVersionsByFunction", e))?;
        versions.extend(out.versions().iter().filter_map(|v| v.version().map(str::to_owned)));
        match out.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
            _ => break,
        }
    }
    let previous = previous_lambda_version(&versions, &current).ok_or_else(|| {
        Error::resource(&id, format!("alias {alias} is at version {current}, the oldest published one: nothing to roll back to"))
    })?;
    clients
        .lambda
        .update_alias()
        .function_name(function)
        .name(alias)
        .function_version(&previous)
        .send()
        .await
        .map_err(|e| Error::aws(&id, "lambda:UpdateAlias", e))?;
    tracing::info!(function, alias, from = %current, to = %previous, "rolled back");
    Ok(VersionMove { from: Some(current), to: Some(previous) })
}

/// Make the version before the default one the default of launch template `name`.
pub async fn rollback_launch_template(clients: &Clients, name: &str) -> Result<VersionMove> {
    let id = ResourceId::new(Kind::LaunchTemplate, name);
    let out = clients
        .ec2
        .describe_launch_templates()
        .launch_template_names(name)
        .send()
        .await
        .map_err(|e| Error::aws(&id, "ec2:DescribeLaunchTemplates", e))?;
    let template = out.launch_templates().first().ok_or_else(|| Error::resource(&id, "no launch template of that name"))?;
    let default = template.default_version_number().ok_or_else(|| Error::resource(&id, "the template has no default version"))?;
    let versions = clients
        .ec2
        .describe_launch_template_versions()
        .launch_template_name(name)
        .filters(Filter::builder().name("is-default-version").values("false").build())
        .send()
        .await
        .map_err(|e| Error::aws(&id, "ec2:DescribeLaunchTemplateVersions", e))?;
    let existing: Vec<i64> = versions.launch_template_versions().iter().filter_map(|v| v.version_number()).collect();
    let previous = previous_template_version(&existing, default)
        .ok_or_else(|| Error::resource(&id, format!("version {default} is the oldest: nothing to roll back to")))?;
    clients
        .ec2
        .modify_launch_template()
        .launch_template_name(name)
        .default_version(previous.to_string())
        .send()
        .await
        .map_err(|e| Error::aws(&id, "ec2:ModifyLaunchTemplate", e))?;
    tracing::info!(template = name, from = default, to = previous, "rolled back");
    Ok(VersionMove { from: Some(default.to_string()), to: Some(previous.to_string()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_version_is_the_greatest_below_the_current() {
        let v: Vec<String> = ["$LATEST", "1", "2", "3", "10"].iter().map(|s| s.to_string()).collect();
        assert_eq!(previous_lambda_version(&v, "10").as_deref(), Some("3"));
        assert_eq!(previous_lambda_version(&v, "3").as_deref(), Some("2"));
        assert_eq!(previous_lambda_version(&v, "1"), None);
        assert_eq!(previous_lambda_version(&v, "$LATEST"), None);
        assert_eq!(previous_template_version(&[1, 2, 4], 4), Some(2));
        assert_eq!(previous_template_version(&[3, 5], 3), None);
    }
}
