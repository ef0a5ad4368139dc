//! Ops alerts: routed by kind and severity, buttons that audit, update in place, and deploy.

use std::time::Duration;

use pulse_contracts::{Container, DeployAction, DeployTrigger, Envelope, Event, InteractionKind};

use crate::harness::{Stack, again, delivered_envelope, example};

#[tokio::test]
async fn alerts_go_to_the_channel_their_kind_and_severity_route_to() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    stack
        .publish(&[example("ops.alert", "deploy-failed"), example("ops.alert", "error-rate-exceeded"), example("ops.alert", "ci-passed")])
        .await;
    let stats = stack.run(&notifier, 3, Duration::from_secs(30)).await;
    assert_eq!((stats.done, stats.dead_lettered), (3, 0), "{stats:?}");
    for (channel, alert_id, kind, severity) in [
        ("C0DEPLOY", "deploy-failed-odoo-web-4411", "deploy_failed", "warning"),
        ("C0PAGER", "err-rate-checkout-api-20251120T1422", "error_rate_exceeded", "critical"),
        ("C0DEFAULT", "ci-passed-ipai-platform-8842", "ci_passed", "info"),
    ] {
        let messages = stack.slack.messages_in(channel);
        assert_eq!(messages.len(), 1, "{channel}: {messages:#?}");
        let shown = messages[0].to_string();
        for needle in [format!("*Kind:* {kind}"), format!("*Severity:* {severity}"), "*Service:*".to_owned(), "*Time:*".to_owned()] {
            assert!(shown.contains(&needle), "{channel} lacks {needle}: {shown}");
        }
        for action in ["ops_ack", "ops_investigate", "ops_rollback", "ops_approve"] {
            assert!(shown.contains(action), "{channel} lacks button {action}");
        }
        assert!(shown.contains(alert_id));
    }
}

fn click(action_id: &str, alert_id: &str, channel: &str, ts: &str) -> Envelope<Event> {
    let mut env = example("slack.interaction", "approve-button");
    env.dedup_key = format!("slack.interaction:{action_id}:{}", uuid::Uuid::new_v4());
    let Event::SlackInteractionV1(ref mut i) = env.detail else { unreachable!() };
    i.kind = InteractionKind::BlockActions {
        action_id: action_id.into(),
        value: Some(alert_id.into()),
        block_id: Some("ops_actions".into()),
        container: Container::Message { channel_id: channel.into(), message_ts: ts.into() },
    };
    env
}

#[tokio::test]
async fn a_click_is_audited_updates_the_alert_in_place_and_approve_requests_a_deploy() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    let alert_id = "deploy-failed-odoo-web-4411";
    stack.publish(&[example("ops.alert", "deploy-failed")]).await;
    stack.run(&notifier, 1, Duration::from_secs(20)).await;
    let posted = stack.slack.messages_in("C0DEPLOY");
    assert_eq!(posted.len(), 1);
    let ts = posted[0]["ts"].as_str().unwrap().to_owned();

    let ack = click("ops_ack", alert_id, "C0DEPLOY", &ts);
    let approve = click("ops_approve", alert_id, "C0DEPLOY", &ts);
    // The approval is delivered twice (ingress or SQS redelivery): audited and published once.
    stack.publish(&[ack]).await;
    stack.run(&notifier, 1, Duration::from_secs(20)).await;
    stack.publish(&[approve.clone(), again(&approve)]).await;
    let stats = stack.run(&notifier, 2, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (2, 0), "{stats:?}");

    // Updated in place: still one message in the channel, showing who did what.
    assert_eq!(stack.slack.messages_in("C0DEPLOY").len(), 1);
    let updated = stack.slack.message("C0DEPLOY", &ts).expect("the original message").to_string();
    assert!(updated.contains("Acknowledged by <@U0DANAOPS1>"), "{updated}");
    assert!(updated.contains("Approved by <@U0DANAOPS1>"), "{updated}");
    assert!(!stack.slack.calls_to("chat.update").is_empty());

    // Audit: who, what, when, which alert — one item per click.
    let items = stack.audit_items(alert_id).await;
    assert_eq!(items.len(), 2, "{items:#?}");
    let actions: Vec<&str> = items.iter().map(|i| i["action"].as_s().unwrap().as_str()).collect();
    assert!(actions.contains(&"acknowledge") && actions.contains(&"approve"), "{actions:?}");
    for item in &items {
        assert_eq!(item["user_id"].as_s().unwrap(), "U0DANAOPS1");
        assert_eq!(item["alert_id"].as_s().unwrap(), alert_id);
        assert!(item.contains_key("at") && item.contains_key("message_ts"));
    }

    // deploy.requested reached the infra-reconciler, with one deploy id however often published.
    let requests: Vec<_> = stack
        .drain(&stack.names.queue("infra-reconciler"), 1)
        .await
        .iter()
        .map(|m| match delivered_envelope(m).detail {
            Event::DeployRequestedV1(r) => r,
            other => panic!("infra-reconciler got {}", other.event_type()),
        })
        .collect();
    assert!(!requests.is_empty());
    assert!(requests.iter().all(|r| r.deploy_id == requests[0].deploy_id), "{requests:#?}");
    let r = &requests[0];
    assert_eq!((r.service.as_str(), r.action, r.trigger), ("odoo-web", DeployAction::Deploy, DeployTrigger::ApproveButton));
    assert_eq!(r.alert_id.as_deref(), Some(alert_id));
    assert_eq!(r.message_ts.as_deref(), Some(ts.as_str()));

    // The deploy's progress is threaded under the alert that asked for it.
    let mut status = crate::harness::example("deploy.status", "started");
    let Event::DeployStatusV1(ref mut s) = status.detail else { unreachable!() };
    s.deploy_id = r.deploy_id;
    stack.publish(&[status]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!(stats.done, 1, "{stats:?}");
    let thread = stack.slack.thread("C0DEPLOY", &ts);
    assert!(thread.iter().any(|m| m["ts"] != ts.as_str() && m.to_string().contains("started")), "{thread:#?}");
    let top_level: Vec<_> =
        stack.slack.messages_in("C0DEPLOY").into_iter().filter(|m| m.get("thread_ts").is_none_or(|t| t == &m["ts"])).collect();
    assert_eq!(top_level.len(), 1, "only the alert is top-level: {top_level:#?}");
    assert_eq!(top_level[0]["ts"], ts.as_str());
}

#[tokio::test]
async fn a_confirmed_deploy_modal_requests_the_deploy_once() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    let submit = example("slack.interaction", "deploy-modal-submit");
    stack.publish(&[submit.clone(), again(&submit)]).await;
    let stats = stack.run(&notifier, 2, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (2, 0), "{stats:?}");
    let requests: Vec<_> = stack
        .drain(&stack.names.queue("infra-reconciler"), 1)
        .await
        .iter()
        .map(|m| match delivered_envelope(m).detail {
            Event::DeployRequestedV1(r) => r,
            other => panic!("infra-reconciler got {}", other.event_type()),
        })
        .collect();
    assert!(!requests.is_empty());
    assert!(requests.iter().all(|r| r.deploy_id == requests[0].deploy_id), "{requests:#?}");
    let r = &requests[0];
    assert_eq!((r.service.as_str(), r.trigger), ("notifier", DeployTrigger::SlashCommand));
    assert_eq!(r.only, vec!["Lambda".to_owned()]);
    assert_eq!(r.channel_id.as_deref(), Some("C0OPSDEPLOY"));
}

/// Someone the policy does not name clicks Rollback and Approve: each attempt is audited as
/// refused, the clicker alone is told why and who may, and nothing else happens: the alert is
/// not updated and no deploy is asked for. `Store::audit_log` (what `pulse audit list` reads)
/// shows the attempts with who, what, when and the outcome.
#[tokio::test]
async fn a_click_the_policy_does_not_allow_is_refused_audited_and_explained_to_the_clicker_only() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    let alert_id = "deploy-failed-odoo-web-4411";
    stack.publish(&[example("ops.alert", "deploy-failed")]).await;
    stack.run(&notifier, 1, Duration::from_secs(20)).await;
    let ts = stack.slack.messages_in("C0DEPLOY")[0]["ts"].as_str().unwrap().to_owned();
    let before = stack.slack.message("C0DEPLOY", &ts).unwrap();

    let stranger = |action_id: &str, response: &str| {
        let mut env = click(action_id, alert_id, "C0DEPLOY", &ts);
        let Event::SlackInteractionV1(ref mut i) = env.detail else { unreachable!() };
        i.user_id = "U0STRANGER".into();
        i.user_name = "stranger".into();
        i.response_url = Some(stack.slack.response_url(response));
        env
    };
    let rollback = stranger("ops_rollback", "refused-rollback");
    stack.publish(&[rollback.clone(), again(&rollback), stranger("ops_approve", "refused-approve")]).await;
    let stats = stack.run(&notifier, 3, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (3, 0), "{stats:?}");

    let answers = stack.slack.calls_to(pulse_fake_slack::RESPONSE_URL_METHOD);
    let told: Vec<(String, String)> = answers.iter().map(|c| (c.response_id.clone().unwrap_or_default(), c.body.to_string())).collect();
    assert_eq!(told.len(), 2, "one answer per attempt, however often delivered: {told:#?}");
    let rollback_answer = &told.iter().find(|(id, _)| id == "refused-rollback").expect("the rollback is answered").1;
    assert!(
        rollback_answer.contains("ephemeral") && rollback_answer.contains("Only <@U0DANAOPS1> may take rollbacks of `odoo-web`"),
        "{rollback_answer}"
    );
    let approve_answer = &told.iter().find(|(id, _)| id == "refused-approve").expect("the approval is answered").1;
    assert!(approve_answer.contains("members of <!subteam^S0DEPLOYERS>"), "{approve_answer}");

    assert_eq!(stack.slack.message("C0DEPLOY", &ts).unwrap(), before, "the alert is not updated");
    assert!(stack.drain(&stack.names.queue("infra-reconciler"), 0).await.is_empty(), "no deploy was asked for");

    let log = stack.store().audit_log(None).await.expect("the audit log reads");
    assert_eq!(log.len(), 2, "{log:#?}");
    for entry in &log {
        assert_eq!((entry.user_id.as_str(), entry.outcome.as_str(), entry.service.as_str()), ("U0STRANGER", "refused", "odoo-web"));
        assert!(entry.reason.as_deref().is_some_and(|r| r.starts_with("Only ")), "{entry:?}");
        assert_eq!(entry.alert_id.as_deref(), Some(alert_id));
    }
    let mut actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    actions.sort();
    assert_eq!(actions, ["approve", "rollback"]);
}

#[tokio::test]
async fn posts_to_one_channel_are_paced() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier_paced(Duration::from_millis(400));
    // Three alerts for the default channel, one for another channel, all in one batch.
    let mut alerts = Vec::new();
    for n in 0..3 {
        let mut env = example("ops.alert", "ci-passed");
        let Event::OpsAlertV1(ref mut a) = env.detail else { unreachable!() };
        a.alert_id = format!("paced-{n}");
        env.dedup_key = format!("ops.alert:paced-{n}");
        alerts.push(env);
    }
    alerts.push(example("ops.alert", "deploy-failed"));
    stack.publish(&alerts).await;
    let stats = stack.run(&notifier, 4, Duration::from_secs(30)).await;
    assert_eq!(stats.done, 4, "{stats:?}");
    let mut at: Vec<_> =
        stack.slack.calls_to("chat.postMessage").into_iter().filter(|c| c.channel.as_deref() == Some("C0DEFAULT")).map(|c| c.at).collect();
    at.sort();
    assert_eq!(at.len(), 3);
    // The notifier spaces the posts it sends 400 ms apart; the fake sees them arrive with each
    // request's own transport delay added, which on a loaded machine shifts one arrival by tens
    // of milliseconds. Unpaced, they would arrive a few milliseconds apart.
    for pair in at.windows(2) {
        let gap = pair[1].duration_since(pair[0]).unwrap();
        assert!(gap >= Duration::from_millis(300), "posts {gap:?} apart");
    }
    let span = at[2].duration_since(at[0]).unwrap();
    assert!(span >= Duration::from_millis(750), "three posts within {span:?}");
    assert_eq!(stack.slack.messages_in("C0DEPLOY").len(), 1);
}
