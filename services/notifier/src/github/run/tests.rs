use pulse_contracts::GithubConclusion::{Failure, Success};

use super::*;
use crate::github::fixtures::*;

#[test]
fn a_stale_report_after_a_newer_one_changes_nothing() {
    let mut s = RunState::default();
    assert!(s.merge_run(&run(1, done(Failure), 9)));
    assert!(!s.merge_run(&run(1, running(), 3)), "in_progress after completed");
    assert!(!s.merge_run(&run(1, done(Failure), 9)), "a redelivery");
    assert_eq!(s.run(1).unwrap().state, done(Failure));
    assert!(s.merge_job(&job(1, "test", 1, done(Failure), 8)));
    assert!(!s.merge_job(&job(1, "test", 1, queued(), 2)));
    assert!(!s.merge_job(&job(1, "test", 1, running(), 5)));
    assert_eq!(s.jobs(1)[0].1.failed_steps, vec!["Run tests".to_owned()]);
}

#[test]
fn the_merge_does_not_depend_on_the_order_of_delivery() {
    type Delivery = Box<dyn Fn(&mut RunState) -> bool>;
    let events: Vec<Delivery> = vec![
        Box::new(|s| s.merge_run(&run(1, queued(), 0))),
        Box::new(|s| s.merge_run(&run(1, running(), 1))),
        Box::new(|s| s.merge_job(&job(1, "build", 1, running(), 2))),
        Box::new(|s| s.merge_job(&job(1, "build", 1, done(Success), 4))),
        Box::new(|s| s.merge_job(&job(2, "test", 1, done(Failure), 6))),
        Box::new(|s| s.merge_run(&run(1, done(Failure), 7))),
    ];
    let mut forward = RunState::default();
    events.iter().for_each(|e| {
        e(&mut forward);
    });
    let mut backward = RunState::default();
    events.iter().rev().for_each(|e| {
        e(&mut backward);
    });
    assert_eq!(forward, backward);
    assert!(forward.failing(1));
    assert_eq!(forward.jobs(1).iter().map(|(_, j)| j.name.as_str()).collect::<Vec<_>>(), ["build", "test"]);
}

#[test]
fn a_job_before_its_run_is_kept_and_attempts_stay_apart() {
    let mut s = RunState::default();
    assert!(s.merge_job(&job(1, "test", 1, done(Failure), 5)));
    assert!(s.run(1).is_none());
    assert_eq!(s.repository, REPO);
    s.merge_job(&job(11, "test", 2, done(Success), 20));
    s.merge_run(&run(2, done(Success), 21));
    assert!(s.failing(1));
    assert!(!s.failing(2));
    assert_eq!(s.jobs(2).len(), 1);
    assert_eq!(s.default_branch.as_deref(), Some("main"));
}
