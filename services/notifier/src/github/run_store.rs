//! The run and branch states in the messages table.
//!
//! A run's merged state: pk `ghrun#{owner/name lower-cased}#{run id}`,
//! sk `state`; attributes `state` (JSON [`RunState`]), `version` (counts the writes) and
//! `expires_at` (the ledger's TTL). Every write is conditional on the version read, so two
//! deliveries merged concurrently cannot lose each other's jobs: the loser is retried, reads
//! the winner's state and merges again. A subscription's branch state (red / green,
//! [`BranchState`]) is kept the same way under `ghbranch#{repo}#{branch}`, sk the channel.

use aws_sdk_dynamodb::error::SdkError;

use super::run::RunState;
use super::runs::RunRef;
use super::transitions::{BranchRef, BranchState};
use crate::store::{LEDGER_TTL_SECS, Store, StoreError, get_n, get_s, n, s};

const SK: &str = "state";

fn pk(run: &RunRef) -> String {
    format!("ghrun#{}#{}", run.repository, run.run_id)
}

/// A save that lost to a concurrent one.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("run {pk} was saved by another delivery meanwhile (expected version {expected:?})")]
    Conflict { pk: String, expected: Option<u64> },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// The run's state and version, when stored.
    pub async fn run_state(&self, run: &RunRef) -> Result<Option<(RunState, u64)>, StoreError> {
        let pk = pk(run);
        let Some(item) = self.get_item(&pk, SK).await? else { return Ok(None) };
        let state = get_s(&item, "state").and_then(|j| serde_json::from_str(j).ok()).ok_or_else(|| StoreError::Malformed {
            table: self.messages.clone(),
            pk: pk.clone(),
            sk: SK.into(),
            message: "no valid run state".into(),
        })?;
        Ok(Some((state, get_n(&item, "version").and_then(|v| u64::try_from(v).ok()).unwrap_or(0))))
    }

    /// The stored version (0 when none).
    pub async fn run_version(&self, run: &RunRef) -> Result<u64, StoreError> {
        let item = self.get_item(&pk(run), SK).await?;
        Ok(item.and_then(|i| get_n(&i, "version")).and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
    }

    /// Write `state` as the version after `expected` (`None`: nothing may be stored yet).
    pub async fn save_run(&self, run: &RunRef, state: &RunState, expected: Option<u64>, now_secs: i64) -> Result<(), SaveError> {
        let pk = pk(run);
        let json = serde_json::to_string(state).map_err(|e| StoreError::Malformed {
            table: self.messages.clone(),
            pk: pk.clone(),
            sk: SK.into(),
            message: e.to_string(),
        })?;
        let put = self
            .client
            .put_item()
            .table_name(&self.messages)
            .item("pk", s(&pk))
            .item("sk", s(SK))
            .item("state", s(json))
            .item("version", n(expected.unwrap_or(0) + 1))
            .item("expires_at", n(now_secs + LEDGER_TTL_SECS));
        self.put_versioned(put, pk, expected).await
    }
}

fn branch_pk(at: &BranchRef) -> String {
    format!("ghbranch#{}#{}", at.repository, at.branch)
}

impl Store {
    /// A subscription's branch state and version, when stored (pk `ghbranch#{repo}#{branch}`,
    /// sk the channel; no TTL: it lives as long as the branch is followed).
    pub async fn branch_state(&self, at: &BranchRef) -> Result<Option<(BranchState, u64)>, StoreError> {
        let pk = branch_pk(at);
        let Some(item) = self.get_item(&pk, &at.channel).await? else { return Ok(None) };
        let state = get_s(&item, "state").and_then(|j| serde_json::from_str(j).ok()).ok_or_else(|| StoreError::Malformed {
            table: self.messages.clone(),
            pk: pk.clone(),
            sk: at.channel.clone(),
            message: "no valid branch state".into(),
        })?;
        Ok(Some((state, get_n(&item, "version").and_then(|v| u64::try_from(v).ok()).unwrap_or(0))))
    }

    /// Write a branch state as the version after `expected` (`None`: nothing stored yet).
    pub async fn save_branch(&self, at: &BranchRef, state: &BranchState, expected: Option<u64>) -> Result<(), SaveError> {
        let pk = branch_pk(at);
        let json = serde_json::to_string(state).map_err(|e| StoreError::Malformed {
            table: self.messages.clone(),
            pk: pk.clone(),
            sk: at.channel.clone(),
            message: e.to_string(),
        })?;
        let put = self
            .client
            .put_item()
            .table_name(&self.messages)
            .item("pk", s(&pk))
            .item("sk", s(&at.channel))
            .item("state", s(json))
            .item("version", n(expected.unwrap_or(0) + 1));
        self.put_versioned(put, pk, expected).await
    }

    async fn put_versioned(
        &self,
        put: aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
        pk: String,
        expected: Option<u64>,
    ) -> Result<(), SaveError> {
        let put = match expected {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(v) => put.condition_expression("version = :v").expression_attribute_values(":v", n(v)),
        };
        match put.send().await {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Err(SaveError::Conflict { pk, expected }),
            Err(e) => Err(self.err(&self.messages, "PutItem", &e).into()),
        }
    }
}
