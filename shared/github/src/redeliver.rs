//! Which deliveries to redeliver, as a pure choice over what GitHub listed.
//!
//! The rules:
//! - only deliveries made at or after `since` are looked at;
//! - an event (its `guid`) is done when any of its attempts succeeded (2xx), the first or a
//!   redelivery: it is never sent twice by this;
//! - an event none of whose attempts succeeded is redelivered once, from its latest attempt;
//! - the chosen ones come oldest first, so the receiver sees events in the order they happened.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::api::Delivery;

/// The deliveries to redeliver, oldest first, by the rules above.
pub fn to_redeliver(deliveries: &[Delivery], since: DateTime<Utc>) -> Vec<&Delivery> {
    let mut by_guid: BTreeMap<&str, Vec<&Delivery>> = BTreeMap::new();
    for delivery in deliveries.iter().filter(|d| d.delivered_at >= since) {
        by_guid.entry(&delivery.guid).or_default().push(delivery);
    }
    let mut chosen: Vec<&Delivery> = by_guid
        .into_values()
        .filter(|attempts| !attempts.iter().any(|d| d.succeeded()))
        .filter_map(|attempts| attempts.into_iter().max_by_key(|d| (d.delivered_at, d.id)))
        .collect();
    chosen.sort_by_key(|d| (d.delivered_at, d.id));
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(id: u64, guid: &str, minute: i64, status_code: u16) -> Delivery {
        Delivery {
            id,
            guid: guid.to_owned(),
            delivered_at: DateTime::from_timestamp(minute * 60, 0).unwrap(),
            redelivery: false,
            status: String::new(),
            status_code,
            event: "workflow_run".into(),
            action: Some("completed".into()),
        }
    }

    #[test]
    fn each_failed_event_once_from_its_latest_attempt_oldest_first() {
        let listed = [
            delivery(1, "old", 1, 500), // before `since`
            delivery(2, "a", 10, 502),  // failed, then redelivered fine
            delivery(3, "a", 12, 200),
            delivery(4, "b", 11, 0), // failed twice: the later attempt is chosen
            delivery(5, "b", 13, 503),
            delivery(6, "c", 9, 500),  // failed once, earliest
            delivery(7, "d", 14, 202), // fine
        ];
        let since = DateTime::from_timestamp(5 * 60, 0).unwrap();
        let ids: Vec<u64> = to_redeliver(&listed, since).iter().map(|d| d.id).collect();
        assert_eq!(ids, [6, 5]);
        assert!(to_redeliver(&[], since).is_empty());
    }
}
