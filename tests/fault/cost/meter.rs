//! Where the cost test reads its counts: one counting proxy ([`crate::counting`]) per process
//! that reaches AWS (each worker, the `pulse publish` of CI, ingress), and the fake Slack's
//! record of Web API calls. A [`Meter`] cuts the counts into windows, one per unit of work (a CI
//! event, a Slack request), each settled before the next starts, so every call lands in the
//! window of the work that caused it.

use std::collections::BTreeMap;

use crate::counting::{Calls, CountingProxy};
use crate::harness::Scene;

/// `(process, service, operation)`: `("feed-projector", "s3", "PutObject")`; Slack's Web API
/// calls are `("slack", "web api", method)` (the fake does not know the caller; the method
/// does: `views.publish` is the home-renderer's, `chat.postMessage` the notifier's).
pub type Key = (String, String, String);

/// The Slack row's process and service names.
pub const SLACK: (&str, &str) = ("slack", "web api");

/// What one window counted.
#[derive(Debug, Default, Clone)]
pub struct Window {
    pub calls: BTreeMap<Key, u64>,
    /// The same calls by HTTP status (a 304 GetObject, a 400 conditional write ...), for the
    /// report.
    pub statuses: BTreeMap<(Key, u16), u64>,
}

pub struct Meter {
    proxies: Vec<(&'static str, CountingProxy)>,
    marks: BTreeMap<&'static str, Calls>,
    slack_seen: usize,
}

impl Meter {
    /// A counting proxy in front of the scene's moto for each of `processes`.
    pub async fn start(scene: &Scene, processes: &[&'static str]) -> Meter {
        let mut proxies = Vec::new();
        for process in processes {
            proxies.push((*process, CountingProxy::counting(&scene.moto.url, &scene.prefix).await));
        }
        Meter { proxies, marks: BTreeMap::new(), slack_seen: 0 }
    }

    /// The AWS endpoint `process` must use.
    pub fn url(&self, process: &str) -> String {
        let (_, proxy) = self.proxies.iter().find(|(p, _)| *p == process).unwrap_or_else(|| panic!("no proxy for {process}"));
        proxy.url.clone()
    }

    /// Everything counted since the last window (or since the start).
    pub async fn window(&mut self, scene: &Scene) -> Window {
        let mut window = Window::default();
        for (process, proxy) in &self.proxies {
            let now = proxy.calls();
            let new = now.since(self.marks.get(process).unwrap_or(&Calls::default()));
            for ((service, op), n) in new.by_op {
                window.calls.insert((process.to_string(), service, op), n);
            }
            for ((service, op, status), n) in new.by_status {
                window.statuses.insert(((process.to_string(), service, op), status), n);
            }
            self.marks.insert(process, now);
        }
        let slack = scene.slack.calls("*").await;
        for call in &slack[self.slack_seen.min(slack.len())..] {
            let key = (SLACK.0.to_owned(), SLACK.1.to_owned(), call["method"].as_str().unwrap_or("?").to_owned());
            *window.calls.entry(key.clone()).or_default() += 1;
            *window.statuses.entry((key, call["status"].as_u64().unwrap_or(0) as u16)).or_default() += 1;
        }
        self.slack_seen = slack.len();
        window
    }
}
