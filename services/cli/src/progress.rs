//! A line on the terminal while the command waits: what it waits for and for how long, redrawn
//! every second, wiped when the wait ends. Nothing is drawn when standard error is not a
//! terminal, so scripts and `--json` output see only what they asked for.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Shows `what` with the seconds waited until dropped.
pub struct Waiting {
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Waiting {
    pub fn start(what: impl Into<String>) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self { ticker: None };
        }
        let what = what.into();
        let ticker = tokio::spawn(async move {
            let started = Instant::now();
            // Short waits stay quiet: the line appears after two seconds.
            tokio::time::sleep(Duration::from_secs(2)).await;
            loop {
                eprint!("\r\x1b[2K{what}… {} s", started.elapsed().as_secs());
                let _ = std::io::stderr().flush();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        Self { ticker: Some(ticker) }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
            eprint!("\r\x1b[2K");
            let _ = std::io::stderr().flush();
        }
    }
}
