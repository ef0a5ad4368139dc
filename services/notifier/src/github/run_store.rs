//! The run and branch states in the messages table.
//!
//! A run's merged state: pk `ghrun#{owner/name lower-cased}#{run id}`,
//! sk `state`; attributes `state` (JSON [`RunState`]), `version` (counts the writes) and
//! `expires_at` (the ledger's TTL). Every write is conditional on the version read, so two
//! deliveries merged concurrently cannot lose each other's jobs: the loser is retried, reads
//! the winner's state and merges again. A subscription's branch state (red / green,
//! [`BranchState`]) is kept the same way under `ghbranch#{repo}#{branch}`, sk the channel.

use aws_sdk_dynamodb::error::SdkError;
use serde::Serialize;
use serde::de::DeserializeOwned;

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
    #[error("{pk} was saved by another delivery meanwhile (expected version {expected:?})")]
    Conflict { pk: String, expected: Option<u64> },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// The run's state and version, when stored.
    pub async fn run_state(&self, run: &RunRef) -> Result<Option<(RunState, u64)>, StoreError> {
        self.versioned(&pk(run), SK).await
    }

    /// The stored version (0 when none).
    pub async fn run_version(&self, run: &RunRef) -> Result<u64, StoreError> {
        let item = self.get_item(&pk(run), SK).await?;
        Ok(item.and_then(|i| get_n(&i, "version")).and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
    }

    /// Write `state` as the version after `expected` (`None`: nothing may be stored yet).
    pub async fn save_run(&self, run: &RunRef, state: &RunState, expected: Option<u64>, now_secs: i64) -> Result<(), SaveError> {
        self.save_versioned(&pk(run), SK, state, expected, Some(now_secs + LEDGER_TTL_SECS)).await
    }

    /// A subscription's branch state and version, when stored (pk `ghbranch#{repo}#{branch}`,
    /// sk the channel; no TTL: it lives as long as the branch is followed).
    pub async fn branch_state(&self, at: &BranchRef) -> Result<Option<(BranchState, u64)>, StoreError> {
        self.versioned(&branch_pk(at), &at.channel).await
    }

    /// Write a branch state as the version after `expected` (`None`: nothing stored yet).
    pub async fn save_branch(&self, at: &BranchRef, state: &BranchState, expected: Option<u64>) -> Result<(), SaveError> {
        self.save_versioned(&branch_pk(at), &at.channel, state, expected, None).await
    }

    /// A JSON `state` attribute and its `version`, when the item exists.
    async fn versioned<T: DeserializeOwned>(&self, pk: &str, sk: &str) -> Result<Option<(T, u64)>, StoreError> {
        let Some(item) = self.get_item(pk, sk).await? else { return Ok(None) };
        let state = get_s(&item, "state").and_then(|j| serde_json::from_str(j).ok()).ok_or_else(|| StoreError::Malformed {
            table: self.messages.clone(),
            pk: pk.to_owned(),
            sk: sk.to_owned(),
            message: "no valid state".into(),
        })?;
        Ok(Some((state, get_n(&item, "version").and_then(|v| u64::try_from(v).ok()).unwrap_or(0))))
    }

    /// Put `state` as the version after `expected`, conditional on it (`None`: on no item).
    async fn save_versioned<T: Serialize>(
        &self,
        pk: &str,
        sk: &str,
        state: &T,
        expected: Option<u64>,
        expires_at: Option<i64>,
    ) -> Result<(), SaveError> {
        let json = serde_json::to_string(state).map_err(|e| StoreError::Malformed {
            table: self.messages.clone(),
            pk: pk.to_owned(),
            sk: sk.to_owned(),
            message: e.to_string(),
        })?;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.messages)
            .item("pk", s(pk))
            .item("sk", s(sk))
            .item("state", s(json))
            .item("version", n(expected.unwrap_or(0) + 1));
        if let Some(at) = expires_at {
            put = put.item("expires_at", n(at));
        }
        let put = match expected {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(v) => put.condition_expression("version = :v").expression_attribute_values(":v", n(v)),
        };
        match put.send().await {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Err(SaveError::Conflict { pk: pk.to_owned(), expected })
            }
            Err(e) => Err(self.err(&self.messages, "PutItem", &e).into()),
        }
    }
}

fn branch_pk(at: &BranchRef) -> String {
    format!("ghbranch#{}#{}", at.repository, at.branch)
}
