//! praktika's subscription files in a bucket of their own on the emulator, and
//! `pulse migrate praktika` run against them as the CLI runs it.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use pulse_aws::eventbridge::EventPublisher;
use pulse_cli::migrate::{self, Options, Report};
use pulse_contracts::feed_layout::FeedLocation;

/// praktika's `EVENT_FEED_S3_PATH` in a fresh bucket, with `files` (name under
/// `{prefix}/subscriptions/` → body) written as praktika writes them.
pub async fn bucket_with(config: &SdkConfig, files: &[(&str, String)]) -> FeedLocation {
    let s3 = pulse_aws::config::s3_client(config);
    let bucket = crate::unique("praktika");
    s3.create_bucket().bucket(&bucket).send().await.expect("create praktika's bucket");
    let location = FeedLocation::parse(&format!("{bucket}/ci/slack")).expect("bucket/prefix");
    for (name, body) in files {
        s3.put_object()
            .bucket(&bucket)
            .key(format!("{}{name}", location.subscriptions_prefix()))
            .content_type("application/json")
            .body(body.clone().into_bytes().into())
            .send()
            .await
            .expect("write a praktika file");
    }
    location
}

/// Every object of the location's bucket: key → (ETag, LastModified seconds).
pub async fn objects(config: &SdkConfig, location: &FeedLocation) -> BTreeMap<String, (String, i64)> {
    let out = pulse_aws::config::s3_client(config).list_objects_v2().bucket(&location.bucket).send().await.expect("list");
    out.contents()
        .iter()
        .map(|o| {
            let key = o.key().unwrap_or_default().to_owned();
            (key, (o.e_tag().unwrap_or_default().to_owned(), o.last_modified().map_or(0, |t| t.secs())))
        })
        .collect()
}

/// `pulse migrate praktika --from <location> --team <team>` onto `bus`.
pub async fn migrate(config: &SdkConfig, bus: &str, location: &FeedLocation, team: &str, dry_run: bool, publish_home: bool) -> Report {
    let s3 = pulse_aws::config::s3_client(config);
    let publisher = EventPublisher::new(aws_sdk_eventbridge::Client::new(config), bus);
    let options = Options { from: location.clone(), team_id: team.to_owned(), publish_home, dry_run };
    let (clock, ids) = (pulse_core::Clock::system(), pulse_core::Ids::random());
    migrate::run(&s3, &publisher, &options, &clock, &ids, &|_| {}).await.expect("the migration runs")
}
