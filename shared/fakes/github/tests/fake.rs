//! The fake checks credentials as GitHub does, and its control API seeds, reads and injects.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use pulse_fake_github::{FakeGithub, TEST_APP_ID, TEST_APP_PRIVATE_KEY};
use serde_json::{Value, json};

fn jwt(iat_offset: i64, lifetime: i64, iss: u64) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"iat": now + iat_offset, "exp": now + iat_offset + lifetime, "iss": iss.to_string()});
    let key = EncodingKey::from_rsa_pem(TEST_APP_PRIVATE_KEY.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap()
}

async fn get(fake: &FakeGithub, path: &str, bearer: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", fake.base_url()))
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28")
        .header("User-Agent", "test")
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn app_jwts_are_checked_for_signature_issuer_and_times() {
    let fake = FakeGithub::start().await;
    fake.install("repos/o/r", 3);
    assert_eq!(get(&fake, "/repos/o/r/installation", &jwt(-60, 540, TEST_APP_ID)).await.0, 200);
    let forged = {
        let good = jwt(-60, 540, TEST_APP_ID);
        let (rest, _) = good.rsplit_once('.').unwrap();
        format!("{rest}.AAAA")
    };
    for (token, why) in [
        (forged, "jwt InvalidSignature"),
        (jwt(-60, 540, 1), "jwt issued by another app"),
        (jwt(-700, 600, TEST_APP_ID), "jwt expired"),
        (jwt(120, 500, TEST_APP_ID), "jwt issued in the future"),
        (jwt(-60, 900, TEST_APP_ID), "jwt lives over 10 minutes"),
    ] {
        assert_eq!(get(&fake, "/repos/o/r/installation", &token).await.0, 401, "{why}");
        assert_eq!(fake.calls().last().unwrap().credential, format!("invalid:{why}"));
    }
}

#[tokio::test]
async fn installation_tokens_work_until_they_expire_and_only_where_installed() {
    let fake = FakeGithub::start().await;
    fake.install("repos/o/r", 3);
    fake.set_token_ttl(Duration::from_secs(1));
    let response = reqwest::Client::new()
        .post(format!("{}/app/installations/3/access_tokens", fake.base_url()))
        .header("User-Agent", "test")
        .bearer_auth(jwt(-60, 540, TEST_APP_ID))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let token = response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    assert_eq!(get(&fake, "/repos/o/r/commits/abcdef1/pulls", &token).await, (200, json!([])));
    assert_eq!(get(&fake, "/repos/other/r/commits/abcdef1/pulls", &token).await.0, 404, "not installed there");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(&fake, "/repos/o/r/commits/abcdef1/pulls", &token).await.0, 401);
    assert_eq!(fake.calls().last().unwrap().credential, "invalid:expired installation token");
}

#[tokio::test]
async fn the_control_api_seeds_injects_and_reports() {
    let fake = FakeGithub::start().await;
    let http = reqwest::Client::new();
    let seed = json!({
        "token": "github_pat_x",
        "deliveries": [{"hook": "orgs/o/hooks/1", "guid": "g1", "status_code": 502, "delivered_at": "2026-01-01T00:00:00Z"}]
    });
    let answer: Value = http.post(format!("{}/_fake/seed", fake.base_url())).json(&seed).send().await.unwrap().json().await.unwrap();
    let id = answer["delivery_ids"][0].as_u64().unwrap();
    let fault = json!({"path": "deliveries", "status": 503, "times": 1});
    http.post(format!("{}/_fake/faults", fake.base_url())).json(&fault).send().await.unwrap();
    assert_eq!(get(&fake, "/orgs/o/hooks/1/deliveries", "github_pat_x").await.0, 503);
    let (status, listed) = get(&fake, "/orgs/o/hooks/1/deliveries", "github_pat_x").await;
    assert_eq!((status, listed[0]["id"].as_u64(), listed[0]["status_code"].as_u64()), (200, Some(id), Some(502)));
    let calls: Value = http.get(format!("{}/_fake/calls", fake.base_url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(calls.as_array().unwrap().iter().map(|c| c["status"].as_u64().unwrap()).collect::<Vec<_>>(), [503, 200]);
    assert_eq!(calls[0]["credential"], "token");

    // No User-Agent: refused, as GitHub does.
    let response = http.get(format!("{}/orgs/o/hooks/1/deliveries", fake.base_url())).bearer_auth("github_pat_x").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert!(!fake.calls().last().unwrap().headers_ok);
}
