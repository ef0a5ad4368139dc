//! `LaunchTemplate`: an EC2 launch template (praktika's `LaunchTemplate.Config`), from high-level
//! fields or raw `data`, with the image given directly or as the newest image an Image Builder
//! pipeline produced.
//!
//! A change never edits a version: it creates a new version and (by default) makes it the
//! default, so the previous version stays available to roll back to.

use async_trait::async_trait;
use aws_sdk_ec2::types::ResourceType;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::fleet::{self, Tags};
use super::launch_template_data as data;
use super::{ApplyInput, Resource};
use crate::clients::{Clients, Context};
use crate::error::{Error, Result, error_is};
use crate::model::{self, Change, Kind, Properties, ResourceId};

const MISSING: [&str; 2] = ["InvalidLaunchTemplateName.NotFoundException", "InvalidLaunchTemplateId.NotFound"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchTemplateSpec {
    pub name: String,
    #[serde(default)]
    pub region: String,
    /// Tagged on launched instances as `praktika_resource_tag`.
    #[serde(default)]
    pub praktika_resource_tag: String,
    /// Tagged on launched instances as `github:runner-type` (comma-separated).
    #[serde(default)]
    pub runner_labels: Vec<String>,
    #[serde(default)]
    pub image_id: String,
    /// Used when `image_id` is empty: the newest image this pipeline produced (the pipeline must
    /// be declared in the same file as an `ImageBuilder` with this `image_pipeline_name`).
    #[serde(default)]
    pub image_builder_pipeline_name: String,
    #[serde(default)]
    pub instance_type: String,
    /// The script itself; stored base64-encoded, as EC2 wants it.
    #[serde(default)]
    pub user_data: String,
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    /// `default`, `dedicated` or `host` (mac types: `host`).
    #[serde(default)]
    pub tenancy: String,
    #[serde(default)]
    pub host_id: String,
    /// Raw `LaunchTemplateData`, used as-is instead of the fields above (see
    /// `launch_template_data::SUPPORTED`).
    #[serde(default)]
    pub data: Map<String, Value>,
    /// `false`: a template that exists and differs is an error instead of a new version.
    #[serde(default = "yes")]
    pub create_new_version: bool,
    /// Make each new version the default. praktika's default is `false`; Pulse's is `true`, so
    /// that a rollback can move the default back to the previous version.
    #[serde(default = "yes")]
    pub set_default_version_to_latest: bool,
    /// Extra tags for launched instances (besides praktika's identification tags).
    #[serde(default)]
    pub tags: Tags,
    #[serde(skip)]
    pub stack: String,
}

fn yes() -> bool {
    true
}

/// One image a pipeline produced, as far as choosing the newest one needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineImage {
    /// ISO 8601, as Image Builder answers it (sorts as text).
    pub date_created: String,
    /// (region, AMI id) of each AMI the build distributed.
    pub amis: Vec<(String, String)>,
}

/// The AMI of the newest image that has one, in `region` if it has one there, else its first
/// (praktika's rule; images without AMIs, e.g. failed builds, are skipped).
pub fn newest_ami(images: &[PipelineImage], region: &str) -> Option<String> {
    let mut images: Vec<&PipelineImage> = images.iter().filter(|i| !i.amis.is_empty()).collect();
    images.sort_by(|a, b| b.date_created.cmp(&a.date_created));
    let newest = images.first()?;
    newest.amis.iter().find(|(r, _)| r == region).or_else(|| newest.amis.first()).map(|(_, ami)| ami.clone())
}

/// An Image Builder pipeline's ARN (Image Builder lowercases names in ARNs).
pub fn pipeline_arn(cx: &Context, name: &str) -> String {
    format!("arn:{}:imagebuilder:{}:{}:image-pipeline/{}", cx.partition, cx.region, cx.account_id, name.to_ascii_lowercase())
}

/// What `ImageId` shows until the pipeline's image is known.
fn pending_image(pipeline: &str) -> String {
    format!("(newest image of pipeline {pipeline})")
}

impl LaunchTemplateSpec {
    /// The instance type, whether from the fields or from `data`.
    pub fn effective_instance_type(&self) -> &str {
        self.data.get("InstanceType").and_then(Value::as_str).unwrap_or(&self.instance_type)
    }

    fn effective_tenancy(&self) -> &str {
        match self.data.get("Placement") {
            Some(p) if !self.data.is_empty() => p.get("Tenancy").and_then(Value::as_str).unwrap_or_default(),
            _ if !self.host_id.is_empty() => "host",
            _ => &self.tenancy,
        }
    }

    /// The launch template data with `image` as its image (praktika's `_build_launch_template_data`).
    fn build(&self, image: &str) -> Value {
        if !self.data.is_empty() {
            return Value::Object(self.data.clone());
        }
        let mut d = Map::new();
        d.insert("ImageId".into(), json!(image));
        d.insert("InstanceType".into(), json!(self.instance_type));
        let tags = fleet::praktika_tags(&self.name, &self.praktika_resource_tag, &self.runner_labels.join(","), &self.tags);
        let tags: Vec<Value> = tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
        d.insert("TagSpecifications".into(), json!([{"ResourceType": "instance", "Tags": tags}]));
        if !self.security_group_ids.is_empty() {
            d.insert("SecurityGroupIds".into(), json!(self.security_group_ids));
        }
        if !self.user_data.is_empty() {
            d.insert("UserData".into(), json!(base64::engine::general_purpose::STANDARD.encode(&self.user_data)));
        }
        if !self.host_id.is_empty() {
            d.insert("Placement".into(), json!({"Tenancy": "host", "HostId": self.host_id}));
        } else if !self.tenancy.is_empty() {
            d.insert("Placement".into(), json!({"Tenancy": self.tenancy}));
        }
        Value::Object(d)
    }

    fn declared_image(&self) -> String {
        if self.image_id.is_empty() { pending_image(&self.image_builder_pipeline_name) } else { self.image_id.clone() }
    }

    fn uses_pipeline(&self) -> bool {
        self.data.is_empty() && self.image_id.is_empty() && !self.image_builder_pipeline_name.is_empty()
    }

    /// The newest AMI of the pipeline, or `None` when the pipeline does not exist or has no
    /// image yet (read calls only).
    pub async fn resolve_pipeline_image(&self, clients: &Clients, cx: &Context) -> Result<Option<String>> {
        let id = self.id();
        let arn = pipeline_arn(cx, &self.image_builder_pipeline_name);
        match clients.imagebuilder.get_image_pipeline().image_pipeline_arn(&arn).send().await {
            Ok(_) => {}
            Err(err) if error_is(&err, &["ResourceNotFoundException", "404"]) => return Ok(None),
            Err(err) => return Err(Error::aws(&id, "imagebuilder:GetImagePipeline", err)),
        }
        let mut images = Vec::new();
        let mut token = None;
        loop {
            let out = clients
                .imagebuilder
                .list_image_pipeline_images()
                .image_pipeline_arn(&arn)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| Error::aws(&id, "imagebuilder:ListImagePipelineImages", e))?;
            for summary in out.image_summary_list() {
                let amis = summary
                    .output_resources()
                    .map(|o| {
                        o.amis().iter().filter_map(|a| Some((a.region().unwrap_or_default().to_owned(), a.image()?.to_owned()))).collect()
                    })
                    .unwrap_or_default();
                images.push(PipelineImage { date_created: summary.date_created().unwrap_or_default().to_owned(), amis });
            }
            token = out.next_token().filter(|t| !t.is_empty()).map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        Ok(newest_ami(&images, &cx.region))
    }

    /// The image to launch: declared, seen by observe, or resolved now.
    async fn image(&self, clients: &Clients, input: &ApplyInput<'_>) -> Result<String> {
        if !self.uses_pipeline() {
            return Ok(self.image_id.clone());
        }
        if let Some(image) = input.observed.and_then(|o| o.get("ResolvedImageId")).and_then(Value::as_str) {
            return Ok(image.to_owned());
        }
        self.resolve_pipeline_image(clients, input.cx).await?.ok_or_else(|| {
            Error::resource(
                &self.id(),
                format!(
                    "image_builder_pipeline_name {}: the pipeline has produced no image yet; run it (or set image_id) and deploy again",
                    self.image_builder_pipeline_name
                ),
            )
        })
    }
}

#[async_trait]
impl Resource for LaunchTemplateSpec {
    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::LaunchTemplate, &self.name)
    }

    fn references(&self) -> Vec<ResourceId> {
        Vec::new()
    }

    fn validate(&self) -> std::result::Result<(), String> {
        super::check_name(
            "launch template",
            &self.name,
            3..=128,
            |c| c.is_ascii_alphanumeric() || "()./_-".contains(c),
            "A-Z a-z 0-9 ( ) . / _ -",
        )?;
        if self.data.is_empty() {
            if self.image_id.is_empty() && self.image_builder_pipeline_name.is_empty() {
                return Err("image_id or image_builder_pipeline_name must be set (or raw data)".into());
            }
            if self.instance_type.is_empty() {
                return Err("instance_type must be set (or raw data)".into());
            }
        } else {
            data::check(&self.data)?;
        }
        if !self.tenancy.is_empty() {
            fleet::check_one_of("tenancy", &self.tenancy, &["default", "dedicated", "host"])?;
        }
        let instance_type = self.effective_instance_type();
        if fleet::is_mac(instance_type) && self.effective_tenancy() != "host" {
            return Err(format!(
                "tenancy must be \"host\" for mac instance type {instance_type}: macOS instances only run on dedicated hosts (it is {:?})",
                self.effective_tenancy()
            ));
        }
        Ok(())
    }

    fn desired(&self, _cx: &Context) -> Properties {
        Properties::from([("LaunchTemplateData".to_owned(), self.build(&self.declared_image()))])
    }

    async fn observe(&self, clients: &Clients, cx: &Context) -> Result<Option<Properties>> {
        let id = self.id();
        fleet::check_region(&id, &self.region, cx)?;
        let resolved = if self.uses_pipeline() { self.resolve_pipeline_image(clients, cx).await? } else { None };
        let out = match clients.ec2.describe_launch_templates().launch_template_names(&self.name).send().await {
            Ok(out) => out,
            Err(err) if error_is(&err, &MISSING) => return Ok(None),
            Err(err) => return Err(Error::aws(&id, "ec2:DescribeLaunchTemplates", err)),
        };
        let Some(lt) = out.launch_templates().first() else {
            return Ok(None);
        };
        let tags = fleet::from_ec2_tags(lt.tags());
        if !fleet::is_owned(&tags, &self.stack, Kind::LaunchTemplate, &self.name, false) {
            return Err(fleet::not_owned(&id, &self.stack, &tags));
        }
        let lt_id = lt.launch_template_id().unwrap_or_default();
        let version = if self.set_default_version_to_latest { "$Default" } else { "$Latest" };
        let versions = clients
            .ec2
            .describe_launch_template_versions()
            .launch_template_id(lt_id)
            .versions(version)
            .send()
            .await
            .map_err(|e| Error::aws(&id, "ec2:DescribeLaunchTemplateVersions", e))?;
        let observed = versions
            .launch_template_versions()
            .first()
            .and_then(|v| v.launch_template_data())
            .map(data::response_json)
            .unwrap_or(json!({}));
        let want = self.build(resolved.as_deref().unwrap_or(&self.declared_image()));
        let mut p = Properties::new();
        p.insert("LaunchTemplateData".into(), data::comparable_top(&want, &observed));
        p.insert("LaunchTemplateId".into(), json!(lt_id));
        p.insert("DefaultVersionNumber".into(), json!(lt.default_version_number()));
        p.insert("LatestVersionNumber".into(), json!(lt.latest_version_number()));
        if let Some(image) = resolved {
            p.insert("ResolvedImageId".into(), json!(image));
        }
        Ok(Some(p))
    }

    fn diff(&self, desired: &Properties, observed: Option<&Properties>) -> Change {
        match observed.and_then(|o| o.get("ResolvedImageId")).and_then(Value::as_str) {
            Some(image) => {
                let desired = Properties::from([("LaunchTemplateData".to_owned(), model::normalize(&self.build(image)))]);
                model::diff(&desired, observed)
            }
            None => model::diff(desired, observed),
        }
    }

    async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
        let id = self.id();
        let request = data::request(&self.build(&self.image(clients, &input).await?));
        match input.change {
            Change::NoChange => {}
            Change::Create => {
                let owner = fleet::ownership(&self.stack, Kind::LaunchTemplate, &self.name, false);
                clients
                    .ec2
                    .create_launch_template()
                    .launch_template_name(&self.name)
                    .launch_template_data(request)
                    .tag_specifications(fleet::tag_spec(ResourceType::LaunchTemplate, &owner))
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "ec2:CreateLaunchTemplate", e))?;
            }
            Change::Update { .. } => {
                if !self.create_new_version {
                    return Err(Error::resource(&id, "exists and differs, and create_new_version is false"));
                }
                let lt_id = input.observed.and_then(|o| o.get("LaunchTemplateId")).and_then(Value::as_str).unwrap_or_default();
                let out = clients
                    .ec2
                    .create_launch_template_version()
                    .launch_template_id(lt_id)
                    .launch_template_data(request)
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "ec2:CreateLaunchTemplateVersion", e))?;
                let version = out.launch_template_version().and_then(|v| v.version_number());
                if let (true, Some(version)) = (self.set_default_version_to_latest, version) {
                    clients
                        .ec2
                        .modify_launch_template()
                        .launch_template_id(lt_id)
                        .default_version(version.to_string())
                        .send()
                        .await
                        .map_err(|e| Error::aws(&id, "ec2:ModifyLaunchTemplate", e))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: Value) -> LaunchTemplateSpec {
        serde_json::from_value(v).unwrap()
    }

    fn image(date: &str, amis: &[(&str, &str)]) -> PipelineImage {
        PipelineImage { date_created: date.into(), amis: amis.iter().map(|(r, a)| ((*r).into(), (*a).into())).collect() }
    }

    #[test]
    fn the_newest_image_with_an_ami_wins_preferring_the_region() {
        let images = [
            image("2025-01-01T00:00:00.000Z", &[("us-east-1", "ami-old")]),
            image("2025-03-01T00:00:00.000Z", &[]),
            image("2025-02-01T00:00:00.000Z", &[("eu-west-1", "ami-eu"), ("us-east-1", "ami-new")]),
        ];
        assert_eq!(newest_ami(&images, "us-east-1").as_deref(), Some("ami-new"));
        assert_eq!(newest_ami(&images, "ap-south-1").as_deref(), Some("ami-eu"));
        assert_eq!(newest_ami(&[], "us-east-1"), None);
        let cx = Context::new("aws", "us-east-1", "123");
        assert_eq!(pipeline_arn(&cx, "Praktika-Linux"), "arn:aws:imagebuilder:us-east-1:123:image-pipeline/praktika-linux");
    }

    #[test]
    fn data_is_built_like_praktika() {
        let s = spec(json!({"name": "my-lt", "image_id": "ami-1", "instance_type": "mac2.metal", "tenancy": "host",
            "user_data": "#!/bin/bash\necho hi\n", "security_group_ids": ["sg-1"], "praktika_resource_tag": "mac"}));
        assert_eq!((s.create_new_version, s.set_default_version_to_latest), (true, true));
        let d = s.build("ami-1");
        assert_eq!(d["Placement"], json!({"Tenancy": "host"}));
        assert_eq!(d["UserData"], json!("IyEvYmluL2Jhc2gKZWNobyBoaQo="));
        assert_eq!(
            d["TagSpecifications"],
            json!([{"ResourceType": "instance", "Tags": [{"Key": "praktika_resource_tag", "Value": "mac"}, {"Key": "praktika_rn", "Value": "my-lt"}]}])
        );
        assert!(s.validate().is_ok());
        let pinned = spec(json!({"name": "my-lt", "image_id": "ami-1", "instance_type": "mac2.metal", "host_id": "h-1"}));
        assert_eq!(pinned.build("ami-1")["Placement"], json!({"Tenancy": "host", "HostId": "h-1"}));
        let raw = spec(json!({"name": "my-lt", "data": {"ImageId": "ami-9", "InstanceType": "t3.micro"}}));
        assert_eq!(raw.build("ignored"), json!({"ImageId": "ami-9", "InstanceType": "t3.micro"}));
    }

    #[test]
    fn validation_names_the_field() {
        let err = spec(json!({"name": "my-lt", "image_id": "ami-1", "instance_type": "mac2-m2.metal"})).validate().unwrap_err();
        assert!(err.contains("tenancy must be \"host\"") && err.contains("mac2-m2.metal"), "{err}");
        let err = spec(json!({"name": "my-lt", "data": {"InstanceType": "mac2.metal"}})).validate().unwrap_err();
        assert!(err.contains("tenancy must be \"host\""), "{err}");
        let err = spec(json!({"name": "my-lt", "instance_type": "t3.micro"})).validate().unwrap_err();
        assert!(err.contains("image_id or image_builder_pipeline_name"), "{err}");
        let err = spec(json!({"name": "my-lt", "data": {"Foo": 1}})).validate().unwrap_err();
        assert!(err.contains("data.Foo is not supported"), "{err}");
    }

    #[test]
    fn a_pipeline_image_is_shown_pending_until_resolved() {
        let s = spec(json!({"name": "my-lt", "image_builder_pipeline_name": "p", "instance_type": "t3.micro"}));
        let cx = Context::new("aws", "us-east-1", "1");
        let desired = s.desired(&cx);
        assert_eq!(desired["LaunchTemplateData"]["ImageId"], json!("(newest image of pipeline p)"));
        let mut observed = Properties::from([("LaunchTemplateData".to_owned(), s.build("ami-7"))]);
        observed.insert("ResolvedImageId".into(), json!("ami-7"));
        assert_eq!(s.diff(&desired, Some(&observed)), Change::NoChange);
        observed.insert("ResolvedImageId".into(), json!("ami-8"));
        let change = s.diff(&desired, Some(&observed));
        assert_eq!(change.fields()[0].to["ImageId"], json!("ami-8"));
    }
}
