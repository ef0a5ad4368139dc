//! The exit conventions `pulse` and `pulse-publish` share, so a script reads both the same way:
//! 0 success, 1 a failure (its error printed), 64 a usage error (BSD's `EX_USAGE`; never clap's
//! 2, which `pulse infra plan --detailed-exitcode` means as "changes pending"), and any status a
//! command chose on purpose ([`Exit`]).

use std::process::ExitCode;

/// The exit status of a usage error (BSD's `EX_USAGE`).
pub const EX_USAGE: u8 = 64;

/// An exit status a command chose on purpose (`infra plan --detailed-exitcode` exits 2 when
/// changes are pending), as opposed to a failure (1). It is exited with, and nothing printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for Exit {}

/// The command line as `C`; `--help` and `--version` print and give 0, a usage error prints and
/// gives [`EX_USAGE`].
pub fn parse<C: clap::Parser>() -> Result<C, ExitCode> {
    C::try_parse().map_err(|err| {
        let usage = err.use_stderr();
        let _ = err.print();
        ExitCode::from(if usage { EX_USAGE } else { 0 })
    })
}

/// The exit status of a command's `result`, its error printed when it is a failure.
pub fn status(result: anyhow::Result<()>) -> ExitCode {
    let Err(err) = result else { return ExitCode::SUCCESS };
    match err.downcast_ref::<Exit>() {
        Some(exit) => ExitCode::from(exit.0),
        None => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
