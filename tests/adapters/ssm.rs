//! Secrets against the emulator's SSM Parameter Store.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use pulse_aws::secrets::{Secrets, SecretsError, resolve};
use pulse_tests::{emulator_config, unique};

use crate::common::init_tracing;

async fn ssm() -> aws_sdk_ssm::Client {
    init_tracing();
    aws_sdk_ssm::Client::new(&emulator_config().await)
}

async fn put_secret(client: &aws_sdk_ssm::Client, name: &str, value: &str) {
    client
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .expect("put parameter");
}

#[tokio::test]
async fn reads_a_secure_string_without_ever_printing_it() {
    let client = ssm().await;
    let name = format!("/{}/slack/bot-token", unique("pulse"));
    let value = format!("xoxb-{}", unique("secret"));
    put_secret(&client, &name, &value).await;

    let secrets = Secrets::new(client);
    let secret = secrets.get(&name).await.expect("secret");
    assert_eq!(secret.expose(), value);
    assert!(!format!("{secret:?}").contains(&value));
    assert!(!format!("{secret}").contains(&value));
    assert!(!format!("{:?}", Some(secret.clone())).contains("xoxb"));
}

#[tokio::test]
async fn a_missing_parameter_names_the_parameter() {
    let secrets = Secrets::new(ssm().await);
    let name = format!("/{}/missing", unique("pulse"));
    let err = secrets.get(&name).await.expect_err("missing");
    assert!(matches!(err, SecretsError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains(&name), "{err}");
}

#[tokio::test]
async fn the_environment_wins_over_ssm() {
    let client = ssm().await;
    let name = format!("/{}/signing-secret", unique("pulse"));
    let ssm_value = format!("from-ssm-{}", unique("v"));
    put_secret(&client, &name, &ssm_value).await;
    let secrets = Secrets::new(client);

    let var = format!("PULSE_TEST_SECRET_{}", unique("v").replace('-', "_").to_uppercase());
    assert_eq!(resolve(&var, &name, Some(&secrets)).await.unwrap().expose(), ssm_value, "unset → SSM");
    // SAFETY: the variable name is unique to this test; nothing else reads or writes it.
    unsafe { std::env::set_var(&var, "from-env") };
    assert_eq!(resolve(&var, &name, Some(&secrets)).await.unwrap().expose(), "from-env");
    assert_eq!(resolve(&var, "/not/consulted", None).await.unwrap().expose(), "from-env");
    // SAFETY: as above.
    unsafe { std::env::set_var(&var, "") };
    assert_eq!(resolve(&var, &name, Some(&secrets)).await.unwrap().expose(), ssm_value, "empty → SSM");

    let missing = format!("/{}/nope", unique("pulse"));
    let err = resolve(&var, &missing, Some(&secrets)).await.expect_err("neither");
    let text = err.to_string();
    assert!(text.contains(&var) && text.contains(&missing), "{text}");
    assert!(!text.contains(&ssm_value) && !text.contains("from-env"), "{text}");
}

#[tokio::test]
async fn values_are_cached_for_the_ttl() {
    let client = ssm().await;
    let name = format!("/{}/rotating", unique("pulse"));
    put_secret(&client, &name, "v1").await;
    let cached = Secrets::new(client.clone());
    let uncached = Secrets::new(client.clone()).with_cache_ttl(Duration::ZERO);
    assert_eq!(cached.get(&name).await.unwrap().expose(), "v1");
    put_secret(&client, &name, "v2").await;
    assert_eq!(cached.get(&name).await.unwrap().expose(), "v1", "served from the cache");
    assert_eq!(uncached.get(&name).await.unwrap().expose(), "v2");
    cached.clear_cache();
    assert_eq!(cached.get(&name).await.unwrap().expose(), "v2");
}
