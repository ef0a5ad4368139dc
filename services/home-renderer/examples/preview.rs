//! Prints a rendered Home view as JSON, to eyeball or paste into Slack's Block Kit Builder
//! (`{"type":"home","blocks":[...]}`):
//!
//! ```sh
//! cargo run -p pulse-home-renderer --example preview            # the contract examples' feed
//! cargo run -p pulse-home-renderer --example preview -- 500     # a generated 500-event feed
//! cargo run -p pulse-home-renderer --example preview -- none    # the not-subscribed view
//! ```

use pulse_contracts::Preferences;
use pulse_contracts::praktika::FeedEvent;
use pulse_home_renderer::render::{HomeModel, home_view, not_subscribed_view};
use pulse_home_renderer::testing::sample_feed;

fn example_feed() -> Vec<FeedEvent> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../contracts/examples/ci.workflow.v1");
    let mut events: Vec<FeedEvent> = ["merge-result", "completed-pr-failed-job"]
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(format!("{dir}/{name}.json")).expect("example exists");
            let doc: serde_json::Value = serde_json::from_str(&text).expect("example is JSON");
            serde_json::from_value(doc["detail"].clone()).expect("example is a praktika event")
        })
        .collect();
    events.sort_by_key(|e| std::cmp::Reverse(e.timestamp));
    events
}

fn main() {
    let arg = std::env::args().nth(1).unwrap_or_default();
    if arg == "none" {
        println!("{}", serde_json::to_string_pretty(&not_subscribed_view(None, None)).unwrap());
        return;
    }
    let (events, now) = match arg.parse::<usize>() {
        Ok(n) => (sample_feed(n, 1_763_640_000), 1_763_640_000),
        Err(_) => {
            let events = example_feed();
            let now = events.first().map_or(0, |e| e.timestamp + 900);
            (events, now)
        }
    };
    let rendered = home_view(&HomeModel {
        email: "alice@clickhouse.com",
        github: &[],
        preferences: &Preferences::default(),
        subscribed_at: Some(now - 3 * 86_400),
        events: &events,
        now,
        notice: None,
        private_metadata: None,
    });
    println!("{}", serde_json::to_string_pretty(&rendered.view).unwrap());
    eprintln!(
        "{} of {} PRs shown, {} blocks, {} bytes",
        rendered.groups_shown,
        rendered.groups_total,
        rendered.view.blocks().len(),
        pulse_slack::blocks::limits::json_len(&rendered.view)
    );
}
