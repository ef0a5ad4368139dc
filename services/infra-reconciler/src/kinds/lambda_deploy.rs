//! The I/O of the `Lambda` kind: observing a function (configuration, code SHA, alias, event
//! source mappings, and its secrets' SSM values to compare, masked) and applying a change with
//! the fewest writes. The decisions (what differs, what to mask) are in `lambda.rs`.
//!
//! Lambda rejects a write while the function is still being created or updated, so every write
//! is followed by the SDK's waiter ([`settle`]): `FunctionActiveV2` after a create,
//! `FunctionUpdatedV2` after an update, each at most [`SETTLE_TIMEOUT`]. A function that ends
//! `Failed`, or is still busy then, fails the apply with the reason Lambda gave.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::operation::get_function::{GetFunctionError, GetFunctionOutput};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture as SdkArch, Environment, FunctionResponseType, Runtime, TracingConfig, TracingMode};
use aws_smithy_runtime_api::client::waiters::error::WaiterError;
use pulse_aws::secrets::Secret;
use pulse_core::retry::{Backoff, retry};
use serde_json::{Value, json};

use super::ApplyInput;
use super::lambda::{CONFIG_FIELDS, LambdaSpec, RESERVED_CONCURRENCY, mask_observed_environment};
use super::lambda_code::Code;
use crate::clients::{Clients, Context};
use crate::error::{Error, Result, error_is};
use crate::model::{Change, Properties};

/// How long a function may stay `Pending` / `InProgress` after a write before the deploy gives up.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);

/// The retries of a `CreateFunction` whose role Lambda cannot assume yet (IAM is eventually
/// consistent: a role created a moment ago takes seconds to reach Lambda): about 40 s in all.
fn role_propagation() -> Backoff {
    Backoff::new(Duration::from_secs(2), Duration::from_secs(8), 12)
}

pub(crate) async fn observe(spec: &LambdaSpec, clients: &Clients, cx: &Context) -> Result<Option<Properties>> {
    let id = spec.id_();
    let config = match clients.lambda.get_function_configuration().function_name(&spec.name).send().await {
        Ok(out) => out,
        Err(err) if error_is(&err, &["ResourceNotFoundException"]) => return Ok(None),
        Err(err) => return Err(Error::aws(&id, "lambda:GetFunctionConfiguration", err)),
    };
    let mut p = Properties::new();
    p.insert("Runtime".into(), json!(config.runtime().map(|r| r.as_str())));
    p.insert("Handler".into(), json!(config.handler()));
    p.insert("Role".into(), json!(config.role()));
    p.insert("Timeout".into(), json!(config.timeout()));
    p.insert("MemorySize".into(), json!(config.memory_size()));
    p.insert("Architectures".into(), json!(config.architectures().iter().map(|a| a.as_str()).collect::<Vec<_>>()));
    p.insert("CodeSha256".into(), json!(config.code_sha256()));
    p.insert("FunctionArn".into(), json!(config.function_arn()));
    p.insert("Tracing".into(), json!(config.tracing_config().and_then(|t| t.mode()).map(|m| m.as_str())));

    let mut env: BTreeMap<String, String> = config
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if !spec.secrets.is_empty() {
        let mut values = BTreeMap::new();
        for parameter in spec.secrets.keys() {
            values.insert(parameter.clone(), fetch_secret(clients, spec, parameter).await?.expose().to_owned());
        }
        mask_observed_environment(&mut env, &spec.secrets, &values);
    }
    p.insert("Environment".into(), json!(env));

    // The alias is observed through the version it serves: after a rollback it serves an older
    // version than $LATEST, and a deploy must move it forward even if $LATEST matches the file.
    match clients.lambda.get_function_configuration().function_name(&spec.name).qualifier(&spec.alias).send().await {
        Ok(aliased) => {
            let version = aliased.version().unwrap_or_default().to_owned();
            let serves_latest = same_deployment(&config, &aliased);
            p.insert("AliasVersion".into(), json!(version));
            p.insert(
                "Alias".into(),
                json!(if serves_latest {
                    spec.alias.clone()
                } else {
                    format!("{} (at version {version}, older than $LATEST)", spec.alias)
                }),
            );
        }
        Err(err) if error_is(&err, &["ResourceNotFoundException"]) => {}
        Err(err) => return Err(Error::aws(&id, "lambda:GetFunctionConfiguration", err)),
    }

    let (sources, uuids) = observe_event_sources(spec, clients, cx).await?;
    p.insert("EventSources".into(), sources);
    p.insert("EventSourceUuids".into(), uuids);
    if spec.asynchronous.is_some()
        && let Some(config) = super::lambda_async::observe(&id, &spec.name, clients).await?
    {
        p.insert(super::lambda_async::FIELD.into(), config);
    }
    // One more read, only for the functions that manage it (GetFunctionConfiguration does not
    // say it; `null`: no reservation).
    if spec.reserved_concurrency.is_some() {
        let out = clients
            .lambda
            .get_function_concurrency()
            .function_name(&spec.name)
            .send()
            .await
            .map_err(|e| Error::aws(&id, "lambda:GetFunctionConcurrency", e))?;
        p.insert(RESERVED_CONCURRENCY.into(), json!(out.reserved_concurrent_executions()));
    }
    Ok(Some(p))
}

/// The mappings from each declared queue to this function (any qualifier), by queue name.
///
/// Listed by queue (`EventSourceArn`), not by function: moto stores a mapping created on an
/// alias under the version the alias pointed to (`fn:2`, where AWS keeps `fn:live`), so a
/// list by the alias's ARN finds nothing there once the alias moves. Matching on the unqualified
/// function ARN works on both.
/// Whether a published version has $LATEST's code and configuration (compared raw, so secrets
/// are compared here and never leave this function).
fn same_deployment(
    latest: &aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput,
    aliased: &aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput,
) -> bool {
    let env = |c: &aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput| {
        c.environment().and_then(|e| e.variables()).cloned().unwrap_or_default()
    };
    latest.code_sha256() == aliased.code_sha256()
        && latest.runtime() == aliased.runtime()
        && latest.handler() == aliased.handler()
        && latest.role() == aliased.role()
        && latest.timeout() == aliased.timeout()
        && latest.memory_size() == aliased.memory_size()
        && latest.architectures() == aliased.architectures()
        && latest.tracing_config() == aliased.tracing_config()
        && env(latest) == env(aliased)
}

async fn observe_event_sources(spec: &LambdaSpec, clients: &Clients, cx: &Context) -> Result<(Value, Value)> {
    let id = spec.id_();
    let function_arn = cx.lambda_arn(&spec.name, None);
    let mut sources = serde_json::Map::new();
    let mut uuids = serde_json::Map::new();
    for declared in &spec.event_sources {
        let out = clients
            .lambda
            .list_event_source_mappings()
            .event_source_arn(cx.sqs_arn(&declared.queue))
            .send()
            .await
            .map_err(|e| Error::aws(&id, "lambda:ListEventSourceMappings", e))?;
        let mine = out
            .event_source_mappings()
            .iter()
            .find(|m| m.function_arn().is_some_and(|a| a == function_arn || a.starts_with(&format!("{function_arn}:"))));
        if let Some(m) = mine {
            let mut v = json!({
                "BatchSize": m.batch_size(),
                "FunctionResponseTypes": m.function_response_types().iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                "Enabled": !matches!(m.state(), Some("Disabled" | "Disabling")),
            });
            if declared.maximum_batching_window_seconds.is_some() {
                v["MaximumBatchingWindowInSeconds"] = json!(m.maximum_batching_window_in_seconds());
            }
            sources.insert(declared.queue.clone(), v);
            uuids.insert(declared.queue.clone(), json!(m.uuid()));
        }
    }
    Ok((Value::Object(sources), Value::Object(uuids)))
}

async fn fetch_secret(clients: &Clients, spec: &LambdaSpec, parameter: &str) -> Result<Secret> {
    // The SDK error never holds the value, only the parameter name and code.
    let out = clients
        .ssm
        .get_parameter()
        .name(parameter)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| Error::aws(&spec.id_(), "ssm:GetParameter", e))?;
    out.parameter()
        .and_then(|p| p.value())
        .map(Secret::new)
        .ok_or_else(|| Error::resource(&spec.id_(), format!("SSM parameter {parameter} has no value")))
}

/// The declared tracing mode, `None` (left as it is) when the file does not manage it.
fn tracing_config(spec: &LambdaSpec) -> Option<TracingConfig> {
    spec.tracing.map(|mode| TracingConfig::builder().mode(TracingMode::from(mode.as_str())).build())
}

/// The full environment with the secrets' values, for the one call that sets it.
async fn environment(spec: &LambdaSpec, clients: &Clients) -> Result<Environment> {
    let mut vars = spec.environments.clone();
    for (parameter, var) in &spec.secrets {
        vars.insert(var.clone(), fetch_secret(clients, spec, parameter).await?.expose().to_owned());
    }
    Ok(Environment::builder().set_variables(Some(vars.into_iter().collect())).build())
}

/// What a Lambda apply did, for deploy statuses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LambdaApplied {
    pub code_uploaded: bool,
    pub config_updated: bool,
    /// The version published and aliased (None when neither code nor configuration changed).
    pub published: Option<String>,
}

pub(crate) async fn apply(spec: &LambdaSpec, clients: &Clients, input: ApplyInput<'_>) -> Result<LambdaApplied> {
    let id = spec.id_();
    let cx = input.cx;
    let mut done = LambdaApplied::default();
    let arch = SdkArch::from(spec.architecture.as_str());
    match input.change {
        Change::NoChange => return Ok(done),
        Change::Create => {
            let code = spec.code_for_deploy(cx).map_err(|e| Error::resource(&id, e))?;
            let env = environment(spec, clients).await?;
            let create = || {
                clients
                    .lambda
                    .create_function()
                    .function_name(&spec.name)
                    .runtime(Runtime::from(spec.runtime.as_str()))
                    .handler(&spec.handler)
                    .role(cx.role_arn(&spec.role))
                    .timeout(spec.timeout_seconds())
                    .memory_size(spec.memory_size_mb as i32)
                    .architectures(arch.clone())
                    .environment(env.clone())
                    .set_tracing_config(tracing_config(spec))
                    .code(code.function_code())
                    .send()
            };
            let role_not_assumable =
                |err: &_| error_is(err, &["InvalidParameterValueException"]) && format!("{err:?}").contains("cannot be assumed");
            retry(&role_propagation(), role_not_assumable, create).await.map_err(|e| Error::aws(&id, "lambda:CreateFunction", e))?;
            done.code_uploaded = true;
            done.config_updated = true;
            settle(spec, clients, Write::Create).await?;
        }
        Change::Update { fields } => {
            let arch_changed = input.change.touches("Architectures");
            if input.change.touches("CodeSha256") || arch_changed {
                let code = spec.code_for_deploy(cx).map_err(|e| Error::resource(&id, e))?;
                let observed_sha = input.observed.and_then(|o| o.get("CodeSha256")).and_then(Value::as_str);
                // A crate built only now may turn out to be the code already deployed.
                if observed_sha != Some(code.sha256()) || arch_changed {
                    let update = clients.lambda.update_function_code().function_name(&spec.name);
                    let update = match &code {
                        Code::Zip(package) => update.zip_file(Blob::new(package.bytes.clone())),
                        Code::S3 { bucket, key, .. } => update.s3_bucket(bucket).s3_key(key),
                    };
                    update.architectures(arch.clone()).send().await.map_err(|e| Error::aws(&id, "lambda:UpdateFunctionCode", e))?;
                    done.code_uploaded = true;
                    settle(spec, clients, Write::Update).await?;
                }
            }
            if fields.iter().any(|f| CONFIG_FIELDS.contains(&f.field.as_str())) {
                clients
                    .lambda
                    .update_function_configuration()
                    .function_name(&spec.name)
                    .runtime(Runtime::from(spec.runtime.as_str()))
                    .handler(&spec.handler)
                    .role(cx.role_arn(&spec.role))
                    .timeout(spec.timeout_seconds())
                    .memory_size(spec.memory_size_mb as i32)
                    .environment(environment(spec, clients).await?)
                    .set_tracing_config(tracing_config(spec))
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "lambda:UpdateFunctionConfiguration", e))?;
                done.config_updated = true;
                settle(spec, clients, Write::Update).await?;
            }
        }
    }

    // Before the event sources exist on a create: the cap holds from the first message.
    if let Some(n) = spec.reserved_concurrency
        && (input.change.touches(RESERVED_CONCURRENCY) || matches!(input.change, Change::Create))
    {
        clients
            .lambda
            .put_function_concurrency()
            .function_name(&spec.name)
            .reserved_concurrent_executions(n as i32)
            .send()
            .await
            .map_err(|e| Error::aws(&id, "lambda:PutFunctionConcurrency", e))?;
    }

    let alias_exists = input.observed.is_some_and(|o| o.get("AliasVersion").is_some());
    // PublishVersion returns the existing version when $LATEST has not changed since it was
    // published, so moving a stale alias forward publishes nothing new.
    if done.code_uploaded || done.config_updated || !alias_exists || input.change.touches("Alias") {
        let version = clients
            .lambda
            .publish_version()
            .function_name(&spec.name)
            .send()
            .await
            .map_err(|e| Error::aws(&id, "lambda:PublishVersion", e))?
            .version()
            .map(str::to_owned)
            .ok_or_else(|| Error::resource(&id, "PublishVersion answered without a version"))?;
        if alias_exists {
            clients
                .lambda
                .update_alias()
                .function_name(&spec.name)
                .name(&spec.alias)
                .function_version(&version)
                .send()
                .await
                .map_err(|e| Error::aws(&id, "lambda:UpdateAlias", e))?;
        } else {
            clients
                .lambda
                .create_alias()
                .function_name(&spec.name)
                .name(&spec.alias)
                .function_version(&version)
                .send()
                .await
                .map_err(|e| Error::aws(&id, "lambda:CreateAlias", e))?;
        }
        tracing::info!(function = %spec.name, alias = %spec.alias, version = %version, "alias moved");
        done.published = Some(version);
    }

    if input.change.touches("EventSources") || matches!(input.change, Change::Create) {
        apply_event_sources(spec, clients, input).await?;
    }
    if let Some(asynchronous) = &spec.asynchronous
        && (input.change.touches(super::lambda_async::FIELD) || matches!(input.change, Change::Create))
    {
        super::lambda_async::apply(&id, &spec.name, asynchronous, clients, cx).await?;
    }
    Ok(done)
}

async fn apply_event_sources(spec: &LambdaSpec, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
    let id = spec.id_();
    let cx = input.cx;
    let observed = input.observed.and_then(|o| o.get("EventSources")).cloned().unwrap_or(json!({}));
    let uuids = input.observed.and_then(|o| o.get("EventSourceUuids")).cloned().unwrap_or(json!({}));
    let desired = spec.desired_event_sources();
    let response_types: Vec<FunctionResponseType> =
        super::lambda::FUNCTION_RESPONSE_TYPES.iter().map(|t| FunctionResponseType::from(*t)).collect();
    for source in &spec.event_sources {
        if crate::model::normalize(&observed[&source.queue]) == crate::model::normalize(&desired[&source.queue]) {
            continue;
        }
        match uuids[&source.queue].as_str() {
            None => {
                clients
                    .lambda
                    .create_event_source_mapping()
                    .function_name(cx.lambda_arn(&spec.name, Some(&spec.alias)))
                    .event_source_arn(cx.sqs_arn(&source.queue))
                    .batch_size(source.batch_size as i32)
                    .set_maximum_batching_window_in_seconds(source.maximum_batching_window_seconds.map(|w| w as i32))
                    .enabled(source.enabled)
                    .set_function_response_types(Some(response_types.clone()))
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "lambda:CreateEventSourceMapping", e))?;
            }
            Some(uuid) => {
                clients
                    .lambda
                    .update_event_source_mapping()
                    .uuid(uuid)
                    .batch_size(source.batch_size as i32)
                    .set_maximum_batching_window_in_seconds(source.maximum_batching_window_seconds.map(|w| w as i32))
                    .enabled(source.enabled)
                    .set_function_response_types(Some(response_types.clone()))
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "lambda:UpdateEventSourceMapping", e))?;
            }
        }
    }
    Ok(())
}

/// The kind of write [`settle`] waits after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Create,
    Update,
}

/// Wait with the SDK's waiter until the function accepts the next write: `State` `Active` after a
/// create, `LastUpdateStatus` `Successful` after an update; at most [`SETTLE_TIMEOUT`].
async fn settle(spec: &LambdaSpec, clients: &Clients, after: Write) -> Result<()> {
    let lambda = &clients.lambda;
    let waited = match after {
        Write::Create => lambda.wait_until_function_active_v2().function_name(&spec.name).wait(SETTLE_TIMEOUT).await.map(drop),
        Write::Update => lambda.wait_until_function_updated_v2().function_name(&spec.name).wait(SETTLE_TIMEOUT).await.map(drop),
    };
    waited.map_err(|err| settle_error(&spec.id_(), after, err))
}

/// A waiter's failure as the apply's error: the reason Lambda gave for a failed function, how
/// long it stayed busy, or the `GetFunction` call that failed.
fn settle_error(id: &crate::model::ResourceId, after: Write, err: WaiterError<GetFunctionOutput, GetFunctionError>) -> Error {
    let doing = match after {
        Write::Create => "being created",
        Write::Update => "updating",
    };
    match err {
        WaiterError::FailureState(failed) => {
            let configuration = failed.final_poll().as_result().ok().and_then(|out| out.configuration());
            let reason = configuration.and_then(|c| c.last_update_status_reason().or(c.state_reason())).unwrap_or("no reason given");
            Error::resource(id, format!("the function failed while {doing}: {reason}"))
        }
        WaiterError::ExceededMaxWait(waited) => Error::resource(
            id,
            format!(
                "the function was still {doing} after {} s ({} polls of GetFunction); giving up",
                waited.elapsed().as_secs(),
                waited.poll_count()
            ),
        ),
        WaiterError::OperationFailed(failed) => Error::aws(id, "lambda:GetFunction", failed.into_error()),
        other => Error::resource(id, format!("could not wait for the function: {other}")),
    }
}

impl LambdaSpec {
    fn id_(&self) -> crate::model::ResourceId {
        crate::model::ResourceId::new(crate::model::Kind::Lambda, &self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_lambda::types::{FunctionConfiguration, LastUpdateStatus, State};
    use aws_smithy_runtime_api::client::waiters::FinalPoll;
    use aws_smithy_runtime_api::client::waiters::error::{ExceededMaxWait, FailureState};

    fn id() -> crate::model::ResourceId {
        crate::model::ResourceId::new(crate::model::Kind::Lambda, "pulse-notifier")
    }

    fn failed(configuration: FunctionConfiguration) -> WaiterError<GetFunctionOutput, GetFunctionError> {
        let output = GetFunctionOutput::builder().configuration(configuration).build();
        WaiterError::FailureState(FailureState::new(FinalPoll::new(Ok(output))))
    }

    #[test]
    fn a_failed_function_fails_the_apply_with_lambdas_reason() {
        let update = FunctionConfiguration::builder()
            .last_update_status(LastUpdateStatus::Failed)
            .last_update_status_reason("The role defined for the function cannot be assumed by Lambda.")
            .build();
        let err = settle_error(&id(), Write::Update, failed(update)).to_string();
        assert_eq!(
            err,
            "Lambda pulse-notifier: the function failed while updating: The role defined for the function cannot be assumed by Lambda."
        );
        let create = FunctionConfiguration::builder().state(State::Failed).state_reason("subnet not found").build();
        let err = settle_error(&id(), Write::Create, failed(create)).to_string();
        assert!(err.ends_with("the function failed while being created: subnet not found"), "{err}");
        let err = settle_error(&id(), Write::Create, failed(FunctionConfiguration::builder().build())).to_string();
        assert!(err.ends_with("no reason given"), "{err}");
    }

    #[test]
    fn a_function_still_busy_at_the_bound_is_a_timeout_naming_it() {
        let waited = ExceededMaxWait::new(SETTLE_TIMEOUT, Duration::from_secs(121), 9);
        let err = settle_error(&id(), Write::Update, WaiterError::ExceededMaxWait(waited)).to_string();
        assert_eq!(err, "Lambda pulse-notifier: the function was still updating after 121 s (9 polls of GetFunction); giving up");
    }
}
