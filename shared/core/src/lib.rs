//! pulse-core: what every Pulse crate shares and none should write again.
//!
//! - [`clock`]: the one source of "now". Decision code is handed a [`Clock`]; only
//!   [`Clock::system`] reads the system time.
//! - [`ids`]: the one source of fresh ids. Decision code is handed an [`Ids`]; only
//!   [`Ids::random`] draws random UUIDs.
//! - [`errors`]: an error and its causes as one line.
//! - [`metric`]: metrics as `tracing` events on one target (a program's logging turns them into
//!   CloudWatch metrics).
//! - [`retry`]: capped exponential backoff with full jitter, for every retried call.
//! - [`settings`]: every environment variable declared once and read typed at start-up; the
//!   only module that touches the process environment.
//! - [`secret`]: the one secret type, and the source a client re-reads it from after a
//!   rotation.
//!
//! This crate knows nothing of AWS, Slack or Pulse's events: it is the floor the others
//! stand on, and depends on no other Pulse crate.

pub mod clock;
pub mod deadline;
pub mod errors;
pub mod ids;
pub mod metric;
pub mod retry;
pub mod secret;
pub mod settings;

pub use clock::Clock;
pub use deadline::Deadline;
pub use ids::Ids;
pub use secret::{Secret, SecretSource};
pub use settings::{Settings, Var};
