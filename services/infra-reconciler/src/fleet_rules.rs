//! Rules across the CI fleet's resources of one stack, applied by the loader before any AWS call:
//! ownership (the stack prefix each fleet resource tags with), implicit dependencies, the macOS
//! rule that needs the launch template's instance type, and pipelines a launch template names.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Declared;
use crate::kinds::ResourceSpec;
use crate::model::{Kind, ResourceId};

/// Fill in what fleet resources learn from the rest of the stack.
pub(crate) fn resolve(prefix: &str, resources: &mut [Declared]) -> Result<(), String> {
    let templates: BTreeMap<String, String> = resources
        .iter()
        .filter_map(|d| match &d.spec {
            ResourceSpec::LaunchTemplate(lt) => Some((lt.name.clone(), lt.effective_instance_type().to_owned())),
            _ => None,
        })
        .collect();
    let profiles: BTreeSet<String> =
        resources.iter().filter(|d| d.spec.kind() == Kind::IAMInstanceProfile).map(|d| d.spec.resource_name().to_owned()).collect();
    let builders = pipeline_builders(resources);
    let pipelines: BTreeSet<String> = builders.keys().cloned().collect();

    for d in resources.iter_mut() {
        let mut needs = Vec::new();
        match &mut d.spec {
            ResourceSpec::DedicatedHost(r) => r.stack = prefix.to_owned(),
            ResourceSpec::IAMInstanceProfile(r) => r.stack = prefix.to_owned(),
            ResourceSpec::EC2Instance(r) => {
                r.stack = prefix.to_owned();
                if profiles.contains(&r.iam_instance_profile_name) {
                    needs.push(ResourceId::new(Kind::IAMInstanceProfile, &r.iam_instance_profile_name));
                }
            }
            ResourceSpec::LaunchTemplate(r) => {
                r.stack = prefix.to_owned();
                check_pipeline(&r.name, &r.image_id, &r.image_builder_pipeline_name, &pipelines)?;
                // The newest image of a pipeline of this stack: after the pipeline is deployed.
                if r.image_id.is_empty()
                    && let Some(builder) = builders.get(&r.image_builder_pipeline_name)
                {
                    needs.push(ResourceId::new(Kind::ImageBuilder, builder));
                }
            }
            ResourceSpec::ImageBuilder(r) if profiles.contains(&r.instance_profile_name) => {
                needs.push(ResourceId::new(Kind::IAMInstanceProfile, &r.instance_profile_name));
            }
            ResourceSpec::AutoScalingGroup(r) => {
                r.stack = prefix.to_owned();
                if let Some(instance_type) = templates.get(&r.launch_template_name).filter(|_| r.launch_template_id.is_empty()) {
                    r.launch_template_instance_type = Some(instance_type.clone());
                    needs.push(ResourceId::new(Kind::LaunchTemplate, &r.launch_template_name));
                }
            }
            _ => {}
        }
        for need in needs {
            if !d.depends_on.contains(&need) {
                d.depends_on.push(need);
            }
        }
    }
    Ok(())
}

/// Pipeline name → the `ImageBuilder` resource that declares it.
fn pipeline_builders(resources: &[Declared]) -> BTreeMap<String, String> {
    resources
        .iter()
        .filter_map(|d| match &d.spec {
            ResourceSpec::ImageBuilder(b) => Some((b.pipeline_name(), b.name.clone())),
            _ => None,
        })
        .collect()
}

/// A launch template that takes its image from a pipeline must name one the stack declares.
pub(crate) fn check_pipeline(template: &str, image_id: &str, pipeline: &str, declared: &BTreeSet<String>) -> Result<(), String> {
    if pipeline.is_empty() || !image_id.is_empty() || declared.contains(pipeline) {
        return Ok(());
    }
    let known = if declared.is_empty() {
        "the stack declares no ImageBuilder".to_owned()
    } else {
        format!("declared pipelines: {}", declared.iter().cloned().collect::<Vec<_>>().join(", "))
    };
    Err(format!("LaunchTemplate {template}: image_builder_pipeline_name {pipeline:?} names no ImageBuilder of this stack ({known})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadOptions, StackConfig};
    use serde_json::json;

    #[test]
    fn an_unknown_pipeline_is_named() {
        let declared = BTreeSet::from(["linux-pipeline".to_owned()]);
        assert!(check_pipeline("lt", "", "linux-pipeline", &declared).is_ok());
        assert!(check_pipeline("lt", "ami-1", "whatever", &declared).is_ok(), "image_id wins over the pipeline");
        let err = check_pipeline("lt", "", "linx-pipeline", &declared).unwrap_err();
        assert_eq!(
            err,
            "LaunchTemplate lt: image_builder_pipeline_name \"linx-pipeline\" names no ImageBuilder of this stack (declared pipelines: linux-pipeline)"
        );
        let err = check_pipeline("lt", "", "p", &BTreeSet::new()).unwrap_err();
        assert!(err.contains("the stack declares no ImageBuilder"), "{err}");
    }

    #[test]
    fn the_loader_wires_fleet_resources() {
        let text = json!({
            "$schema": "./stack.schema.json",
            "resources": [
                {"kind": "AutoScalingGroup", "name": "g", "vpc_name": "ci", "launch_template_name": "my-lt", "max_size": 1},
                {"kind": "LaunchTemplate", "name": "my-lt", "image_id": "ami-1", "instance_type": "mac2.metal", "tenancy": "host"},
                {"kind": "EC2Instance", "name": "i", "image_id": "ami-1", "instance_type": "t3.micro", "iam_instance_profile_name": "prof"},
                {"kind": "IAMInstanceProfile", "name": "prof", "role_name": "role"}
            ]
        });
        let stack = StackConfig::parse(&text.to_string(), "t", &LoadOptions::new("p1")).unwrap();
        let order: Vec<String> = stack.ordered().unwrap().iter().map(|d| d.id().to_string()).collect();
        assert_eq!(order, ["LaunchTemplate my-lt", "AutoScalingGroup g", "IAMInstanceProfile prof", "EC2Instance i"]);
        let ResourceSpec::AutoScalingGroup(g) = &stack.resources[0].spec else { panic!() };
        assert_eq!((g.stack.as_str(), g.launch_template_instance_type.as_deref()), ("p1", Some("mac2.metal")));
    }

    fn load_err(resources: serde_json::Value) -> String {
        StackConfig::parse(&json!({"resources": resources}).to_string(), "fleet.json", &LoadOptions::new("p1")).unwrap_err().to_string()
    }

    #[test]
    fn each_validation_failure_names_the_resource_and_field() {
        let err = load_err(json!([
            {"kind": "DedicatedHost", "name": "pool", "instance_type": "mac2-m2.metal", "availability_zones": ["us-east-1a"]}
        ]));
        assert!(err.contains("DedicatedHost pool: auto_placement must be \"on\""), "{err}");

        let err = load_err(json!([
            {"kind": "LaunchTemplate", "name": "mac-lt", "image_id": "ami-1", "instance_type": "mac2.metal"}
        ]));
        assert!(err.contains("LaunchTemplate mac-lt: tenancy must be \"host\""), "{err}");

        let err = load_err(json!([
            {"kind": "LaunchTemplate", "name": "mac-lt", "image_id": "ami-1", "instance_type": "mac2.metal", "tenancy": "host"},
            {"kind": "AutoScalingGroup", "name": "mac-asg", "vpc_name": "ci", "launch_template_name": "mac-lt", "min_size": 1, "max_size": 2}
        ]));
        assert!(err.contains("AutoScalingGroup mac-asg: min_size must be 0"), "{err}");

        let err = load_err(json!([
            {"kind": "AutoScalingGroup", "name": "g", "vpc_id": "vpc-1", "launch_template_name": "x", "max_size": 1, "desired_capacity": 3}
        ]));
        assert!(err.contains("AutoScalingGroup g: desired_capacity 3 is greater than max_size 1"), "{err}");

        let err = load_err(json!([{"kind": "AutoScalingGroup", "name": "g", "launch_template_name": "x", "max_size": 1}]));
        assert!(err.contains("AutoScalingGroup g: no networking"), "{err}");

        let err = load_err(json!([
            {"kind": "LaunchTemplate", "name": "linux-lt", "image_builder_pipeline_name": "nope", "instance_type": "c6a.large"}
        ]));
        assert!(err.contains("LaunchTemplate linux-lt: image_builder_pipeline_name \"nope\""), "{err}");

        let err = load_err(json!([
            {"kind": "EC2Instance", "name": "i", "image_id": "ami-1", "instance_type": "t3.micro"},
            {"kind": "EC2Instance", "name": "i", "image_id": "ami-2", "instance_type": "t3.micro"}
        ]));
        assert!(err.contains("EC2Instance i is declared twice"), "{err}");

        let err =
            load_err(json!([{"kind": "DedicatedHost", "name": "p", "instance_type": "x", "availability_zones": ["a"], "quantity": 2}]));
        assert!(err.contains("(DedicatedHost p)") && err.contains("unknown field `quantity`"), "{err}");
    }
}
