//! Pulse's event contracts: the envelope, one typed payload per event type and version, and the
//! JSON Schemas in `contracts/` they are tested against.

pub mod envelope;
pub mod praktika;

pub use envelope::{Envelope, detail_type};
