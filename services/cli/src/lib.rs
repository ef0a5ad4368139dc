//! The parts of the `pulse` command that tests drive directly.

pub mod audit;
pub mod migrate;
pub mod settings;

/// An exit status a command chose on purpose (`infra plan --detailed-exitcode` exits 2 when
/// changes are pending), as opposed to a failure (1). `main` exits with it and prints nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for Exit {}
