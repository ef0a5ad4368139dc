//! ingress: the only door from Slack (and GitHub's webhooks) into Pulse. Every request is
//! verified (signature and timestamp), recorded once in the envelope ledger, acknowledged well
//! within Slack's 3 seconds, and handed to the other services as a `slack.*` (or `github.*`)
//! event. No other work happens here.
//!
//! - Pure core (no I/O): [`headers`] (Slack headers in any letter case), [`verify`] (v0
//!   signatures), [`parse`] (form / JSON / Socket Mode payloads → typed requests), [`command`]
//!   (slash command text → action or usage), [`modal`] (the deploy confirmation), [`decide`]
//!   (a request → the reply, the ledger key, the events, the modal to open); [`github`] (GitHub
//!   webhooks: `X-Hub-Signature-256`, `workflow_run` / `workflow_job` payloads → `github.*`
//!   events, the same kind of decision).
//! - I/O shell: [`ledger`] (DynamoDB), [`service`] ([`Ingress`]: ledger → `views.open` → publish),
//!   [`config`] (from the environment and SSM).
//! - Transports: [`http`] (API Gateway v1/v2 in Lambda, a local axum server; Slack's routes and
//!   `POST /github/webhook`) and Socket Mode.
//!
//! Realistic signed Slack requests for tests live in `pulse-slack-requests`, and the fake Socket
//! Mode server in `pulse-fake-socket-mode` (both under `shared/fakes/`): never linked into the
//! service.

pub mod command;
pub mod config;
pub mod decide;
pub mod github;
pub mod headers;
pub mod http;
pub mod ledger;
pub mod modal;
pub mod parse;
pub mod service;
pub mod settings;
pub mod verify;

pub mod socket_mode;

pub use decide::{Core, Decision, RawRequest, Reply, SOURCE};
pub use headers::SlackHeaders;
pub use parse::MAX_BODY_BYTES;
pub use service::{Ingress, IngressError};
pub use verify::{Verifier, sign};
