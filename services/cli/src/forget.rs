//! `pulse forget --email E | --slack-user U --by NAME [--dry-run] [--json]`: remove a person from
//! everywhere Pulse keeps them.
//!
//! Every service's tables are private, so this publishes one `person.forget` and waits for a
//! `person.forgotten` from each service that keeps personal data (`pulse_aws::names::KEEPERS`),
//! read from `<stack>-forget-reports` by the request's id, then prints what each removed. A
//! service that has not answered in `--wait` seconds is named and the command fails, but the
//! request stays queued and is carried out; running the same command again (it is idempotent)
//! shows what is left. What the services keep as is until it expires is listed after the report.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::names::KEEPERS;
use pulse_aws::sqs::Queue;
use pulse_contracts::{Email, Event, EventDetail, PersonForget, PersonForgotten};
use pulse_core::{Clock, Ids};

/// What Pulse keeps as is after a forget, until it expires (README, "Data Pulse keeps").
const LEFT_TO_EXPIRE: &str = "Left until they expire: consumer claims (dedup keys, 7 days), the Slack request ledger (7 days), \
events in flight and dead letters (at most 14 days), logs (their log group's retention).";

#[derive(clap::Args)]
pub struct ForgetArgs {
    /// The commit author's e-mail: their feed, their place in co-authored runs, every
    /// subscription following it.
    #[arg(long)]
    email: Option<String>,
    /// The Slack user id: their subscription, preferences, DM ledger; their audit entries get a
    /// pseudonym.
    #[arg(long = "slack-user")]
    slack_user: Option<String>,
    /// Who asks (recorded in the audit log).
    #[arg(long, env = pulse_cli::settings::USER.name)]
    by: String,
    /// List what would go; remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the reports as JSON.
    #[arg(long)]
    json: bool,
    /// How long to wait for every service's report, in seconds (at most a day).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    wait: u64,
}

pub async fn run(args: ForgetArgs, clock: &Clock, ids: &Ids) -> anyhow::Result<()> {
    let email = args.email.as_deref().map(Email::parse).transpose().context("--email")?;
    let slack_user = args.slack_user.filter(|u| !u.trim().is_empty());
    if email.is_none() && slack_user.is_none() {
        bail!("say whom to forget: --email, --slack-user, or both");
    }
    let request_id = ids.uuid();
    let request = PersonForget {
        request_id,
        email,
        slack_user_id: slack_user,
        dry_run: args.dry_run,
        requested_by: args.by,
        pseudonym: PersonForget::pseudonym_for(request_id),
    };
    let names = pulse_cli::settings::stack()?;
    let config = pulse_aws::config::load().await;
    let reports = Queue::from_name(aws_sdk_sqs::Client::new(&config), &names.forget_reports())
        .await
        .with_context(|| format!("opening {} (deploy Pulse's stack first: pulse infra deploy)", names.forget_reports()))?;
    let publisher = EventPublisher::new(aws_sdk_eventbridge::Client::new(&config), names.bus());
    let envelope = request.clone().into_envelope("pulse.cli", format!("person.forget:{request_id}"), ids.uuid(), clock.now());
    publisher.publish_one(&envelope.to_raw()).await.with_context(|| format!("publishing person.forget to {}", names.bus()))?;
    eprintln!(
        "asked every service to {} (request {request_id})",
        if args.dry_run { "list what it keeps of the person" } else { "forget the person" }
    );

    let waiting = crate::progress::Waiting::start("waiting for every service's report");
    let answers = collect(&reports, request_id, Duration::from_secs(args.wait)).await?;
    drop(waiting);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answers.values().collect::<Vec<_>>())?);
    } else {
        print!("{}", render(&request, &answers));
    }
    let missing: Vec<&str> = KEEPERS.iter().copied().filter(|s| !answers.contains_key(*s)).collect();
    if !missing.is_empty() {
        bail!(
            "no report from {} within {} s; the request stays queued and will be carried out: run the same command again (it is idempotent) to see what is left",
            missing.join(", "),
            args.wait
        );
    }
    Ok(())
}

/// Read reports until every keeper answered `request_id` or `wait` passed. Others' reports are
/// left for the command that asked for them.
async fn collect(reports: &Queue, request_id: uuid::Uuid, wait: Duration) -> anyhow::Result<BTreeMap<String, PersonForgotten>> {
    let deadline = Instant::now() + wait;
    let mut answers = BTreeMap::new();
    while answers.len() < KEEPERS.len() && Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now()).as_secs().clamp(1, 5) as i32;
        for message in reports.receive(10, left).await? {
            let Ok(envelope) = pulse_contracts::from_sqs_body(&message.body) else { continue };
            let Event::PersonForgottenV1(report) = envelope.detail else { continue };
            if report.request_id != request_id {
                continue;
            }
            reports.delete(&message.receipt_handle).await?;
            answers.insert(report.service.clone(), report);
        }
    }
    Ok(answers)
}

/// The human report: one line per kind of record each service removed.
pub fn render(request: &PersonForget, answers: &BTreeMap<String, PersonForgotten>) -> String {
    let mut who = Vec::new();
    if let Some(email) = &request.email {
        who.push(email.to_string());
    }
    if let Some(user) = &request.slack_user_id {
        who.push(format!("Slack user {user}"));
    }
    let mut out =
        format!("{} {} (request {}):\n", if request.dry_run { "Would forget" } else { "Forgot" }, who.join(", "), request.request_id);
    for service in KEEPERS {
        let Some(report) = answers.get(service) else {
            out.push_str(&format!("  {service:<15} no report yet\n"));
            continue;
        };
        if report.records.is_empty() {
            out.push_str(&format!("  {service:<15} nothing kept\n"));
        }
        for record in &report.records {
            let action = record.action.as_str();
            let action = if request.dry_run { format!("would be {action}") } else { action.to_owned() };
            let note = record.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
            out.push_str(&format!("  {service:<15} {action:<24} {:>5}  {} in {}{note}\n", record.count, record.what, record.place));
        }
    }
    out.push_str(LEFT_TO_EXPIRE);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulse_contracts::{ForgetAction, ForgottenRecord};

    #[test]
    fn the_report_names_each_service_and_what_it_removed() {
        let request_id = uuid::Uuid::from_u128(1);
        let request = PersonForget {
            request_id,
            email: Some(Email::parse("ann@x.io").unwrap()),
            slack_user_id: Some("U1".into()),
            dry_run: true,
            requested_by: "ops".into(),
            pseudonym: PersonForget::pseudonym_for(request_id),
        };
        let record = ForgottenRecord {
            action: ForgetAction::Deleted,
            what: "the person's feed".into(),
            place: "s3://b/events/".into(),
            count: 3,
            note: None,
        };
        let mut answers = BTreeMap::new();
        answers.insert(
            "feed-projector".to_owned(),
            PersonForgotten { request_id, service: "feed-projector".into(), dry_run: true, records: vec![record] },
        );
        answers.insert("notifier".to_owned(), PersonForgotten { request_id, service: "notifier".into(), dry_run: true, records: vec![] });
        let text = render(&request, &answers);
        assert!(text.starts_with("Would forget ann@x.io, Slack user U1 (request 00000000-0000-0000-0000-000000000001):\n"), "{text}");
        assert!(text.contains("feed-projector  would be deleted             3  the person's feed in s3://b/events/"), "{text}");
        assert!(text.contains("home-renderer   no report yet"), "{text}");
        assert!(text.contains("notifier        nothing kept"), "{text}");
        assert!(text.ends_with("logs (their log group's retention).\n"));
    }
}
