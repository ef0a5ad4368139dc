use serde_json::{Value, json};

use super::*;
use crate::model::Change;

fn cx() -> Context {
    Context::new("aws", "us-east-1", "123456789012")
}

/// The seed's minimal Linux example.
fn linux() -> ImageBuilderSpec {
    serde_json::from_value(json!({
        "name": "praktika-linux-ami",
        "image_recipe_name": "praktika-linux-recipe",
        "image_recipe_version": "1.0.0",
        "parent_image": "ami-0123",
        "components": ["arn:aws:imagebuilder:us-east-1:aws:component/update-linux/1.0.0"],
        "infrastructure_configuration_name": "praktika-linux-ib-infra",
        "instance_profile_name": "praktika-ec2-instance-profile",
        "instance_types": ["c6a.large"],
        "subnet_id": "subnet-1",
        "security_group_ids": ["sg-2", "sg-1"],
        "distribution_configuration_name": "praktika-linux-ib-dist",
        "ami_name": "praktika-linux-{{imagebuilder:buildDate}}",
        "ami_tags": {"praktika": "true"},
        "image_pipeline_name": "praktika-linux-ib-pipeline",
        "enabled": true
    }))
    .unwrap()
}

/// What the service would answer for `spec` after a deploy: the declared settings plus the
/// service's own extras (defaults, dates, ARNs).
fn observed_after_deploy(spec: &ImageBuilderSpec) -> Properties {
    let mut props = spec.desired(&cx());
    let version = props.remove(RECIPE_VERSION).unwrap();
    props.insert(RECIPE_VERSION.into(), version);
    let infra = props.get_mut(INFRA).unwrap().as_object_mut().unwrap();
    infra.retain(|_, v| !v.is_null());
    let pipeline = props.get_mut(PIPELINE).unwrap().as_object_mut().unwrap();
    pipeline.retain(|_, v| !v.is_null());
    pipeline.insert("imageTestsConfiguration".into(), json!({"imageTestsEnabled": true, "timeoutMinutes": 720}));
    pipeline.insert("enhancedImageMetadataEnabled".into(), json!(true));
    pipeline.insert("imageRecipeArn".into(), json!(spec.recipe_arn(&cx(), "1.0.0")));
    props.insert(RECIPE_ARN.into(), json!(spec.recipe_arn(&cx(), "1.0.0")));
    props
}

#[test]
fn desired_spells_out_every_part() {
    let spec = linux();
    spec.validate().unwrap();
    let d = spec.desired(&cx());
    assert_eq!(d[RECIPE]["components"], json!(["arn:aws:imagebuilder:us-east-1:aws:component/update-linux/1.0.0"]));
    assert_eq!(d[INFRA]["securityGroupIds"], json!(["sg-1", "sg-2"]));
    assert_eq!(d[INFRA]["keyPair"], Value::Null);
    assert_eq!(
        d[DIST]["distributions"],
        json!([{"region": "us-east-1", "amiDistributionConfiguration": {"name": "praktika-linux-{{imagebuilder:buildDate}}", "amiTags": {"praktika": "true"}}}])
    );
    assert_eq!(
        d[PIPELINE]["infrastructureConfigurationArn"],
        json!("arn:aws:imagebuilder:us-east-1:123456789012:infrastructure-configuration/praktika-linux-ib-infra")
    );
    assert_eq!(d[PIPELINE]["status"], json!("ENABLED"));
    assert!(d[PIPELINE].get("imageTestsConfiguration").is_none(), "undeclared: the service default stands");
    assert!(!d.contains_key(COMPONENTS));
}

#[test]
fn the_service_extras_are_no_change_and_drift_shows_the_field() {
    let spec = linux();
    let desired = spec.desired(&cx());
    let mut observed = observed_after_deploy(&spec);
    assert_eq!(spec.diff(&desired, Some(&observed)), Change::NoChange);

    // Out of band: a key pair added and the instance types changed.
    let infra = observed.get_mut(INFRA).unwrap();
    infra["keyPair"] = json!("debug-key");
    infra["instanceTypes"] = json!(["c7a.xlarge"]);
    let change = spec.diff(&desired, Some(&observed));
    let fields: Vec<&str> = change.fields().iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, [INFRA]);
    assert_eq!(change.fields()[0].from.as_ref().unwrap()["keyPair"], json!("debug-key"));
    assert_eq!(change.fields()[0].to["keyPair"], Value::Null);
}

#[test]
fn recipe_versions_are_at_least_the_declared_one() {
    let spec = linux();
    let desired = spec.desired(&cx());
    let mut observed = observed_after_deploy(&spec);
    // An earlier content change made 1.0.1: still what the stack asks for.
    observed.insert(RECIPE_VERSION.into(), json!("1.0.1"));
    assert_eq!(spec.diff(&desired, Some(&observed)), Change::NoChange);
    // Raising the declared version asks for it.
    let mut raised = spec.clone();
    raised.image_recipe_version = "2.0.0".into();
    let change = raised.diff(&raised.desired(&cx()), Some(&observed));
    assert!(change.touches(RECIPE_VERSION), "{change:?}");
    // A changed parent image changes the recipe.
    let mut moved = spec.clone();
    moved.parent_image = "ami-0new".into();
    assert!(moved.diff(&moved.desired(&cx()), Some(&observed)).touches(RECIPE));
}

#[test]
fn changed_recipes_get_the_next_free_version() {
    assert_eq!(next_recipe_version("1.0.0", &[]), "1.0.0");
    assert_eq!(next_recipe_version("1.0.0", &["1.0.0".into()]), "1.0.1");
    assert_eq!(next_recipe_version("1.0.0", &["1.0.0".into(), "1.0.1".into(), "1.2.0".into()]), "1.2.1");
    assert_eq!(next_recipe_version("2.0.0", &["1.0.3".into()]), "2.0.0");
}

#[test]
fn inline_components_are_declared_with_their_arns() {
    let mut spec = linux();
    spec.components.clear();
    spec.inline_components =
        vec![serde_json::from_value(json!({"name": "tools", "platform": "Linux", "commands": ["apt-get update"]})).unwrap()];
    spec.validate().unwrap();
    let d = spec.desired(&cx());
    assert_eq!(d[RECIPE]["components"], json!(["arn:aws:imagebuilder:us-east-1:123456789012:component/tools/1.0.0/1"]));
    assert_eq!(d[COMPONENTS]["tools"]["version"], json!("1.0.0"));
    assert!(d[COMPONENTS]["tools"]["document"].as_str().unwrap().starts_with("fnv1a:"));
}

#[test]
fn validation_names_the_field() {
    let cases: [(Value, &str); 7] = [
        (json!({"parent_image": ""}), "parent_image is required"),
        (json!({"instance_profile_name": ""}), "instance_profile_name is required"),
        (json!({"image_recipe_version": "1.0"}), "image_recipe_version \"1.0\""),
        (json!({"components": ["update-linux"]}), "components[0] \"update-linux\" is not"),
        (json!({"schedule_expression": "daily"}), "schedule_expression \"daily\""),
        (json!({"pipeline": {"name": "x"}}), "pipeline.name is not a field"),
        (json!({"components": []}), "the recipe needs at least one"),
    ];
    for (patch, expected) in cases {
        let mut v = serde_json::to_value(linux()).unwrap();
        for (k, val) in patch.as_object().unwrap() {
            v[k] = val.clone();
        }
        let spec: ImageBuilderSpec = serde_json::from_value(v).unwrap();
        let err = spec.validate().unwrap_err();
        assert!(err.contains(expected), "{err} (expected {expected})");
    }
}
