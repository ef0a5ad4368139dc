use super::*;
use pulse_contracts::{AlertKind, Preferences, Severity};

use crate::plan::Posted;

fn config() -> Config {
    Config::parse(
        r#"{"default_channel": "CDEF", "deploy_channel": "CDEPLOY", "alert_routes": [{"min_severity": "warning", "channel": "CALERTS"}]}"#,
        "t",
    )
    .unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn alert() -> OpsAlert {
    OpsAlert {
        alert_id: "a1".into(),
        kind: AlertKind::DeployFailed,
        service: "odoo-web".into(),
        severity: Severity::Warning,
        title: "Deploy failed".into(),
        text: None,
        environment: None,
        links: vec![],
        metadata: Default::default(),
        deploy_id: None,
        version: None,
    }
}

fn click(action: OpsAction) -> ClickRequest {
    ClickRequest {
        action,
        alert_id: "a1".into(),
        channel: "CALERTS".into(),
        message_ts: "1.2".into(),
        actor: Actor { user_id: "U1".into(), user_name: "dana".into() },
        response_url: Some("https://hooks.slack.com/actions/T/1/x".into()),
    }
}

fn posted_alert() -> ClickState {
    ClickState {
        alert: Some(AlertContext { alert: alert(), occurred_at: at("2025-11-20T15:00:00Z") }),
        history: vec![],
        member_of: Default::default(),
    }
}

/// U1 may approve, roll back and deploy anything.
fn allow_u1() -> Policy {
    serde_json::from_str(r#"{"deploy": [{"users": ["U1"]}], "approve": [{"users": ["U1"]}], "rollback": [{"users": ["U1"]}]}"#).unwrap()
}

fn modal(user: &str) -> SlackInteraction {
    SlackInteraction {
        team_id: "T".into(),
        user_id: user.into(),
        user_name: "dana".into(),
        kind: InteractionKind::ViewSubmission {
            callback_id: "deploy_confirm".into(),
            view_id: "V".into(),
            private_metadata: String::new(),
            values: Default::default(),
        },
        response_url: None,
        trigger_id: None,
    }
}

#[test]
fn an_alert_is_recorded_on_the_board_then_posted_with_its_context() {
    let plan = ops_alert(&config(), alert(), at("2025-11-20T15:00:00Z"));
    let [Effect::RecordStatus(entry), Effect::Post(post)] = plan.chains[0].effects.as_slice() else { panic!("{plan:?}") };
    assert_eq!(entry.service, "odoo-web");
    assert_eq!((post.key.as_str(), &post.to), ("alert:a1", &To::Channel("CALERTS".into())));
    let context: AlertContext = serde_json::from_value(post.context.clone().unwrap()).unwrap();
    assert_eq!(context.alert.alert_id, "a1");
}

#[test]
fn approve_audits_rerenders_adopts_the_thread_and_asks_for_the_deploy() {
    let fresh = Uuid::from_u128(7);
    let plan = ops_click(&allow_u1(), click(OpsAction::Approve), "i-1", at("2025-11-20T15:05:00Z"), posted_alert(), fresh).unwrap();
    let effects = &plan.chains[0].effects;
    let [Effect::Audit(audit), Effect::Update { channel, ts, content }, Effect::Adopt { key, .. }, Effect::Publish { event, dedup_key }] =
        effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!((audit.deploy_id, channel.as_str(), ts.as_str()), (Some(fresh), "CALERTS", "1.2"));
    assert!(content.blocks_json().to_string().contains("Approved by <@U1>"), "the click shows on the alert");
    assert_eq!(key, &format!("deploy:{fresh}:root"));
    let Event::DeployRequestedV1(request) = event.as_ref() else { panic!("{event:?}") };
    assert_eq!((request.deploy_id, request.action, request.service.as_str()), (fresh, DeployAction::Deploy, "odoo-web"));
    assert_eq!(dedup_key, "deploy.requested:i-1");
}

#[test]
fn a_retried_click_keeps_the_first_attempts_deploy_id_and_shows_once() {
    let first = Uuid::from_u128(1);
    let mut state = posted_alert();
    let record =
        ActionRecord { action: OpsAction::Rollback, user_id: "U1".into(), user_name: "dana".into(), at: at("2025-11-20T15:05:00Z") };
    state.history.push(AuditedClick { record, dedup_key: "i-1".into(), deploy_id: Some(first) });
    let plan = ops_click(&allow_u1(), click(OpsAction::Rollback), "i-1", at("2025-11-20T15:05:00Z"), state, Uuid::from_u128(2)).unwrap();
    let Some(Effect::Publish { event, .. }) = plan.effects().last() else { panic!() };
    let Event::DeployRequestedV1(request) = event.as_ref() else { panic!() };
    assert_eq!(request.deploy_id, first);
    let Some(Effect::Update { content, .. }) = plan.effects().nth(1) else { panic!() };
    assert_eq!(content.blocks_json().to_string().matches("Rollback requested by").count(), 1);
}

#[test]
fn acknowledging_asks_for_no_deploy_and_an_unknown_alert_is_refused() {
    let plan =
        ops_click(&allow_u1(), click(OpsAction::Acknowledge), "i-1", at("2025-11-20T15:05:00Z"), posted_alert(), Uuid::nil()).unwrap();
    assert_eq!(plan.effects().count(), 2);
    assert!(plan.effects().all(|e| !matches!(e, Effect::Publish { .. } | Effect::Adopt { .. })));
    let err = ops_click(&allow_u1(), click(OpsAction::Approve), "i-1", at("2025-11-20T15:05:00Z"), ClickState::default(), Uuid::nil())
        .unwrap_err();
    assert!(err.contains("no posted alert a1"), "{err}");
}

#[test]
fn a_confirmed_deploy_reuses_the_remembered_id_and_is_audited() {
    let deploy = ConfirmedDeploy { service: "notifier".into(), channel_id: None, only: vec![] };
    let remembered = Uuid::from_u128(5);
    let plan = confirmed_deploy(
        &allow_u1(),
        &modal("U1"),
        "v-1",
        at("2025-11-20T15:05:00Z"),
        deploy,
        &BTreeSet::new(),
        DeployId { remembered: Some(remembered), fresh: Uuid::from_u128(6) },
    );
    let [Effect::RememberDeploy { marker, deploy_id }, Effect::Audit(audit), Effect::Publish { .. }] = plan.chains[0].effects.as_slice()
    else {
        panic!("{plan:?}")
    };
    assert_eq!((marker.as_str(), *deploy_id), ("deployreq#v-1", remembered));
    assert_eq!((audit.act, audit.refused.as_deref(), audit.deploy_id), (Act::Deploy, None, Some(remembered)));
}

#[test]
fn a_refused_click_is_audited_answered_only_to_the_clicker_and_changes_nothing() {
    for action in [OpsAction::Approve, OpsAction::Rollback] {
        let plan = ops_click(&Policy::default(), click(action), "i-1", at("2025-11-20T15:05:00Z"), posted_alert(), Uuid::nil()).unwrap();
        let [Effect::Audit(audit), Effect::Respond { marker, body, .. }] = plan.chains[0].effects.as_slice() else { panic!("{plan:?}") };
        let reason = audit.refused.as_deref().expect("audited as refused");
        assert!(reason.contains("No policy allows"), "{reason}");
        assert_eq!(marker, "refused#i-1");
        let shown = body.to_json().to_string();
        assert!(shown.contains("ephemeral") && shown.contains("No policy allows"), "{shown}");
        assert!(plan.effects().all(|e| !matches!(e, Effect::Publish { .. } | Effect::Update { .. } | Effect::Adopt { .. })), "{plan:?}");
    }
}

#[test]
fn a_group_member_is_allowed_and_the_author_may_not_approve_their_own_change() {
    let policy: Policy = serde_json::from_str(r#"{"approve": [{"groups": ["S0LEADS"], "not_author": true}]}"#).unwrap();
    let mut state = posted_alert();
    state.member_of.insert("S0LEADS".into());
    let plan = ops_click(&policy, click(OpsAction::Approve), "i-1", at("2025-11-20T15:05:00Z"), state.clone(), Uuid::from_u128(3)).unwrap();
    assert!(plan.effects().any(|e| matches!(e, Effect::Publish { .. })), "a lead approves: {plan:?}");

    state.alert.as_mut().unwrap().alert.metadata.insert("author".into(), "U1".into());
    let plan = ops_click(&policy, click(OpsAction::Approve), "i-2", at("2025-11-20T15:05:00Z"), state, Uuid::from_u128(4)).unwrap();
    let Some(Effect::Audit(audit)) = plan.effects().next() else { panic!("{plan:?}") };
    assert!(audit.refused.as_deref().is_some_and(|r| r.contains("author")), "{audit:?}");
}

#[test]
fn a_refused_modal_deploy_is_told_in_its_channel_and_publishes_nothing() {
    let deploy = ConfirmedDeploy { service: "billing".into(), channel_id: Some("C0OPS".into()), only: vec![] };
    let plan = confirmed_deploy(
        &allow_u1(),
        &modal("U2"),
        "v-2",
        at("2025-11-20T15:05:00Z"),
        deploy,
        &BTreeSet::new(),
        DeployId { remembered: None, fresh: Uuid::from_u128(6) },
    );
    let [Effect::Audit(audit), Effect::Ephemeral { channel, user, text, .. }] = plan.chains[0].effects.as_slice() else {
        panic!("{plan:?}")
    };
    assert_eq!((channel.as_str(), user.as_str()), ("C0OPS", "U2"));
    assert!(text.contains("Only <@U1> may take deploys of `billing`"), "{text}");
    assert_eq!(audit.refused.as_deref(), Some("Only <@U1> may take deploys of `billing`."));
}

#[test]
fn a_completion_replies_in_the_thread_of_its_start() {
    let mut job = CiJob::started("nightly", "r1", at("2025-11-20T02:00:00Z"));
    assert_eq!(super::job(&config(), &job).posts().count(), 1);
    job.phase = pulse_contracts::JobPhase::Completed(pulse_contracts::JobCompletion {
        finished_at: at("2025-11-20T02:01:00Z"),
        duration_ms: 60_000,
        exit_code: Some(0),
        status: pulse_contracts::JobStatus::Success,
        stats: Default::default(),
        error: None,
    });
    let plan = super::job(&config(), &job);
    let posts: Vec<&Post> = plan.posts().collect();
    assert_eq!(posts.len(), 2, "{plan:?}");
    assert_eq!(posts[1].thread.as_deref(), Some("job:r1:started"));
    assert_eq!(posts[1].key, "job:r1:completed");
}

fn subscriber(user: &str, email: &str, subscribed: bool) -> Subscriber {
    Subscriber {
        email: email.into(),
        primary_email: email.into(),
        follows: vec![email.into()],
        team_id: "T".into(),
        slack_user_id: user.into(),
        subscribed,
        preferences: Preferences::default(),
        revision: 1,
        deleted_at: (!subscribed).then(|| at("2025-10-01T00:00:00Z")),
    }
}

#[test]
fn a_dm_covering_two_kinds_records_the_second_as_the_same_message() {
    let dm = dm::Dm {
        key: "dm:U1:failure:k".into(),
        covers: vec![DmKind::Failure, DmKind::Complete],
        also_record: vec!["dm:U1:complete:k".into()],
        message: Message::new("t", []),
    };
    let plan = dms(&[("U1".into(), DmDecision::Send(dm)), ("U2".into(), DmDecision::NotWanted)]);
    assert_eq!(plan.chains.len(), 1, "nothing for a subscriber who wants nothing");
    let [Effect::Post(post), Effect::RecordCovered { keys, covered_by, covering, .. }] = plan.chains[0].effects.as_slice() else {
        panic!("{plan:?}")
    };
    assert_eq!(post.to, To::Dm("U1".into()));
    assert_eq!(
        (keys.as_slice(), covered_by.as_str(), covering),
        (["dm:U1:complete:k".to_owned()].as_slice(), "dm:U1:failure:k", &Covering::ThisChain)
    );

    let owed = DmDecision::Record {
        keys: vec!["k2".into()],
        posted: Some(Posted { channel: "D1".into(), ts: "9.9".into() }),
        covered_by: "k1".into(),
        covers: vec![DmKind::Failure],
    };
    let plan = dms(&[("U1".into(), owed)]);
    assert!(matches!(plan.effects().next(), Some(Effect::RecordCovered { covering: Covering::Known(Some(_)), .. })), "{plan:?}");
    assert_eq!(plan.posts().count(), 0);
}

#[test]
fn a_daily_tick_purges_past_retention_and_digests_each_recipient() {
    let mut config = config();
    config.digest_channels.push(crate::config::DigestChannel {
        channel: "CCI".into(),
        period: DigestPeriod::Daily,
        emails: vec!["a@x.io".into()],
    });
    let mut wants = subscriber("U1", "a@x.io", true);
    wants.preferences.digest = Some(pulse_contracts::DigestSchedule::Daily);
    let gone = subscriber("U2", "b@x.io", false);
    let tick = DigestTick { period: DigestPeriod::Daily, scheduled_for: at("2025-11-20T08:00:00Z") };
    let subscribers = [wants.clone(), gone];
    assert_eq!(digest_emails(&config, DigestPeriod::Daily, &subscribers), ["a@x.io"]);
    let feeds = BTreeMap::from([("a@x.io".to_owned(), Vec::new())]);
    let plan = digest(&config, &tick, at("2025-11-20T08:00:05Z"), chrono::Duration::days(30), &subscribers, Some(&feeds));
    let labels: Vec<&str> = plan.chains.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["purge T/U2", "digest to U1", "digest to CCI"]);
    let keys: Vec<&str> = plan.posts().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["digest:daily:2025-11-20T08:00:00+00:00:U1", "digest:daily:2025-11-20T08:00:00+00:00:CCI"]);

    // Without feeds, only the purge; a weekly tick purges nothing.
    assert_eq!(digest(&config, &tick, at("2025-11-20T08:00:05Z"), chrono::Duration::days(30), &subscribers, None).chains.len(), 1);
    let weekly = DigestTick { period: DigestPeriod::Weekly, ..tick };
    assert!(digest(&config, &weekly, at("2025-11-20T08:00:05Z"), chrono::Duration::days(30), &subscribers, Some(&feeds)).is_empty());
}

#[test]
fn a_subscriber_with_a_linked_account_gets_one_digest_covering_both_feeds() {
    const NOREPLY: &str = "7+ada@users.noreply.github.com";
    let mut own = subscriber("U1", "a@x.io", true);
    own.preferences.digest = Some(pulse_contracts::DigestSchedule::Daily);
    own.follows = vec!["a@x.io".into(), NOREPLY.into()];
    // The row under the account's address: same subscription.
    let account_row = Subscriber { email: NOREPLY.into(), ..own.clone() };
    let subscribers = [own, account_row];
    let tick = DigestTick { period: DigestPeriod::Daily, scheduled_for: at("2025-11-20T08:00:00Z") };
    assert_eq!(digest_emails(&config(), DigestPeriod::Daily, &subscribers), [NOREPLY, "a@x.io"]);

    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../contracts/examples/feed.updated.v1/new-failure.json")).unwrap();
    let Event::FeedUpdatedV1(example) = pulse_contracts::parse_str(&text).unwrap().detail else { unreachable!() };
    let run = |pr: u64| {
        let mut e = example.newest_event.clone();
        e.timestamp = at("2025-11-20T07:00:00Z").timestamp();
        e.ext.pr_number = pr;
        e
    };
    let feeds = BTreeMap::from([("a@x.io".to_owned(), vec![run(1)]), (NOREPLY.to_owned(), vec![run(2)])]);
    let plan = digest(&config(), &tick, at("2025-11-20T08:00:05Z"), chrono::Duration::days(30), &subscribers, Some(&feeds));
    let posts: Vec<&Post> = plan.posts().collect();
    assert_eq!(posts.len(), 1, "one digest per subscriber, not per feed row: {plan:?}");
    let text = format!("{:?}", posts[0].content);
    assert!(text.contains("2 runs"), "both feeds are summed: {text}");
}
