//! `ImageBuilder`: an EC2 Image Builder pipeline that produces an AMI, with what it needs —
//! inline components, an image recipe, infrastructure and distribution configurations — managed
//! as one resource, like praktika's `ImageBuilder.Config`.
//!
//! Properties (API field names, so the plan reads like the console):
//! `Components` (inline components by name: version, platform and a hash of the document),
//! `Recipe`, `RecipeVersion`, `InfrastructureConfiguration`, `DistributionConfiguration`,
//! `Pipeline`. Only the keys a section declares are compared; unset optional settings are
//! declared as "absent", so a subnet added out of band shows as drift.
//!
//! Observe makes only `Get*`/`List*`/`Describe*` calls (ARNs are spelled from the stack's
//! context, so each part is one `Get`; `vpc_name`, `security_group_names` and `launch_templates`
//! are looked up in EC2, see `lookup.rs`). Apply creates what is missing, updates (one call each) what differs,
//! and when it created or changed the pipeline of an enabled builder starts one build, so a
//! `LaunchTemplate` naming the pipeline finds an image (praktika does the same).
//!
//! Recipes and components are immutable. A recipe whose content changed (parent image,
//! components, working directory, block devices) is created as a **new version**: the declared
//! `image_recipe_version` when no recipe of that name has it yet, else the next patch version
//! after the highest existing one (`1.0.0` → `1.0.1`); the pipeline is then pointed at it. The
//! old versions stay (images reference them). `RecipeVersion` only asks that the pipeline's
//! recipe be at least the declared version, so an auto-bumped `1.0.1` is no drift from a
//! declared `1.0.0`, and raising the declared version creates it. An inline component whose
//! document changed while its version did not is refused with a message asking for a new
//! `version`: a component's content is part of what an image was built from.

mod apply;
mod lookup;
mod spec;
#[cfg(test)]
mod tests;
mod wire;

use std::cmp::Ordering;

use async_trait::async_trait;
use aws_sdk_imagebuilder::types::{Filter, Ownership, Platform};
use serde_json::{Map, Value, json};

pub use spec::{ImageBuilderSpec, InlineComponent, PrebuiltVenv};
// `newest_ami` is defined below, for the `LaunchTemplate` kind.

use super::{ApplyInput, Resource};
use crate::clients::{Clients, Context};
use crate::error::{Error, Result, error_is};
use crate::model::{self, Change, FieldChange, Kind, Properties, ResourceId};
use spec::{ComponentPlan, OVERRIDABLE};
use wire::put;

const COMPONENTS: &str = "Components";
const RECIPE: &str = "Recipe";
const RECIPE_VERSION: &str = "RecipeVersion";
const INFRA: &str = "InfrastructureConfiguration";
const DIST: &str = "DistributionConfiguration";
const PIPELINE: &str = "Pipeline";
/// Observed only (never declared, so never compared): what apply needs from the plan.
const RECIPE_ARN: &str = "_RecipeArn";
const RECIPE_VERSIONS: &str = "_RecipeVersions";
const PIPELINE_RECIPE_ARN: &str = "_PipelineRecipeArn";

const NOT_FOUND: [&str; 1] = ["ResourceNotFoundException"];

/// The form of a name inside an Image Builder ARN: lowercase, `a-z 0-9 -`.
fn arn_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' { c } else { '-' }
        })
        .collect()
}

fn ib_arn(cx: &Context, kind: &str, path: &str) -> String {
    format!("arn:{}:imagebuilder:{}:{}:{kind}/{path}", cx.partition, cx.region, cx.account_id)
}

fn semver(v: &str) -> Option<(u64, u64, u64)> {
    let mut parts = v.split('.').map(|p| p.parse::<u64>().ok());
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(Some(a)), Some(Some(b)), Some(Some(c)), None) => Some((a, b, c)),
        _ => None,
    }
}

/// A stable 64-bit FNV-1a hash of a component document: the plan shows this, not the YAML.
fn document_hash(doc: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in doc.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("fnv1a:{h:016x}")
}

/// Nulls for unset optional settings: "declared absent".
fn opt<T: serde::Serialize>(v: Option<T>) -> Value {
    v.map_or(Value::Null, |v| json!(v))
}

fn list_or_null(v: &[String]) -> Value {
    if v.is_empty() { Value::Null } else { json!(v) }
}

impl ImageBuilderSpec {
    fn component_arn(&self, cx: &Context, c: &ComponentPlan) -> String {
        ib_arn(cx, "component", &format!("{}/{}/1", arn_name(&c.name), c.version))
    }

    fn infra_arn(&self, cx: &Context) -> String {
        ib_arn(cx, "infrastructure-configuration", &arn_name(&self.infrastructure_name()))
    }

    fn dist_arn(&self, cx: &Context) -> String {
        ib_arn(cx, "distribution-configuration", &arn_name(&self.distribution_name()))
    }

    fn pipeline_arn(&self, cx: &Context) -> String {
        ib_arn(cx, "image-pipeline", &arn_name(&self.pipeline_name()))
    }

    fn recipe_arn(&self, cx: &Context, version: &str) -> String {
        ib_arn(cx, "image-recipe", &format!("{}/{version}", arn_name(&self.recipe_name())))
    }

    fn overrides(&self, section: &str) -> &Map<String, Value> {
        match section {
            "recipe" => &self.recipe,
            "infrastructure_configuration" => &self.infrastructure_configuration,
            "distribution_configuration" => &self.distribution_configuration,
            _ => &self.pipeline,
        }
    }

    fn with_overrides(&self, section: &str, mut base: Map<String, Value>) -> Value {
        for (k, v) in self.overrides(section) {
            base.insert(k.clone(), v.clone());
        }
        Value::Object(base)
    }

    fn desired_recipe(&self, cx: &Context, plans: &[ComponentPlan]) -> Value {
        let mut components: Vec<String> = self.components.clone();
        components.extend(plans.iter().map(|c| self.component_arn(cx, c)));
        let mut r = Map::new();
        r.insert("name".into(), json!(self.recipe_name()));
        r.insert("parentImage".into(), json!(self.parent_image));
        r.insert("components".into(), json!(components));
        put(&mut r, "workingDirectory", opt(self.working_directory.as_deref()));
        put(&mut r, "blockDeviceMappings", json!(self.block_device_mappings));
        self.with_overrides("recipe", r)
    }

    fn desired_infrastructure(&self) -> Value {
        let mut groups = self.security_group_ids.clone();
        groups.sort();
        let mut m = Map::new();
        m.insert("instanceProfileName".into(), json!(self.instance_profile_name));
        m.insert("instanceTypes".into(), list_or_null(&self.instance_types));
        m.insert("subnetId".into(), opt(self.subnet_id.as_deref()));
        m.insert("securityGroupIds".into(), list_or_null(&groups));
        m.insert("keyPair".into(), opt(self.key_pair.as_deref()));
        m.insert("snsTopicArn".into(), opt(self.sns_topic_arn.as_deref()));
        m.insert("terminateInstanceOnFailure".into(), json!(self.terminate_instance_on_failure));
        m.insert("description".into(), Value::Null);
        self.with_overrides("infrastructure_configuration", m)
    }

    fn desired_distribution(&self, cx: &Context) -> Value {
        let regions =
            if self.regions.is_empty() { vec![self.region.clone().unwrap_or_else(|| cx.region.clone())] } else { self.regions.clone() };
        let distributions: Vec<Value> = regions
            .iter()
            .map(|region| {
                let mut ami = Map::new();
                ami.insert("name".into(), json!(self.ami_name()));
                put(&mut ami, "amiTags", json!(self.ami_tags));
                if let Some(permission) = &self.ami_launch_permission {
                    put(&mut ami, "launchPermission", permission.clone());
                }
                json!({"region": region, "amiDistributionConfiguration": ami})
            })
            .collect();
        let mut m = Map::new();
        m.insert("distributions".into(), json!(distributions));
        m.insert("description".into(), Value::Null);
        self.with_overrides("distribution_configuration", m)
    }

    fn desired_pipeline(&self, cx: &Context) -> Value {
        let mut m = Map::new();
        m.insert("imageRecipe".into(), json!(arn_name(&self.recipe_name())));
        m.insert("infrastructureConfigurationArn".into(), json!(self.infra_arn(cx)));
        m.insert("distributionConfigurationArn".into(), json!(self.dist_arn(cx)));
        m.insert("status".into(), json!(if self.enabled { "ENABLED" } else { "DISABLED" }));
        let schedule = self
            .schedule_expression
            .as_ref()
            .map(|e| json!({"scheduleExpression": e, "pipelineExecutionStartCondition": "EXPRESSION_MATCH_ONLY"}));
        m.insert("schedule".into(), opt(schedule));
        if let Some(enabled) = self.image_tests_enabled {
            m.insert(
                "imageTestsConfiguration".into(),
                json!({"imageTestsEnabled": enabled, "timeoutMinutes": self.image_tests_timeout_minutes}),
            );
        }
        m.insert("description".into(), Value::Null);
        self.with_overrides("pipeline", m)
    }

    fn check(&self) -> std::result::Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("name is empty".into());
        }
        let names = [
            ("image_recipe_name", self.recipe_name()),
            ("infrastructure_configuration_name", self.infrastructure_name()),
            ("distribution_configuration_name", self.distribution_name()),
            ("image_pipeline_name", self.pipeline_name()),
        ];
        for (field, name) in names {
            let ok = (1..=128).contains(&name.len())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_ ".contains(c))
                && !name.starts_with(' ')
                && !name.ends_with(' ');
            if !ok {
                return Err(format!("{field} {name:?} must be 1 to 128 of A-Z a-z 0-9 - _ (and inner spaces)"));
            }
        }
        if semver(&self.image_recipe_version).is_none() {
            return Err(format!("image_recipe_version {:?} must be <major>.<minor>.<patch>", self.image_recipe_version));
        }
        if self.parent_image.trim().is_empty() && !self.recipe.contains_key("parentImage") {
            return Err(
                "parent_image is required (an AMI id, an Image Builder image ARN, or ssm:<parameter>, e.g. ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64)".into(),
            );
        }
        for (i, c) in self.components.iter().enumerate() {
            if !(c.starts_with("arn:") && c.contains(":imagebuilder:") && c.contains(":component/")) {
                return Err(format!("components[{i}] {c:?} is not an Image Builder component ARN"));
            }
        }
        let plans = self.component_plans()?;
        for c in &plans {
            if semver(&c.version).is_none() {
                return Err(format!("inline component {} version {:?} must be <major>.<minor>.<patch>", c.name, c.version));
            }
        }
        if self.components.is_empty() && plans.is_empty() {
            return Err("the recipe needs at least one of components, inline_components, prebuilt_venvs".into());
        }
        if self.instance_profile_name.trim().is_empty() && !self.infrastructure_configuration.contains_key("instanceProfileName") {
            return Err("instance_profile_name is required (the IAM instance profile the build instances use)".into());
        }
        if !self.security_group_names.is_empty() && self.vpc_name.as_deref().is_none_or(str::is_empty) {
            return Err("security_group_names needs vpc_name (the VPC's Name tag) to look the groups up in".into());
        }
        if self.launch_templates.iter().any(|t| t.trim().is_empty()) {
            return Err("launch_templates contains an empty name".into());
        }
        if let Some(e) = &self.schedule_expression {
            // The same dialect as EventBridge's rules: one parser for both.
            crate::schedule::parse(e).map_err(|err| format!("schedule_expression {e:?}: {}", err.reason()))?;
        }
        if !(60..=1440).contains(&self.image_tests_timeout_minutes) {
            return Err(format!("image_tests_timeout_minutes {} is outside 60..=1440", self.image_tests_timeout_minutes));
        }
        let ami = self.ami_name();
        if !(1..=127).contains(&ami.len()) {
            return Err(format!("ami_name {ami:?} must be 1 to 127 characters long"));
        }
        if let Some(r) = self.regions.iter().find(|r| r.trim().is_empty()) {
            return Err(format!("regions contains an empty region {r:?}"));
        }
        for (section, allowed) in OVERRIDABLE {
            if let Some(key) = self.overrides(section).keys().find(|k| !allowed.contains(&k.as_str())) {
                return Err(format!("{section}.{key} is not a field this reconciler sets; allowed: {}", allowed.join(", ")));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Resource for ImageBuilderSpec {
    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::ImageBuilder, &self.name)
    }

    /// The instance profile is referenced by name only: it may be declared in the stack (an
    /// `IAMInstanceProfile`) or exist already, so it is not a dependency here.
    fn references(&self) -> Vec<ResourceId> {
        Vec::new()
    }

    fn validate(&self) -> std::result::Result<(), String> {
        self.check()
    }

    fn desired(&self, cx: &Context) -> Properties {
        let plans = self.component_plans().unwrap_or_default();
        let mut props = Properties::new();
        if !plans.is_empty() {
            let components: Map<String, Value> = plans
                .iter()
                .map(|c| (c.name.clone(), json!({"version": c.version, "platform": c.platform, "document": document_hash(&c.document)})))
                .collect();
            props.insert(COMPONENTS.into(), Value::Object(components));
        }
        props.insert(RECIPE.into(), self.desired_recipe(cx, &plans));
        props.insert(RECIPE_VERSION.into(), json!(self.image_recipe_version));
        props.insert(INFRA.into(), self.desired_infrastructure());
        props.insert(DIST.into(), self.desired_distribution(cx));
        props.insert(PIPELINE.into(), self.desired_pipeline(cx));
        props
    }

    async fn observe(&self, clients: &Clients, cx: &Context) -> Result<Option<Properties>> {
        let id = self.id();
        let ib = &clients.imagebuilder;
        let mut props = Properties::new();

        let pipeline = match ib.get_image_pipeline().image_pipeline_arn(self.pipeline_arn(cx)).send().await {
            Ok(out) => out.image_pipeline,
            Err(e) if error_is(&e, &NOT_FOUND) => None,
            Err(e) => return Err(Error::aws(&id, "imagebuilder:GetImagePipeline", e)),
        };
        if let Some(p) = &pipeline {
            let mut m = wire::pipeline_json(p);
            let recipe_arn = p.image_recipe_arn().unwrap_or_default();
            let recipe_name = recipe_arn.split('/').nth(1).unwrap_or_default();
            m.insert("imageRecipe".into(), json!(recipe_name));
            props.insert(PIPELINE_RECIPE_ARN.into(), json!(recipe_arn));
            props.insert(PIPELINE.into(), Value::Object(m));
        }

        match ib.get_infrastructure_configuration().infrastructure_configuration_arn(self.infra_arn(cx)).send().await {
            Ok(out) => {
                if let Some(c) = out.infrastructure_configuration() {
                    props.insert(INFRA.into(), Value::Object(wire::infrastructure_json(c)));
                }
            }
            Err(e) if error_is(&e, &NOT_FOUND) => {}
            Err(e) => return Err(Error::aws(&id, "imagebuilder:GetInfrastructureConfiguration", e)),
        }
        match ib.get_distribution_configuration().distribution_configuration_arn(self.dist_arn(cx)).send().await {
            Ok(out) => {
                if let Some(c) = out.distribution_configuration() {
                    props.insert(DIST.into(), Value::Object(wire::distribution_json(c)));
                }
            }
            Err(e) if error_is(&e, &NOT_FOUND) => {}
            Err(e) => return Err(Error::aws(&id, "imagebuilder:GetDistributionConfiguration", e)),
        }

        let versions = self.recipe_versions(clients, &id).await?;
        let pipeline_recipe = props.get(PIPELINE_RECIPE_ARN).and_then(Value::as_str).map(str::to_owned);
        let declared_arn = self.recipe_arn(cx, &self.image_recipe_version);
        let current = pipeline_recipe.or_else(|| versions.contains(&self.image_recipe_version).then_some(declared_arn));
        if let Some(arn) = current {
            match ib.get_image_recipe().image_recipe_arn(&arn).send().await {
                Ok(out) => {
                    if let Some(r) = out.image_recipe() {
                        props.insert(RECIPE.into(), Value::Object(wire::recipe_json(r)));
                        props.insert(RECIPE_VERSION.into(), json!(r.version()));
                        props.insert(RECIPE_ARN.into(), json!(arn));
                    }
                }
                Err(e) if error_is(&e, &NOT_FOUND) => {}
                Err(e) => return Err(Error::aws(&id, "imagebuilder:GetImageRecipe", e)),
            }
        }
        if !versions.is_empty() {
            props.insert(RECIPE_VERSIONS.into(), json!(versions));
        }

        let mut components = Map::new();
        for plan in self.component_plans().unwrap_or_default() {
            let arn = self.component_arn(cx, &plan);
            match ib.get_component().component_build_version_arn(&arn).send().await {
                Ok(out) => {
                    if let Some(c) = out.component() {
                        let doc = c.data().unwrap_or_default();
                        let platform = c.platform().map(Platform::as_str).unwrap_or_default();
                        components.insert(
                            plan.name.clone(),
                            json!({"version": c.version(), "platform": platform, "document": document_hash(doc)}),
                        );
                    }
                }
                Err(e) if error_is(&e, &NOT_FOUND) => {}
                Err(e) => return Err(Error::aws(&id, "imagebuilder:GetComponent", e)),
            }
        }
        if !components.is_empty() {
            props.insert(COMPONENTS.into(), Value::Object(components));
        }
        lookup::resolve(self, clients, &id, &mut props).await?;
        Ok((!props.is_empty()).then_some(props))
    }

    /// Declared keys only, inside each section; `RecipeVersion` asks for "at least".
    fn diff(&self, desired: &Properties, observed: Option<&Properties>) -> Change {
        let Some(observed) = observed.filter(|o| !lookup::only_lookups(o)) else {
            return Change::Create;
        };
        let mut want = lookup::with_resolved(desired, Some(observed), self.set_launch_template_default_version);
        let declared_version = want.remove(RECIPE_VERSION);
        let mut projected = Properties::new();
        for (field, value) in &want {
            let have = match (value, observed.get(field)) {
                (Value::Object(w), Some(Value::Object(h))) => {
                    Value::Object(w.keys().map(|k| (k.clone(), h.get(k).cloned().unwrap_or(Value::Null))).collect())
                }
                (_, Some(h)) => h.clone(),
                (_, None) => continue,
            };
            projected.insert(field.clone(), have);
        }
        let mut fields = model::diff(&want, Some(&projected)).fields().to_vec();
        if let Some(declared) = declared_version {
            let have = observed.get(RECIPE_VERSION);
            let behind = match (have.and_then(Value::as_str).and_then(semver), declared.as_str().and_then(semver)) {
                (Some(h), Some(d)) => h.cmp(&d) == Ordering::Less,
                _ => true,
            };
            if behind {
                fields.push(FieldChange { field: RECIPE_VERSION.into(), from: have.cloned(), to: declared });
            }
        }
        if fields.is_empty() { Change::NoChange } else { Change::Update { fields } }
    }

    async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
        apply::run(self, clients, input).await
    }
}

impl ImageBuilderSpec {
    /// The versions of this stack's recipe that exist, from `ListImageRecipes` by name.
    async fn recipe_versions(&self, clients: &Clients, id: &ResourceId) -> Result<Vec<String>> {
        let name = self.recipe_name();
        let mut versions = Vec::new();
        let mut token = None;
        loop {
            let out = clients
                .imagebuilder
                .list_image_recipes()
                .owner(Ownership::SelfValue)
                .filters(Filter::builder().name("name").values(&name).build())
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| Error::aws(id, "imagebuilder:ListImageRecipes", e))?;
            for r in out.image_recipe_summary_list() {
                let arn = r.arn().unwrap_or_default();
                let mut segments = arn.rsplit('/');
                let version = segments.next().unwrap_or_default();
                if r.name() == Some(name.as_str()) && semver(version).is_some() {
                    versions.push(version.to_owned());
                }
            }
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        versions.sort_by_key(|v| semver(v));
        Ok(versions)
    }
}

/// The AMI id of the newest image pipeline `pipeline_name` built in the context's region (any
/// region when none matches), or `None` when it has built none with an AMI yet. What a
/// `LaunchTemplate` naming an Image Builder pipeline resolves its image id with, as praktika's
/// `resolve_latest_ami_id` does: `ListImagePipelineImages` newest first by `dateCreated`, then
/// `GetImage` until an image has an output AMI. Read calls only.
pub async fn newest_ami(clients: &Clients, cx: &Context, resource: &ResourceId, pipeline_name: &str) -> Result<Option<String>> {
    let ib = &clients.imagebuilder;
    let pipeline_arn = ib_arn(cx, "image-pipeline", &arn_name(pipeline_name));
    let mut images = Vec::new();
    let mut token = None;
    loop {
        let out = match ib.list_image_pipeline_images().image_pipeline_arn(&pipeline_arn).set_next_token(token).send().await {
            Ok(out) => out,
            Err(e) if error_is(&e, &NOT_FOUND) => return Ok(None),
            Err(e) => return Err(Error::aws(resource, "imagebuilder:ListImagePipelineImages", e)),
        };
        images.extend(out.image_summary_list().iter().filter_map(|i| Some((i.date_created()?.to_owned(), i.arn()?.to_owned()))));
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    images.sort_by(|a, b| b.0.cmp(&a.0));
    for (_, arn) in images {
        let out =
            ib.get_image().image_build_version_arn(&arn).send().await.map_err(|e| Error::aws(resource, "imagebuilder:GetImage", e))?;
        let amis = out.image().and_then(|i| i.output_resources()).map(|o| o.amis()).unwrap_or_default();
        let here = amis.iter().find(|a| a.region() == Some(cx.region.as_str())).or(amis.first());
        if let Some(ami) = here.and_then(|a| a.image()) {
            return Ok(Some(ami.to_owned()));
        }
    }
    Ok(None)
}

/// The version a changed recipe is created as: the declared one if free, else the next patch
/// after the highest existing (or declared) version.
fn next_recipe_version(declared: &str, existing: &[String]) -> String {
    if !existing.iter().any(|v| v == declared) {
        return declared.to_owned();
    }
    let highest = existing.iter().filter_map(|v| semver(v)).chain(semver(declared)).max().unwrap_or((1, 0, 0));
    format!("{}.{}.{}", highest.0, highest.1, highest.2 + 1)
}
