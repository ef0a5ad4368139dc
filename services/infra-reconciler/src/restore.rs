//! Restoring a table with point-in-time recovery to a moment of the last 35 days, into a new
//! table: never over the original, which stays as it is for comparison. The procedure, in the
//! infra README: restore, check the copy, then point the service at it or copy items back.

use std::time::Duration;

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::primitives::DateTime;
use aws_sdk_dynamodb::types::PointInTimeRecoveryStatus;

use crate::clients::Clients;
use crate::error::{Error, Result, error_is};
use crate::model::{Kind, ResourceId};

/// What was restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub source: String,
    pub target: String,
    /// The moment restored to, in Unix seconds (`None`: the latest restorable one).
    pub at: Option<i64>,
    /// Items in the new table, counted by a scan once it is active.
    pub items: u64,
}

/// Restore `source` as it was at `at` (Unix seconds; `None`: the latest restorable time) into
/// the new table `target`, wait until it is active, and count its items. Refused, with the
/// reason, when the source has no point-in-time recovery or the target exists.
pub async fn restore_table(clients: &Clients, source: &str, target: &str, at: Option<i64>) -> Result<Restored> {
    let id = ResourceId::new(Kind::Table, target);
    let source_id = ResourceId::new(Kind::Table, source);
    let backups = clients
        .dynamodb
        .describe_continuous_backups()
        .table_name(source)
        .send()
        .await
        .map_err(|e| Error::aws(&source_id, "dynamodb:DescribeContinuousBackups", e))?;
    let pitr = backups.continuous_backups_description().and_then(|d| d.point_in_time_recovery_description());
    if pitr.and_then(|d| d.point_in_time_recovery_status()) != Some(&PointInTimeRecoveryStatus::Enabled) {
        return Err(Error::resource(
            &source_id,
            "point-in-time recovery is off for this table, so there is nothing to restore from (declare `point_in_time_recovery: true` and deploy)",
        ));
    }
    match clients.dynamodb.describe_table().table_name(target).send().await {
        Ok(_) => return Err(Error::resource(&id, "the target table exists already: restore into a new name")),
        Err(err) if error_is(&err, &["ResourceNotFoundException"]) => {}
        Err(err) => return Err(Error::aws(&id, "dynamodb:DescribeTable", err)),
    }
    let request = clients.dynamodb.restore_table_to_point_in_time().source_table_name(source).target_table_name(target);
    let request = match at {
        Some(secs) => request.restore_date_time(DateTime::from_secs(secs)),
        None => request.use_latest_restorable_time(true),
    };
    request.send().await.map_err(|e| Error::aws(&id, "dynamodb:RestoreTableToPointInTime", e))?;
    // A restore of a large table takes a while; the waiter polls DescribeTable with backoff.
    clients
        .dynamodb
        .wait_until_table_exists()
        .table_name(target)
        .wait(Duration::from_secs(60 * 60))
        .await
        .map_err(|e| Error::resource(&id, format!("the restored table did not become active: {e}")))?;
    let mut items = 0u64;
    let mut start = None;
    loop {
        let page = clients
            .dynamodb
            .scan()
            .table_name(target)
            .select(aws_sdk_dynamodb::types::Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| Error::aws(&id, "dynamodb:Scan", e))?;
        items += u64::try_from(page.count()).unwrap_or(0);
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => break,
        }
    }
    Ok(Restored { source: source.to_owned(), target: target.to_owned(), at, items })
}
