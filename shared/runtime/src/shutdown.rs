//! The one shutdown signal every long-running Pulse process waits for: Ctrl-C or SIGTERM (what
//! `localstack/up`, systemd and container runtimes send). A process that cannot install the
//! SIGTERM handler still stops on Ctrl-C rather than failing to start.

/// Resolves when the process is asked to stop.
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("asked to stop; shutting down");
}
