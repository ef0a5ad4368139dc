//! `ImageBuilder` as a stack declares it: every field of praktika's `ImageBuilder.Config`, with
//! its defaults, and the derivations praktika makes (resource names from `name`, inline
//! components into Image Builder component documents).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An EC2 Image Builder pipeline producing an AMI: its recipe (component ARNs and/or inline
/// components), infrastructure and distribution configurations, and the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageBuilderSpec {
    pub name: String,
    /// praktika's `region`: the default distribution region. Resources are created where the
    /// reconciler's clients point, so when set it must be the stack's region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,

    /// Default `<name>-recipe`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_recipe_name: Option<String>,
    /// The recipe's semantic version (default `1.0.0`). Recipes are immutable: see the module
    /// documentation for what a changed recipe does.
    #[serde(default = "default_version")]
    pub image_recipe_version: String,
    /// An AMI id or an Image Builder image ARN.
    #[serde(default)]
    pub parent_image: String,
    /// Component ARNs, in order (Amazon-managed ones included).
    #[serde(default)]
    pub components: Vec<String>,
    /// Components the reconciler creates from commands, after `components` in the recipe.
    #[serde(default)]
    pub inline_components: Vec<InlineComponent>,
    /// Python venvs baked into the image, each an inline component.
    #[serde(default)]
    pub prebuilt_venvs: Vec<PrebuiltVenv>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// In the API's shape: `[{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 100, ...}}]`.
    #[serde(default)]
    pub block_device_mappings: Vec<Value>,

    /// Default `<base>-imagebuilder-infra` (`base`: `name` without a `-image` suffix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infrastructure_configuration_name: Option<String>,
    #[serde(default)]
    pub instance_profile_name: String,
    #[serde(default)]
    pub instance_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    /// Security groups by name, looked up in the VPC `vpc_name` (added to `security_group_ids`).
    #[serde(default)]
    pub security_group_names: Vec<String>,
    /// A VPC's `Name` tag: where `security_group_names` are looked up, and whose first subnet
    /// (by id) is used when `subnet_id` is unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_pair: Option<String>,
    #[serde(default = "yes")]
    pub terminate_instance_on_failure: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sns_topic_arn: Option<String>,

    /// Default `<base>-imagebuilder-dist`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution_configuration_name: Option<String>,
    /// Default `<base>-{{ imagebuilder:buildDate }}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami_name: Option<String>,
    #[serde(default)]
    pub ami_tags: BTreeMap<String, String>,
    /// In the API's shape: `{"userIds": [...], "userGroups": ["all"], "organizationArns": [...]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami_launch_permission: Option<Value>,
    /// Where the AMI is distributed; default: `region`, else the stack's region.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Launch templates (by name) whose default version each new AMI updates (the
    /// distribution's `launchTemplateConfigurations`); ones that do not exist yet are skipped.
    #[serde(default)]
    pub launch_templates: Vec<String>,
    #[serde(default = "yes")]
    pub set_launch_template_default_version: bool,

    /// Default `<base>-imagebuilder-pipeline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pipeline_name: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `cron(...)` or `rate(...)`; builds then start on `EXPRESSION_MATCH_ONLY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_expression: Option<String>,
    /// When unset, the service's default applies and is not compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tests_enabled: Option<bool>,
    #[serde(default = "default_tests_timeout")]
    pub image_tests_timeout_minutes: u32,

    /// Raw API fields laid over the generated requests (praktika's `recipe`,
    /// `infrastructure_configuration`, `distribution_configuration`, `pipeline`).
    #[serde(default)]
    pub recipe: Map<String, Value>,
    #[serde(default)]
    pub infrastructure_configuration: Map<String, Value>,
    #[serde(default)]
    pub distribution_configuration: Map<String, Value>,
    #[serde(default)]
    pub pipeline: Map<String, Value>,
}

/// What each override map may set (API field names).
pub(crate) const OVERRIDABLE: [(&str, &[&str]); 4] = [
    ("recipe", &["description", "workingDirectory", "blockDeviceMappings", "parentImage"]),
    (
        "infrastructure_configuration",
        &[
            "description",
            "instanceTypes",
            "instanceProfileName",
            "subnetId",
            "securityGroupIds",
            "keyPair",
            "snsTopicArn",
            "terminateInstanceOnFailure",
            "resourceTags",
        ],
    ),
    ("distribution_configuration", &["description", "distributions"]),
    ("pipeline", &["description", "status", "schedule", "imageTestsConfiguration", "enhancedImageMetadataEnabled"]),
];

/// A component made from commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineComponent {
    pub name: String,
    /// Default: the recipe's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `Linux`, `Windows` or `macOS` (also `mac`, `osx`, `win`...); praktika's default is macOS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub commands: Vec<String>,
    /// One command per non-empty line; used when `commands` is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// The document phase (default `build`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// A whole component document, instead of one generated from the commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// praktika's `PrebuiltVenv`: a venv created at `path` with `packages` installed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrebuiltVenv {
    pub name: String,
    #[serde(default)]
    pub packages: Vec<String>,
    #[serde(default = "default_python")]
    pub python: String,
    /// Default `/opt/praktika/base-venvs/<name>`.
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub description: String,
}

fn default_version() -> String {
    "1.0.0".to_owned()
}
fn default_tests_timeout() -> u32 {
    60
}
fn default_python() -> String {
    "python3.12".to_owned()
}
fn yes() -> bool {
    true
}

/// A component as the reconciler creates it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ComponentPlan {
    pub name: String,
    pub version: String,
    pub platform: String,
    pub description: Option<String>,
    pub document: String,
}

impl ImageBuilderSpec {
    /// `name` without a trailing `-image`, the stem of praktika's derived names.
    fn base(&self) -> &str {
        self.name.strip_suffix("-image").unwrap_or(&self.name)
    }

    pub fn recipe_name(&self) -> String {
        self.image_recipe_name.clone().unwrap_or_else(|| format!("{}-recipe", self.name))
    }

    pub fn infrastructure_name(&self) -> String {
        self.infrastructure_configuration_name.clone().unwrap_or_else(|| format!("{}-imagebuilder-infra", self.base()))
    }

    pub fn distribution_name(&self) -> String {
        self.distribution_configuration_name.clone().unwrap_or_else(|| format!("{}-imagebuilder-dist", self.base()))
    }

    pub fn ami_name(&self) -> String {
        self.ami_name.clone().unwrap_or_else(|| format!("{}-{{{{ imagebuilder:buildDate }}}}", self.base()))
    }

    pub fn pipeline_name(&self) -> String {
        self.image_pipeline_name.clone().unwrap_or_else(|| format!("{}-imagebuilder-pipeline", self.base()))
    }

    /// The inline components and prebuilt venvs, as components to create, in recipe order.
    pub(crate) fn component_plans(&self) -> Result<Vec<ComponentPlan>, String> {
        let mut plans = Vec::new();
        for (i, c) in self.inline_components.iter().enumerate() {
            let at = format!("inline_components[{i}]");
            let name = component_resource_name(&c.name);
            if name.is_empty() {
                return Err(format!("{at}.name {:?} has no usable characters", c.name));
            }
            let version = c.version.clone().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| self.image_recipe_version.clone());
            let platform = normalize_platform(c.platform.as_deref().unwrap_or("macOS"))
                .ok_or_else(|| format!("{at}.platform {:?} is not Linux, Windows or macOS", c.platform))?;
            let commands: Vec<String> = if c.commands.is_empty() {
                c.script.as_deref().unwrap_or_default().lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
            } else {
                c.commands.iter().filter(|l| !l.trim().is_empty()).cloned().collect()
            };
            let document = match &c.data {
                Some(data) if !data.trim().is_empty() => data.clone(),
                _ if commands.is_empty() => return Err(format!("{at} ({name}) has no commands, script or data")),
                _ => component_document(&commands, c.phase.as_deref().unwrap_or("build")),
            };
            let description = c.description.clone().filter(|d| !d.trim().is_empty());
            plans.push(ComponentPlan { name, version, platform: platform.to_owned(), description, document });
        }
        for (i, venv) in self.prebuilt_venvs.iter().enumerate() {
            if venv.name.is_empty() {
                return Err(format!("prebuilt_venvs[{i}].name is empty"));
            }
            let path = if venv.path.is_empty() { format!("/opt/praktika/base-venvs/{}", venv.name) } else { venv.path.clone() };
            let parent = path.rsplit_once('/').map_or(".", |(p, _)| if p.is_empty() { "/" } else { p });
            let python = if venv.python.is_empty() { "python3.12" } else { &venv.python };
            let mut commands = vec![
                format!("mkdir -p {}", shell_quote(parent)),
                format!("if [ ! -x {0}/bin/python ]; then {1} -m venv {0}; fi", shell_quote(&path), shell_quote(python)),
                format!("{}/bin/python -m pip install --upgrade pip setuptools wheel", shell_quote(&path)),
            ];
            if !venv.packages.is_empty() {
                let packages: Vec<String> = venv.packages.iter().map(|p| shell_quote(p)).collect();
                commands.push(format!("{}/bin/python -m pip install {}", shell_quote(&path), packages.join(" ")));
            }
            let version = if venv.version.is_empty() { self.image_recipe_version.clone() } else { venv.version.clone() };
            let description =
                if venv.description.is_empty() { format!("Create prebaked Python venv '{}'", venv.name) } else { venv.description.clone() };
            plans.push(ComponentPlan {
                name: component_resource_name(&format!("{}-{}-venv", self.name, venv.name)),
                version,
                platform: "Linux".to_owned(),
                description: Some(description),
                document: component_document(&commands, "build"),
            });
        }
        Ok(plans)
    }
}

/// praktika's inline component document: one `ExecuteBash` step running `set -e -o pipefail`
/// and then the commands, in the given phase.
pub(crate) fn component_document(commands: &[String], phase: &str) -> String {
    let phase = if phase.trim().is_empty() { "build" } else { phase.trim() };
    let mut lines = vec![
        "name: InlineInstall".to_owned(),
        "description: Inline install commands".to_owned(),
        "schemaVersion: 1.0".to_owned(),
        "phases:".to_owned(),
        format!("  - name: {phase}"),
        "    steps:".to_owned(),
        "      - name: install".to_owned(),
        "        action: ExecuteBash".to_owned(),
        "        inputs:".to_owned(),
        "          commands:".to_owned(),
        "            - \"set -e -o pipefail\"".to_owned(),
    ];
    for c in commands {
        lines.push(format!("            - \"{}\"", c.replace('"', "\\\"")));
    }
    lines.join("\n") + "\n"
}

/// praktika's component name cleanup: runs of other characters become `-`, at most 128
/// characters, at least 3 (padded with `-x`).
pub(crate) fn component_resource_name(raw: &str) -> String {
    let mut name = String::new();
    for c in raw.trim().chars() {
        let c = if c.is_ascii_alphanumeric() || "-_ ".contains(c) { c } else { '-' };
        let collapses = matches!(c, '-' | ' ') && name.ends_with(['-', ' ']);
        if collapses {
            name.pop();
            name.push('-');
        } else {
            name.push(c);
        }
    }
    let mut name = name.trim_matches([' ', '-']).to_owned();
    if name.len() > 128 {
        name.truncate(128);
        name = name.trim_end_matches([' ', '-']).to_owned();
    }
    if name.is_empty() {
        return name;
    }
    while name.len() < 3 {
        name.push_str("-x");
    }
    name
}

pub(crate) fn normalize_platform(p: &str) -> Option<&'static str> {
    match p.trim().to_ascii_lowercase().as_str() {
        "" | "linux" => Some("Linux"),
        "macos" | "macosx" | "mac" | "osx" => Some("macOS"),
        "windows" | "win" => Some("Windows"),
        _ => None,
    }
}

/// POSIX shell quoting, as Python's `shlex.quote`.
fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c));
    if safe { s.to_owned() } else { format!("'{}'", s.replace('\'', "'\"'\"'")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: Value) -> ImageBuilderSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn names_default_like_praktika() {
        let s = spec(json!({"name": "linux-image"}));
        assert_eq!(s.recipe_name(), "linux-image-recipe");
        assert_eq!(s.infrastructure_name(), "linux-imagebuilder-infra");
        assert_eq!(s.distribution_name(), "linux-imagebuilder-dist");
        assert_eq!(s.ami_name(), "linux-{{ imagebuilder:buildDate }}");
        assert_eq!(s.pipeline_name(), "linux-imagebuilder-pipeline");
        assert_eq!(s.image_recipe_version, "1.0.0");
        assert!(s.enabled && s.terminate_instance_on_failure && s.set_launch_template_default_version);
        assert_eq!(s.image_tests_timeout_minutes, 60);
        let named = spec(json!({"name": "x", "image_pipeline_name": "p", "image_recipe_name": "r"}));
        assert_eq!((named.pipeline_name(), named.recipe_name()), ("p".to_owned(), "r".to_owned()));
    }

    #[test]
    fn inline_components_become_documents() {
        let s = spec(json!({"name": "n", "image_recipe_version": "2.0.0", "inline_components": [
            {"name": "my tools!", "platform": "linux", "commands": ["apt-get install -y \"x\"", ""]},
            {"name": "ab", "version": "1.2.3", "script": "echo a\n\n  echo b  \n", "phase": "test"}
        ]}));
        let plans = s.component_plans().unwrap();
        assert_eq!((plans[0].name.as_str(), plans[0].version.as_str(), plans[0].platform.as_str()), ("my tools", "2.0.0", "Linux"));
        assert!(
            plans[0].document.contains("            - \"set -e -o pipefail\"\n            - \"apt-get install -y \\\"x\\\"\"\n"),
            "{}",
            plans[0].document
        );
        assert_eq!(plans[1].name, "ab-x");
        assert_eq!(plans[1].platform, "macOS");
        assert!(plans[1].document.contains("  - name: test\n") && plans[1].document.ends_with("- \"echo a\"\n            - \"echo b\"\n"));
        let empty = spec(json!({"name": "n", "inline_components": [{"name": "c"}]}));
        assert!(empty.component_plans().unwrap_err().contains("inline_components[0] (c-x) has no commands"));
    }

    #[test]
    fn prebuilt_venvs_are_components_too() {
        let s = spec(json!({"name": "mac", "prebuilt_venvs": [{"name": "ci", "packages": ["requests==2.*"]}]}));
        let plans = s.component_plans().unwrap();
        assert_eq!(plans[0].name, "mac-ci-venv");
        assert!(
            plans[0].document.contains("/opt/praktika/base-venvs/ci/bin/python -m pip install 'requests==2.*'"),
            "{}",
            plans[0].document
        );
    }

    #[test]
    fn component_names_are_cleaned() {
        assert_eq!(component_resource_name("  a//b  c "), "a-b-c");
        assert_eq!(component_resource_name("a b"), "a b");
        assert_eq!(component_resource_name("a"), "a-x");
        assert_eq!(component_resource_name("!!!"), "");
    }
}
