//! Secrets against the emulator's SSM Parameter Store.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use pulse_aws::secrets::{Secret, SecretSetting, Secrets, SecretsError, source};
use pulse_core::{Settings, Var};
use pulse_tests::{emulator_config, unique};

use crate::common::init_tracing;

async fn ssm() -> aws_sdk_ssm::Client {
    init_tracing();
    aws_sdk_ssm::Client::new(&emulator_config().await)
}

async fn put_secret(client: &aws_sdk_ssm::Client, name: &str, value: &str) {
    client.put_parameter().name(name).value(value).r#type(ParameterType::SecureString).overwrite(true).send().await.expect("put parameter");
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

const VALUE: Var = Var::new("PULSE_TEST_SECRET", "a secret", "test").secret();
const PARAM: Var = Var::new("PULSE_TEST_SECRET_PARAM", "an SSM parameter name", "test");
const SETTING: SecretSetting = SecretSetting { value: VALUE, parameter: PARAM };

#[tokio::test]
async fn the_environment_wins_over_ssm() {
    let client = ssm().await;
    let name = format!("/{}/signing-secret", unique("pulse"));
    let ssm_value = format!("from-ssm-{}", unique("v"));
    put_secret(&client, &name, &ssm_value).await;
    let secrets = Secrets::new(client);
    let read = |value: &str, parameter: &str| Settings::from_pairs([(VALUE.name, value.to_owned()), (PARAM.name, parameter.to_owned())]);

    let current = |settings: Settings| {
        let secrets = secrets.clone();
        async move { source(&SETTING, &settings, &secrets).await.map(|s| async move { s.current().await.unwrap().expose().to_owned() }) }
    };
    assert_eq!(current(read("", &name)).await.unwrap().await, ssm_value, "unset → SSM");
    assert_eq!(current(read("from-env", &name)).await.unwrap().await, "from-env");
    assert_eq!(current(read("from-env", "/not/consulted")).await.unwrap().await, "from-env");

    let missing = format!("/{}/nope", unique("pulse"));
    let err = source(&SETTING, &read("", &missing), &secrets).await.expect_err("neither");
    assert!(matches!(err, SecretsError::Unresolved { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(VALUE.name) && text.contains(&missing), "{text}");
    assert!(!text.contains(&ssm_value) && !text.contains("from-env"), "{text}");
}

/// A rotation in SSM reaches a running program without a restart: the cached value is kept
/// until a client reports it refused, then re-read once.
#[tokio::test]
async fn a_rotated_parameter_is_re_read_after_a_refusal() {
    let client = ssm().await;
    let name = format!("/{}/bot-token", unique("pulse"));
    put_secret(&client, &name, "xoxb-old").await;
    let settings = Settings::from_pairs([(PARAM.name, name.clone())]);
    let token = source(&SETTING, &settings, &Secrets::new(client.clone())).await.expect("the parameter exists");
    let old = token.current().await.unwrap();
    assert_eq!(token.refreshed(&old).await, None, "nothing rotated yet");

    put_secret(&client, &name, "xoxb-new").await;
    assert_eq!(token.current().await.unwrap(), old, "within the TTL the cached value is served");
    // The refresh above invalidated the cache less than 10 s ago: a second one is held back.
    assert_eq!(token.refreshed(&old).await, None, "re-reads are rate-limited");

    let token = source(&SETTING, &settings, &Secrets::new(client.clone())).await.unwrap();
    put_secret(&client, &name, "xoxb-newer").await;
    let seen = Secret::new("xoxb-new");
    assert_eq!(token.current().await.unwrap(), seen, "the value cached at start-up");
    let fresh = token.refreshed(&seen).await.expect("the rotation is seen after a refusal");
    assert_eq!(fresh.expose(), "xoxb-newer");
    assert_eq!(token.current().await.unwrap().expose(), "xoxb-newer", "and kept from then on");
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
