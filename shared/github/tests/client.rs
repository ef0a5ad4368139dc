//! The client against the fake GitHub: App tokens minted once and reused, minted again near
//! expiry, each credential where it belongs, retries on 5xx and rate limits (bounded), paging,
//! and errors that say what failed without a secret in them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pulse_core::Clock;
use pulse_fake_github::{FakeGithub, FaultRule, SeedDelivery, TEST_APP_ID, TEST_APP_PRIVATE_KEY};
use pulse_github::{Credentials, GithubClient, GithubConfig, GithubError, Hook, Permission, to_redeliver};

const REPO: &str = "octo-org/api";

fn config(fake: &FakeGithub, credentials: Credentials) -> GithubConfig {
    GithubConfig {
        base_url: fake.base_url(),
        max_attempts: 3,
        request_timeout: Duration::from_secs(2),
        base_backoff: Duration::from_millis(5),
        max_wait: Duration::from_millis(50),
        ..GithubConfig::new(credentials)
    }
}

fn app(fake: &FakeGithub) -> GithubClient {
    let credentials = Credentials::App { app_id: TEST_APP_ID, private_key: TEST_APP_PRIVATE_KEY.into() };
    GithubClient::new(config(fake, credentials), Clock::system())
}

#[tokio::test]
async fn an_app_mints_one_installation_token_and_reuses_it() {
    let fake = FakeGithub::start().await;
    fake.install("repos/octo-org/api", 7);
    let client = app(&fake);
    client.rerun_failed_jobs(REPO, 101).await.unwrap();
    client.rerun_failed_jobs(REPO, 102).await.unwrap();
    let reruns = fake.reruns();
    assert_eq!(
        reruns.iter().map(|r| (r.repo.as_str(), r.run_id, r.credential.as_str())).collect::<Vec<_>>(),
        [(REPO, 101, "installation:7"), (REPO, 102, "installation:7")]
    );
    let calls: Vec<(String, String, String)> = fake.calls().into_iter().map(|c| (c.method, c.path, c.credential)).collect();
    let expected = [
        ("GET", "/repos/octo-org/api/installation", "jwt"),
        ("POST", "/app/installations/7/access_tokens", "jwt"),
        ("POST", "/repos/octo-org/api/actions/runs/101/rerun-failed-jobs", "installation:7"),
        ("POST", "/repos/octo-org/api/actions/runs/102/rerun-failed-jobs", "installation:7"),
    ];
    assert_eq!(calls, expected.map(|(m, p, c)| (m.to_owned(), p.to_owned(), c.to_owned())));
    assert!(fake.calls().iter().all(|c| c.headers_ok), "Accept, X-GitHub-Api-Version and User-Agent on every call");
}

#[tokio::test]
async fn a_token_near_its_expiry_is_replaced_and_an_expired_one_never_sent() {
    let fake = FakeGithub::start().await;
    fake.install("orgs/octo-org", 9);
    fake.set_token_ttl(Duration::from_secs(2));
    // Replaced a second before it expires.
    let client = GithubClient::new(
        GithubConfig {
            token_margin: Duration::from_secs(1),
            ..config(&fake, Credentials::App { app_id: TEST_APP_ID, private_key: TEST_APP_PRIVATE_KEY.into() })
        },
        Clock::system(),
    );
    client.rerun_failed_jobs(REPO, 1).await.unwrap();
    client.rerun_failed_jobs(REPO, 2).await.unwrap();
    assert_eq!(fake.calls_to("access_tokens").len(), 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    client.rerun_failed_jobs(REPO, 3).await.unwrap();
    assert_eq!(fake.calls_to("access_tokens").len(), 2, "a new token once the old one is within the margin");
    assert_eq!(
        fake.calls().iter().filter(|c| c.path.ends_with("/installation")).count(),
        1,
        "the installation is looked up once (the organisation's)"
    );
    assert!(fake.calls().iter().all(|c| !c.credential.starts_with("invalid")), "{:?}", fake.calls());
    assert_eq!(fake.reruns().len(), 3);
}

#[tokio::test]
async fn a_refused_installation_token_is_replaced_once() {
    let fake = FakeGithub::start().await;
    fake.install("repos/octo-org/api", 7);
    let client = app(&fake);
    client.rerun_failed_jobs(REPO, 1).await.unwrap();
    // The fake forgets the tokens it issued: the cached one is now refused.
    fake.reset();
    client.rerun_failed_jobs(REPO, 2).await.unwrap();
    let credentials: Vec<String> = fake.calls().into_iter().map(|c| c.credential).collect();
    assert_eq!(credentials, ["invalid:unknown token", "jwt", "installation:7"]);
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_retried_within_bounds() {
    let fake = FakeGithub::start().await;
    fake.accept_token("github_pat_sekrit");
    let client = GithubClient::new(config(&fake, Credentials::Token("github_pat_sekrit".into())), Clock::system());
    fake.inject(FaultRule::status("rerun-failed-jobs", 502, 1));
    fake.inject(FaultRule::status("rerun-failed-jobs", 429, 1).retry_after(0));
    client.rerun_failed_jobs(REPO, 5).await.unwrap();
    assert_eq!(fake.calls().iter().map(|c| c.status).collect::<Vec<_>>(), [502, 429, 201]);
    assert_eq!(fake.reruns().len(), 1);

    // A secondary rate limit (403 with Retry-After) is retried; three of them exhaust the budget.
    fake.reset();
    fake.accept_token("github_pat_sekrit");
    fake.inject(FaultRule::status("rerun", 403, 3).retry_after(0));
    let err = client.rerun_failed_jobs(REPO, 6).await.unwrap_err();
    assert!(matches!(err, GithubError::RetriesExhausted { attempts: 3, .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "GitHub rerun-failed-jobs failed after 3 attempts: GitHub rerun-failed-jobs was rate limited (HTTP 403, retry after Some(0ns))"
    );
    assert!(fake.reruns().is_empty());

    // A plain 403 (no permission) is not retried.
    fake.reset();
    fake.inject(FaultRule::status("rerun", 403, 1));
    let err = client.rerun_failed_jobs(REPO, 7).await.unwrap_err();
    assert_eq!(fake.calls().len(), 1);
    assert_eq!(err.to_string(), "GitHub rerun-failed-jobs answered HTTP 403: Resource not accessible by integration");
}

#[tokio::test]
async fn errors_say_what_failed_and_hold_no_secret() {
    let fake = FakeGithub::start().await;
    let client = GithubClient::new(config(&fake, Credentials::Token("github_pat_sekrit".into())), Clock::system());
    let err = client.rerun_failed_jobs(REPO, 1).await.unwrap_err();
    assert_eq!(err.to_string(), "GitHub rerun-failed-jobs answered HTTP 401: Bad credentials");
    assert!(!format!("{err:?}").contains("sekrit") && !format!("{client:?}").contains("sekrit"));

    let err = client.rerun_failed_jobs("not a repo", 1).await.unwrap_err();
    assert!(err.to_string().contains("a repository is `owner/name`"), "{err}");
    let err = client.deliveries(&Hook::App, DateTime::<Utc>::MIN_UTC).await.unwrap_err();
    assert!(err.to_string().contains("only a token is configured"), "{err}");

    // A key that is not a key: the message says so, quoting nothing of it.
    let bad =
        Credentials::App { app_id: 1, private_key: "-----BEGIN RSA PRIVATE KEY-----\nc2Vrcml0\n-----END RSA PRIVATE KEY-----".into() };
    let err = GithubClient::new(config(&fake, bad), Clock::system()).rerun_failed_jobs(REPO, 1).await.unwrap_err();
    assert!(err.to_string().contains("not an RSA PEM key") && !err.to_string().contains("c2Vrcml0"), "{err}");

    // An App not installed on the repository.
    let err = app(&fake).rerun_failed_jobs("someone/else", 1).await.unwrap_err();
    assert_eq!(err.to_string(), "GitHub find-installation answered HTTP 404: Not Found");

    // Nobody listening.
    let dead = GithubConfig { base_url: "http://127.0.0.1:9".into(), ..config(&fake, Credentials::Token("github_pat_sekrit".into())) };
    let err = GithubClient::new(dead, Clock::system()).rerun_failed_jobs(REPO, 1).await.unwrap_err();
    assert!(matches!(err, GithubError::RetriesExhausted { .. }) && !err.to_string().contains("sekrit"), "{err}");
}

#[tokio::test]
async fn deliveries_are_paged_and_each_failed_event_is_redelivered_once() {
    let fake = FakeGithub::start().await;
    fake.install("repos/octo-org/api", 7);
    let hook = "repos/octo-org/api/hooks/55";
    let now = Utc::now();
    let at = |mins: i64| now - chrono::Duration::minutes(mins);
    let delivery = |guid: &str, mins, status_code| SeedDelivery {
        hook: hook.into(),
        guid: guid.into(),
        event: "workflow_run".into(),
        action: Some("completed".into()),
        status_code,
        delivered_at: at(mins),
    };
    // 150 fine deliveries (two pages of 100), two failed, one old failure out of range.
    for n in 0..150 {
        fake.add_delivery(delivery(&format!("ok-{n}"), 5, 200));
    }
    let failed = [fake.add_delivery(delivery("failed-1", 30, 502)), fake.add_delivery(delivery("failed-2", 20, 0))];
    fake.add_delivery(delivery("ancient", 600, 500));

    let client = app(&fake);
    let hook = Hook::repo(REPO, 55).unwrap();
    let listed = client.deliveries(&hook, at(60)).await.unwrap();
    assert_eq!(listed.len(), 152, "both pages, nothing before `since`");
    assert_eq!(fake.calls_to("/deliveries").len(), 2);
    let chosen: Vec<u64> = to_redeliver(&listed, at(60)).iter().map(|d| d.id).collect();
    assert_eq!(chosen, failed);
    for id in &chosen {
        client.redeliver(&hook, *id).await.unwrap();
    }
    let redelivered: Vec<String> = fake.redeliveries().into_iter().map(|r| r.guid).collect();
    assert_eq!(redelivered, ["failed-1", "failed-2"]);
    // Listed again, the events have a successful redelivery: nothing left to do.
    let listed = client.deliveries(&hook, at(60)).await.unwrap();
    assert!(to_redeliver(&listed, at(60)).is_empty());
}

#[tokio::test]
async fn the_apps_own_hook_uses_the_jwt_and_an_orgs_hook_its_installation() {
    let fake = FakeGithub::start().await;
    fake.install("orgs/octo-org", 8);
    let now = Utc::now();
    for hook in ["app/hook", "orgs/octo-org/hooks/3"] {
        fake.add_delivery(SeedDelivery {
            hook: hook.into(),
            guid: format!("g-{hook}"),
            event: "workflow_job".into(),
            action: None,
            status_code: 504,
            delivered_at: now,
        });
    }
    let client = app(&fake);
    for hook in [Hook::App, Hook::org("octo-org", 3).unwrap()] {
        let listed = client.deliveries(&hook, now - chrono::Duration::hours(1)).await.unwrap();
        assert_eq!(listed.len(), 1, "{hook}");
        client.redeliver(&hook, listed[0].id).await.unwrap();
    }
    let credentials: Vec<(String, String)> =
        fake.calls().into_iter().filter(|c| c.path.contains("deliveries")).map(|c| (c.path, c.credential)).collect();
    assert_eq!(credentials[0].1, "jwt");
    assert_eq!(credentials[1].1, "jwt");
    assert!(credentials[2..].iter().all(|(_, c)| c == "installation:8"), "{credentials:?}");
    assert_eq!(fake.redeliveries().len(), 2);
}

#[tokio::test]
async fn permissions_and_a_commits_pull_requests() {
    let fake = FakeGithub::start().await;
    fake.install("repos/octo-org/api", 7);
    fake.seed(pulse_fake_github::Seed {
        permissions: vec![pulse_fake_github::SeedPermission { repo: REPO.into(), login: "mona".into(), permission: "maintain".into() }],
        pulls: vec![pulse_fake_github::SeedPulls { repo: REPO.into(), sha: "abcdef1234567".into(), numbers: vec![12] }],
        ..Default::default()
    });
    let client = app(&fake);
    let permission = client.collaborator_permission(REPO, "mona").await.unwrap();
    assert_eq!(permission, Permission::Maintain);
    assert!(permission.can_write() && !Permission::Triage.can_write());
    assert_eq!(client.collaborator_permission(REPO, "nobody").await.unwrap_err().status(), Some(404));
    let pulls = client.pulls_for_commit(REPO, "ABCDEF1234567").await.unwrap();
    assert_eq!(pulls.iter().map(|p| (p.number, p.base_ref.as_str())).collect::<Vec<_>>(), [(12, "main")]);
    assert!(client.pulls_for_commit(REPO, "0000000").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_github_enterprise_root_is_honoured() {
    let fake = FakeGithub::start().await;
    fake.accept_token("t0ken");
    let config = GithubConfig { base_url: format!("{}/api/v3/", fake.base_url()), ..config(&fake, Credentials::Token("t0ken".into())) };
    GithubClient::new(config, Clock::system()).rerun_failed_jobs(REPO, 9).await.unwrap();
    assert_eq!(fake.reruns()[0].credential, "token");
}

#[tokio::test]
async fn concurrent_calls_mint_one_token() {
    let fake = FakeGithub::start().await;
    fake.install("repos/octo-org/api", 7);
    let client = app(&fake);
    // A clone shares the cache.
    let other = client.clone();
    let (a, b, c) = tokio::join!(client.rerun_failed_jobs(REPO, 1), client.rerun_failed_jobs(REPO, 2), other.rerun_failed_jobs(REPO, 3));
    assert!(a.is_ok() && b.is_ok() && c.is_ok());
    assert_eq!(fake.calls_to("access_tokens").len(), 1, "{:?}", fake.calls());
    assert_eq!(fake.reruns().len(), 3);
}
