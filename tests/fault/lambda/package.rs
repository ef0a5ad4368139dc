//! The shipped artifact. `./tests/run` builds ingress's real Lambda zip with cargo-lambda and zig
//! (`pulse infra package --profile lambda-ci`, into `target/lambda/lambda-ci/ingress/bootstrap.zip`). Here
//! `pulse infra package` puts it in a package store on the scene's moto, `pulse infra deploy
//! --packages` creates the function from its S3 key, a second package and deploy upload and
//! write nothing, and the zip's own `bootstrap`, run as Lambda runs it, acknowledges a signed
//! slash command and publishes it.

use std::io::Read;

use pulse_infra_reconciler::Clients;
use pulse_infra_reconciler::kinds::lambda_code::code_sha256;
use pulse_slack_requests::{Command, Signed};
use serde_json::json;

use crate::harness::{Scene, sdk_config};
use crate::lambda::function::Function;
use crate::lambda::ingress::{Api, SIGNING_SECRET, published, request_event, status_of};

/// The stack file: ingress as a `crate` function, with the role it runs as.
fn ingress_function() -> serde_json::Value {
    json!({"resources": [
        {"kind": "IamRole", "name": "${prefix}-ingress-zip", "policies": {"logs": [{
            "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "arn:${partition}:logs:${region}:${account}:log-group:/aws/lambda/${prefix}-ingress-zip:*"}]}},
        {"kind": "Lambda", "name": "${prefix}-ingress-zip", "crate": "ingress", "role": "${prefix}-ingress-zip",
         "architecture": "x86_64", "environments": {"PULSE_STACK": "${prefix}"}}
    ]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingress_s_real_zip_is_packaged_deployed_from_s3_and_answers_as_lambda_runs_it() {
    let scene = Scene::start("lambda_package", &[]).await;
    let built = scene.bins.dir.parent().expect("the target directory").join("lambda/lambda-ci/ingress/bootstrap.zip");
    let bytes = std::fs::read(&built).unwrap_or_else(|e| {
        panic!("{}: {e}; ./tests/run builds it (pulse infra package --crate ingress --profile lambda-ci)", built.display())
    });

    // A target directory of its own holding only that build, where cargo-lambda put it.
    let target = scene.dir.join("target");
    std::fs::create_dir_all(target.join("lambda/lambda-ci/ingress")).unwrap();
    std::fs::copy(&built, target.join("lambda/lambda-ci/ingress/bootstrap.zip")).unwrap();
    let file = scene.dir.join("ingress-function.json");
    std::fs::write(&file, ingress_function().to_string()).unwrap();
    let file = file.to_str().unwrap();
    let store = format!("s3://{}-packages/lambda", scene.prefix);
    let env = [("CARGO_TARGET_DIR", target.to_str().unwrap())];

    // Publishing it as the shipped `lambda` build is refused: that profile's zip was never built.
    let as_shipped =
        ["infra", "package", "--config", file, "--prefix", &scene.prefix, "--packages", &store, "--crate", "ingress", "--no-build"];
    let (status, _, stderr) = scene.pulse_status_with(&env, &as_shipped).await;
    assert_eq!(status, Some(1), "{stderr}");
    assert!(stderr.contains("lambda/lambda/ingress/bootstrap.zip (build it with profile lambda: drop --no-build)"), "{stderr}");

    let package = [
        "infra",
        "package",
        "--config",
        file,
        "--prefix",
        &scene.prefix,
        "--packages",
        &store,
        "--crate",
        "ingress",
        "--profile",
        "lambda-ci",
        "--no-build",
    ];
    let first = scene.pulse_with(&env, &package).await;
    assert!(first.contains("1 package(s): 1 uploaded, 0 already there"), "{first}");
    assert!(
        first.lines().any(|l| l.trim_start().starts_with("ingress") && l.contains(" lambda-ci ")),
        "recorded as lambda-ci's build: {first}"
    );
    let again = scene.pulse_with(&env, &package).await;
    assert!(again.contains("1 package(s): 0 uploaded, 1 already there"), "{again}");

    let deploy = ["infra", "deploy", "--config", file, "--prefix", &scene.prefix, "--packages", &store];
    let deployed = scene.pulse(&deploy).await;
    assert!(deployed.contains(": 2 created, 0 updated"), "{deployed}");
    let clients = Clients::new(&sdk_config(&scene.moto.url).await);
    let function = format!("{}-ingress-zip", scene.prefix);
    let config = clients.lambda.get_function_configuration().function_name(&function).send().await.unwrap();
    assert_eq!(config.code_sha256(), Some(code_sha256(&bytes).as_str()), "the function runs the packaged zip");
    assert_eq!(config.code_size(), bytes.len() as i64);
    let redeployed = scene.pulse(&deploy).await;
    assert!(redeployed.contains(": 0 created, 0 updated, 2 unchanged") && redeployed.contains("/ 0 write ("), "{redeployed}");

    // The zip holds one executable `bootstrap`: run it as Lambda would.
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).expect("a zip");
    assert_eq!(archive.len(), 1, "the zip holds more than its bootstrap");
    let mut entry = archive.by_name("bootstrap").unwrap();
    assert_ne!(entry.unix_mode().unwrap_or(0) & 0o111, 0, "bootstrap is not executable in the zip");
    let mut program = Vec::new();
    entry.read_to_end(&mut program).unwrap();
    let bootstrap = scene.dir.join("bootstrap");
    std::fs::write(&bootstrap, program).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut ingress = Function::start_program(&scene, bootstrap, "ingress", &[]).await;
    let command = Command::new("/praktika subscribe zip@lambda.example", "U0LAMBDA05");
    let form = command.form();
    let signed = Signed::form(SIGNING_SECRET, chrono::Utc::now().timestamp(), &form);
    let response = ingress.respond(request_event(Api::HttpV2, "/slack/commands", &signed.pairs(), form.as_bytes())).await;
    assert_eq!(status_of(Api::HttpV2, &response), 200, "{response}");
    assert_eq!(published(&scene, &command.trigger_id).await, 1, "the command's event is not on the bus once");
}
