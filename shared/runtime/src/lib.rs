//! The one place where SQS meets Pulse's business logic, and where exactly-once is made.
//!
//! Every consuming service implements [`MessageHandler`]: which events it takes (typed), how its
//! dedup key is derived, and what it does with one event. It knows nothing of batches, receipt
//! handles, claims or Lambda. [`Worker::process`] does the rest for every transport: parse, accept,
//! claim the key in the service's idempotency table, run the handler once per claim (panics caught,
//! a heartbeat keeping long work's lease), settle. [`decide`] holds its rules as a pure function.
//! Two thin transports lift it to SQS:
//!
//! - [`lambda`]: an SQS-triggered Lambda with partial batch responses (only failed message ids are
//!   reported back, so one bad message never re-delivers its neighbours);
//! - [`poller`]: a long-polling loop for the local stack and tests.
//!
//! This crate knows nothing of any service's events beyond the envelope.

pub mod attempt;
pub mod consume;
pub mod dead_letter;
pub mod decide;
pub mod emf;
pub mod fault;
pub mod handler;
pub mod init;
pub mod lambda;
pub mod logging;
pub mod poller;
pub mod serve;
pub mod settings;
pub mod shutdown;

pub use attempt::{Attempt, Deadline};
pub use consume::{Detached, InboundMessage, Worker};
pub use dead_letter::DeadLetters;
pub use decide::Disposition;
pub use handler::{Accept, HandlerError, MessageHandler, Meta, not_consumed};
pub use init::main;
pub use serve::serve;
