//! The `ImageBuilder` kind against the project's fake Image Builder (no emulator serves it),
//! with everything else — the account context — on the emulator.

use aws_sdk_imagebuilder::types::{Filter, Platform};
use pulse_fake_imagebuilder::FakeImageBuilder;
use pulse_infra_reconciler::kinds::image_builder::newest_ami;
use pulse_infra_reconciler::{Change, Clients, Kind, LoadOptions, Plan, PlanOptions, ResourceId, StackConfig, apply, plan};
use pulse_tests::emulator_config;
use serde_json::{Value, json};

const ACCOUNT: &str = "arn:aws:imagebuilder:us-east-1:123456789012";

/// A fresh fake and clients that send Image Builder to it and the rest to the emulator.
async fn env() -> (FakeImageBuilder, Clients) {
    let fake = FakeImageBuilder::start().await;
    let clients = Clients::new(&emulator_config().await).with_imagebuilder_endpoint(fake.url());
    (fake, clients)
}

/// The Linux example, its launch template renamed per test: the fake Image Builder is each
/// test's own, but EC2 (moto) is shared by every test.
fn example() -> StackConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/examples/linux-ami-pipeline.json");
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("\"praktika-linux-lt\"", &format!("\"{}\"", pulse_tests::unique("praktika-linux-lt")));
    StackConfig::parse(&text, path, &LoadOptions::new("ex")).expect("the Linux example loads")
}

fn stack(resources: Value) -> StackConfig {
    StackConfig::parse(&json!({"resources": resources}).to_string(), "test", &LoadOptions::new("t")).unwrap()
}

async fn deploy(stack: &StackConfig, clients: &Clients) -> Plan {
    let plan = plan(stack, clients, &PlanOptions::default()).await.unwrap();
    apply(&plan, clients, |_| {}).await.unwrap();
    plan
}

/// Write operations the fake served since call number `from`.
fn writes_since(fake: &FakeImageBuilder, from: usize) -> Vec<String> {
    fake.calls()[from..].iter().map(|c| c.operation.clone()).filter(|op| !["Get", "List"].iter().any(|p| op.starts_with(p))).collect()
}

fn builder_id(name: &str) -> ResourceId {
    ResourceId::new(Kind::ImageBuilder, name)
}

#[tokio::test]
async fn the_linux_example_deploys_once_and_its_newest_image_has_the_ami() {
    let (fake, clients) = env().await;
    let stack = example();
    fake.set_next_ami("praktika-linux-ib-pipeline", "ami-0linuxbuild");

    let first = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    assert_eq!(first.api_calls.write, 0, "planning only reads");
    assert_eq!(first.entry(&builder_id("praktika-linux-ami")).unwrap().change, Change::Create);
    let report = apply(&first, &clients, |_| {}).await.unwrap();
    // The pipeline, then (after its first build) the launch template that takes its image.
    assert_eq!(report.created.len(), 2, "{:?}", report.created);
    assert_eq!(report.created[0], builder_id("praktika-linux-ami"));
    assert_eq!(report.created[1].kind, Kind::LaunchTemplate);
    assert_eq!(
        writes_since(&fake, 0),
        [
            "CreateImageRecipe",
            "CreateInfrastructureConfiguration",
            "CreateDistributionConfiguration",
            "CreateImagePipeline",
            "StartImagePipelineExecution"
        ]
    );

    // What landed in Image Builder is what the example declares.
    let pipeline = fake.resource(&format!("{ACCOUNT}:image-pipeline/praktika-linux-ib-pipeline")).unwrap();
    assert_eq!(pipeline["status"], json!("ENABLED"));
    assert_eq!(pipeline["imageRecipeArn"], json!(format!("{ACCOUNT}:image-recipe/praktika-linux-recipe/1.0.0")));
    let recipe = fake.resource(&format!("{ACCOUNT}:image-recipe/praktika-linux-recipe/1.0.0")).unwrap();
    assert_eq!(recipe["parentImage"], json!("ami-0abcdef1234567890"));
    assert_eq!(recipe["components"], json!([{"componentArn": "arn:aws:imagebuilder:us-east-1:aws:component/update-linux/1.0.0"}]));
    let infra = fake.resource(&format!("{ACCOUNT}:infrastructure-configuration/praktika-linux-ib-infra")).unwrap();
    assert_eq!(infra["instanceProfileName"], json!("praktika-ec2-instance-profile"));
    assert_eq!(infra["instanceTypes"], json!(["c6a.large"]));
    assert_eq!(infra["subnetId"], json!("subnet-0123456789abcdef0"));
    let dist = fake.resource(&format!("{ACCOUNT}:distribution-configuration/praktika-linux-ib-dist")).unwrap();
    assert_eq!(
        dist["distributions"][0]["amiDistributionConfiguration"],
        json!({"name": "praktika-linux-{{imagebuilder:buildDate}}", "amiTags": {"praktika": "true"}})
    );

    // What a LaunchTemplate naming the pipeline resolves: the newest image's AMI.
    let cx = clients.context().await.unwrap();
    let id = builder_id("praktika-linux-ami");
    let ami = newest_ami(&clients, &cx, &id, "praktika-linux-ib-pipeline").await.unwrap();
    assert_eq!(ami.as_deref(), Some("ami-0linuxbuild"));
    let pipeline_arn = format!("{ACCOUNT}:image-pipeline/praktika-linux-ib-pipeline");
    fake.set_next_ami("praktika-linux-ib-pipeline", "ami-0rebuilt");
    clients.imagebuilder.start_image_pipeline_execution().image_pipeline_arn(&pipeline_arn).send().await.unwrap();
    let ami = newest_ami(&clients, &cx, &id, "praktika-linux-ib-pipeline").await.unwrap();
    assert_eq!(ami.as_deref(), Some("ami-0rebuilt"), "the newest build wins");
    assert_eq!(newest_ami(&clients, &cx, &id, "no-such-pipeline").await.unwrap(), None);

    // The launch template follows the pipeline's newest build...
    let follow = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    let shown = follow.to_string();
    assert!(shown.contains("LaunchTemplateData.ImageId: ami-0linuxbuild → ami-0rebuilt"), "{shown}");
    assert!(
        shown.lines().any(|l| l.contains("= no change") && l.contains(" ImageBuilder ") && l.ends_with(" praktika-linux-ami")),
        "{shown}"
    );
    apply(&follow, &clients, |_| {}).await.unwrap();

    // ...and then a redeploy plans no change and makes no write call.
    let calls_before = fake.calls().len();
    let again = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    assert!(!again.has_changes(), "{again}");
    let report = apply(&again, &clients, |_| {}).await.unwrap();
    assert_eq!(report.api_calls.write, 0, "{:?}", report.api_calls);
    assert!(writes_since(&fake, calls_before).is_empty(), "{:?}", writes_since(&fake, calls_before));
    assert_eq!(report.unchanged.len(), 2, "{:?}", report.unchanged);
    assert_eq!(report.unchanged[0], builder_id("praktika-linux-ami"));
}

#[tokio::test]
async fn drift_in_the_infrastructure_configuration_is_planned_and_fixed_with_one_update() {
    let (fake, clients) = env().await;
    let stack = example();
    deploy(&stack, &clients).await;

    // Out of band: bigger instances and a debug key pair.
    let arn = format!("{ACCOUNT}:infrastructure-configuration/praktika-linux-ib-infra");
    clients
        .imagebuilder
        .update_infrastructure_configuration()
        .infrastructure_configuration_arn(&arn)
        .instance_profile_name("praktika-ec2-instance-profile")
        .instance_types("c7a.4xlarge")
        .subnet_id("subnet-0123456789abcdef0")
        .security_group_ids("sg-0123456789abcdef0")
        .key_pair("debug-key")
        .send()
        .await
        .unwrap();

    let drift = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    let change = &drift.entry(&builder_id("praktika-linux-ami")).unwrap().change;
    let fields: Vec<&str> = change.fields().iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["InfrastructureConfiguration"], "{drift}");
    let text = drift.to_string();
    assert!(text.contains(r#"InfrastructureConfiguration.instanceTypes: ["c7a.4xlarge"] → ["c6a.large"]"#), "{text}");
    assert!(text.contains("InfrastructureConfiguration.keyPair: debug-key → (absent)"), "{text}");

    let before = fake.calls().len();
    let report = apply(&drift, &clients, |_| {}).await.unwrap();
    assert_eq!(report.updated, [builder_id("praktika-linux-ami")]);
    assert_eq!(writes_since(&fake, before), ["UpdateInfrastructureConfiguration"]);
    let infra = fake.resource(&arn).unwrap();
    assert_eq!(infra["instanceTypes"], json!(["c6a.large"]));
    assert!(infra.get("keyPair").is_none(), "{infra}");
    assert!(!plan(&stack, &clients, &PlanOptions::default()).await.unwrap().has_changes());
}

fn inline(commands: &[&str], version: &str) -> Value {
    json!([{
        "kind": "ImageBuilder",
        "name": "tools-image",
        "parent_image": "ami-0base",
        "inline_components": [{"name": "install-tools", "version": version, "platform": "Linux", "commands": commands}],
        "instance_profile_name": "builder-profile",
        "instance_types": ["t3.large"],
    }])
}

#[tokio::test]
async fn inline_components_are_created_and_a_changed_recipe_gets_a_new_version() {
    let (fake, clients) = env().await;
    let v1 = stack(inline(&["apt-get update", "apt-get install -y python3"], "1.0.0"));
    deploy(&v1, &clients).await;

    // praktika's derived names; the component document holds the commands.
    let component = fake.resource(&format!("{ACCOUNT}:component/install-tools/1.0.0/1")).unwrap();
    assert_eq!(component["platform"], json!("Linux"));
    let doc = component["data"].as_str().unwrap();
    assert!(
        doc.contains("- \"set -e -o pipefail\"\n            - \"apt-get update\"\n            - \"apt-get install -y python3\"\n"),
        "{doc}"
    );
    let recipe = fake.resource(&format!("{ACCOUNT}:image-recipe/tools-image-recipe/1.0.0")).unwrap();
    assert_eq!(recipe["components"], json!([{"componentArn": format!("{ACCOUNT}:component/install-tools/1.0.0/1")}]));
    assert!(fake.resource(&format!("{ACCOUNT}:image-pipeline/tools-imagebuilder-pipeline")).is_some());
    assert!(!plan(&v1, &clients, &PlanOptions::default()).await.unwrap().has_changes());

    // Changed commands under the same version: planned, and refused (components are immutable).
    let same_version = stack(inline(&["apt-get update", "apt-get install -y python3", "pip install uv"], "1.0.0"));
    let p = plan(&same_version, &clients, &PlanOptions::default()).await.unwrap();
    let change = &p.entry(&builder_id("tools-image")).unwrap().change;
    let fields: Vec<&str> = change.fields().iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["Components"], "{p}");
    assert!(p.to_string().contains("Components.install-tools: {\"document\":\"fnv1a:"), "{p}");
    let err = apply(&p, &clients, |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("component install-tools version 1.0.0 already exists with a different document"), "{err}");

    // With a new component version: a new component, a new recipe version, the pipeline moved
    // to it, and one build.
    let v2 = stack(inline(&["apt-get update", "apt-get install -y python3", "pip install uv"], "1.1.0"));
    let before = fake.calls().len();
    deploy(&v2, &clients).await;
    assert_eq!(writes_since(&fake, before), ["CreateComponent", "CreateImageRecipe", "UpdateImagePipeline", "StartImagePipelineExecution"]);
    let pipeline = fake.resource(&format!("{ACCOUNT}:image-pipeline/tools-imagebuilder-pipeline")).unwrap();
    assert_eq!(pipeline["imageRecipeArn"], json!(format!("{ACCOUNT}:image-recipe/tools-image-recipe/1.0.1")));
    let recipe = fake.resource(&format!("{ACCOUNT}:image-recipe/tools-image-recipe/1.0.1")).unwrap();
    assert_eq!(recipe["components"], json!([{"componentArn": format!("{ACCOUNT}:component/install-tools/1.1.0/1")}]));
    // The auto-bumped 1.0.1 satisfies the declared 1.0.0: nothing more to do.
    let settled = plan(&v2, &clients, &PlanOptions::default()).await.unwrap();
    assert!(!settled.has_changes(), "{settled}");
    let listed = clients
        .imagebuilder
        .list_components()
        .filters(Filter::builder().name("name").values("install-tools").build())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.component_version_list().len(), 2);
    assert!(listed.component_version_list().iter().all(|c| c.platform() == Some(&Platform::Linux)));
}

/// A deploy that fails half way leaves what it made; the next plan sees exactly what is missing
/// and the next deploy makes only that.
#[tokio::test]
async fn a_failed_deploy_resumes_where_it_stopped() {
    let (fake, clients) = env().await;
    let stack = example();
    fake.inject("CreateImagePipeline", pulse_fake_imagebuilder::Fault::new(400, "ForbiddenException"), 1);
    let first = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    let err = apply(&first, &clients, |_| {}).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("ImageBuilder praktika-linux-ami: imagebuilder:CreateImagePipeline failed"), "{text}");
    assert!(text.contains("ForbiddenException"), "{text}");

    let resumed = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    let change = &resumed.entry(&builder_id("praktika-linux-ami")).unwrap().change;
    let fields: Vec<&str> = change.fields().iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["Pipeline"], "{resumed}");
    let before = fake.calls().len();
    apply(&resumed, &clients, |_| {}).await.unwrap();
    assert_eq!(writes_since(&fake, before), ["CreateImagePipeline", "StartImagePipelineExecution"]);
    assert!(!plan(&stack, &clients, &PlanOptions::default()).await.unwrap().has_changes());
}

#[tokio::test]
async fn disabling_the_pipeline_updates_it_without_a_build() {
    let (fake, clients) = env().await;
    deploy(&example(), &clients).await;
    let mut text: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/examples/linux-ami-pipeline.json")).unwrap(),
    )
    .unwrap();
    text["resources"][0]["enabled"] = json!(false);
    text["resources"][0]["schedule_expression"] = json!("cron(0 3 * * ? *)");
    let disabled = StackConfig::parse(&text.to_string(), "test", &LoadOptions::new("ex")).unwrap();
    let p = plan(&disabled, &clients, &PlanOptions::default()).await.unwrap();
    let shown = p.to_string();
    assert!(shown.contains("Pipeline.status: ENABLED → DISABLED"), "{shown}");
    let before = fake.calls().len();
    apply(&p, &clients, |_| {}).await.unwrap();
    assert_eq!(writes_since(&fake, before), ["UpdateImagePipeline"]);
    let pipeline = fake.resource(&format!("{ACCOUNT}:image-pipeline/praktika-linux-ib-pipeline")).unwrap();
    assert_eq!(pipeline["schedule"]["scheduleExpression"], json!("cron(0 3 * * ? *)"));
}

#[test]
fn validation_names_the_resource_and_field() {
    let err = StackConfig::parse(
        &json!({"resources": [{"kind": "ImageBuilder", "name": "bad", "components": ["arn:aws:imagebuilder:us-east-1:aws:component/x/1.0.0"], "instance_profile_name": "p"}]}).to_string(),
        "test",
        &LoadOptions::new("t"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("ImageBuilder bad: parent_image is required"), "{err}");
    let err = StackConfig::parse(
        &json!({"resources": [{"kind": "ImageBuilder", "name": "bad", "parent_image": "ami-1", "instance_profile_name": "p", "instance_type": "x"}]}).to_string(),
        "test",
        &LoadOptions::new("t"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("(ImageBuilder bad)") && err.contains("unknown field `instance_type`"), "{err}");
}

/// `Clients::from_env` sends Image Builder to `AWS_ENDPOINT_URL_IMAGEBUILDER` and everything
/// else to `AWS_ENDPOINT_URL`. (nextest runs each test in its own process, so setting the
/// variable touches no other test; under `cargo test` the others override the endpoint anyway.)
#[tokio::test]
async fn from_env_honours_the_image_builder_endpoint_variable() {
    let fake = FakeImageBuilder::start().await;
    // SAFETY: set before any other thread of this test reads the environment.
    unsafe { std::env::set_var("AWS_ENDPOINT_URL_IMAGEBUILDER", fake.url()) };
    let clients = Clients::from_env().await;
    // SAFETY: as above; the clients have read it.
    unsafe { std::env::remove_var("AWS_ENDPOINT_URL_IMAGEBUILDER") };
    let p = plan(&example(), &clients, &PlanOptions::default()).await.unwrap();
    assert_eq!(p.entry(&builder_id("praktika-linux-ami")).unwrap().change, Change::Create);
    let ops: Vec<String> = fake.calls().into_iter().map(|c| c.operation).collect();
    assert!(ops.contains(&"GetImagePipeline".to_owned()) && ops.contains(&"ListImageRecipes".to_owned()), "{ops:?}");
    // The account context came from the emulator (the fake serves no EventBridge), or the plan
    // would have failed.
    assert_eq!(p.context.account_id, "123456789012");
}

/// Every optional field set: deployed as declared, and a redeploy finds nothing to change (the
/// SDK round trip of each setting compares equal to its declaration).
#[tokio::test]
async fn every_field_deploys_and_redeploys_without_writes() {
    let (fake, clients) = env().await;
    let full = stack(json!([{
        "kind": "ImageBuilder",
        "name": "full-image",
        "image_recipe_version": "3.1.4",
        "parent_image": "arn:aws:imagebuilder:us-east-1:aws:image/amazon-linux-2023-x86/x.x.x",
        "components": ["arn:aws:imagebuilder:us-east-1:aws:component/update-linux/1.0.0"],
        "inline_components": [{"name": "tools", "platform": "linux", "script": "dnf install -y git\ngit --version", "description": "git"}],
        "prebuilt_venvs": [{"name": "ci", "packages": ["boto3"], "version": "0.0.1"}],
        "working_directory": "/opt/build",
        "block_device_mappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 100, "volumeType": "gp3", "deleteOnTermination": true, "encrypted": true}}],
        "instance_profile_name": "builder-profile",
        "instance_types": ["c6a.large", "c6a.xlarge"],
        "subnet_id": "subnet-1",
        "security_group_ids": ["sg-b", "sg-a"],
        "key_pair": "builder-key",
        "terminate_instance_on_failure": false,
        "sns_topic_arn": "arn:aws:sns:us-east-1:123456789012:builds",
        "ami_name": "full-{{ imagebuilder:buildDate }}",
        "ami_tags": {"praktika": "true", "size": "100"},
        "ami_launch_permission": {"userIds": ["210987654321"]},
        "regions": ["us-east-1", "eu-west-1"],
        "enabled": true,
        "schedule_expression": "rate(7 days)",
        "image_tests_enabled": false,
        "image_tests_timeout_minutes": 90,
        "recipe": {"description": "full recipe"},
        "infrastructure_configuration": {"description": "where builds run", "resourceTags": {"team": "ci"}},
        "distribution_configuration": {"description": "two regions"},
        "pipeline": {"description": "the full pipeline", "enhancedImageMetadataEnabled": false}
    }]));
    deploy(&full, &clients).await;

    let pipeline = fake.resource(&format!("{ACCOUNT}:image-pipeline/full-imagebuilder-pipeline")).unwrap();
    assert_eq!(
        pipeline["schedule"],
        json!({"scheduleExpression": "rate(7 days)", "pipelineExecutionStartCondition": "EXPRESSION_MATCH_ONLY"})
    );
    assert_eq!(pipeline["imageTestsConfiguration"], json!({"imageTestsEnabled": false, "timeoutMinutes": 90}));
    assert_eq!(pipeline["description"], json!("the full pipeline"));
    let recipe = fake.resource(&format!("{ACCOUNT}:image-recipe/full-image-recipe/3.1.4")).unwrap();
    assert_eq!(recipe["components"].as_array().unwrap().len(), 3, "{recipe}");
    assert_eq!(recipe["components"][2]["componentArn"], json!(format!("{ACCOUNT}:component/full-image-ci-venv/0.0.1/1")));
    assert_eq!(recipe["blockDeviceMappings"][0]["ebs"]["volumeSize"], json!(100));
    let infra = fake.resource(&format!("{ACCOUNT}:infrastructure-configuration/full-imagebuilder-infra")).unwrap();
    assert_eq!(infra["terminateInstanceOnFailure"], json!(false));
    assert_eq!(infra["resourceTags"], json!({"team": "ci"}));
    let dist = fake.resource(&format!("{ACCOUNT}:distribution-configuration/full-imagebuilder-dist")).unwrap();
    assert_eq!(dist["distributions"].as_array().unwrap().len(), 2);
    assert_eq!(dist["distributions"][1]["amiDistributionConfiguration"]["launchPermission"], json!({"userIds": ["210987654321"]}));
    assert_eq!(dist["distributions"][0]["amiDistributionConfiguration"]["amiTags"], json!({"praktika": "true", "size": "100"}));

    let again = plan(&full, &clients, &PlanOptions::default()).await.unwrap();
    assert!(!again.has_changes(), "{again}");
    let report = apply(&again, &clients, |_| {}).await.unwrap();
    assert_eq!(report.api_calls.write, 0);
}

/// praktika's `vpc_name` + `security_group_names`: the VPC (by `Name` tag, on the emulator) gives
/// the subnet and the group ids that land in the infrastructure configuration.
#[tokio::test]
async fn security_groups_and_subnet_are_looked_up_by_vpc_name() {
    use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
    let (fake, clients) = env().await;
    let ec2 = &clients.ec2;
    let vpc_name = pulse_tests::unique("ib-vpc");
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.42.0.0/16")
        .tag_specifications(
            TagSpecification::builder().resource_type(ResourceType::Vpc).tags(Tag::builder().key("Name").value(&vpc_name).build()).build(),
        )
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    let subnet = ec2.create_subnet().vpc_id(&vpc_id).cidr_block("10.42.1.0/24").send().await.unwrap();
    let subnet_id = subnet.subnet().unwrap().subnet_id().unwrap().to_owned();
    let group = ec2.create_security_group().vpc_id(&vpc_id).group_name("builders").description("image builds").send().await.unwrap();
    let group_id = group.group_id().unwrap().to_owned();

    let looked_up = stack(json!([{
        "kind": "ImageBuilder",
        "name": "vpc-image",
        "parent_image": "ami-0base",
        "components": ["arn:aws:imagebuilder:us-east-1:aws:component/update-linux/1.0.0"],
        "instance_profile_name": "builder-profile",
        "vpc_name": vpc_name,
        "security_group_names": ["builders"],
        "security_group_ids": ["sg-0explicit"],
    }]));
    let first = plan(&looked_up, &clients, &PlanOptions::default()).await.unwrap();
    assert_eq!(first.entry(&builder_id("vpc-image")).unwrap().change, Change::Create, "{first}");
    apply(&first, &clients, |_| {}).await.unwrap();
    let infra = fake.resource(&format!("{ACCOUNT}:infrastructure-configuration/vpc-imagebuilder-infra")).unwrap();
    assert_eq!(infra["subnetId"], json!(subnet_id));
    let mut expected = vec![group_id.clone(), "sg-0explicit".to_owned()];
    expected.sort();
    assert_eq!(infra["securityGroupIds"], json!(expected));
    let again = plan(&looked_up, &clients, &PlanOptions::default()).await.unwrap();
    assert!(!again.has_changes(), "{again}");

    let unknown = stack(json!([{
        "kind": "ImageBuilder", "name": "vpc-image", "parent_image": "ami-0base",
        "components": ["arn:aws:imagebuilder:us-east-1:aws:component/update-linux/1.0.0"],
        "instance_profile_name": "builder-profile", "vpc_name": vpc_name, "security_group_names": ["nope"],
    }]));
    let err = plan(&unknown, &clients, &PlanOptions::default()).await.unwrap_err().to_string();
    assert!(err.contains("ImageBuilder vpc-image: security_group_names: no group \"nope\""), "{err}");
}

/// praktika's `launch_templates`: each new AMI becomes the default version of the named
/// templates; one not created yet is skipped, and the deploy after its creation adds it.
#[tokio::test]
async fn launch_templates_are_propagated_once_they_exist() {
    use aws_sdk_ec2::types::RequestLaunchTemplateData;
    let (fake, clients) = env().await;
    let ec2 = &clients.ec2;
    let (first, later) = (pulse_tests::unique("ib-lt"), pulse_tests::unique("ib-lt"));
    let create = |name: String| {
        ec2.create_launch_template()
            .launch_template_name(name)
            .launch_template_data(RequestLaunchTemplateData::builder().instance_type("c6a.large".into()).build())
            .send()
    };
    let first_id = create(first.clone()).await.unwrap().launch_template().unwrap().launch_template_id().unwrap().to_owned();
    let declared = stack(json!([{
        "kind": "ImageBuilder", "name": "lt-image", "parent_image": "ami-0base",
        "components": ["arn:aws:imagebuilder:us-east-1:aws:component/update-linux/1.0.0"],
        "instance_profile_name": "builder-profile",
        "launch_templates": [first, later],
        "set_launch_template_default_version": false,
    }]));
    deploy(&declared, &clients).await;
    let dist_arn = format!("{ACCOUNT}:distribution-configuration/lt-imagebuilder-dist");
    let dist = fake.resource(&dist_arn).unwrap();
    assert_eq!(
        dist["distributions"][0]["launchTemplateConfigurations"],
        json!([{"launchTemplateId": first_id, "setDefaultVersion": false}])
    );
    assert!(!plan(&declared, &clients, &PlanOptions::default()).await.unwrap().has_changes());

    let later_id = create(later.clone()).await.unwrap().launch_template().unwrap().launch_template_id().unwrap().to_owned();
    let p = plan(&declared, &clients, &PlanOptions::default()).await.unwrap();
    let fields: Vec<&str> = p.entry(&builder_id("lt-image")).unwrap().change.fields().iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["DistributionConfiguration"], "{p}");
    let before = fake.calls().len();
    apply(&p, &clients, |_| {}).await.unwrap();
    assert_eq!(writes_since(&fake, before), ["UpdateDistributionConfiguration"]);
    let dist = fake.resource(&dist_arn).unwrap();
    assert_eq!(
        dist["distributions"][0]["launchTemplateConfigurations"],
        json!([{"launchTemplateId": first_id, "setDefaultVersion": false}, {"launchTemplateId": later_id, "setDefaultVersion": false}])
    );
}
