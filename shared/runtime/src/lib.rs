//! The one place where SQS meets Pulse's business logic.
//!
//! Every consuming service implements [`MessageHandler`]: a function from one typed, already
//! validated event to success, a retryable failure, or a rejection. It knows nothing of batches,
//! receipt handles or Lambda. Two thin transports lift it to SQS:
//!
//! - [`lambda`]: an SQS-triggered Lambda with partial batch responses (only failed message ids are
//!   reported back, so one bad message never re-delivers its neighbours);
//! - [`poller`]: a long-polling loop for the local stack and tests.
//!
//! Both go through [`consume::process`], so parsing, logging, dead-lettering and retry
//! classification behave identically in the cloud and on a laptop.

pub mod consume;
pub mod dead_letter;
pub mod handler;
pub mod lambda;
pub mod logging;
pub mod poller;
pub mod serve;

pub use consume::{Disposition, InboundMessage};
pub use dead_letter::DeadLetters;
pub use handler::{HandlerError, MessageHandler};
pub use serve::serve;
