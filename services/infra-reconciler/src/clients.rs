//! The AWS clients the engine uses, each with an interceptor that counts every API call it makes,
//! split into reads (Describe/Get/List/Head...) and writes (everything else).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_sdk_sqs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use serde::Serialize;

use crate::error::{Error, Result};

/// The SDK clients of every kind the engine manages, sharing one call counter.
#[derive(Debug, Clone)]
pub struct Clients {
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub iam: aws_sdk_iam::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    /// Image Builder has no emulator: point it alone at the project's fake
    /// (`pulse-fake-imagebuilder`) with `AWS_ENDPOINT_URL_IMAGEBUILDER` (aws-config reads
    /// service-specific endpoint variables, and they win over `AWS_ENDPOINT_URL`) or
    /// [`Clients::with_imagebuilder_endpoint`].
    pub imagebuilder: aws_sdk_imagebuilder::Client,
    pub apigateway: aws_sdk_apigatewayv2::Client,
    /// Parameter Store: Lambda secrets are read from it at plan time (to compare, masked) and at
    /// deploy time (to set), never printed.
    pub ssm: aws_sdk_ssm::Client,
    /// Metric alarms (the `Alarm` kind).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    region: Option<String>,
    counter: ApiCounter,
}

impl Clients {
    /// Clients from a loaded SDK configuration (see `pulse_aws::config::load`). S3 uses
    /// path-style addressing against custom endpoints, as `pulse_aws::config::s3_client` does.
    pub fn new(config: &SdkConfig) -> Self {
        let counter = ApiCounter::default();
        let interceptor = CountCalls(counter.clone());
        let eventbridge = aws_sdk_eventbridge::Client::from_conf(
            aws_sdk_eventbridge::config::Builder::from(config).interceptor(interceptor.clone()).build(),
        );
        let sqs = aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(config).interceptor(interceptor.clone()).build());
        let dynamodb =
            aws_sdk_dynamodb::Client::from_conf(aws_sdk_dynamodb::config::Builder::from(config).interceptor(interceptor.clone()).build());
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(config)
                .force_path_style(pulse_aws::config::uses_custom_endpoint(config))
                .interceptor(interceptor.clone())
                .build(),
        );
        macro_rules! client {
            ($sdk:ident) => {
                $sdk::Client::from_conf($sdk::config::Builder::from(config).interceptor(interceptor.clone()).build())
            };
        }
        Self {
            eventbridge,
            sqs,
            dynamodb,
            s3,
            lambda: client!(aws_sdk_lambda),
            iam: client!(aws_sdk_iam),
            ec2: client!(aws_sdk_ec2),
            autoscaling: client!(aws_sdk_autoscaling),
            imagebuilder: client!(aws_sdk_imagebuilder),
            apigateway: client!(aws_sdk_apigatewayv2),
            ssm: client!(aws_sdk_ssm),
            cloudwatch: client!(aws_sdk_cloudwatch),
            region: config.region().map(|r| r.to_string()),
            counter,
        }
    }

    /// Clients from the environment (`AWS_ENDPOINT_URL`, region, credentials). Service-specific
    /// endpoints (`AWS_ENDPOINT_URL_IMAGEBUILDER`, ...) override `AWS_ENDPOINT_URL` for their
    /// service: aws-config resolves them when each client is built from the shared config.
    pub async fn from_env() -> Self {
        Self::new(&pulse_aws::config::load().await)
    }

    /// The same clients with Image Builder alone sent to `url` (the fake, in tests), counted
    /// like every other call.
    pub fn with_imagebuilder_endpoint(mut self, url: impl Into<String>) -> Self {
        let conf = self.imagebuilder.config().to_builder().endpoint_url(url).build();
        self.imagebuilder = aws_sdk_imagebuilder::Client::from_conf(conf);
        self
    }

    /// Every API call these clients have made so far.
    pub fn api_calls(&self) -> ApiCalls {
        self.counter.snapshot()
    }

    /// Where ARNs point: partition, region and account, from the default event bus's ARN (one
    /// read call; the default bus exists in every account and region).
    pub async fn context(&self) -> Result<Context> {
        let out = self
            .eventbridge
            .describe_event_bus()
            .name("default")
            .send()
            .await
            .map_err(|e| Error::Account { context: aws_sdk_sqs::error::DisplayErrorContext(&e).to_string() })?;
        let arn = out.arn().unwrap_or_default();
        Context::from_default_bus_arn(arn, self.region.as_deref())
    }
}

/// Partition, region and account: enough to spell any ARN of the stack without asking AWS; and
/// the Lambda packages a plan deploys from, when they are in S3 (read once per plan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Context {
    pub partition: String,
    pub region: String,
    pub account_id: String,
    #[serde(skip)]
    pub packages: Option<std::sync::Arc<crate::packages::Packages>>,
}

impl Context {
    pub fn new(partition: &str, region: &str, account_id: &str) -> Self {
        Self { partition: partition.into(), region: region.into(), account_id: account_id.into(), packages: None }
    }

    /// From `arn:<partition>:events:<region>:<account>:event-bus/default`.
    pub fn from_default_bus_arn(arn: &str, fallback_region: Option<&str>) -> Result<Self> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", partition, "events", region, account, _] if !account.is_empty() => {
                let region = if region.is_empty() { fallback_region.unwrap_or_default() } else { region };
                Ok(Self::new(partition, region, account))
            }
            _ => Err(Error::Account { context: format!("unexpected default event bus ARN {arn:?}") }),
        }
    }

    pub fn sqs_arn(&self, queue: &str) -> String {
        format!("arn:{}:sqs:{}:{}:{queue}", self.partition, self.region, self.account_id)
    }

    pub fn bus_arn(&self, bus: &str) -> String {
        format!("arn:{}:events:{}:{}:event-bus/{bus}", self.partition, self.region, self.account_id)
    }

    /// An IAM role's ARN (IAM is global: no region).
    pub fn role_arn(&self, role: &str) -> String {
        format!("arn:{}:iam::{}:role/{role}", self.partition, self.account_id)
    }

    /// A Lambda function's ARN, with a qualifier (version or alias) when given.
    pub fn lambda_arn(&self, function: &str, qualifier: Option<&str>) -> String {
        let q = qualifier.map(|q| format!(":{q}")).unwrap_or_default();
        format!("arn:{}:lambda:{}:{}:function:{function}{q}", self.partition, self.region, self.account_id)
    }

    /// Replace `${partition}`, `${region}` and `${account}` (left in place by the stack loader)
    /// with this account's values: policy documents name ARNs without hard-coding the account.
    pub fn expand(&self, text: &str) -> String {
        text.replace("${partition}", &self.partition).replace("${region}", &self.region).replace("${account}", &self.account_id)
    }

    /// A rule's ARN: rules on the default bus have no bus segment.
    pub fn rule_arn(&self, bus: &str, rule: &str) -> String {
        let bus_part = if bus == DEFAULT_BUS { String::new() } else { format!("{bus}/") };
        format!("arn:{}:events:{}:{}:rule/{bus_part}{rule}", self.partition, self.region, self.account_id)
    }
}

/// The name of every account's default event bus (where scheduled rules live).
pub const DEFAULT_BUS: &str = "default";

/// API calls made, by kind of call and by operation (`service:Operation`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApiCalls {
    pub read: u64,
    pub write: u64,
    pub by_operation: BTreeMap<String, u64>,
}

impl ApiCalls {
    pub fn total(&self) -> u64 {
        self.read + self.write
    }

    /// The calls made since `earlier` (a snapshot of the same counter).
    pub fn since(&self, earlier: &ApiCalls) -> ApiCalls {
        let by_operation = self
            .by_operation
            .iter()
            .filter_map(|(op, n)| {
                let before = earlier.by_operation.get(op).copied().unwrap_or(0);
                (*n > before).then(|| (op.clone(), n - before))
            })
            .collect();
        ApiCalls { read: self.read - earlier.read, write: self.write - earlier.write, by_operation }
    }

    /// The write operations among these calls.
    pub fn writes(&self) -> Vec<&str> {
        self.by_operation.keys().filter(|op| !is_read_operation(op.rsplit(':').next().unwrap_or(op))).map(String::as_str).collect()
    }
}

/// Whether an API operation only reads. Describe/Get/List/Head/Query/Scan/BatchGet... do; every
/// other operation is counted as a write.
pub fn is_read_operation(operation: &str) -> bool {
    const READ_PREFIXES: [&str; 9] = ["Describe", "Get", "List", "Head", "Query", "Scan", "BatchGet", "Search", "Select"];
    READ_PREFIXES.iter().any(|p| operation.starts_with(p))
}

#[derive(Debug, Clone, Default)]
struct ApiCounter(Arc<Mutex<ApiCalls>>);

impl ApiCounter {
    fn record(&self, service: &str, operation: &str) {
        let mut calls = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if is_read_operation(operation) {
            calls.read += 1;
        } else {
            calls.write += 1;
        }
        *calls.by_operation.entry(format!("{service}:{operation}")).or_default() += 1;
    }

    fn snapshot(&self) -> ApiCalls {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Counts each operation once, before its request is serialized (retries of one operation
/// count once). `read_before_execution` would be too early: a client's interceptors run it before
/// the operation's configuration, which names the operation, is in the bag.
#[derive(Debug, Clone)]
struct CountCalls(ApiCounter);

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "PulseCountApiCalls"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        match cfg.load::<Metadata>() {
            Some(meta) => self.0.record(&service_prefix(meta.service()), meta.name()),
            None => self.0.record("unknown", "Unknown"),
        }
        Ok(())
    }
}

/// The IAM-style service prefix for an SDK service name (`EventBridge` → `events`,
/// `DynamoDB` → `dynamodb`, `Auto Scaling` → `autoscaling`).
fn service_prefix(service: &str) -> String {
    match service {
        "EventBridge" | "CloudWatch Events" => "events".to_owned(),
        other => other.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_are_told_apart() {
        for op in ["DescribeRule", "GetQueueAttributes", "ListTargetsByRule", "HeadBucket", "GetPublicAccessBlock"] {
            assert!(is_read_operation(op), "{op}");
        }
        for op in ["PutRule", "PutTargets", "CreateQueue", "SetQueueAttributes", "UpdateTimeToLive", "RemoveTargets"] {
            assert!(!is_read_operation(op), "{op}");
        }
    }

    #[test]
    fn service_names_become_iam_prefixes() {
        assert_eq!(service_prefix("EventBridge"), "events");
        assert_eq!(service_prefix("DynamoDB"), "dynamodb");
        assert_eq!(service_prefix("SQS"), "sqs");
        assert_eq!(service_prefix("Auto Scaling"), "autoscaling");
    }

    /// The interceptor sees every call with its operation name: against an endpoint that refuses
    /// connections, the calls fail but are still counted, by name.
    #[tokio::test]
    async fn the_interceptor_counts_real_calls_by_name() {
        let config = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .behavior_version(aws_config::BehaviorVersion::latest())
            .credentials_provider(aws_sdk_sqs::config::SharedCredentialsProvider::new(aws_sdk_sqs::config::Credentials::new(
                "test", "test", None, None, "test",
            )))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        let clients = Clients::new(&config);
        let _ = clients.sqs.get_queue_url().queue_name("q").send().await;
        let _ = clients.eventbridge.put_rule().name("r").send().await;
        let _ = clients.dynamodb.describe_table().table_name("t").send().await;
        let _ = clients.s3.head_bucket().bucket("b").send().await;
        // Moving Image Builder elsewhere keeps its calls counted.
        let clients = clients.with_imagebuilder_endpoint("http://127.0.0.1:9");
        let _ = clients.imagebuilder.create_image_pipeline().name("p").send().await;
        let calls = clients.api_calls();
        assert_eq!((calls.read, calls.write), (3, 2), "{calls:?}");
        let ops: Vec<&str> = calls.by_operation.keys().map(String::as_str).collect();
        assert_eq!(
            ops,
            ["dynamodb:DescribeTable", "events:PutRule", "imagebuilder:CreateImagePipeline", "s3:HeadBucket", "sqs:GetQueueUrl"]
        );
        assert_eq!(calls.writes(), ["events:PutRule", "imagebuilder:CreateImagePipeline"]);
    }

    #[test]
    fn counts_subtract() {
        let counter = ApiCounter::default();
        counter.record("sqs", "GetQueueUrl");
        let before = counter.snapshot();
        counter.record("sqs", "GetQueueUrl");
        counter.record("sqs", "CreateQueue");
        let delta = counter.snapshot().since(&before);
        assert_eq!((delta.read, delta.write), (1, 1));
        assert_eq!(delta.by_operation.get("sqs:GetQueueUrl"), Some(&1));
        assert_eq!(delta.writes(), vec!["sqs:CreateQueue"]);
    }

    #[test]
    fn arns_are_spelled_like_aws() {
        let cx = Context::from_default_bus_arn("arn:aws:events:us-east-1:123456789012:event-bus/default", None).unwrap();
        assert_eq!(cx.sqs_arn("p-notifier"), "arn:aws:sqs:us-east-1:123456789012:p-notifier");
        assert_eq!(cx.rule_arn("p-bus", "r"), "arn:aws:events:us-east-1:123456789012:rule/p-bus/r");
        assert_eq!(cx.rule_arn("default", "r"), "arn:aws:events:us-east-1:123456789012:rule/r");
        assert!(Context::from_default_bus_arn("nonsense", None).is_err());
    }
}
