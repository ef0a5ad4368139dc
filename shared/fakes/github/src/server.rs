//! The fake's HTTP face for GitHub clients: every path outside `/_fake/` is read as a REST
//! call (also under `/api/v3`, as on GitHub Enterprise Server), authenticated (`auth.rs`),
//! put through any queued fault, answered from `state.rs`, and recorded.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State as AxumState};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use chrono::Utc;
use serde_json::{Value, json};

use crate::Shared;
use crate::auth::{Caller, caller};
use crate::record::RecordedCall;
use crate::state::{Rerun, State};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().merge(crate::control::routes()).fallback(api).with_state(shared)
}

/// An answer: status, JSON body, extra headers.
struct Reply(u16, Value, Vec<(&'static str, String)>);

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = if self.1.is_null() { status.into_response() } else { (status, Json(self.1)).into_response() };
        for (name, value) in self.2 {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

fn error(status: u16, message: &str) -> Reply {
    Reply(status, json!({"message": message, "documentation_url": "https://docs.github.com/rest"}), Vec::new())
}

async fn api(AxumState(shared): AxumState<Arc<Shared>>, request: Request) -> Response {
    let method = request.method().clone();
    let full_path = request.uri().path();
    let path = full_path.strip_prefix("/api/v3").unwrap_or(full_path).to_owned();
    // Links to further pages keep the root the client used.
    let root = format!("{}{}", shared.root_url, if full_path.starts_with("/api/v3/") { "/api/v3" } else { "" });
    let query = request.uri().query().unwrap_or("").to_owned();
    let headers = request.headers().clone();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let headers_ok = header("accept") == Some("application/vnd.github+json")
        && header("x-github-api-version").is_some()
        && header("user-agent").is_some_and(|v| !v.is_empty());

    let (reply, delay) = {
        let mut state = shared.lock();
        let now = Utc::now();
        let who = caller(header("authorization"), &state, &shared.key, now);
        let fault = take_fault(&mut state, &path);
        let delay = fault.as_ref().and_then(|f| f.delay_ms).map(Duration::from_millis);
        let reply = match fault.and_then(|f| f.status.map(|s| (s, f))) {
            Some((status, fault)) => {
                let mut extra = Vec::new();
                if let Some(secs) = fault.retry_after_secs {
                    extra.push(("retry-after", secs.to_string()));
                }
                if fault.rate_limit_exhausted {
                    extra.push(("x-ratelimit-remaining", "0".to_owned()));
                    extra.push(("x-ratelimit-reset", (now.timestamp() + 1).to_string()));
                }
                let limited = status == 429 || (status == 403 && !extra.is_empty());
                let message = match status {
                    _ if limited => "You have exceeded a secondary rate limit.",
                    403 => "Resource not accessible by integration",
                    _ => "Server Error",
                };
                Reply(status, json!({"message": message}), extra)
            }
            None if header("user-agent").is_none_or(str::is_empty) => {
                error(403, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header")
            }
            None => route(&mut state, &method, &path, &query, &who, &root),
        };
        let call = RecordedCall { method: method.to_string(), path: path.clone(), credential: who.label(), headers_ok, status: reply.0 };
        tracing::info!(method = %call.method, path = %call.path, credential = %call.credential, status = call.status, "fake github call");
        state.calls.push(call);
        (reply, delay)
    };
    shared.recorded.send_modify(|n| *n += 1);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    reply.into_response()
}

fn take_fault(state: &mut State, path: &str) -> Option<crate::FaultRule> {
    let at = state.faults.iter().position(|f| f.matches(path))?;
    let rule = &mut state.faults[at];
    rule.times = rule.times.saturating_sub(1);
    let fired = rule.clone();
    if rule.times == 0 {
        state.faults.remove(at);
    }
    Some(fired)
}

/// The endpoint `path` names, answered for `who`.
fn route(state: &mut State, method: &Method, path: &str, query: &str, who: &Caller, root: &str) -> Reply {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let now = Utc::now();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["repos", owner, repo, "installation"]) => installation(state, who, &format!("repos/{owner}/{repo}")),
        ("GET", ["orgs", org, "installation"]) => installation(state, who, &format!("orgs/{org}")),
        ("POST", ["app", "installations", id, "access_tokens"]) => {
            if *who != Caller::Jwt {
                return error(401, "A JSON web token could not be decoded");
            }
            match id.parse::<u64>() {
                Ok(id) if state.installations.values().any(|i| *i == id) => Reply(201, state.issue_token(id, now), Vec::new()),
                _ => error(404, "Not Found"),
            }
        }
        ("GET", ["app", "hook", "deliveries"]) => {
            if *who != Caller::Jwt {
                return error(401, "A JSON web token could not be decoded");
            }
            page(state.deliveries_of("app/hook"), path, query, root)
        }
        ("POST", ["app", "hook", "deliveries", id, "attempts"]) => {
            if *who != Caller::Jwt {
                return error(401, "A JSON web token could not be decoded");
            }
            attempt(state, "app/hook", id, now)
        }
        (_, ["repos", owner, repo, rest @ ..]) => {
            let scope = format!("repos/{owner}/{repo}");
            if let Some(refused) = refuse(state, who, &scope) {
                return refused;
            }
            let full = format!("{owner}/{repo}");
            match (method.as_str(), rest) {
                ("POST", ["actions", "runs", id, "rerun-failed-jobs"]) => match id.parse() {
                    Ok(run_id) => {
                        state.reruns.push(Rerun { repo: full, run_id, credential: who.label() });
                        Reply(201, json!({}), Vec::new())
                    }
                    Err(_) => error(404, "Not Found"),
                },
                ("GET", ["hooks", id, "deliveries"]) => page(state.deliveries_of(&format!("{scope}/hooks/{id}")), path, query, root),
                ("POST", ["hooks", id, "deliveries", delivery, "attempts"]) => {
                    attempt(state, &format!("{scope}/hooks/{id}"), delivery, now)
                }
                ("GET", ["collaborators", login, "permission"]) => match state.permissions.get(&(full, (*login).to_owned())) {
                    Some(permission) => {
                        let coarse = match permission.as_str() {
                            "maintain" => "write",
                            "triage" => "read",
                            other => other,
                        };
                        Reply(200, json!({"permission": coarse, "role_name": permission, "user": {"login": login}}), Vec::new())
                    }
                    None => error(404, "Not Found"),
                },
                ("GET", ["commits", sha, "pulls"]) => {
                    let numbers = state.pulls.get(&(full.clone(), sha.to_ascii_lowercase())).cloned().unwrap_or_default();
                    let pulls: Vec<Value> = numbers
                        .iter()
                        .map(|n| json!({"number": n, "state": "open", "html_url": format!("https://github.com/{full}/pull/{n}"), "head": {"ref": format!("pr-{n}"), "sha": sha}, "base": {"ref": "main"}}))
                        .collect();
                    Reply(200, Value::Array(pulls), Vec::new())
                }
                _ => error(404, "Not Found"),
            }
        }
        (_, ["orgs", org, "hooks", id, rest @ ..]) => {
            let scope = format!("orgs/{org}");
            if let Some(refused) = refuse(state, who, &scope) {
                return refused;
            }
            let hook = format!("{scope}/hooks/{id}");
            match (method.as_str(), rest) {
                ("GET", ["deliveries"]) => page(state.deliveries_of(&hook), path, query, root),
                ("POST", ["deliveries", delivery, "attempts"]) => attempt(state, &hook, delivery, now),
                _ => error(404, "Not Found"),
            }
        }
        _ => error(404, "Not Found"),
    }
}

/// The App's installation on `scope` (`repos/O/R` or `orgs/O`), for its JWT only.
fn installation(state: &State, who: &Caller, scope: &str) -> Reply {
    if *who != Caller::Jwt {
        return error(401, "A JSON web token could not be decoded");
    }
    match installation_on(state, scope) {
        Some(id) => Reply(
            200,
            json!({"id": id, "app_id": state.app_id, "target_type": if scope.starts_with("orgs/") { "Organization" } else { "User" }}),
            Vec::new(),
        ),
        None => error(404, "Not Found"),
    }
}

/// The installation on `scope`: its own, or for a repository its organisation's.
fn installation_on(state: &State, scope: &str) -> Option<u64> {
    let owner = scope.strip_prefix("repos/").and_then(|rest| rest.split('/').next()).map(|owner| format!("orgs/{owner}"));
    state.installations.get(scope).or_else(|| owner.and_then(|o| state.installations.get(&o))).copied()
}

/// `None` when `who` may call `scope`'s endpoints: the configured token, or a live
/// installation token of the installation on `scope`.
fn refuse(state: &State, who: &Caller, scope: &str) -> Option<Reply> {
    match who {
        Caller::Token => None,
        Caller::Installation(id) if installation_on(state, scope) == Some(*id) => None,
        Caller::Installation(_) => Some(error(404, "Not Found")),
        _ => Some(error(401, "Bad credentials")),
    }
}

/// A page of `items` by `per_page` (default 30, at most 100) and `cursor` (an offset here),
/// with GitHub's `Link: <…>; rel="next"` when more follow.
fn page(items: Vec<Value>, path: &str, query: &str, root: &str) -> Reply {
    let arg = |name: &str| form_arg(query, name).and_then(|v| v.parse::<usize>().ok());
    let per_page = arg("per_page").unwrap_or(30).clamp(1, 100);
    let start = arg("cursor").unwrap_or(0).min(items.len());
    let end = (start + per_page).min(items.len());
    let mut extra = Vec::new();
    if end < items.len() {
        extra.push(("link", format!("<{root}{path}?per_page={per_page}&cursor={end}>; rel=\"next\"")));
    }
    Reply(200, Value::Array(items[start..end].to_vec()), extra)
}

fn form_arg<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| pair.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v))
}

fn attempt(state: &mut State, hook: &str, id: &str, now: chrono::DateTime<Utc>) -> Reply {
    match id.parse().ok().and_then(|id| state.redeliver(hook, id, now)) {
        Some(()) => Reply(202, json!({}), Vec::new()),
        None => error(404, "Not Found"),
    }
}
