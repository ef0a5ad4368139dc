//! The status board behind `/pulser status` and `/pulser health`, in the messages table:
//! pk `status#`, sk `{service}` holds the newest ops alert per service (a write is conditional
//! on being newer, so a late alert cannot overwrite a fresher one); pk `health#`, sk `notifier`
//! holds when the notifier last handled an event successfully.

use aws_sdk_dynamodb::error::SdkError;
use chrono::{DateTime, Utc};

use crate::commands::StatusEntry;
use crate::store::{Store, StoreError, get_n, get_s, n, s};

impl Store {
    pub async fn record_status(&self, entry: &StatusEntry) -> Result<(), StoreError> {
        let json = serde_json::to_string(entry).expect("status entry serializes");
        let result = self
            .client
            .put_item()
            .table_name(&self.messages)
            .item("pk", s("status#"))
            .item("sk", s(&entry.service))
            .item("entry", s(json))
            .item("at_ms", n(entry.at.timestamp_millis()))
            .condition_expression("attribute_not_exists(pk) OR at_ms <= :at")
            .expression_attribute_values(":at", n(entry.at.timestamp_millis()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(()),
            Err(e) => Err(self.err(&self.messages, "PutItem", &e)),
        }
    }

    pub async fn status_board(&self) -> Result<Vec<StatusEntry>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.messages)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s("status#"))
            .send()
            .await
            .map_err(|e| self.err(&self.messages, "Query", &e))?;
        Ok(out.items().iter().filter_map(|i| serde_json::from_str(get_s(i, "entry")?).ok()).collect())
    }

    pub async fn record_last_ok(&self, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.messages)
            .item("pk", s("health#"))
            .item("sk", s("notifier"))
            .item("at_ms", n(at.timestamp_millis()))
            .send()
            .await
            .map_err(|e| self.err(&self.messages, "PutItem", &e))?;
        Ok(())
    }

    pub async fn last_ok(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let item = self.get_item("health#", "notifier").await?;
        Ok(item.and_then(|i| get_n(&i, "at_ms")).and_then(DateTime::from_timestamp_millis))
    }
}
