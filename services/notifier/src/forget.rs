//! `pulse forget` at the notifier: a person leaves the message table, and becomes a pseudonym in
//! the audit log.
//!
//! The rules:
//! - In the messages table, an item is the person's when a segment of its key (split at `#` and
//!   `:`) is exactly their Slack user id or e-mail, or when it is a subscription guard
//!   (`subuser#…`) whose `email` is the forgotten e-mail: the subscription projection (`sub#`,
//!   `subuser#`), the DM channel (`dm#`), the DM and digest ledger (`msg#dm:{user}:…:{email}:…`,
//!   `msg#digest:…:{user}`). Those are deleted. Exact segments, so forgetting `ann@x.io` leaves
//!   `joann@x.io` alone.
//! - In the audit log, nothing is deleted: who acted stays answerable. Every entry whose
//!   `user_id` or `email` is the person's gets the request's pseudonym in those fields (and in
//!   `user_name`), the same pseudonym for all of them. The request itself is audited once, under
//!   the pseudonym and the operator who asked.
//! - A dry run counts and changes nothing. Doing it again finds nothing, so a redelivery is
//!   harmless (the audit record of the request is put-if-absent).
//!
//! [`is_persons`] and [`plan`] are pure; [`Store::forget_candidates`] reads, and the executor
//! carries out the [`Step`]s.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use pulse_contracts::{Event, ForgetAction, ForgottenRecord, PersonForget, PersonForgotten};

use crate::plan::{Effect, Plan};
use crate::store::{Store, StoreError, get_s, n, s};

/// Which of the notifier's tables an item is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Table {
    Messages,
    Audit,
}

/// An item that names the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub table: Table,
    pub pk: String,
    pub sk: String,
    /// Audit fields holding the person's Slack user id / e-mail.
    pub user_field: bool,
    pub email_field: bool,
}

/// One change the executor makes.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Delete a messages-table item.
    Erase { pk: String, sk: String },
    /// Put `pseudonym` into an audit entry's person fields.
    Pseudonymise { pk: String, sk: String, user: bool, email: bool, pseudonym: String },
    /// Audit the request itself (put-if-absent).
    Record { request_id: uuid::Uuid, pseudonym: String, requested_by: String, at: DateTime<Utc> },
}

/// Whether a messages-table key names the person: one of its `#`/`:` segments is exactly the
/// Slack user id or the e-mail.
pub fn is_persons(pk: &str, sk: &str, user: Option<&str>, email: Option<&str>) -> bool {
    let ids = [user, email];
    [pk, sk].iter().flat_map(|key| key.split(['#', ':'])).any(|segment| ids.contains(&Some(segment)))
}

/// What to do for `request`, given the items that name the person: the steps (none on a dry
/// run) and the report, published last so it is only sent once everything else is done.
pub fn plan(request: &PersonForget, found: &[Found], messages_table: &str, audit_table: &str, at: DateTime<Utc>) -> Plan {
    let mut counts: BTreeMap<(Table, &str), u64> = BTreeMap::new();
    let mut effects = Vec::new();
    for item in found {
        let what = match item.table {
            Table::Messages => kind_of(&item.pk),
            Table::Audit => "audit entries naming the person",
        };
        *counts.entry((item.table, what)).or_default() += 1;
        if request.dry_run {
            continue;
        }
        effects.push(Effect::Forget(match item.table {
            Table::Messages => Step::Erase { pk: item.pk.clone(), sk: item.sk.clone() },
            Table::Audit => Step::Pseudonymise {
                pk: item.pk.clone(),
                sk: item.sk.clone(),
                user: item.user_field,
                email: item.email_field,
                pseudonym: request.pseudonym.clone(),
            },
        }));
    }
    if !request.dry_run {
        effects.push(Effect::Forget(Step::Record {
            request_id: request.request_id,
            pseudonym: request.pseudonym.clone(),
            requested_by: request.requested_by.clone(),
            at,
        }));
    }
    let records = counts
        .into_iter()
        .map(|((table, what), count)| ForgottenRecord {
            action: if table == Table::Audit { ForgetAction::Pseudonymised } else { ForgetAction::Deleted },
            what: what.to_owned(),
            place: (if table == Table::Audit { audit_table } else { messages_table }).to_owned(),
            count,
            note: (table == Table::Audit).then(|| format!("now {}", request.pseudonym)),
        })
        .collect();
    let report = PersonForgotten { request_id: request.request_id, service: "notifier".into(), dry_run: request.dry_run, records };
    effects.push(Effect::Publish {
        event: Box::new(Event::PersonForgottenV1(report)),
        dedup_key: format!("person.forgotten:{}:notifier", request.request_id),
    });
    Plan::chain(format!("forget {}", request.request_id), effects)
}

/// The filter matching either condition that is there.
fn any_of(a: Option<&str>, b: Option<&str>) -> String {
    [a, b].into_iter().flatten().collect::<Vec<_>>().join(" OR ")
}

/// What a messages-table item is, by its key's family.
fn kind_of(pk: &str) -> &'static str {
    match pk.split('#').next() {
        Some("sub" | "subuser") => "subscription projection",
        Some("dm") => "DM channel",
        Some("msg") => "message ledger entries",
        _ => "other records",
    }
}

impl Store {
    /// Every item of both tables that names the person (two Scans: forgetting is rare).
    pub async fn forget_candidates(&self, user: Option<&str>, email: Option<&str>) -> Result<Vec<Found>, StoreError> {
        let mut values = HashMap::new();
        if let Some(user) = user {
            values.insert(":u".to_owned(), s(user));
        }
        if let Some(email) = email {
            values.insert(":e".to_owned(), s(email));
        }
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let messages_filter = any_of(
            user.map(|_| "contains(pk, :u) OR contains(sk, :u)"),
            email.map(|_| "contains(pk, :e) OR contains(sk, :e) OR email = :e"),
        );
        let audit_filter = any_of(user.map(|_| "user_id = :u"), email.map(|_| "email = :e"));
        let mut found = Vec::new();
        for item in self.scan(&self.messages, &messages_filter, &values).await? {
            let (pk, sk) = (get_s(&item, "pk").unwrap_or_default(), get_s(&item, "sk").unwrap_or_default());
            let guard_of_email = pk.starts_with("subuser#") && email.is_some() && get_s(&item, "email") == email;
            if is_persons(pk, sk, user, email) || guard_of_email {
                found.push(Found { table: Table::Messages, pk: pk.to_owned(), sk: sk.to_owned(), user_field: false, email_field: false });
            }
        }
        for item in self.scan(&self.audit, &audit_filter, &values).await? {
            let user_field = user.is_some() && get_s(&item, "user_id") == user;
            let email_field = email.is_some() && get_s(&item, "email") == email;
            if user_field || email_field {
                let (pk, sk) = (get_s(&item, "pk").unwrap_or_default(), get_s(&item, "sk").unwrap_or_default());
                found.push(Found { table: Table::Audit, pk: pk.to_owned(), sk: sk.to_owned(), user_field, email_field });
            }
        }
        Ok(found)
    }

    async fn scan(
        &self,
        table: &str,
        filter: &str,
        values: &HashMap<String, AttributeValue>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(table)
                .filter_expression(filter)
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.err(table, "Scan (forget)", &e))?;
            items.extend(page.items().iter().cloned());
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// Carry out one step; returns whether it changed anything.
    pub async fn forget_step(&self, step: &Step) -> Result<bool, StoreError> {
        match step {
            Step::Erase { pk, sk } => {
                self.delete_value(pk, sk).await?;
                Ok(true)
            }
            Step::Pseudonymise { pk, sk, user, email, pseudonym } => {
                let mut sets = Vec::new();
                if *user {
                    sets.push("user_id = :p, user_name = :p");
                }
                if *email {
                    sets.push("email = :p");
                }
                self.client
                    .update_item()
                    .table_name(&self.audit)
                    .key("pk", s(pk))
                    .key("sk", s(sk))
                    .update_expression(format!("SET {}", sets.join(", ")))
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_values(":p", s(pseudonym))
                    .send()
                    .await
                    .map(|_| true)
                    .or_else(|e| match e {
                        SdkError::ServiceError(e) if e.err().is_conditional_check_failed_exception() => Ok(false),
                        e => Err(self.err(&self.audit, "UpdateItem (pseudonymise)", &e)),
                    })
            }
            Step::Record { request_id, pseudonym, requested_by, at } => {
                let put = self
                    .client
                    .put_item()
                    .table_name(&self.audit)
                    .item("pk", s("forget#"))
                    .item("sk", s(format!("{}#{request_id}", at.to_rfc3339())))
                    .item("action", s("forget"))
                    .item("outcome", s("allowed"))
                    .item("user_id", s(pseudonym))
                    .item("user_name", s(pseudonym))
                    .item("reason", s(format!("forgotten at the request of {requested_by}")))
                    .item("at", s(at.to_rfc3339()))
                    .item("expires_at", n(at.timestamp() + crate::audit::AUDIT_TTL_SECS))
                    .condition_expression("attribute_not_exists(pk)")
                    .send()
                    .await;
                match put {
                    Ok(_) => Ok(true),
                    Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(false),
                    Err(e) => Err(self.err(&self.audit, "PutItem (forget)", &e)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn request(dry_run: bool) -> PersonForget {
        let request_id = Uuid::from_u128(7);
        PersonForget {
            request_id,
            email: Some(pulse_contracts::Email::parse("ann@x.io").unwrap()),
            slack_user_id: Some("U1".into()),
            dry_run,
            requested_by: "ops".into(),
            pseudonym: PersonForget::pseudonym_for(request_id),
        }
    }

    #[test]
    fn keys_name_the_person_only_by_whole_segments() {
        let (u, e) = (Some("U1"), Some("ann@x.io"));
        assert!(is_persons("msg#dm:U1:failure:bob@x.io:abc:failure:0:repo", "ledger", u, None));
        assert!(is_persons("msg#dm:U2:failure:ann@x.io:abc:failure:0:repo", "ledger", None, e));
        assert!(is_persons("sub#bob@x.io", "T1#U1", u, None));
        assert!(is_persons("dm#U1", "channel", u, None));
        assert!(is_persons("msg#digest:daily:2026-12-03T08:00:00+00:00:U1", "ledger", u, None));
        assert!(!is_persons("msg#dm:U11:failure:joann@x.io:abc", "ledger", u, e));
        assert!(!is_persons("msg#alert:a-1", "ledger", u, e));
    }

    #[test]
    fn the_plan_erases_pseudonymises_records_and_reports_last() {
        let found = vec![
            Found { table: Table::Messages, pk: "dm#U1".into(), sk: "channel".into(), user_field: false, email_field: false },
            Found { table: Table::Messages, pk: "msg#dm:U1:x".into(), sk: "ledger".into(), user_field: false, email_field: false },
            Found { table: Table::Audit, pk: "alert#a".into(), sk: "t#k".into(), user_field: true, email_field: false },
        ];
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let plan = plan(&request(false), &found, "msgs", "audit", at);
        let effects: Vec<_> = plan.effects().collect();
        assert_eq!(effects.len(), 5);
        assert!(
            matches!(effects[2], Effect::Forget(Step::Pseudonymise { pseudonym, user: true, email: false, .. }) if pseudonym == "person-000000000000")
        );
        assert!(matches!(effects[3], Effect::Forget(Step::Record { .. })));
        let Effect::Publish { event, dedup_key } = effects[4] else { panic!("the report comes last") };
        assert_eq!(dedup_key, "person.forgotten:00000000-0000-0000-0000-000000000007:notifier");
        let Event::PersonForgottenV1(report) = event.as_ref() else { panic!() };
        let lines: Vec<_> = report.records.iter().map(|r| (r.action, r.what.as_str(), r.place.as_str(), r.count)).collect();
        assert_eq!(
            lines,
            [
                (ForgetAction::Deleted, "DM channel", "msgs", 1),
                (ForgetAction::Deleted, "message ledger entries", "msgs", 1),
                (ForgetAction::Pseudonymised, "audit entries naming the person", "audit", 1),
            ]
        );
    }

    #[test]
    fn a_dry_run_only_reports() {
        let found = vec![Found { table: Table::Messages, pk: "dm#U1".into(), sk: "channel".into(), user_field: false, email_field: false }];
        let plan = plan(&request(true), &found, "msgs", "audit", Utc::now());
        let effects: Vec<_> = plan.effects().collect();
        assert_eq!(effects.len(), 1);
        let Effect::Publish { event, .. } = effects[0] else { panic!() };
        let Event::PersonForgottenV1(report) = event.as_ref() else { panic!() };
        assert!(report.dry_run);
        assert_eq!(report.records[0].count, 1);
    }
}
