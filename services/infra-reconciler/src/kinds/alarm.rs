//! `Alarm`: a CloudWatch metric alarm on one metric of the stack (or any other metric).
//!
//! ```json
//! { "kind": "Alarm", "name": "${prefix}-notifier-dlq-depth",
//!   "description": "A notifier event was dead-lettered: read its reason, fix, redrive.",
//!   "watch": {"queue": "${prefix}-notifier-dlq"},
//!   "metric_name": "ApproximateNumberOfMessagesVisible", "statistic": "Maximum",
//!   "period_seconds": 60, "evaluation_periods": 1,
//!   "threshold": 0, "comparison_operator": "GreaterThanThreshold",
//!   "treat_missing_data": "notBreaching" }
//! ```
//!
//! Rules:
//! - The metric is named either by `watch`, a resource of the same file, or by `namespace` and
//!   `dimensions` spelled out (exactly one of the two). `watch` is the way for the stack's own
//!   resources: the namespace and dimension are spelled right once, here, and a misspelt name
//!   fails loading (it is a dependency, so it must be declared) instead of yielding an alarm on a
//!   metric that never reports, which would stay quiet forever.
//!   - `{"queue": Q}`: `AWS/SQS`, `QueueName = Q`;
//!   - `{"function": F}`: `AWS/Lambda`, `FunctionName = F` (every version and alias together);
//!   - `{"api": A}`: `AWS/ApiGateway`, `ApiId = ` the id of the HTTP API an `ApiRoute` named `A`
//!     deploys. The id exists only once the API does, so the plan shows
//!     `(id of ApiRoute A)` and the deploy looks the id up; an alarm on another API's id shows as
//!     drift. `ApiRoute` deploys an HTTP API, whose metrics are `4xx`, `5xx`, `Count`, `Latency`,
//!     `IntegrationLatency` and `DataProcessed` (`5XXError` is a REST API's, refused here).
//! - The alarm is the file's whole truth: every field is compared and `PutMetricAlarm` replaces
//!   the alarm, so a change made in the console is drift the next deploy undoes. The one
//!   exception is `alarm_actions`: absent, the actions are not managed (the deploy keeps the
//!   ones the alarm has, e.g. an SNS topic an operator attached); present (`[]` too), they are
//!   exactly the list.
//! - Observed with `DescribeAlarms` by name; created and updated with the same `PutMetricAlarm`.
//!   Like every kind, an alarm removed from the file is left in CloudWatch (the reconciler
//!   keeps no state of what it made): delete it with `aws cloudwatch delete-alarms`.

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{AlarmType, ComparisonOperator, Dimension, MetricAlarm, Statistic};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{ApplyInput, Resource, check_name};
use crate::clients::{Clients, Context};
use crate::error::{Error, Result};
use crate::model::{Change, Kind, Properties, ResourceId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmSpec {
    /// The alarm's name (unique in the account and region).
    pub name: String,
    /// `AlarmDescription`: what an operator reads when it fires; say what to do.
    #[serde(default)]
    pub description: String,
    /// A resource of the file whose metric this is (instead of `namespace` and `dimensions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<Watch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub dimensions: std::collections::BTreeMap<String, String>,
    pub metric_name: String,
    pub statistic: AlarmStatistic,
    /// 10, 30 or a multiple of 60 seconds.
    #[serde(default = "default_period")]
    pub period_seconds: u32,
    #[serde(default = "default_evaluation_periods")]
    pub evaluation_periods: u32,
    pub threshold: f64,
    pub comparison_operator: Comparison,
    #[serde(default)]
    pub treat_missing_data: MissingData,
    /// SNS topic ARNs notified when the alarm fires; absent: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_actions: Option<Vec<String>>,
}

/// A resource of the file whose standard AWS metric an alarm watches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Watch {
    Queue(String),
    Function(String),
    Api(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlarmStatistic {
    SampleCount,
    Average,
    Sum,
    Minimum,
    Maximum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    GreaterThanThreshold,
    GreaterThanOrEqualToThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

/// How periods without data count (CloudWatch's `TreatMissingData`; default `missing`, AWS's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MissingData {
    Breaching,
    NotBreaching,
    Ignore,
    #[default]
    Missing,
}

fn default_period() -> u32 {
    60
}
fn default_evaluation_periods() -> u32 {
    1
}

/// The metrics an HTTP API publishes (what `ApiRoute` deploys).
const HTTP_API_METRICS: [&str; 6] = ["4xx", "5xx", "Count", "Latency", "IntegrationLatency", "DataProcessed"];

/// Serde's name of a unit variant (the name AWS uses too).
fn text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// What the plan shows for an API's id before it is known.
pub fn api_id_marker(api: &str) -> String {
    format!("(id of ApiRoute {api})")
}

impl AlarmSpec {
    /// The metric's namespace and dimensions; an `api` dimension holds [`api_id_marker`].
    pub fn metric(&self) -> (String, Map<String, Value>) {
        let one = |name: &str, value: String| Map::from_iter([(name.to_owned(), Value::String(value))]);
        match &self.watch {
            Some(Watch::Queue(q)) => ("AWS/SQS".into(), one("QueueName", q.clone())),
            Some(Watch::Function(f)) => ("AWS/Lambda".into(), one("FunctionName", f.clone())),
            Some(Watch::Api(a)) => ("AWS/ApiGateway".into(), one("ApiId", api_id_marker(a))),
            None => (
                self.namespace.clone().unwrap_or_default(),
                self.dimensions.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect(),
            ),
        }
    }

    /// The API whose id fills the `ApiId` dimension, when the alarm watches one.
    fn api(&self) -> Option<&str> {
        match &self.watch {
            Some(Watch::Api(a)) => Some(a),
            _ => None,
        }
    }
}

/// An observed alarm as properties, with `api_id` (the watched API's current id, if any)
/// replaced by its marker so that it compares equal to the declaration.
pub fn observed_properties(alarm: &MetricAlarm, api: Option<(&str, &str)>) -> Properties {
    let dimensions: Map<String, Value> = alarm
        .dimensions()
        .iter()
        .map(|d| {
            let value = d.value().unwrap_or_default();
            let shown = match api {
                Some((name, id)) if d.name() == Some("ApiId") && value == id => api_id_marker(name),
                _ => value.to_owned(),
            };
            (d.name().unwrap_or_default().to_owned(), Value::String(shown))
        })
        .collect();
    let mut actions: Vec<&str> = alarm.alarm_actions().iter().map(String::as_str).collect();
    actions.sort_unstable();
    Properties::from([
        ("AlarmDescription".to_owned(), json!(alarm.alarm_description().unwrap_or_default())),
        ("Namespace".to_owned(), json!(alarm.namespace())),
        ("MetricName".to_owned(), json!(alarm.metric_name())),
        ("Dimensions".to_owned(), Value::Object(dimensions)),
        ("Statistic".to_owned(), json!(alarm.statistic().map(|s| s.as_str()))),
        ("Period".to_owned(), json!(alarm.period())),
        ("EvaluationPeriods".to_owned(), json!(alarm.evaluation_periods())),
        ("Threshold".to_owned(), json!(alarm.threshold())),
        ("ComparisonOperator".to_owned(), json!(alarm.comparison_operator().map(|c| c.as_str()))),
        ("TreatMissingData".to_owned(), json!(alarm.treat_missing_data().unwrap_or("missing"))),
        ("AlarmActions".to_owned(), json!(actions)),
    ])
}

async fn describe(clients: &Clients, id: &ResourceId, name: &str) -> Result<Option<MetricAlarm>> {
    let out = clients
        .cloudwatch
        .describe_alarms()
        .alarm_names(name)
        .alarm_types(AlarmType::MetricAlarm)
        .send()
        .await
        .map_err(|e| Error::aws(id, "cloudwatch:DescribeAlarms", e))?;
    Ok(out.metric_alarms().iter().find(|a| a.alarm_name() == Some(name)).cloned())
}

#[async_trait]
impl Resource for AlarmSpec {
    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::Alarm, &self.name)
    }

    fn references(&self) -> Vec<ResourceId> {
        match &self.watch {
            Some(Watch::Queue(q)) => vec![ResourceId::new(Kind::Queue, q)],
            Some(Watch::Function(f)) => vec![ResourceId::new(Kind::Lambda, f)],
            Some(Watch::Api(a)) => vec![ResourceId::new(Kind::ApiRoute, a)],
            None => Vec::new(),
        }
    }

    fn validate(&self) -> std::result::Result<(), String> {
        check_name("alarm", &self.name, 1..=255, |c| !c.is_control(), "any printable character")?;
        let spelled_out = self.namespace.is_some() || !self.dimensions.is_empty();
        match (&self.watch, spelled_out) {
            (Some(_), true) => return Err("set either watch or namespace and dimensions, not both".into()),
            (None, false) => return Err("set watch (a queue, function or api of this file) or namespace and dimensions".into()),
            (None, true) if self.namespace.as_deref().unwrap_or_default().is_empty() => {
                return Err("namespace is missing or empty".into());
            }
            _ => {}
        }
        if self.metric_name.is_empty() {
            return Err("metric_name is empty".into());
        }
        if self.api().is_some() && !HTTP_API_METRICS.contains(&self.metric_name.as_str()) {
            return Err(format!(
                "metric_name {:?} is not an HTTP API metric (an ApiRoute is an HTTP API: {}; 5XXError and 4XXError are REST APIs')",
                self.metric_name,
                HTTP_API_METRICS.join(", ")
            ));
        }
        if !(self.period_seconds == 10
            || self.period_seconds == 30
            || (self.period_seconds >= 60 && self.period_seconds.is_multiple_of(60)))
        {
            return Err(format!("period_seconds {} must be 10, 30 or a multiple of 60", self.period_seconds));
        }
        if self.evaluation_periods == 0 {
            return Err("evaluation_periods must be at least 1".into());
        }
        if !self.threshold.is_finite() {
            return Err("threshold must be a finite number".into());
        }
        if let Some(bad) = self.alarm_actions.iter().flatten().find(|a| !a.starts_with("arn:")) {
            return Err(format!("alarm_actions: {bad:?} is not an ARN (an SNS topic's, for example)"));
        }
        Ok(())
    }

    fn desired(&self, _cx: &Context) -> Properties {
        let (namespace, dimensions) = self.metric();
        let mut p = Properties::from([
            ("AlarmDescription".to_owned(), json!(self.description)),
            ("Namespace".to_owned(), json!(namespace)),
            ("MetricName".to_owned(), json!(self.metric_name)),
            ("Dimensions".to_owned(), Value::Object(dimensions)),
            ("Statistic".to_owned(), json!(text(&self.statistic))),
            ("Period".to_owned(), json!(self.period_seconds)),
            ("EvaluationPeriods".to_owned(), json!(self.evaluation_periods)),
            ("Threshold".to_owned(), json!(self.threshold)),
            ("ComparisonOperator".to_owned(), json!(text(&self.comparison_operator))),
            ("TreatMissingData".to_owned(), json!(text(&self.treat_missing_data))),
        ]);
        if let Some(actions) = &self.alarm_actions {
            let mut sorted = actions.clone();
            sorted.sort();
            sorted.dedup();
            p.insert("AlarmActions".into(), json!(sorted));
        }
        p
    }

    async fn observe(&self, clients: &Clients, _cx: &Context) -> Result<Option<Properties>> {
        let id = self.id();
        let Some(alarm) = describe(clients, &id, &self.name).await? else {
            return Ok(None);
        };
        let api_id = match self.api() {
            Some(api) => super::api_route::find_api(clients, &id, api).await?.map(|(api_id, _)| (api, api_id)),
            None => None,
        };
        Ok(Some(observed_properties(&alarm, api_id.as_ref().map(|(name, api_id)| (*name, api_id.as_str())))))
    }

    async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
        if matches!(input.change, Change::NoChange) {
            return Ok(());
        }
        let id = self.id();
        let (namespace, mut dimensions) = self.metric();
        if let Some(api) = self.api() {
            let Some((api_id, _)) = super::api_route::find_api(clients, &id, api).await? else {
                return Err(Error::resource(&id, format!("ApiRoute {api} has no HTTP API yet: deploy it first")));
            };
            dimensions.insert("ApiId".into(), Value::String(api_id));
        }
        // Absent actions are not managed: keep the alarm's own (PutMetricAlarm replaces them).
        let actions: Vec<String> = match &self.alarm_actions {
            Some(actions) => actions.clone(),
            None => input
                .observed
                .and_then(|o| o.get("AlarmActions"))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
        };
        let mut request = clients
            .cloudwatch
            .put_metric_alarm()
            .alarm_name(&self.name)
            .alarm_description(&self.description)
            .namespace(namespace)
            .metric_name(&self.metric_name)
            .statistic(Statistic::from(text(&self.statistic).as_str()))
            .period(self.period_seconds as i32)
            .evaluation_periods(self.evaluation_periods as i32)
            .threshold(self.threshold)
            .comparison_operator(ComparisonOperator::from(text(&self.comparison_operator).as_str()))
            .treat_missing_data(text(&self.treat_missing_data))
            .set_alarm_actions(Some(actions));
        for (name, value) in dimensions {
            request = request.dimensions(Dimension::builder().name(name).value(value.as_str().unwrap_or_default()).build());
        }
        request.send().await.map_err(|e| Error::aws(&id, "cloudwatch:PutMetricAlarm", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{diff, normalize};

    fn spec(v: Value) -> AlarmSpec {
        serde_json::from_value(v).unwrap()
    }

    fn dlq_depth() -> AlarmSpec {
        spec(json!({
            "name": "p-notifier-dlq-depth", "description": "redrive it",
            "watch": {"queue": "p-notifier-dlq"}, "metric_name": "ApproximateNumberOfMessagesVisible",
            "statistic": "Maximum", "threshold": 0, "comparison_operator": "GreaterThanThreshold",
            "treat_missing_data": "notBreaching"
        }))
    }

    fn cx() -> Context {
        Context::new("aws", "us-east-1", "123456789012")
    }

    fn normalized(p: Properties) -> Properties {
        p.iter().map(|(k, v)| (k.clone(), normalize(v))).collect()
    }

    /// The alarm as CloudWatch would describe `s` after a `PutMetricAlarm` (the API's types).
    fn as_cloudwatch_holds(s: &AlarmSpec, api_id: &str) -> MetricAlarm {
        let (namespace, dimensions) = s.metric();
        let dims = dimensions.into_iter().map(|(k, v)| {
            let v = v.as_str().unwrap().to_owned();
            let v = if v.starts_with("(id of") { api_id.to_owned() } else { v };
            Dimension::builder().name(k).value(v).build()
        });
        MetricAlarm::builder()
            .alarm_name(&s.name)
            .alarm_description(&s.description)
            .namespace(namespace)
            .metric_name(&s.metric_name)
            .set_dimensions(Some(dims.collect()))
            .statistic(Statistic::from(text(&s.statistic).as_str()))
            .period(s.period_seconds as i32)
            .evaluation_periods(s.evaluation_periods as i32)
            .threshold(s.threshold)
            .comparison_operator(ComparisonOperator::from(text(&s.comparison_operator).as_str()))
            .treat_missing_data(text(&s.treat_missing_data))
            .set_alarm_actions(s.alarm_actions.clone())
            .build()
    }

    #[test]
    fn a_watched_queue_names_the_sqs_metric_and_is_a_dependency() {
        let s = dlq_depth();
        s.validate().unwrap();
        assert_eq!(s.references(), vec![ResourceId::new(Kind::Queue, "p-notifier-dlq")]);
        let d = s.desired(&cx());
        assert_eq!(d["Namespace"], json!("AWS/SQS"));
        assert_eq!(d["Dimensions"], json!({"QueueName": "p-notifier-dlq"}));
        assert_eq!(
            (&d["Statistic"], &d["Period"], &d["EvaluationPeriods"], &d["ComparisonOperator"], &d["TreatMissingData"]),
            (&json!("Maximum"), &json!(60), &json!(1), &json!("GreaterThanThreshold"), &json!("notBreaching"))
        );
        // Actions not declared: not compared.
        assert!(!d.contains_key("AlarmActions"));
        let f = spec(json!({"name": "e", "watch": {"function": "p-notifier"}, "metric_name": "Errors", "statistic": "Sum",
            "threshold": 0, "comparison_operator": "GreaterThanThreshold"}));
        assert_eq!(f.metric(), ("AWS/Lambda".to_owned(), Map::from_iter([("FunctionName".to_owned(), json!("p-notifier"))])));
        assert_eq!(f.treat_missing_data, MissingData::Missing);
    }

    #[test]
    fn what_cloudwatch_holds_after_a_put_plans_no_change_and_a_changed_field_shows() {
        let s = dlq_depth();
        let desired = normalized(s.desired(&cx()));
        let observed = normalized(observed_properties(&as_cloudwatch_holds(&s, ""), None));
        assert_eq!(diff(&desired, Some(&observed)), Change::NoChange);

        let stricter = spec(json!({
            "name": "p-notifier-dlq-depth", "description": "redrive it",
            "watch": {"queue": "p-notifier-dlq"}, "metric_name": "ApproximateNumberOfMessagesVisible",
            "statistic": "Maximum", "threshold": 0, "comparison_operator": "GreaterThanThreshold",
            "treat_missing_data": "notBreaching", "evaluation_periods": 3
        }));
        let change = diff(&normalized(stricter.desired(&cx())), Some(&observed));
        assert_eq!(
            change.fields().iter().map(|f| (f.field.as_str(), f.from.clone(), f.to.clone())).collect::<Vec<_>>(),
            [("EvaluationPeriods", Some(json!(1)), json!(3))]
        );
    }

    #[test]
    fn an_api_alarm_compares_the_api_id_through_its_marker() {
        let s = spec(json!({"name": "p-5xx", "watch": {"api": "p-slack"}, "metric_name": "5xx", "statistic": "Sum",
            "threshold": 0, "comparison_operator": "GreaterThanThreshold", "alarm_actions": ["arn:aws:sns:us-east-1:1:ops"]}));
        s.validate().unwrap();
        assert_eq!(s.references(), vec![ResourceId::new(Kind::ApiRoute, "p-slack")]);
        let desired = normalized(s.desired(&cx()));
        assert_eq!(desired["Dimensions"], json!({"ApiId": "(id of ApiRoute p-slack)"}));
        let held = as_cloudwatch_holds(&s, "a1b2c3");
        let same = normalized(observed_properties(&held, Some(("p-slack", "a1b2c3"))));
        assert_eq!(diff(&desired, Some(&same)), Change::NoChange);
        // The alarm watches another API (the API was recreated): drift, with the old id shown.
        let other = normalized(observed_properties(&held, Some(("p-slack", "zzz999"))));
        let change = diff(&desired, Some(&other));
        assert_eq!(change.fields()[0].from, Some(json!({"ApiId": "a1b2c3"})));
        // An action attached by hand differs from the declared list.
        let extra = MetricAlarm::builder()
            .set_alarm_actions(Some(vec!["arn:aws:sns:us-east-1:1:pager".into(), "arn:aws:sns:us-east-1:1:ops".into()]))
            .set_dimensions(Some(held.dimensions().to_vec()))
            .build();
        let extra = normalized(observed_properties(&extra, Some(("p-slack", "a1b2c3"))));
        assert!(diff(&desired, Some(&extra)).touches("AlarmActions"));
    }

    #[test]
    fn mistakes_are_named() {
        let base = json!({"name": "a", "metric_name": "Errors", "statistic": "Sum", "threshold": 0,
            "comparison_operator": "GreaterThanThreshold"});
        let with = |extra: Value| {
            let mut v = base.clone();
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            spec(v).validate()
        };
        assert!(with(json!({})).unwrap_err().contains("set watch"));
        assert!(with(json!({"watch": {"function": "f"}, "namespace": "AWS/Lambda"})).unwrap_err().contains("not both"));
        assert!(with(json!({"watch": {"function": "f"}, "period_seconds": 45})).unwrap_err().contains("period_seconds 45"));
        assert!(with(json!({"watch": {"function": "f"}, "evaluation_periods": 0})).unwrap_err().contains("evaluation_periods"));
        let rest = with(json!({"watch": {"api": "p-slack"}, "metric_name": "5XXError"})).unwrap_err();
        assert!(rest.contains("not an HTTP API metric") && rest.contains("5xx"), "{rest}");
        assert!(with(json!({"watch": {"function": "f"}, "alarm_actions": ["ops-topic"]})).unwrap_err().contains("not an ARN"));
        with(json!({"namespace": "Pulse", "dimensions": {"Service": "notifier"}})).unwrap();
        // Unknown fields and values are parse errors.
        assert!(serde_json::from_value::<AlarmSpec>(json!({"name": "a", "metric": "x"})).is_err());
        let mut bad = base.clone();
        bad["statistic"] = json!("p99");
        assert!(serde_json::from_value::<AlarmSpec>(bad).is_err());
        let mut bad = base;
        bad["watch"] = json!({"topic": "t"});
        assert!(serde_json::from_value::<AlarmSpec>(bad).is_err());
    }
}
