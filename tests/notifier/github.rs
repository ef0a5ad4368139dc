//! A channel's GitHub repositories: `/pulser subscribe | unsubscribe | subscriptions`
//! (`slack.command` v2) stored by the notifier and answered ephemerally, once per command.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pulse_contracts::{CommandAction, Envelope, Event, RepoFilter, SlackCommandV2};

use crate::harness::{Stack, again, example_v};

const CHANNEL: &str = "C0CIWIDGETS";

/// A `/pulser` repository command in `CHANNEL`, typed at `at`, answered on `response_id`.
fn command(stack: &Stack, action: CommandAction, response_id: &str, at: &str) -> Envelope<Event> {
    let mut env = example_v("slack.command", 2, "subscriptions");
    env.dedup_key = format!("slack.command:{response_id}");
    env.occurred_at = at.parse::<DateTime<Utc>>().unwrap();
    let Event::SlackCommandV2(SlackCommandV2(ref mut c)) = env.detail else { unreachable!() };
    c.response_url = stack.slack.response_url(response_id);
    c.channel_id = CHANNEL.to_owned();
    c.action = action;
    env
}

fn filter(repository: &str, branch: Option<&str>, failures: bool) -> RepoFilter {
    RepoFilter { repository: repository.into(), workflow: Some("CI".into()), branch: branch.map(str::to_owned), event: None, failures }
}

#[tokio::test]
async fn subscriptions_are_stored_listed_and_answered_once() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    let widgets =
        command(&stack, CommandAction::SubscribeRepo(filter("octo-org/widgets", Some("release/*"), true)), "sub-1", "2026-01-01T10:00:00Z");
    let gadgets = command(&stack, CommandAction::SubscribeRepo(filter("Octo-Org/Gadgets", None, false)), "sub-2", "2026-01-01T10:00:01Z");
    stack.publish(&[widgets.clone(), again(&widgets), gadgets]).await;
    let stats = stack.run(&notifier, 3, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (3, 0), "{stats:?}");
    let answers = stack.slack.responses("sub-1");
    assert_eq!(answers.len(), 1, "answered once: {answers:#?}");
    assert_eq!(answers[0]["response_type"], "ephemeral");
    assert!(
        answers[0].to_string().contains("now follows `octo-org/widgets` · workflow `CI` · branch `release/*` · failures only"),
        "{}",
        answers[0]
    );

    // What the table holds, by channel and by repository (any case).
    let store = stack.store();
    let mut mine = store.channel_repo_subscriptions(CHANNEL).await.unwrap();
    mine.sort_by(|a, b| a.repository.cmp(&b.repository));
    assert_eq!(mine, vec![filter("Octo-Org/Gadgets", None, false), filter("octo-org/widgets", Some("release/*"), true)]);
    let followers = store.repo_subscriptions("OCTO-ORG/widgets").await.unwrap();
    assert_eq!(followers, vec![(CHANNEL.to_owned(), filter("octo-org/widgets", Some("release/*"), true))]);

    let list = command(&stack, CommandAction::Subscriptions, "list-1", "2026-01-01T10:01:00Z");
    stack.publish(&[list]).await;
    stack.run(&notifier, 1, Duration::from_secs(20)).await;
    let shown = stack.slack.responses("list-1")[0].to_string();
    assert!(
        shown.contains("`Octo-Org/Gadgets` · workflow `CI`") && shown.contains("`octo-org/widgets` · workflow `CI` · branch `release/*`"),
        "{shown}"
    );
}

#[tokio::test]
async fn the_newest_command_wins_whatever_the_order_of_delivery() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    let subscribe = command(&stack, CommandAction::SubscribeRepo(filter("o/r", None, false)), "sub-old", "2026-01-01T10:00:00Z");
    let unsubscribe = command(&stack, CommandAction::UnsubscribeRepo { repository: "O/R".into() }, "unsub-new", "2026-01-01T10:05:00Z");
    // The unsubscribe is handled first, the older subscribe after it: it must not come back.
    stack.publish(&[unsubscribe]).await;
    stack.run(&notifier, 1, Duration::from_secs(20)).await;
    stack.publish(&[subscribe]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    assert_eq!(stack.store().channel_repo_subscriptions(CHANNEL).await.unwrap(), vec![]);
    assert!(stack.store().repo_subscriptions("o/r").await.unwrap().is_empty());
    assert!(stack.slack.responses("unsub-new")[0].to_string().contains("does not follow `O/R`"));
}

// ---- one message per run, updated in place ----

const ALL: &str = "C0GHALL";
const FAILURES: &str = "C0GHFAIL";
const MAIN: &str = "C0GHMAIN";

/// Three channels follow octo-org/widgets: everything, failures only, and `main` only.
async fn subscribe_three(stack: &Stack, notifier: &pulse_notifier::handler::Notifier) {
    let mut commands = Vec::new();
    for (i, (channel, branch, failures)) in
        [(ALL, None, false), (FAILURES, None, true), (MAIN, Some("main"), false)].into_iter().enumerate()
    {
        let f =
            RepoFilter { repository: "octo-org/widgets".into(), workflow: None, branch: branch.map(str::to_owned), event: None, failures };
        let mut env = command(stack, CommandAction::SubscribeRepo(f), &format!("three-{i}"), "2026-03-01T00:00:00Z");
        let Event::SlackCommandV2(SlackCommandV2(ref mut c)) = env.detail else { unreachable!() };
        c.channel_id = channel.to_owned();
        commands.push(env);
    }
    stack.publish(&commands).await;
    let stats = stack.run(notifier, 3, Duration::from_secs(20)).await;
    assert_eq!(stats.done, 3, "{stats:?}");
}

fn github(event_type: &str, name: &str) -> Envelope<Event> {
    example_v(event_type, 1, name)
}

/// The failed PR run (attempt 1) as it was while running, before its failure was reported.
fn pr_run_in_progress() -> Envelope<Event> {
    let mut env = github("github.workflow_run", "pr-completed-failure");
    env.dedup_key = "github.workflow_run:pr-in-progress".into();
    let Event::GithubWorkflowRunV1(ref mut ev) = env.detail else { unreachable!() };
    ev.delivery_id = "pr-in-progress".into();
    ev.action = pulse_contracts::RunAction::InProgress;
    ev.run.state = pulse_contracts::GithubState::Active(pulse_contracts::ActiveStatus::InProgress);
    ev.run.updated_at = "2026-03-04T10:48:00Z".parse().unwrap();
    env
}

async fn settle(stack: &Stack, notifier: &pulse_notifier::handler::Notifier, events: &[Envelope<Event>]) {
    stack.publish(events).await;
    let stats = stack.run(notifier, events.len(), Duration::from_secs(30)).await;
    assert_eq!((stats.done, stats.dead_lettered), (events.len(), 0), "{stats:?}");
}

#[tokio::test]
async fn a_run_is_posted_once_per_channel_and_updated_in_place_whatever_the_order() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    subscribe_three(&stack, &notifier).await;

    // The failed job arrives before its run, then a stale "queued" report of the same job.
    settle(&stack, &notifier, &[github("github.workflow_job", "completed-failure-failed-step")]).await;
    settle(&stack, &notifier, &[github("github.workflow_job", "queued")]).await;
    assert!(stack.slack.calls_to("chat.postMessage").is_empty(), "nothing before the run is known");

    // The run starts: posted in the everything channel and (it already fails) the failures one;
    // not in the main-only channel (the PR's branch is parser-rewrite).
    settle(&stack, &notifier, &[pr_run_in_progress()]).await;
    settle(&stack, &notifier, &[github("github.workflow_job", "in-progress")]).await;
    settle(&stack, &notifier, &[github("github.workflow_run", "pr-completed-failure")]).await;

    for channel in [ALL, FAILURES] {
        let messages = stack.slack.messages_in(channel);
        assert_eq!(messages.len(), 1, "one message in {channel}: {messages:#?}");
        let shown = messages[0].to_string();
        assert!(shown.contains("CI #1437") && shown.contains("failed"), "{shown}");
        assert!(shown.contains("test (ubuntu-latest, 20)") && shown.contains("failed at `Run npm test`"), "{shown}");
        assert!(shown.contains("https://github.com/octo-org/widgets/actions/runs/13850117734/job/38812440913"), "{shown}");
        assert!(shown.contains("1 not finished"), "lint is still running: {shown}");
    }
    assert!(stack.slack.messages_in(MAIN).is_empty());
    let posts = stack.slack.calls_to("chat.postMessage");
    assert_eq!(posts.len(), 2, "{posts:#?}");
    let updates = stack.slack.calls_to("chat.update");
    assert!(updates.len() >= 4, "each later delivery updated both messages: {updates:#?}");

    // What the table holds: the run's jobs at their most advanced state.
    let (state, version) =
        stack.store().run_state(&pulse_notifier::github::runs::RunRef::new("octo-org/widgets", 13850117734)).await.unwrap().unwrap();
    assert_eq!(version, 4, "four deliveries changed it; the stale one did not");
    let test_job = &state.jobs[&38812440913];
    assert_eq!(test_job.failed_steps, ["Run npm test"]);
    assert_eq!(state.jobs.len(), 2);

    // The re-run passes: threaded under the first message where it is shown, never in the
    // failures channel.
    settle(&stack, &notifier, &[github("github.workflow_run", "rerun-attempt-2-completed-success")]).await;
    settle(&stack, &notifier, &[github("github.workflow_job", "rerun-completed-success")]).await;
    let root = &stack.slack.messages_in(ALL)[0];
    let thread = stack.slack.thread(ALL, root["ts"].as_str().unwrap());
    let replies: Vec<&serde_json::Value> = thread.iter().filter(|m| m["ts"] != root["ts"]).collect();
    assert_eq!(replies.len(), 1, "{thread:#?}");
    let reply = replies[0].to_string();
    assert!(reply.contains("passed") && reply.contains("(attempt 2)") && reply.contains("1 passed"), "{reply}");
    assert_eq!(stack.slack.messages_in(FAILURES).len(), 1, "the passing re-run is not posted in the failures channel");
}

#[tokio::test]
async fn a_passing_run_is_never_posted_in_a_failures_channel() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    subscribe_three(&stack, &notifier).await;
    let run = github("github.workflow_run", "push-main-completed-success");
    settle(&stack, &notifier, &[run.clone(), again(&run)]).await;
    assert!(stack.slack.messages_in(FAILURES).is_empty());
    for channel in [ALL, MAIN] {
        let messages = stack.slack.messages_in(channel);
        assert_eq!(messages.len(), 1, "{channel}: {messages:#?}");
        assert!(messages[0].to_string().contains("passed"));
    }
}

// ---- red / green transitions ----

/// The push run on `main`, renumbered: run `number` concluded `conclusion` at minute `minute`.
fn main_run(number: u64, conclusion: pulse_contracts::GithubConclusion, minute: u32) -> Envelope<Event> {
    let mut env = github("github.workflow_run", "push-main-completed-success");
    env.dedup_key = format!("github.workflow_run:main-{number}");
    let Event::GithubWorkflowRunV1(ref mut ev) = env.detail else { unreachable!() };
    ev.delivery_id = format!("main-{number}");
    ev.run.id = 9_000 + number;
    ev.run.run_number = number;
    ev.run.state = pulse_contracts::GithubState::Completed(conclusion);
    ev.run.updated_at = format!("2026-03-05T10:{minute:02}:00Z").parse().unwrap();
    ev.run.html_url = format!("https://github.com/octo-org/widgets/actions/runs/{}", 9_000 + number);
    env
}

fn said(stack: &Stack, channel: &str, needle: &str) -> Vec<String> {
    stack.slack.messages_in(channel).iter().map(|m| m.to_string()).filter(|m| m.contains(needle)).collect()
}

#[tokio::test]
async fn main_turns_red_once_and_green_once_and_a_late_older_run_changes_nothing() {
    use pulse_contracts::GithubConclusion::{Failure, Success};
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    subscribe_three(&stack, &notifier).await;
    settle(&stack, &notifier, &[main_run(10, Success, 0)]).await;
    let red = main_run(11, Failure, 5);
    settle(&stack, &notifier, &[red.clone(), again(&red)]).await;
    settle(&stack, &notifier, &[main_run(12, Failure, 20)]).await;
    for channel in [ALL, FAILURES, MAIN] {
        let reds = said(&stack, channel, "is red");
        assert_eq!(reds.len(), 1, "red once in {channel}: {reds:#?}");
        assert!(reds[0].contains("`main` of `octo-org/widgets` is red") && reds[0].contains("CI #11"), "{}", reds[0]);
    }
    // Run 13 passes; then run 12's re-report (older) fails late: no flip back.
    settle(&stack, &notifier, &[main_run(13, Success, 50)]).await;
    let mut late = main_run(12, Failure, 55);
    late.dedup_key = "github.workflow_run:main-12-late".into();
    settle(&stack, &notifier, &[late]).await;
    for channel in [ALL, FAILURES, MAIN] {
        let greens = said(&stack, channel, "green again");
        assert_eq!(greens.len(), 1, "green once in {channel}: {greens:#?}");
        assert!(greens[0].contains("after 45m 00s") && greens[0].contains("CI #11"), "{}", greens[0]);
        assert_eq!(said(&stack, channel, "is red").len(), 1, "the late older run did not turn it red again");
    }
}

// ---- the "Re-run failed jobs" button ----

/// A click on the re-run button of the message `ts` in `channel`, by `user`, answered on
/// `response_id`.
fn rerun_click(stack: &Stack, value: &str, channel: &str, ts: &str, user: &str, response_id: &str) -> Envelope<Event> {
    let mut env = crate::harness::example("slack.interaction", "approve-button");
    env.dedup_key = format!("slack.interaction:{response_id}");
    let Event::SlackInteractionV1(ref mut i) = env.detail else { unreachable!() };
    i.user_id = user.to_owned();
    i.response_url = Some(stack.slack.response_url(response_id));
    i.kind = pulse_contracts::InteractionKind::BlockActions {
        action_id: pulse_notifier::github::rerun::ACTION_ID.into(),
        value: Some(value.into()),
        block_id: None,
        container: pulse_contracts::Container::Message { channel_id: channel.into(), message_ts: ts.into() },
    };
    env
}

#[tokio::test]
async fn the_rerun_button_asks_github_once_for_allowed_clicks_and_refuses_and_audits_the_rest() {
    use pulse_fake_github::{FakeGithub, TEST_APP_ID, TEST_APP_PRIVATE_KEY};
    use pulse_github::{Credentials, GithubClient, GithubConfig};
    let stack = Stack::deploy().await;
    let fake = FakeGithub::start().await;
    fake.install("repos/octo-org/widgets", 77);
    let app = Credentials::App { app_id: TEST_APP_ID, private_key: TEST_APP_PRIVATE_KEY.into() };
    let client = GithubClient::new(GithubConfig { base_url: fake.base_url(), ..GithubConfig::new(app) }, pulse_core::Clock::system());
    let notifier = stack.notifier().with_github(pulse_github::LazyClient::fixed(Some(client)));
    subscribe_three(&stack, &notifier).await;

    // A running run has no button; the failed run's message has one, naming run and attempt.
    settle(&stack, &notifier, &[pr_run_in_progress()]).await;
    assert!(!stack.slack.messages_in(ALL)[0].to_string().contains("github_rerun_failed_jobs"));
    settle(&stack, &notifier, &[github("github.workflow_run", "pr-completed-failure")]).await;
    let message = &stack.slack.messages_in(ALL)[0];
    let value = "octo-org/widgets#13850117734#1";
    assert!(message.to_string().contains(&format!(r#""value":"{value}""#)), "{message}");
    let ts = message["ts"].as_str().unwrap();

    // Someone the policy does not name: refused, told who may, audited; GitHub never called.
    settle(&stack, &notifier, &[rerun_click(&stack, value, ALL, ts, "U0EVE", "eve-1")]).await;
    let refusal = stack.slack.responses("eve-1");
    assert_eq!(refusal.len(), 1);
    assert!(refusal[0].to_string().contains("members of <!subteam^S0DEPLOYERS>"), "{}", refusal[0]);
    assert!(fake.reruns().is_empty());

    // A member clicks twice (two clicks, one delivered twice): one call to GitHub.
    let first = rerun_click(&stack, value, ALL, ts, crate::harness::DEPLOYER, "dana-1");
    let second = rerun_click(&stack, value, ALL, ts, crate::harness::DEPLOYER, "dana-2");
    settle(&stack, &notifier, &[first.clone(), again(&first)]).await;
    settle(&stack, &notifier, &[second]).await;
    let reruns = fake.wait_for_reruns(2, Duration::from_millis(500)).await;
    assert_eq!(reruns.len(), 1, "{reruns:#?}");
    assert_eq!(
        (reruns[0].repo.as_str(), reruns[0].run_id, reruns[0].credential.as_str()),
        ("octo-org/widgets", 13850117734, "installation:77")
    );
    assert!(stack.slack.responses("dana-1")[0].to_string().contains("Re-running the failed jobs of run 13850117734"));
    let later = stack.slack.responses("dana-2")[0].to_string();
    assert!(later.contains(&format!("<@{}> already asked", crate::harness::DEPLOYER)), "{later}");

    // Every click is in the audit log, with its outcome.
    let audit = aws_sdk_dynamodb::Client::new(&stack.config)
        .query()
        .table_name(stack.names.table("notifier", "audit"))
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("github#{value}")))
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    let outcomes: Vec<(&str, &str)> =
        audit.iter().map(|i| (i["user_id"].as_s().unwrap().as_str(), i["outcome"].as_s().unwrap().as_str())).collect();
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    assert!(outcomes.contains(&("U0EVE", "refused")));
    assert_eq!(outcomes.iter().filter(|o| **o == (crate::harness::DEPLOYER, "allowed")).count(), 2);
}

#[tokio::test]
async fn a_rerun_github_refuses_is_told_and_a_later_click_may_try_again() {
    use pulse_aws::secrets::Secrets;
    use pulse_fake_github::{FakeGithub, FaultRule};
    let stack = Stack::deploy().await;
    let fake = FakeGithub::start().await;
    fake.accept_token("github_pat_local");
    // The token is in SSM, looked up by the first click (not when the notifier starts).
    let ssm = aws_sdk_ssm::Client::new(&stack.config);
    let parameter = format!("/{}/github/token", stack.names.prefix());
    let api = fake.base_url();
    let settings = pulse_core::Settings::from_pairs([
        ("PULSE_GITHUB_TOKEN_PARAM", parameter.as_str()),
        ("PULSE_GITHUB_APP_PRIVATE_KEY_PARAM", "/pulse-tests/no-such-app-key"),
        ("GITHUB_API_URL", api.as_str()),
    ]);
    let lazy = pulse_github::LazyClient::from_settings(settings, Secrets::new(ssm.clone()), pulse_core::Clock::system());
    let notifier = stack.notifier().with_github(lazy);
    ssm.put_parameter()
        .name(&parameter)
        .value("github_pat_local")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    subscribe_three(&stack, &notifier).await;
    settle(&stack, &notifier, &[github("github.workflow_run", "pr-completed-failure")]).await;
    let ts = stack.slack.messages_in(ALL)[0]["ts"].as_str().unwrap().to_owned();
    let value = "octo-org/widgets#13850117734#1";

    fake.inject(FaultRule::status("rerun-failed-jobs", 403, 1));
    settle(&stack, &notifier, &[rerun_click(&stack, value, ALL, &ts, crate::harness::DEPLOYER, "try-1")]).await;
    let told = stack.slack.responses("try-1")[0].to_string();
    assert!(told.contains("GitHub did not re-run") && told.contains("403"), "{told}");
    assert!(!told.contains("github_pat_local"), "no token in what the user reads");
    settle(&stack, &notifier, &[rerun_click(&stack, value, ALL, &ts, crate::harness::DEPLOYER, "try-2")]).await;
    assert_eq!(fake.wait_for_reruns(1, Duration::from_secs(2)).await.len(), 1);
    assert!(stack.slack.responses("try-2")[0].to_string().contains("Re-running"));
}

/// `user` of the interaction examples' team subscribed with these GitHub logins linked.
fn linked(user: &str, revision: u64, logins: &[(u64, &str)]) -> Envelope<Event> {
    let mut env = crate::harness::example("subscription.changed", "subscribed");
    let Event::SubscriptionChangedV1(ref mut sub) = env.detail else { unreachable!() };
    sub.team_id = "T0OPSTEAM1".into();
    sub.slack_user_id = user.into();
    sub.revision = revision;
    sub.github = logins.iter().map(|(id, login)| pulse_contracts::GithubAccount { id: *id, login: (*login).into() }).collect();
    env.dedup_key = format!("subscription.changed:T0OPSTEAM1:{user}:{revision}");
    env
}

#[tokio::test]
async fn a_github_write_rule_asks_github_about_the_clicker_s_linked_logins() {
    use pulse_fake_github::{FakeGithub, Seed, SeedPermission};
    use pulse_github::{Credentials, GithubClient, GithubConfig};
    let stack = Stack::deploy().await;
    let fake = FakeGithub::start().await;
    fake.accept_token("github_pat_local");
    let permission = |login: &str, permission: &str| SeedPermission {
        repo: "octo-org/widgets".into(),
        login: login.into(),
        permission: permission.into(),
    };
    fake.seed(Seed { permissions: vec![permission("dana-reads", "read"), permission("dana-writes", "write")], ..Default::default() });
    let client = GithubClient::new(
        GithubConfig { base_url: fake.base_url(), ..GithubConfig::new(Credentials::Token("github_pat_local".into())) },
        pulse_core::Clock::system(),
    );
    let routing = crate::harness::ROUTING.replace(
        r#""rerun": [{"services": ["octo-org/widgets"], "groups": ["S0DEPLOYERS"]}]"#,
        r#""rerun": [{"services": ["octo-org/widgets"], "groups": ["S0DEPLOYERS"], "github_write": true}]"#,
    );
    let config = pulse_notifier::config::Config::parse(&routing, "test").expect("routing parses");
    let notifier = stack.notifier_with(config, Duration::from_millis(50)).with_github(pulse_github::LazyClient::fixed(Some(client)));
    subscribe_three(&stack, &notifier).await;
    settle(&stack, &notifier, &[github("github.workflow_run", "pr-completed-failure")]).await;
    let ts = stack.slack.messages_in(ALL)[0]["ts"].as_str().unwrap().to_owned();
    let value = "octo-org/widgets#13850117734#1";
    let dana = crate::harness::DEPLOYER;
    let told = |id: &str| stack.slack.responses(id)[0].to_string();

    // A member of the group with no linked account: told how to link one; GitHub not asked to re-run.
    settle(&stack, &notifier, &[rerun_click(&stack, value, ALL, &ts, dana, "none-1")]).await;
    assert!(told("none-1").contains("/praktika github add"), "{}", told("none-1"));

    // Linked to a login with read access only (and one GitHub does not know): refused, naming both.
    settle(&stack, &notifier, &[linked(dana, 1, &[(11, "dana-reads"), (12, "dana-unknown")])]).await;
    settle(&stack, &notifier, &[rerun_click(&stack, value, ALL, &ts, dana, "read-1")]).await;
    let refusal = told("read-1");
    assert!(refusal.contains("none of your linked GitHub accounts (`dana-reads`, `dana-unknown`) has it"), "{refusal}");
    assert!(fake.reruns().is_empty());

    // Someone outside the group is refused by the group, whatever they link: GitHub is not asked.
    let asked = fake.calls_to("/permission").len();
    assert_eq!(asked, 2, "one question per linked login");
    settle(&stack, &notifier, &[linked("U0EVE", 1, &[(13, "dana-writes")])]).await;
    settle(&stack, &notifier, &[rerun_click(&stack, value, ALL, &ts, "U0EVE", "eve-1")]).await;
    assert!(told("eve-1").contains("members of <!subteam^S0DEPLOYERS>"), "{}", told("eve-1"));
    assert_eq!(fake.calls_to("/permission").len(), asked);

    // Linked to a login that may write: GitHub re-runs, once.
    settle(&stack, &notifier, &[linked(dana, 2, &[(11, "dana-reads"), (14, "dana-writes")])]).await;
    settle(&stack, &notifier, &[rerun_click(&stack, value, ALL, &ts, dana, "write-1")]).await;
    assert_eq!(fake.wait_for_reruns(1, Duration::from_secs(2)).await.len(), 1);
    assert!(told("write-1").contains("Re-running"), "{}", told("write-1"));
}

// ---- two deliveries of one run handled at once ----

/// Handle `envelope` on `worker` until it is done, as SQS redelivers a message whose attempt
/// failed retryably (a lost version race, a message another attempt is still posting).
async fn until_done<H: pulse_runtime::MessageHandler>(worker: &pulse_runtime::Worker<H>, envelope: &Envelope<Event>) -> usize {
    for attempt in 1..=20 {
        match pulse_tests::process_envelope(worker, envelope).await {
            pulse_runtime::Disposition::Done => return attempt,
            pulse_runtime::Disposition::Retry { .. } | pulse_runtime::Disposition::Requeue { .. } => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => panic!("{}: {other:?}", envelope.dedup_key),
        }
    }
    panic!("{} never settled", envelope.dedup_key)
}

/// The failing job of run `main_run(number, ..)`, finished at minute `minute`.
fn main_job(number: u64, minute: u32) -> Envelope<Event> {
    let mut env = github("github.workflow_job", "completed-failure-failed-step");
    env.dedup_key = format!("github.workflow_job:main-{number}-job");
    let Event::GithubWorkflowJobV1(ref mut ev) = env.detail else { unreachable!() };
    ev.delivery_id = format!("main-{number}-job");
    ev.job.run_id = 9_000 + number;
    ev.job.head_branch = Some("main".into());
    ev.job.completed_at = Some(format!("2026-03-05T10:{minute:02}:00Z").parse().unwrap());
    env
}

#[tokio::test]
async fn two_notifiers_handling_one_runs_deliveries_at_once_post_one_message_per_channel_and_announce_once() {
    use pulse_contracts::GithubConclusion::{Failure, Success};
    use pulse_fake_slack::Fault;
    let stack = Stack::deploy().await;
    let setup = stack.notifier();
    subscribe_three(&stack, &setup).await;
    settle(&stack, &setup, &[main_run(20, Success, 0)]).await;
    let posts_before = stack.slack.calls_to("chat.postMessage").len();

    // Run 21 on main fails: its run (delivered twice, as GitHub redelivers) and its failing
    // job reach two notifier instances at once, while Slack answers slowly.
    let run = main_run(21, Failure, 5);
    let mut redelivered = again(&run);
    redelivered.dedup_key = "github.workflow_run:main-21-redelivered".into();
    let job = main_job(21, 4);
    stack.slack.inject("chat.postMessage", Fault::Delay(Duration::from_millis(1200)), 6);
    stack.slack.inject("chat.update", Fault::Delay(Duration::from_millis(400)), 6);
    let (one, two) = (stack.notifier(), stack.notifier());
    let (worker_one, worker_two) = (stack.worker(&one), stack.worker(&two));
    let barrier = tokio::sync::Barrier::new(3);
    let at_once = |worker, envelope| {
        let barrier = &barrier;
        async move {
            barrier.wait().await;
            // Boxed: three debug-build handler futures side by side overflow the test thread's stack.
            Box::pin(until_done(worker, envelope)).await
        }
    };
    let attempts = tokio::join!(at_once(&worker_one, &run), at_once(&worker_two, &job), at_once(&worker_two, &redelivered));
    eprintln!("attempts (run, job, redelivered run): {attempts:?}");

    let posts: Vec<_> = stack.slack.calls_to("chat.postMessage").into_iter().skip(posts_before).collect();
    for channel in [ALL, FAILURES, MAIN] {
        let run_posts: Vec<_> = posts.iter().filter(|p| p.body["channel"] == channel && p.body.to_string().contains("CI #21")).collect();
        // The run's message and the red announcement (which names the run too).
        let reds = said(&stack, channel, "is red");
        assert_eq!(reds.len(), 1, "red once in {channel}: {reds:#?}");
        assert_eq!(run_posts.len(), 2, "one run message and one announcement in {channel}: {run_posts:#?}");
        let shown: Vec<String> = stack
            .slack
            .messages_in(channel)
            .iter()
            .map(|m| m.to_string())
            .filter(|m| m.contains("CI #21") && !m.contains("is red"))
            .collect();
        assert_eq!(shown.len(), 1, "one message for run 21 in {channel}: {shown:#?}");
        assert!(shown[0].contains("failed"), "the run's conclusion: {}", shown[0]);
        assert!(shown[0].contains("test (ubuntu-latest, 20)") && shown[0].contains("failed at `Run npm test`"), "the job: {}", shown[0]);
    }
    let updates = stack.slack.calls_to("chat.update");
    assert!(!updates.is_empty(), "the later deliveries updated the message in place");

    // Run 22 passes: green once, also when its delivery is handled twice at once.
    let green = main_run(22, Success, 30);
    let mut green_again = again(&green);
    green_again.dedup_key = "github.workflow_run:main-22-redelivered".into();
    stack.slack.inject("chat.postMessage", Fault::Delay(Duration::from_millis(1200)), 6);
    let barrier = tokio::sync::Barrier::new(2);
    let at_once = |worker, envelope| {
        let barrier = &barrier;
        async move {
            barrier.wait().await;
            // Boxed: three debug-build handler futures side by side overflow the test thread's stack.
            Box::pin(until_done(worker, envelope)).await
        }
    };
    tokio::join!(at_once(&worker_one, &green), at_once(&worker_two, &green_again));
    for channel in [ALL, FAILURES, MAIN] {
        let greens = said(&stack, channel, "green again");
        assert_eq!(greens.len(), 1, "green once in {channel}: {greens:#?}");
    }
    for channel in [ALL, MAIN] {
        let runs: Vec<String> = said(&stack, channel, "CI #22").into_iter().filter(|m| !m.contains("green again")).collect();
        assert_eq!(runs.len(), 1, "one message for run 22 in {channel}: {runs:#?}");
        assert!(runs[0].contains("passed"), "{}", runs[0]);
    }
}
