//! pulse-github: the few GitHub REST calls Pulse makes, with GitHub's credentials and limits.
//!
//! - [`GithubClient`] (`client.rs`): a configurable API root (github.com, GitHub Enterprise
//!   Server's `https://HOST/api/v3`, the local fake), a fine-grained token or a GitHub App
//!   (RS256 JWT → installation → installation token, cached until shortly before it expires),
//!   GitHub's headers, and bounded retries on 5xx, 429 and rate-limited 403s.
//! - The operations (`api.rs`): [`GithubClient::rerun_failed_jobs`],
//!   [`GithubClient::deliveries`] and [`GithubClient::redeliver`] for a repository's, an
//!   organisation's or the App's [`Hook`], [`GithubClient::collaborator_permission`],
//!   [`GithubClient::pulls_for_commit`].
//! - [`to_redeliver`] (`redeliver.rs`): which failed deliveries to send again, a pure choice.
//! - `wire.rs`: the pure rules (the JWT's claims, what an answer means, paging).
//! - [`settings`] and [`credentials`]: the variables and SSM parameters credentials come from;
//!   [`LazyClient`] (`lazy.rs`) looks them up on first use rather than at start.
//!
//! No token, JWT or key is ever logged or put in an error.

mod api;
mod client;
pub mod credentials;
mod error;
mod lazy;
mod names;
mod redeliver;
pub mod settings;
pub mod wire;

pub use api::{Delivery, Hook, MAX_DELIVERY_PAGES, Permission, PullRequest};
pub use client::{Credentials, DEFAULT_API_URL, GithubClient, GithubConfig};
pub use error::GithubError;
pub use lazy::LazyClient;
pub use names::RepoName;
pub use redeliver::to_redeliver;
