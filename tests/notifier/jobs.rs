//! Job lifecycle: the start message in the job's channel, the completion in its thread.

use std::time::Duration;

use pulse_contracts::Event;
use pulse_fake_slack::Fault;

use crate::harness::{Stack, example};

#[tokio::test]
async fn a_completion_is_a_reply_in_the_start_messages_thread() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    let mut started = example("ci.job", "started");
    let mut completed = example("ci.job", "completed-failure");
    // One run, routed through the per-job mapping (no --channel).
    for env in [&mut started, &mut completed] {
        let Event::CiJobV1(ref mut job) = env.detail else { unreachable!() };
        job.job = "nightly_backup".into();
        job.run_id = "run-thread-1".into();
        job.channel = None;
    }
    stack.publish(&[started]).await;
    stack.run(&notifier, 1, Duration::from_secs(20)).await;
    stack.publish(&[completed]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");

    let top: Vec<_> =
        stack.slack.messages_in("C0BACKUP").into_iter().filter(|m| m.get("thread_ts").is_none_or(|t| t == &m["ts"])).collect();
    assert_eq!(top.len(), 1, "one start message: {top:#?}");
    let start_ts = top[0]["ts"].as_str().unwrap();
    assert!(top[0].to_string().contains("nightly_backup"));
    let thread = stack.slack.thread("C0BACKUP", start_ts);
    let reply = thread.iter().find(|m| m["ts"] != top[0]["ts"]).unwrap_or_else(|| panic!("no reply in {thread:#?}")).to_string();
    for needle in ["failure", "17m 45s", "*posts_scraped:* 18230", "*Exit code:* 1", "429 Too Many Requests"] {
        assert!(reply.contains(needle), "{needle} in {reply}");
    }
}

#[tokio::test]
async fn a_completion_without_its_start_still_threads_under_a_start_message() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    stack.publish(&[example("ci.job", "completed-success")]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    let all = stack.slack.messages();
    assert_eq!(all.len(), 2, "{all:#?}");
    let start = all.iter().find(|m| m.get("thread_ts").is_none_or(|t| t == &m["ts"])).expect("a start message");
    assert!(all.iter().any(|m| m.get("thread_ts") == start.get("ts") && m["ts"] != start["ts"]));
}

#[tokio::test]
async fn a_thread_reply_whose_answer_was_lost_is_found_in_the_thread_not_sent_again() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    let mut started = example("ci.job", "started");
    let mut completed = example("ci.job", "completed-failure");
    for env in [&mut started, &mut completed] {
        let Event::CiJobV1(ref mut job) = env.detail else { unreachable!() };
        job.run_id = "run-thread-lost".into();
    }
    stack.publish(&[started]).await;
    stack.run(&notifier, 1, Duration::from_secs(20)).await;
    // The completion reply lands but its answer is lost; the retry reads the thread.
    stack.slack.inject("chat.postMessage", Fault::FailAfterEffect(502), 1);
    stack.publish(&[completed]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(30)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    let all = stack.slack.messages();
    let start = all.iter().find(|m| m.get("thread_ts").is_none_or(|t| t == &m["ts"])).expect("a start message");
    let replies: Vec<_> = all.iter().filter(|m| m.get("thread_ts") == start.get("ts") && m["ts"] != start["ts"]).collect();
    assert_eq!(replies.len(), 1, "one completion reply: {replies:#?}");
    assert_eq!(stack.slack.calls_to("conversations.replies").len(), 1);
    assert_eq!(stack.slack.calls_to("chat.postMessage").len(), 2, "the start and one reply");
}
