//! The parts of the `pulse` command that tests drive directly.

pub mod audit;
pub mod migrate;
pub mod settings;

pub use pulse_publisher::exit::Exit;
