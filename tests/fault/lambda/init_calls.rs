//! What a cold start waits on. With its secrets in its environment, no binary calls AWS before
//! it asks for its first invocation: every AWS answer at start is a round trip on every cold
//! start, and something only a rare path needs (the notifier's GitHub credentials, for the
//! re-run button) is looked up by that path, not by init.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::harness::Scene;
use crate::lambda::function::{EnvChange, Function};

/// Every binary deployed as a function, with the settings it cannot start without.
const FUNCTIONS: [(&str, &[EnvChange<'static>]); 6] = [
    ("ingress", &[("GITHUB_WEBHOOK_SECRET", Some("lambda-init-webhook-secret"))]),
    ("feed-projector", &[]),
    ("home-renderer", &[]),
    ("notifier", &[]),
    ("infra-reconciler", &[]),
    ("praktika-compat", &[("PULSE_SLACK_TEAM_ID", Some("T0LAMBDA"))]),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_its_secrets_in_the_environment_no_binary_calls_aws_at_start() {
    let scene = Scene::start("lambda_init_calls", &[]).await;
    // AWS as an endpoint that counts connections and never answers: a call at start would be
    // counted (and would hold init until its timeout).
    let aws = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", aws.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    let holding = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = aws.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            held.push(connection);
        }
    });
    for (service, settings) in FUNCTIONS {
        let mut changes = vec![("AWS_ENDPOINT_URL", Some(url.as_str()))];
        changes.extend_from_slice(settings);
        let mut function = Function::start(&scene, service, &changes).await;
        function.ready().await;
        assert_eq!(connections.load(Ordering::SeqCst), 0, "{service} called AWS before its first invocation");
    }
    holding.abort();
}
