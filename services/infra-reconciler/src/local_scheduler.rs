//! The local stack's stand-in for EventBridge's scheduler: emulators store scheduled rules but
//! never fire them, so this reads what is deployed (`ListRules`, `ListTargetsByRule` on the
//! default bus: endpoint-agnostic, and exactly what a deploy left) and, at each rule's next run,
//! delivers what EventBridge would (the scheduled event through each target's input, see
//! [`crate::schedule::deliver`]) with SQS `SendMessage`.
//!
//! Used by `pulse schedules run|fire|list`. Only SQS targets are delivered (the only kind the
//! reconciler declares); another target is an error naming it.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::clients::{Clients, Context, DEFAULT_BUS};
use crate::error::{Error, Result};
use crate::model::{Kind, ResourceId};
use crate::schedule::deliver::{TargetInput, scheduled_event, target_input};
use crate::schedule::{Schedule, parse};

/// A deployed scheduled rule and its targets.
#[derive(Debug, Clone)]
pub struct DeployedSchedule {
    pub name: String,
    pub arn: String,
    pub expression: String,
    pub schedule: Schedule,
    pub enabled: bool,
    pub targets: Vec<DeployedTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedTarget {
    pub id: String,
    pub arn: String,
    pub input: TargetInput,
}

/// One message delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub rule: String,
    pub target: String,
    /// The queue's name.
    pub queue: String,
    /// The text sent.
    pub body: String,
}

/// The scheduled rules on the default bus whose names start with `prefix` (a stack's prefix).
pub async fn deployed(clients: &Clients, prefix: &str) -> Result<Vec<DeployedSchedule>> {
    let mut found = Vec::new();
    let mut next_token: Option<String> = None;
    loop {
        let out = clients
            .eventbridge
            .list_rules()
            .event_bus_name(DEFAULT_BUS)
            .name_prefix(prefix)
            .set_next_token(next_token.take())
            .send()
            .await
            .map_err(|e| Error::aws(&ResourceId::new(Kind::Schedule, prefix), "events:ListRules", e))?;
        for rule in out.rules() {
            let (Some(name), Some(expression)) = (rule.name(), rule.schedule_expression()) else { continue };
            let id = ResourceId::new(Kind::Schedule, name);
            let schedule = parse(expression).map_err(|e| Error::resource(&id, e.to_string()))?;
            found.push(DeployedSchedule {
                name: name.to_owned(),
                arn: rule.arn().unwrap_or_default().to_owned(),
                expression: expression.to_owned(),
                schedule,
                enabled: rule.state().is_none_or(|s| s.as_str() == "ENABLED"),
                targets: targets(clients, &id).await?,
            });
        }
        match out.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
            _ => break,
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

async fn targets(clients: &Clients, id: &ResourceId) -> Result<Vec<DeployedTarget>> {
    let mut found = Vec::new();
    let mut next_token: Option<String> = None;
    loop {
        let out = clients
            .eventbridge
            .list_targets_by_rule()
            .rule(&id.name)
            .event_bus_name(DEFAULT_BUS)
            .set_next_token(next_token.take())
            .send()
            .await
            .map_err(|e| Error::aws(id, "events:ListTargetsByRule", e))?;
        for t in out.targets() {
            let input = if let Some(it) = t.input_transformer() {
                let paths = it.input_paths_map().into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
                TargetInput::Transformer { paths, template: it.input_template().to_owned() }
            } else if let Some(input) = t.input() {
                TargetInput::Constant(input.to_owned())
            } else if let Some(path) = t.input_path() {
                TargetInput::Path(path.to_owned())
            } else {
                TargetInput::Event
            };
            found.push(DeployedTarget { id: t.id().to_owned(), arn: t.arn().to_owned(), input });
        }
        match out.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
            _ => break,
        }
    }
    Ok(found)
}

/// Deliver `schedule`'s event for the run at `time` (event id `event_id`) to each of its targets.
pub async fn fire(
    clients: &Clients,
    cx: &Context,
    schedule: &DeployedSchedule,
    time: DateTime<Utc>,
    event_id: &str,
) -> Result<Vec<Delivered>> {
    let id = ResourceId::new(Kind::Schedule, &schedule.name);
    let event = scheduled_event(event_id, time, &cx.account_id, &cx.region, &schedule.arn);
    let mut delivered = Vec::new();
    for target in &schedule.targets {
        let queue = sqs_queue_name(&target.arn).ok_or_else(|| {
            Error::resource(&id, format!("target {} ({}) is not an SQS queue; only queues are delivered locally", target.id, target.arn))
        })?;
        let body = target_input(&target.input, &event, &schedule.name, &schedule.arn)
            .map_err(|e| Error::resource(&id, format!("target {}: {e}", target.id)))?;
        let url = clients
            .sqs
            .get_queue_url()
            .queue_name(queue)
            .send()
            .await
            .map_err(|e| Error::aws(&id, "sqs:GetQueueUrl", e))?
            .queue_url()
            .unwrap_or_default()
            .to_owned();
        clients.sqs.send_message().queue_url(url).message_body(&body).send().await.map_err(|e| Error::aws(&id, "sqs:SendMessage", e))?;
        delivered.push(Delivered { rule: schedule.name.clone(), target: target.id.clone(), queue: queue.to_owned(), body });
    }
    Ok(delivered)
}

/// `arn:aws:sqs:REGION:ACCOUNT:NAME` → `NAME`.
fn sqs_queue_name(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "sqs", _, _, name] if !name.is_empty() => Some(name),
        _ => None,
    }
}

/// When each enabled schedule runs next, as the runner keeps it: the first run after the moment
/// the runner first saw the rule, then each run after the previous one.
#[derive(Debug, Default)]
pub struct Timetable {
    next: std::collections::BTreeMap<String, (String, DateTime<Utc>)>,
}

impl Timetable {
    /// Take in the schedules deployed now: new ones get their first run after `now`; a changed
    /// expression starts over; removed or disabled ones are dropped.
    pub fn refresh(&mut self, deployed: &[DeployedSchedule], now: DateTime<Utc>) {
        self.next.retain(|name, _| deployed.iter().any(|d| d.enabled && &d.name == name));
        for d in deployed.iter().filter(|d| d.enabled) {
            let fresh = self.next.get(&d.name).is_none_or(|(expr, _)| *expr != d.expression);
            if fresh && let Some(at) = d.schedule.next_after(now) {
                self.next.insert(d.name.clone(), (d.expression.clone(), at));
            }
        }
    }

    /// The runs due at `now` (name and scheduled time), each moved on to its following run
    /// after `now`: like EventBridge, a runner that was stopped or asleep does not catch up on
    /// the runs it missed, it fires the latest once.
    pub fn take_due(&mut self, deployed: &[DeployedSchedule], now: DateTime<Utc>) -> Vec<(String, DateTime<Utc>)> {
        let mut due = Vec::new();
        for d in deployed {
            let Some((_, at)) = self.next.get(&d.name).cloned() else { continue };
            if at <= now {
                due.push((d.name.clone(), at));
                let following = d.schedule.next_after(at).filter(|t| *t > now).or_else(|| d.schedule.next_after(now));
                match following {
                    Some(next) => self.next.insert(d.name.clone(), (d.expression.clone(), next)),
                    None => self.next.remove(&d.name),
                };
            }
        }
        due
    }

    /// The earliest next run, if any.
    pub fn earliest(&self) -> Option<DateTime<Utc>> {
        self.next.values().map(|(_, at)| *at).min()
    }

    /// Each schedule's next run, by name.
    pub fn runs(&self) -> impl Iterator<Item = (&str, DateTime<Utc>)> {
        self.next.iter().map(|(name, (_, at))| (name.as_str(), *at))
    }
}

/// RFC 3339 to the second, as EventBridge writes `time`.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn deployed(name: &str, expr: &str, enabled: bool) -> DeployedSchedule {
        DeployedSchedule {
            name: name.into(),
            arn: format!("arn:aws:events:us-east-1:123456789012:rule/{name}"),
            expression: expr.into(),
            schedule: parse(expr).unwrap(),
            enabled,
            targets: vec![],
        }
    }

    #[test]
    fn the_timetable_fires_each_run_once_and_moves_on() {
        let stack = [deployed("daily", "cron(0 13 * * ? *)", true), deployed("off", "cron(* * * * ? *)", false)];
        let mut t = Timetable::default();
        t.refresh(&stack, at("2026-12-04T12:59:30Z"));
        assert_eq!(t.earliest(), Some(at("2026-12-04T13:00:00Z")));
        assert!(t.take_due(&stack, at("2026-12-04T12:59:59Z")).is_empty());
        assert_eq!(t.take_due(&stack, at("2026-12-04T13:00:01Z")), vec![("daily".to_owned(), at("2026-12-04T13:00:00Z"))]);
        assert!(t.take_due(&stack, at("2026-12-04T13:00:02Z")).is_empty());
        // Asleep for three days: one run, then the next one after waking.
        assert_eq!(t.take_due(&stack, at("2026-12-08T09:00:00Z")), vec![("daily".to_owned(), at("2026-12-05T13:00:00Z"))]);
        assert_eq!(t.earliest(), Some(at("2026-12-08T13:00:00Z")));
        let mut t = Timetable::default();
        t.refresh(&stack, at("2026-12-04T12:59:30Z"));
        t.take_due(&stack, at("2026-12-04T13:00:01Z"));
        // A refresh keeps the run it had; a changed expression starts over.
        t.refresh(&stack, at("2026-12-04T14:00:00Z"));
        assert_eq!(t.earliest(), Some(at("2026-12-05T13:00:00Z")));
        t.refresh(&[deployed("daily", "cron(30 14 * * ? *)", true)], at("2026-12-04T14:00:00Z"));
        assert_eq!(t.earliest(), Some(at("2026-12-04T14:30:00Z")));
        // Removed: gone.
        t.refresh(&[], at("2026-12-04T14:00:00Z"));
        assert_eq!(t.earliest(), None);
    }

    #[test]
    fn queue_names_come_from_sqs_arns_only() {
        assert_eq!(sqs_queue_name("arn:aws:sqs:us-east-1:123456789012:pulse-notifier"), Some("pulse-notifier"));
        assert_eq!(sqs_queue_name("arn:aws:lambda:us-east-1:123456789012:function:f"), None);
    }
}
