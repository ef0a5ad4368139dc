//! `user.registered` v1: a product's new user signed up (seed 002); the notifier posts it to the
//! users channel.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::Email;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRegistered {
    /// The product's own id for the user.
    pub user_id: String,
    pub email: Email,
    /// May be empty: some sign-in providers give no name.
    pub display_name: String,
    /// Users after this one signed up, when the product knows it cheaply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_users: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// When the account was created, if it differs from the envelope's `occurred_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_at: Option<DateTime<Utc>>,
}
