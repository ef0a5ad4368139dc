//! `pulse audit list`: who deployed what, when, and who tried. Reads the notifier's audit log
//! (every attempt to act from Slack, allowed or refused by the policy) and prints it oldest
//! first, as text or as JSON lines.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use pulse_notifier::audit::AuditEntry;

#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(clap::Subcommand)]
enum AuditCommand {
    /// Every attempt to act from Slack (deploy, rollback, approve, acknowledge, investigate),
    /// allowed or refused, oldest first.
    List {
        /// Only attempts since then: a time (`2026-12-01T09:00:00Z`), a date (`2026-12-01`) or
        /// an age (`30m`, `12h`, `7d`).
        #[arg(long, value_parser = parse_since_now)]
        since: Option<DateTime<Utc>>,
        /// Only this person's attempts: a Slack user id or user name.
        #[arg(long)]
        actor: Option<String>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(args: AuditArgs) -> anyhow::Result<()> {
    let AuditCommand::List { since, actor, json } = args.command;
    let config = pulse_aws::config::load().await;
    let names = crate::settings::stack()?;
    let store = pulse_notifier::store::Store::new(
        aws_sdk_dynamodb::Client::new(&config),
        names.table("notifier", "messages"),
        names.table("notifier", "audit"),
    );
    let entries = store.audit_log(since).await?;
    let entries: Vec<AuditEntry> =
        entries.into_iter().filter(|e| actor.as_deref().is_none_or(|a| e.user_id == a || e.user_name == a)).collect();
    print!("{}", render(&entries, json));
    Ok(())
}

/// The listing: a table for people, or JSON lines for tools.
pub fn render(entries: &[AuditEntry], json: bool) -> String {
    if json {
        return entries.iter().map(|e| serde_json::to_string(e).unwrap_or_default() + "\n").collect();
    }
    if entries.is_empty() {
        return "no attempts recorded\n".to_owned();
    }
    let mut out = String::new();
    for e in entries {
        let who = if e.user_name.is_empty() { e.user_id.clone() } else { format!("{} ({})", e.user_name, e.user_id) };
        let on = e.alert_id.as_deref().map(|a| format!(" on alert {a}")).unwrap_or_default();
        let deploy = e.deploy_id.as_deref().map(|d| format!(" deploy {d}")).unwrap_or_default();
        out.push_str(&format!(
            "{}  {:<8} {:<11} {:<20} {who}{on}{deploy}\n",
            e.at.format("%Y-%m-%d %H:%M:%S"),
            e.outcome,
            e.action,
            e.service
        ));
        if let Some(reason) = &e.reason {
            out.push_str(&format!("    why: {reason}\n"));
        }
    }
    out
}

fn parse_since_now(text: &str) -> Result<DateTime<Utc>, String> {
    parse_since(text, pulse_core::Clock::system().now())
}

/// `--since`: a time, a date (midnight UTC), or an age before `now`.
pub fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    let unit = text.chars().last().unwrap_or(' ');
    let amount: i64 = text[..text.len() - unit.len_utf8().min(text.len())].parse().map_err(|_| bad(text))?;
    let age = match unit {
        'm' => Duration::try_minutes(amount),
        'h' => Duration::try_hours(amount),
        'd' => Duration::try_days(amount),
        _ => None,
    }
    .filter(|_| amount >= 0)
    .ok_or_else(|| bad(text))?;
    now.checked_sub_signed(age).ok_or_else(|| bad(text))
}

fn bad(text: &str) -> String {
    format!("{text:?} is not a time (2026-12-01T09:00:00Z), a date (2026-12-01) or an age (30m, 12h, 7d)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-03T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn since_takes_times_dates_and_ages_and_refuses_the_rest() {
        assert_eq!(parse_since("2026-12-01T09:00:00Z", now()).unwrap(), "2026-12-01T09:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(parse_since("2026-12-01", now()).unwrap(), "2026-12-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(parse_since("12h", now()).unwrap(), "2026-12-03T00:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(parse_since("7d", now()).unwrap(), "2026-11-26T12:00:00Z".parse::<DateTime<Utc>>().unwrap());
        for bad in ["", "h", "yesterday", "-3d", "5w", "99999999999999d", "é"] {
            assert!(parse_since(bad, now()).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_listing_shows_who_what_when_and_why() {
        let entry = AuditEntry {
            at: now(),
            action: "rollback".into(),
            service: "odoo-web".into(),
            alert_id: Some("a1".into()),
            user_id: "U2".into(),
            user_name: "sam".into(),
            outcome: "refused".into(),
            reason: Some("Only <@U1> may take rollbacks of `odoo-web`.".into()),
            deploy_id: None,
            channel: Some("C0".into()),
        };
        let text = render(std::slice::from_ref(&entry), false);
        assert!(text.starts_with("2026-12-03 12:00:00  refused  rollback    odoo-web             sam (U2) on alert a1\n"), "{text}");
        assert!(text.contains("why: Only <@U1>"), "{text}");
        let json: serde_json::Value = serde_json::from_str(render(&[entry], true).trim()).unwrap();
        assert_eq!((json["outcome"].as_str(), json["user_id"].as_str()), (Some("refused"), Some("U2")));
        assert_eq!(render(&[], false), "no attempts recorded\n");
    }
}
