use super::*;

fn policy(json: &str) -> Policy {
    let policy: Policy = serde_json::from_str(json).unwrap();
    validate(&policy).unwrap();
    policy
}

fn request(act: Act, service: &'static str, requester: &'static str) -> Request<'static> {
    Request { act, service, environment: None, requester, author: None, github: GithubAccess::NotAsked }
}

fn none() -> BTreeSet<String> {
    BTreeSet::new()
}

#[test]
fn with_no_policy_production_changes_are_refused_and_the_rest_are_open() {
    let p = Policy::default();
    for act in [Act::Deploy, Act::Rollback, Act::Approve, Act::Rerun] {
        let Verdict::Refused { reason } = p.check(&request(act, "billing", "U1"), &none()) else { panic!("{act:?} allowed") };
        assert!(reason.contains("No policy allows") && reason.contains(&format!("policy.{}", act.as_str())), "{reason}");
    }
    assert_eq!(p.check(&request(Act::Acknowledge, "billing", "U1"), &none()), Verdict::Allowed);
    assert_eq!(p.check(&request(Act::Investigate, "billing", "U1"), &none()), Verdict::Allowed);
}

#[test]
fn users_and_group_members_are_allowed_others_are_told_who_may() {
    let p = policy(r#"{"deploy": [{"users": ["U0ALICE"], "groups": ["S0OPS"]}]}"#);
    assert_eq!(p.check(&request(Act::Deploy, "billing", "U0ALICE"), &none()), Verdict::Allowed);
    assert_eq!(p.groups_for(&request(Act::Deploy, "billing", "U0ALICE")), none(), "no Slack call for someone allowed by name");
    let ops: BTreeSet<String> = ["S0OPS".to_owned()].into();
    assert_eq!(p.groups_for(&request(Act::Deploy, "billing", "U0BOB")), ops);
    assert_eq!(p.check(&request(Act::Deploy, "billing", "U0BOB"), &ops), Verdict::Allowed);
    assert_eq!(
        p.check(&request(Act::Deploy, "billing", "U0BOB"), &none()),
        Verdict::Refused { reason: "Only <@U0ALICE>, members of <!subteam^S0OPS> may take deploys of `billing`.".into() }
    );
}

#[test]
fn rules_apply_to_their_services_and_environments_only() {
    let p = policy(r#"{"rollback": [{"users": ["U1"], "services": ["billing"], "environments": ["production"]}]}"#);
    let mut r = request(Act::Rollback, "billing", "U1");
    r.environment = Some("production");
    assert_eq!(p.check(&r, &none()), Verdict::Allowed);
    r.environment = Some("staging");
    assert_eq!(p.check(&r, &none()), Verdict::Refused { reason: "No policy rule covers rollbacks of `billing` in `staging`.".into() });
    let Verdict::Refused { reason } = p.check(&request(Act::Rollback, "search", "U1"), &none()) else { panic!() };
    assert!(reason.contains("`search`"), "{reason}");
}

#[test]
fn not_author_refuses_the_author_and_allows_another() {
    let p = policy(r#"{"approve": [{"everyone": true, "not_author": true}]}"#);
    let mut r = request(Act::Approve, "billing", "U1");
    r.author = Some("U1");
    let Verdict::Refused { reason } = p.check(&r, &none()) else { panic!("the author approved their own change") };
    assert!(reason.contains("author"), "{reason}");
    r.requester = "U2";
    assert_eq!(p.check(&r, &none()), Verdict::Allowed);
}

#[test]
fn a_rule_for_acknowledge_closes_it_to_others() {
    let p = policy(r#"{"acknowledge": [{"groups": ["S0ONCALL"]}]}"#);
    assert!(matches!(p.check(&request(Act::Acknowledge, "billing", "U1"), &none()), Verdict::Refused { .. }));
}

#[test]
fn bad_ids_and_empty_rules_are_refused_by_name() {
    let bad: Policy = serde_json::from_str(r#"{"deploy": [{"users": ["alice"]}]}"#).unwrap();
    assert!(validate(&bad).unwrap_err().contains("\"alice\" is not a Slack user id"));
    let bad: Policy = serde_json::from_str(r#"{"approve": [{"groups": ["ops"]}]}"#).unwrap();
    assert!(validate(&bad).unwrap_err().contains("policy.approve"));
    let empty: Policy = serde_json::from_str(r#"{"rollback": [{"services": ["x"]}]}"#).unwrap();
    assert!(validate(&empty).unwrap_err().contains("names no users"));
    assert!(serde_json::from_str::<Policy>(r#"{"deploys": []}"#).is_err(), "a misspelt action is an error, not ignored");
}

#[test]
fn reruns_are_ruled_per_repository() {
    let p = policy(r#"{"rerun": [{"services": ["octo-org/widgets"], "groups": ["S0DEVS"]}]}"#);
    let devs: BTreeSet<String> = ["S0DEVS".to_owned()].into();
    assert_eq!(p.check(&request(Act::Rerun, "octo-org/widgets", "U0BOB"), &devs), Verdict::Allowed);
    assert_eq!(
        p.check(&request(Act::Rerun, "octo-org/widgets", "U0EVE"), &none()),
        Verdict::Refused { reason: "Only members of <!subteam^S0DEVS> may take re-running failed jobs of `octo-org/widgets`.".into() }
    );
    let Verdict::Refused { reason } = p.check(&request(Act::Rerun, "octo-org/other", "U0BOB"), &devs) else { panic!("allowed") };
    assert!(reason.contains("No policy rule covers re-running failed jobs of `octo-org/other`"), "{reason}");
}

#[test]
fn github_write_is_looked_up_only_when_it_decides_and_only_rerun_rules_may_ask_it() {
    let p = policy(r#"{"rerun": [{"users": ["U0ALICE"]}, {"groups": ["S0DEVS"], "github_write": true}]}"#);
    let devs: BTreeSet<String> = ["S0DEVS".to_owned()].into();
    assert!(!p.needs_github(&request(Act::Rerun, "o/r", "U0ALICE"), &none()), "allowed by name: GitHub is not asked");
    assert!(!p.needs_github(&request(Act::Rerun, "o/r", "U0EVE"), &none()), "listed by no rule: GitHub is not asked");
    assert!(p.needs_github(&request(Act::Rerun, "o/r", "U0BOB"), &devs));
    let with = |github| Request { github, ..request(Act::Rerun, "o/r", "U0BOB") };
    assert_eq!(p.check(&with(GithubAccess::Write("bob".into())), &devs), Verdict::Allowed);
    let Verdict::Refused { reason } = p.check(&with(GithubAccess::NoWrite(vec!["bob".into()])), &devs) else { panic!("allowed") };
    assert_eq!(
        reason,
        "Re-running failed jobs of `o/r` needs write access to the repository on GitHub, and your linked GitHub account `bob` does not have it."
    );
    let Verdict::Refused { reason } = p.check(&with(GithubAccess::Write("bob".into())), &none()) else { panic!("allowed") };
    assert!(reason.starts_with("Only <@U0ALICE>, members of <!subteam^S0DEVS>"), "write access alone is not enough: {reason}");

    let wrong: Policy = serde_json::from_str(r#"{"deploy": [{"everyone": true, "github_write": true}]}"#).unwrap();
    assert!(validate(&wrong).unwrap_err().contains("`github_write` applies to `rerun` rules only"));
}
