//! AWS's guidance for SQS event sources, checked when a stack file loads: a queue feeding a
//! Lambda function hides each received message for at least six times the function's timeout
//! (<https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html>). Lambda itself
//! only refuses a mapping whose queue hides messages for less than one timeout; with less than
//! six, a batch Lambda retries after a throttle, or one still running, reappears on the queue
//! and is handled twice, and every reappearance counts towards the redrive to the DLQ.
//!
//! Where both sides are known: the check runs on the loaded stack, after `include`s are
//! merged, so a queue declared in `infra/pulse-stack.json` and its function in
//! `infra/examples/pulse-deployment.json` (which includes it) are checked together, whether
//! the deployment comes from `--config`, `PULSE_DEPLOY_CONFIG` or the built-in copy. A
//! function never loads without its queue: an event source is a reference, and a reference to
//! a queue the stack does not declare fails the load on its own. The other way round cannot be
//! checked: `pulse-stack.json` loaded alone (`StackConfig::pulse`, `pulse infra deploy` without
//! `--config`, the local stack) declares queues but no functions, so which function consumes a
//! queue, and its timeout, is not known there. That is why `pulse-stack.json`'s visibility
//! timeouts are written for `pulse-deployment.json`'s functions, and why the reconciler's unit
//! tests load the deployment.

use crate::config::{Declared, StackConfig};
use crate::kinds::ResourceSpec;
use crate::model::{Kind, ResourceId};

/// AWS's factor: visibility timeout ≥ this × the function's timeout.
pub const VISIBILITY_FACTOR: u32 = 6;

/// SQS's visibility timeout for a queue that sets none.
pub const SQS_DEFAULT_VISIBILITY_SECONDS: u32 = 30;

/// Where AWS says so, quoted in the error.
pub const GUIDANCE_URL: &str = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html";

/// The shortest visibility timeout a queue feeding a function with this timeout may have.
pub fn minimum_visibility_seconds(function_timeout_seconds: u32) -> u32 {
    function_timeout_seconds.saturating_mul(VISIBILITY_FACTOR)
}

/// Every Lambda event source of the stack against its queue's visibility timeout.
pub(crate) fn check(stack: &StackConfig) -> Result<(), String> {
    for d in &stack.resources {
        let ResourceSpec::Lambda(function) = &d.spec else { continue };
        // Lambda's `Timeout` is `timeout_ms / 1000` (see `LambdaSpec::timeout_seconds`).
        let timeout = function.timeout_seconds().max(1).unsigned_abs();
        let minimum = minimum_visibility_seconds(timeout);
        for source in &function.event_sources {
            // An undeclared queue is reported by the dependency check, naming the reference.
            let Some(Declared { spec: ResourceSpec::Queue(queue), .. }) = stack.get(&ResourceId::new(Kind::Queue, &source.queue)) else {
                continue;
            };
            let (visibility, whence) = match queue.visibility_timeout_seconds {
                Some(v) => (v, ""),
                None => (SQS_DEFAULT_VISIBILITY_SECONDS, " (SQS's default: the queue sets no visibility_timeout_seconds)"),
            };
            if visibility < minimum {
                return Err(format!(
                    "{}: its timeout is {timeout} s, and its event source queue {} has a visibility timeout of {visibility} s{whence}; \
                     the queue needs visibility_timeout_seconds of at least {minimum} ({VISIBILITY_FACTOR} × the function's timeout, \
                     AWS's guidance for SQS event sources: {GUIDANCE_URL})",
                    d.id(),
                    queue.name,
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::config::{LoadOptions, PULSE_DEPLOYMENT_JSON, StackConfig};
    use crate::kinds::ResourceSpec;

    /// A queue `q` (visibility `visibility`, or SQS's default when `None`) feeding function `f`.
    fn stack(visibility: Option<u32>, timeout_ms: u32) -> Result<StackConfig, String> {
        let mut queue = json!({"kind": "Queue", "name": "${prefix}-q"});
        if let Some(v) = visibility {
            queue["visibility_timeout_seconds"] = json!(v);
        }
        let text = json!({"resources": [
            queue,
            {"kind": "IamRole", "name": "${prefix}-f"},
            {"kind": "Lambda", "name": "${prefix}-f", "path": "f.zip", "role": "${prefix}-f",
             "timeout_ms": timeout_ms, "event_sources": [{"queue": "${prefix}-q"}]}
        ]});
        StackConfig::parse(&text.to_string(), "test.json", &LoadOptions::new("p1")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_queue_hiding_messages_for_less_than_six_timeouts_is_refused() {
        let err = stack(Some(300), 60_000).unwrap_err();
        assert_eq!(
            err,
            "invalid stack file test.json: Lambda p1-f: its timeout is 60 s, and its event source queue p1-q has a visibility timeout of 300 s; \
             the queue needs visibility_timeout_seconds of at least 360 (6 × the function's timeout, \
             AWS's guidance for SQS event sources: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html)"
        );
    }

    #[test]
    fn exactly_six_timeouts_is_enough() {
        stack(Some(360), 60_000).unwrap();
        stack(Some(18), 3_000).unwrap();
        // Lambda's timeout is whole seconds (timeout_ms / 1000), and so is the rule.
        stack(Some(180), 30_999).unwrap();
    }

    #[test]
    fn a_queue_without_a_visibility_timeout_has_sqs_default_of_30_s() {
        stack(None, 5_000).unwrap();
        let err = stack(None, 6_000).unwrap_err();
        assert!(err.contains("Lambda p1-f: its timeout is 6 s"), "{err}");
        assert!(err.contains("visibility timeout of 30 s (SQS's default: the queue sets no visibility_timeout_seconds)"), "{err}");
        assert!(err.contains("at least 36 (6 × the function's timeout"), "{err}");
    }

    #[test]
    fn a_queue_from_an_included_file_is_checked_against_the_function() {
        let dir = std::env::temp_dir().join(format!("pulse-visibility-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("queues.json"),
            json!({"resources": [{"kind": "Queue", "name": "${prefix}-q", "visibility_timeout_seconds": 60}]}).to_string(),
        )
        .unwrap();
        let functions = |timeout_ms: u32| {
            json!({"include": ["queues.json"], "resources": [
                {"kind": "IamRole", "name": "${prefix}-f"},
                {"kind": "Lambda", "name": "${prefix}-f", "path": "f.zip", "role": "${prefix}-f",
                 "timeout_ms": timeout_ms, "event_sources": [{"queue": "${prefix}-q"}]}
            ]})
            .to_string()
        };
        std::fs::write(dir.join("ok.json"), functions(10_000)).unwrap();
        std::fs::write(dir.join("slow.json"), functions(11_000)).unwrap();
        StackConfig::load(dir.join("ok.json"), &LoadOptions::new("p1")).unwrap();
        let err = StackConfig::load(dir.join("slow.json"), &LoadOptions::new("p1")).unwrap_err().to_string();
        assert!(err.contains("slow.json: Lambda p1-f: its timeout is 11 s"), "{err}");
        assert!(
            err.contains("queue p1-q has a visibility timeout of 60 s; the queue needs visibility_timeout_seconds of at least 66"),
            "{err}"
        );
        // The queues alone load: their consumers are not known there.
        StackConfig::load(dir.join("queues.json"), &LoadOptions::new("p1")).unwrap();
    }

    #[test]
    fn the_shipped_deployment_gives_each_queue_six_timeouts_of_its_function() {
        let stack = StackConfig::parse(PULSE_DEPLOYMENT_JSON, "infra/examples/pulse-deployment.json", &LoadOptions::new("pulse"))
            .expect("the built-in deployment loads");
        let mut seen = Vec::new();
        for d in &stack.resources {
            let ResourceSpec::Lambda(f) = &d.spec else { continue };
            for source in &f.event_sources {
                let queue = stack.resources.iter().find_map(|d| match &d.spec {
                    ResourceSpec::Queue(q) if q.name == source.queue => Some(q),
                    _ => None,
                });
                let visibility = queue.and_then(|q| q.visibility_timeout_seconds);
                seen.push((source.queue.clone(), f.timeout_seconds(), visibility));
            }
        }
        let expected: Vec<(String, i32, Option<u32>)> = [
            ("pulse-feed-projector", 30, 180),
            ("pulse-home-renderer", 30, 180),
            ("pulse-notifier", 60, 360),
            ("pulse-infra-reconciler", 60, 360),
        ]
        .into_iter()
        .map(|(q, t, v)| (q.to_owned(), t, Some(v)))
        .collect();
        assert_eq!(seen, expected);
    }
}
