//! Apply for `ImageBuilder`: create what is missing, one update per part that differs, a new
//! recipe version for a changed recipe, then one build when the pipeline was created or changed.

use std::collections::HashMap;

use aws_sdk_imagebuilder::types::{ComponentConfiguration, PipelineStatus, Platform};
use serde_json::Value;

use super::wire::{self, str_list};
use super::{
    COMPONENTS, DIST, INFRA, ImageBuilderSpec, PIPELINE, PIPELINE_RECIPE_ARN, RECIPE, RECIPE_ARN, RECIPE_VERSION, RECIPE_VERSIONS,
    next_recipe_version,
};
use crate::clients::Clients;
use crate::error::{Error, Result};
use crate::kinds::{ApplyInput, Resource};
use crate::model::Change;

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(wire::text)
}

pub(super) async fn run(spec: &ImageBuilderSpec, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
    let id = spec.id();
    let ib = &clients.imagebuilder;
    let cx = input.cx;
    let observed = |field: &str| input.observed.and_then(|o| o.get(field));
    let differs = |field: &str| matches!(input.change, Change::Create) || input.change.touches(field);
    let resolved = super::lookup::with_resolved(input.desired, input.observed, spec.set_launch_template_default_version);
    let desired = |field: &str| resolved.get(field).cloned().unwrap_or(Value::Null);

    // 1. Inline components: create the missing; a changed document needs a new version.
    let plans = spec.component_plans().map_err(|m| Error::resource(&id, m))?;
    for plan in &plans {
        let have = observed(COMPONENTS).and_then(|c| c.get(&plan.name));
        let want = input.desired.get(COMPONENTS).and_then(|c| c.get(&plan.name));
        match have {
            Some(have) if Some(have) == want => {}
            Some(_) => {
                return Err(Error::resource(
                    &id,
                    format!(
                        "component {} version {} already exists with a different document or platform; components are immutable: give it a new version",
                        plan.name, plan.version
                    ),
                ));
            }
            None => {
                ib.create_component()
                    .name(&plan.name)
                    .semantic_version(&plan.version)
                    .platform(Platform::from(plan.platform.as_str()))
                    .data(&plan.document)
                    .set_description(plan.description.clone())
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "imagebuilder:CreateComponent", e))?;
            }
        }
    }

    // 2. The recipe: a new version when its content or version changed.
    let recipe = desired(RECIPE);
    let recipe_arn = match observed(RECIPE_ARN).and_then(Value::as_str) {
        Some(arn) if !differs(RECIPE) && !differs(RECIPE_VERSION) => arn.to_owned(),
        _ => {
            let existing = str_list(observed(RECIPE_VERSIONS));
            let version = next_recipe_version(&spec.image_recipe_version, &existing);
            let components = str_list(recipe.get("components"))
                .into_iter()
                .map(|arn| ComponentConfiguration::builder().component_arn(arn).build())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::resource(&id, format!("recipe components: {e}")))?;
            let devices: Vec<_> =
                recipe.get("blockDeviceMappings").and_then(Value::as_array).into_iter().flatten().map(wire::block_device_sdk).collect();
            let out = ib
                .create_image_recipe()
                .name(spec.recipe_name())
                .semantic_version(&version)
                .set_parent_image(s(&recipe, "parentImage"))
                .set_components(Some(components))
                .set_working_directory(s(&recipe, "workingDirectory"))
                .set_description(s(&recipe, "description"))
                .set_block_device_mappings(Some(devices).filter(|d| !d.is_empty()))
                .send()
                .await
                .map_err(|e| Error::aws(&id, "imagebuilder:CreateImageRecipe", e))?;
            out.image_recipe_arn().map(str::to_owned).unwrap_or_else(|| spec.recipe_arn(cx, &version))
        }
    };

    // 3. Infrastructure configuration (an update replaces every setting).
    let infra = desired(INFRA);
    if observed(INFRA).is_none() || differs(INFRA) {
        let tags: Option<HashMap<String, String>> = infra
            .get("resourceTags")
            .and_then(Value::as_object)
            .map(|t| t.iter().map(|(k, v)| (k.clone(), wire::text(v).unwrap_or_default())).collect());
        let types = Some(str_list(infra.get("instanceTypes"))).filter(|t| !t.is_empty());
        let groups = Some(str_list(infra.get("securityGroupIds"))).filter(|t| !t.is_empty());
        let terminate = infra.get("terminateInstanceOnFailure").and_then(Value::as_bool);
        if observed(INFRA).is_none() {
            ib.create_infrastructure_configuration()
                .name(spec.infrastructure_name())
                .set_instance_profile_name(s(&infra, "instanceProfileName"))
                .set_instance_types(types)
                .set_subnet_id(s(&infra, "subnetId"))
                .set_security_group_ids(groups)
                .set_key_pair(s(&infra, "keyPair"))
                .set_sns_topic_arn(s(&infra, "snsTopicArn"))
                .set_terminate_instance_on_failure(terminate)
                .set_description(s(&infra, "description"))
                .set_resource_tags(tags)
                .send()
                .await
                .map_err(|e| Error::aws(&id, "imagebuilder:CreateInfrastructureConfiguration", e))?;
        } else {
            ib.update_infrastructure_configuration()
                .infrastructure_configuration_arn(spec.infra_arn(cx))
                .set_instance_profile_name(s(&infra, "instanceProfileName"))
                .set_instance_types(types)
                .set_subnet_id(s(&infra, "subnetId"))
                .set_security_group_ids(groups)
                .set_key_pair(s(&infra, "keyPair"))
                .set_sns_topic_arn(s(&infra, "snsTopicArn"))
                .set_terminate_instance_on_failure(terminate)
                .set_description(s(&infra, "description"))
                .set_resource_tags(tags)
                .send()
                .await
                .map_err(|e| Error::aws(&id, "imagebuilder:UpdateInfrastructureConfiguration", e))?;
        }
    }

    // 4. Distribution configuration.
    let dist = desired(DIST);
    if observed(DIST).is_none() || differs(DIST) {
        let distributions = wire::distributions_sdk(dist.get("distributions")).map_err(|m| Error::resource(&id, m))?;
        if observed(DIST).is_none() {
            ib.create_distribution_configuration()
                .name(spec.distribution_name())
                .set_distributions(Some(distributions))
                .set_description(s(&dist, "description"))
                .send()
                .await
                .map_err(|e| Error::aws(&id, "imagebuilder:CreateDistributionConfiguration", e))?;
        } else {
            ib.update_distribution_configuration()
                .distribution_configuration_arn(spec.dist_arn(cx))
                .set_distributions(Some(distributions))
                .set_description(s(&dist, "description"))
                .send()
                .await
                .map_err(|e| Error::aws(&id, "imagebuilder:UpdateDistributionConfiguration", e))?;
        }
    }

    // 5. The pipeline, pointed at the recipe chosen above.
    let pipeline = desired(PIPELINE);
    let recipe_moved = observed(PIPELINE_RECIPE_ARN).and_then(Value::as_str) != Some(recipe_arn.as_str());
    let exists = observed(PIPELINE).is_some();
    if !exists || differs(PIPELINE) || recipe_moved {
        let status = s(&pipeline, "status").map(|st| PipelineStatus::from(st.as_str()));
        let schedule = wire::schedule_sdk(pipeline.get("schedule"));
        let tests = wire::image_tests_sdk(pipeline.get("imageTestsConfiguration"));
        let metadata = pipeline.get("enhancedImageMetadataEnabled").and_then(Value::as_bool);
        if !exists {
            ib.create_image_pipeline()
                .name(spec.pipeline_name())
                .image_recipe_arn(&recipe_arn)
                .infrastructure_configuration_arn(spec.infra_arn(cx))
                .distribution_configuration_arn(spec.dist_arn(cx))
                .set_status(status)
                .set_schedule(schedule)
                .set_image_tests_configuration(tests)
                .set_enhanced_image_metadata_enabled(metadata)
                .set_description(s(&pipeline, "description"))
                .send()
                .await
                .map_err(|e| Error::aws(&id, "imagebuilder:CreateImagePipeline", e))?;
        } else {
            ib.update_image_pipeline()
                .image_pipeline_arn(spec.pipeline_arn(cx))
                .image_recipe_arn(&recipe_arn)
                .infrastructure_configuration_arn(spec.infra_arn(cx))
                .distribution_configuration_arn(spec.dist_arn(cx))
                .set_status(status)
                .set_schedule(schedule)
                .set_image_tests_configuration(tests)
                .set_enhanced_image_metadata_enabled(metadata)
                .set_description(s(&pipeline, "description"))
                .send()
                .await
                .map_err(|e| Error::aws(&id, "imagebuilder:UpdateImagePipeline", e))?;
        }
        // 6. A new or changed pipeline builds once, so its newest image matches the config.
        if spec.enabled {
            ib.start_image_pipeline_execution()
                .image_pipeline_arn(spec.pipeline_arn(cx))
                .send()
                .await
                .map_err(|e| Error::aws(&id, "imagebuilder:StartImagePipelineExecution", e))?;
        }
    }
    Ok(())
}
