//! The fake against the real `aws-sdk-imagebuilder` client: what the SDK sends, the fake
//! understands, and what it answers, the SDK parses (typed errors included).

use aws_sdk_imagebuilder::Client;
use aws_sdk_imagebuilder::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_imagebuilder::error::ProvideErrorMetadata;
use aws_sdk_imagebuilder::operation::list_image_pipeline_images::ListImagePipelineImagesError;
use aws_sdk_imagebuilder::operation::start_image_pipeline_execution::StartImagePipelineExecutionError;
use aws_sdk_imagebuilder::types::{
    AmiDistributionConfiguration, ComponentConfiguration, Distribution, PipelineExecutionStartCondition, PipelineStatus, Platform, Schedule,
};
use pulse_fake_imagebuilder::{FakeImageBuilder, Fault, NextBuild};

fn client(fake: &FakeImageBuilder) -> Client {
    let conf = aws_sdk_imagebuilder::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(fake.url())
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .build();
    Client::from_conf(conf)
}

const DOC: &str = "name: x\nschemaVersion: 1.0\nphases:\n  - name: build\n    steps:\n      - name: s\n        action: ExecuteBash\n        inputs:\n          commands: [\"true\"]\n";

/// A component, a recipe, infrastructure and distribution configurations and a pipeline; the
/// pipeline's ARN.
async fn pipeline(ib: &Client, name: &str) -> String {
    let component = ib
        .create_component()
        .name(format!("{name}-tools"))
        .semantic_version("1.0.0")
        .platform(Platform::Linux)
        .data(DOC)
        .send()
        .await
        .unwrap()
        .component_build_version_arn
        .unwrap();
    let recipe = ib
        .create_image_recipe()
        .name(format!("{name}-recipe"))
        .semantic_version("1.0.0")
        .parent_image("ami-0abc")
        .components(ComponentConfiguration::builder().component_arn(&component).build().unwrap())
        .components(
            ComponentConfiguration::builder()
                .component_arn("arn:aws:imagebuilder:us-east-1:aws:component/update-linux/1.0.0")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .image_recipe_arn
        .unwrap();
    let infra = ib
        .create_infrastructure_configuration()
        .name(format!("{name}-infra"))
        .instance_profile_name("builder-profile")
        .instance_types("c6a.large")
        .subnet_id("subnet-1")
        .send()
        .await
        .unwrap()
        .infrastructure_configuration_arn
        .unwrap();
    let dist = ib
        .create_distribution_configuration()
        .name(format!("{name}-dist"))
        .distributions(
            Distribution::builder()
                .region("us-east-1")
                .ami_distribution_configuration(
                    AmiDistributionConfiguration::builder().name(format!("{name}-{{{{imagebuilder:buildDate}}}}")).build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .distribution_configuration_arn
        .unwrap();
    ib.create_image_pipeline()
        .name(format!("{name}-pipeline"))
        .image_recipe_arn(recipe)
        .infrastructure_configuration_arn(infra)
        .distribution_configuration_arn(dist)
        .status(PipelineStatus::Enabled)
        .send()
        .await
        .unwrap()
        .image_pipeline_arn
        .unwrap()
}

#[tokio::test]
async fn create_get_update_list_round_trip() {
    let fake = FakeImageBuilder::start().await;
    let ib = client(&fake);
    let arn = pipeline(&ib, "rt").await;
    assert_eq!(arn, "arn:aws:imagebuilder:us-east-1:123456789012:image-pipeline/rt-pipeline");

    let got = ib.get_image_pipeline().image_pipeline_arn(&arn).send().await.unwrap().image_pipeline.unwrap();
    assert_eq!(got.name(), Some("rt-pipeline"));
    assert_eq!(got.status(), Some(&PipelineStatus::Enabled));
    assert_eq!(got.image_recipe_arn(), Some("arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/rt-recipe/1.0.0"));
    assert_eq!(got.platform(), Some(&Platform::Linux));
    assert!(got.date_created().is_some());

    // Updates replace the pipeline's settings.
    ib.update_image_pipeline()
        .image_pipeline_arn(&arn)
        .image_recipe_arn(got.image_recipe_arn().unwrap())
        .infrastructure_configuration_arn(got.infrastructure_configuration_arn().unwrap())
        .distribution_configuration_arn(got.distribution_configuration_arn().unwrap())
        .status(PipelineStatus::Disabled)
        .schedule(
            Schedule::builder()
                .schedule_expression("cron(0 3 * * ? *)")
                .pipeline_execution_start_condition(PipelineExecutionStartCondition::ExpressionMatchOnly)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let listed = ib.list_image_pipelines().send().await.unwrap();
    let listed = listed.image_pipeline_list();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status(), Some(&PipelineStatus::Disabled));
    assert_eq!(listed[0].schedule().and_then(|s| s.schedule_expression()), Some("cron(0 3 * * ? *)"));
    assert!(listed[0].date_updated().is_some());

    // An infrastructure configuration update replaces every field: the subnet left out is gone.
    let infra_arn = got.infrastructure_configuration_arn().unwrap();
    ib.update_infrastructure_configuration()
        .infrastructure_configuration_arn(infra_arn)
        .instance_profile_name("builder-profile")
        .instance_types("c7a.xlarge")
        .send()
        .await
        .unwrap();
    let infra = ib
        .get_infrastructure_configuration()
        .infrastructure_configuration_arn(infra_arn)
        .send()
        .await
        .unwrap()
        .infrastructure_configuration
        .unwrap();
    assert_eq!(infra.instance_types(), ["c7a.xlarge"]);
    assert_eq!(infra.subnet_id(), None);
    assert_eq!(infra.terminate_instance_on_failure(), Some(true));

    let summaries = ib.list_infrastructure_configurations().send().await.unwrap();
    assert_eq!(summaries.infrastructure_configuration_summary_list()[0].name(), Some("rt-infra"));
    let dists = ib.list_distribution_configurations().send().await.unwrap();
    assert_eq!(dists.distribution_configuration_summary_list()[0].regions(), ["us-east-1"]);

    let components = ib.list_components().send().await.unwrap();
    let c = &components.component_version_list()[0];
    assert_eq!((c.name(), c.version()), (Some("rt-tools"), Some("1.0.0")));
    // Listed by version ARN; GetComponent takes it as well as the build ARN.
    let component = ib.get_component().component_build_version_arn(c.arn().unwrap()).send().await.unwrap();
    assert_eq!(component.component.unwrap().data(), Some(DOC));

    let recipe = ib.get_image_recipe().image_recipe_arn(got.image_recipe_arn().unwrap()).send().await.unwrap().image_recipe.unwrap();
    assert_eq!(recipe.components().len(), 2);
    assert_eq!(recipe.parent_image(), Some("ami-0abc"));

    // What the fake recorded, by operation.
    let ops: Vec<String> = fake.calls().into_iter().map(|c| c.operation).collect();
    assert_eq!(
        &ops[..5],
        [
            "CreateComponent",
            "CreateImageRecipe",
            "CreateInfrastructureConfiguration",
            "CreateDistributionConfiguration",
            "CreateImagePipeline"
        ]
    );
}

/// Operations whose model lists `ResourceNotFoundException` get the SDK's typed variant; the
/// `Get*` operations (whose model does not list it) see the same code through `code()`.
#[tokio::test]
async fn a_missing_pipeline_is_the_typed_not_found_error() {
    let fake = FakeImageBuilder::start().await;
    let ib = client(&fake);
    let missing = "arn:aws:imagebuilder:us-east-1:123456789012:image-pipeline/nope";
    let err = ib.start_image_pipeline_execution().image_pipeline_arn(missing).send().await.unwrap_err().into_service_error();
    assert!(matches!(err, StartImagePipelineExecutionError::ResourceNotFoundException(_)), "{err:?}");
    assert!(err.message().unwrap().contains("image-pipeline/nope"), "{err:?}");
    let err = ib.list_image_pipeline_images().image_pipeline_arn(missing).send().await.unwrap_err().into_service_error();
    assert!(matches!(err, ListImagePipelineImagesError::ResourceNotFoundException(_)), "{err:?}");

    let err = ib.get_image_pipeline().image_pipeline_arn(missing).send().await.unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(404));
    let call = fake.calls_to("GetImagePipeline").pop().unwrap();
    assert_eq!((call.status, call.error_type.as_deref()), (404, Some("ResourceNotFoundException")));
}

#[tokio::test]
async fn recipes_are_immutable_and_bad_values_are_refused() {
    let fake = FakeImageBuilder::start().await;
    let ib = client(&fake);
    pipeline(&ib, "imm").await;
    let again = ib
        .create_image_recipe()
        .name("imm-recipe")
        .semantic_version("1.0.0")
        .parent_image("ami-other")
        .components(
            ComponentConfiguration::builder()
                .component_arn("arn:aws:imagebuilder:us-east-1:aws:component/update-linux/1.0.0")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some("ResourceAlreadyExistsException"));
    let bad = ib.create_image_recipe().name("imm-recipe").semantic_version("2").parent_image("ami-other").send().await.unwrap_err();
    assert_eq!(bad.code(), Some("InvalidParameterValueException"));
    assert!(bad.message().unwrap().contains("semanticVersion"), "{bad:?}");
    // A recipe a pipeline uses cannot be deleted.
    let in_use = ib
        .delete_image_recipe()
        .image_recipe_arn("arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/imm-recipe/1.0.0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(in_use.code(), Some("ResourceDependencyException"));
}

#[tokio::test]
async fn a_client_token_makes_creation_idempotent() {
    let fake = FakeImageBuilder::start().await;
    let ib = client(&fake);
    let create = |name: &str| ib.create_infrastructure_configuration().name(name).instance_profile_name("p").client_token("token-1").send();
    let first = create("idem").await.unwrap();
    let second = create("idem").await.unwrap();
    assert_eq!(first.infrastructure_configuration_arn(), second.infrastructure_configuration_arn());
    assert_eq!(first.request_id(), second.request_id());
    let mismatch = create("other").await.unwrap_err();
    assert_eq!(mismatch.code(), Some("IdempotentParameterMismatchException"));
    let listed = ib.list_infrastructure_configurations().send().await.unwrap();
    assert_eq!(listed.infrastructure_configuration_summary_list().len(), 1);
}

#[tokio::test]
async fn executions_produce_images_newest_first_with_the_chosen_ami() {
    let fake = FakeImageBuilder::start().await;
    let ib = client(&fake);
    let arn = pipeline(&ib, "flow").await;
    fake.set_next_ami("flow-pipeline", "ami-0first");
    fake.push_next_build("flow-pipeline", NextBuild { ami_id: "ami-0second".into(), status: "AVAILABLE".into() });
    let first = ib.start_image_pipeline_execution().image_pipeline_arn(&arn).send().await.unwrap();
    let second = ib.start_image_pipeline_execution().image_pipeline_arn(&arn).send().await.unwrap();
    assert_eq!(first.image_build_version_arn(), Some("arn:aws:imagebuilder:us-east-1:123456789012:image/flow-recipe/1.0.0/1"));
    assert_eq!(second.image_build_version_arn(), Some("arn:aws:imagebuilder:us-east-1:123456789012:image/flow-recipe/1.0.0/2"));
    // A third build without a chosen AMI gets a generated one.
    ib.start_image_pipeline_execution().image_pipeline_arn(&arn).send().await.unwrap();

    let images = ib.list_image_pipeline_images().image_pipeline_arn(&arn).send().await.unwrap();
    let images = images.image_summary_list();
    assert_eq!(images.len(), 3);
    assert!(images[0].date_created() > images[1].date_created(), "newest first");
    let newest = images[1].arn().unwrap(); // the second build, whose AMI the test chose
    let image = ib.get_image().image_build_version_arn(newest).send().await.unwrap().image.unwrap();
    let amis = image.output_resources().unwrap().amis();
    assert_eq!(amis[0].image(), Some("ami-0second"));
    assert_eq!(amis[0].region(), Some("us-east-1"));
    assert!(amis[0].name().unwrap().starts_with("flow-2"), "{:?}", amis[0].name());
    assert_eq!(image.state().unwrap().status().map(|s| s.as_str()), Some("AVAILABLE"));
    let generated = images[0].output_resources().unwrap().amis()[0].image().unwrap();
    assert!(generated.starts_with("ami-") && generated != "ami-0first", "{generated}");

    let pipeline = ib.get_image_pipeline().image_pipeline_arn(&arn).send().await.unwrap().image_pipeline.unwrap();
    assert_eq!(pipeline.date_last_run(), images[0].date_created());
}

#[tokio::test]
async fn tags_and_injected_faults() {
    let fake = FakeImageBuilder::start().await;
    let ib = client(&fake);
    let arn = pipeline(&ib, "tags").await;
    ib.tag_resource().resource_arn(&arn).tags("team", "ci").send().await.unwrap();
    let tags = ib.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert_eq!(tags.tags().unwrap().get("team").map(String::as_str), Some("ci"));
    ib.untag_resource().resource_arn(&arn).tag_keys("team").send().await.unwrap();
    let tags = ib.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert!(tags.tags().unwrap().is_empty());

    fake.inject("ListImagePipelines", Fault::new(400, "ForbiddenException"), 1);
    let err = ib.list_image_pipelines().send().await.unwrap_err();
    assert_eq!(err.code(), Some("ForbiddenException"));
    assert_eq!(ib.list_image_pipelines().send().await.unwrap().image_pipeline_list().len(), 1);

    // Over HTTP too: a 500 the SDK retries, then success.
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/_fake/faults", fake.url()))
        .json(&serde_json::json!({"operation": "GetImagePipeline", "status": 500, "error_type": "ServiceException"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    ib.get_image_pipeline().image_pipeline_arn(&arn).send().await.unwrap();
    let statuses: Vec<u16> = fake.calls_to("GetImagePipeline").iter().map(|c| c.status).collect();
    assert_eq!(statuses, [500, 200]);

    let r = http.post(format!("{}/_fake/reset", fake.url())).send().await.unwrap();
    assert!(r.status().is_success());
    assert!(fake.calls().is_empty());
    assert!(ib.list_image_pipelines().send().await.unwrap().image_pipeline_list().is_empty());
}

#[tokio::test]
async fn the_control_api_chooses_the_next_ami_over_http() {
    let fake = FakeImageBuilder::start().await;
    let ib = client(&fake);
    let arn = pipeline(&ib, "ctl").await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/_fake/pipelines/ctl-pipeline/next-ami", fake.url()))
        .json(&serde_json::json!({"ami_id": "ami-0fromhttp"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let built = ib.start_image_pipeline_execution().image_pipeline_arn(&arn).send().await.unwrap();
    let image = ib.get_image().image_build_version_arn(built.image_build_version_arn().unwrap()).send().await.unwrap();
    assert_eq!(image.image.unwrap().output_resources().unwrap().amis()[0].image(), Some("ami-0fromhttp"));
    let calls: serde_json::Value =
        http.get(format!("{}/_fake/calls?operation=StartImagePipelineExecution", fake.url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(calls.as_array().unwrap().len(), 1);
    assert_eq!(calls[0]["params"]["imagePipelineArn"], serde_json::json!(arn));
}
