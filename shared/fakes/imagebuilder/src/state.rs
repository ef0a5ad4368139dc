//! Everything the fake remembers: resources by ARN (as the JSON objects `Get*` answers with),
//! client tokens, recorded calls, queued faults and the AMI ids tests chose for the next builds.

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::arn::Account;
use crate::error::ApiError;

/// One call the fake answered (or refused).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedCall {
    /// The operation name, e.g. `CreateImagePipeline`.
    pub operation: String,
    /// The request's parameters: the JSON body merged with the query string and path labels.
    pub params: Value,
    pub status: u16,
    /// The error type when the call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
}

/// An error to answer instead of serving a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub status: u16,
    pub error_type: String,
    #[serde(default = "default_fault_message")]
    pub message: String,
}

fn default_fault_message() -> String {
    "injected by the fake".to_owned()
}

impl Fault {
    pub fn new(status: u16, error_type: &str) -> Self {
        Self { status, error_type: error_type.to_owned(), message: default_fault_message() }
    }
}

impl From<Fault> for ApiError {
    fn from(f: Fault) -> Self {
        ApiError::new(f.status, &f.error_type, f.message)
    }
}

/// How the next build of a pipeline ends, as a test chose it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextBuild {
    pub ami_id: String,
    /// The image status, `AVAILABLE` unless a test wants a failed build.
    #[serde(default = "available")]
    pub status: String,
}

fn available() -> String {
    "AVAILABLE".to_owned()
}

/// A client token's first use: which operation, with which parameters, answered what.
#[derive(Debug, Clone)]
pub(crate) struct TokenUse {
    pub operation: String,
    pub params: Value,
    pub response: Value,
}

/// The resources, by ARN. Each is the object `Get*` returns, tags included.
#[derive(Debug, Default)]
pub(crate) struct Resources {
    pub components: BTreeMap<String, Value>,
    pub recipes: BTreeMap<String, Value>,
    pub infrastructure: BTreeMap<String, Value>,
    pub distribution: BTreeMap<String, Value>,
    pub pipelines: BTreeMap<String, Value>,
    pub images: BTreeMap<String, Value>,
}

impl Resources {
    /// The resource with this ARN, whatever its kind.
    pub fn find_mut(&mut self, arn: &str) -> Option<&mut Value> {
        [&mut self.components, &mut self.recipes, &mut self.infrastructure, &mut self.distribution, &mut self.pipelines, &mut self.images]
            .into_iter()
            .find_map(|map| map.get_mut(arn))
    }
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub account: Account,
    pub resources: Resources,
    pub tokens: HashMap<String, TokenUse>,
    pub calls: Vec<RecordedCall>,
    /// Per operation (or `*` for any), the faults to answer next, first first.
    pub faults: HashMap<String, VecDeque<Fault>>,
    /// Per pipeline name, the outcomes of its next builds.
    pub next_builds: HashMap<String, VecDeque<NextBuild>>,
    last_time: Option<DateTime<Utc>>,
    serial: u64,
}

impl State {
    pub fn new(account: Account) -> Self {
        Self { account, ..Self::default() }
    }

    /// Forget everything but the account.
    pub fn reset(&mut self) {
        *self = Self::new(self.account.clone());
    }

    /// The current time as Image Builder prints it (`2024-05-01T12:00:00.123Z`), strictly
    /// later than any earlier answer, so "newest first" is well defined even within a
    /// millisecond.
    pub fn now(&mut self) -> String {
        let mut t = Utc::now();
        if let Some(last) = self.last_time
            && t <= last
        {
            t = last + Duration::milliseconds(1);
        }
        self.last_time = Some(t);
        t.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// A number unique within this fake (AMI ids, request ids).
    pub fn serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    /// The next queued fault for `operation` (its own queue first, then `*`).
    pub fn take_fault(&mut self, operation: &str) -> Option<Fault> {
        for key in [operation, "*"] {
            if let Some(queue) = self.faults.get_mut(key)
                && let Some(fault) = queue.pop_front()
            {
                return Some(fault);
            }
        }
        None
    }

    pub fn inject(&mut self, operation: &str, fault: Fault, times: u32) {
        let queue = self.faults.entry(operation.to_owned()).or_default();
        queue.extend(std::iter::repeat_n(fault, times as usize));
    }

    /// The outcome of the next build of `pipeline_name`: a queued choice, else a fresh AMI id.
    pub fn next_build(&mut self, pipeline_name: &str) -> NextBuild {
        if let Some(build) = self.next_builds.get_mut(pipeline_name).and_then(VecDeque::pop_front) {
            return build;
        }
        let n = self.serial();
        NextBuild { ami_id: format!("ami-{n:017x}"), status: available() }
    }
}

/// Copy the listed fields that `from` has into `to`.
pub(crate) fn copy_fields(from: &Value, to: &mut Map<String, Value>, fields: &[&str]) {
    for field in fields {
        if let Some(v) = from.get(*field).filter(|v| !v.is_null()) {
            to.insert((*field).to_owned(), v.clone());
        }
    }
}
