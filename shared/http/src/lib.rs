//! The one way Pulse builds HTTP clients ([`client_builder`]): every client of a process gets
//! the same TLS configuration, its root certificates read from the machine once.
//!
//! Why: `reqwest::Client::builder().build()` reads and parses the machine's roots (about 150
//! files) every time, about 4 ms each here. A Lambda function builds its clients at start (the
//! notifier four: Slack, Discord, GitHub and the SDK's), so its cold start paid that four times.
//!
//! Rules:
//! - Verification is never relaxed: the roots are the ones the platform trusts, with rustls's
//!   WebPKI verifier and its safe default protocol versions.
//! - When the machine's roots cannot be read (none found), clients fall back to reqwest's own
//!   platform verifier, which reports the problem at the first TLS connection; nothing fails
//!   at start for a function that may never speak TLS (the emulator is plain HTTP).

use std::sync::{Arc, OnceLock};

/// A `reqwest` client builder with the process's shared TLS configuration; add timeouts and
/// the like, then `build()`.
pub fn client_builder() -> reqwest::ClientBuilder {
    match shared_tls() {
        Some(tls) => reqwest::Client::builder().tls_backend_preconfigured(tls.clone()),
        None => reqwest::Client::builder(),
    }
}

/// The process's TLS configuration, made on first use (`None` without readable roots).
fn shared_tls() -> Option<&'static rustls::ClientConfig> {
    static TLS: OnceLock<Option<rustls::ClientConfig>> = OnceLock::new();
    TLS.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        let mut roots = rustls::RootCertStore::empty();
        let (added, unparsable) = roots.add_parsable_certificates(loaded.certs);
        if added == 0 {
            tracing::warn!(
                errors = loaded.errors.len(),
                unparsable,
                "no TLS root certificates could be read; HTTP clients use reqwest's own verifier"
            );
            return None;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .ok()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        // reqwest is built without HTTP/2 here: offer what it speaks.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Some(config)
    })
    .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roots_are_read_once_and_shared_by_every_client() {
        let first = shared_tls().expect("this machine has root certificates");
        let again = shared_tls().expect("still there");
        assert!(std::ptr::eq(first, again), "one configuration per process");
        assert!(first.alpn_protocols == [b"http/1.1".to_vec()]);
        client_builder().build().expect("a client builds with the shared configuration");
        client_builder().timeout(std::time::Duration::from_secs(1)).build().expect("and again");
    }

    #[tokio::test]
    async fn https_speaks_tls_and_http_stays_plain() {
        // A server that answers the TLS hello with plain HTTP: an https:// request fails at the
        // handshake (the shared configuration is in use, and it speaks TLS), http:// works.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
            }
        });
        let client = client_builder().build().unwrap();
        let error = client.get(format!("https://{addr}/")).send().await.expect_err("not TLS: refused");
        assert!(error.is_connect(), "{error:?}");
        let plain = client.get(format!("http://{addr}/")).send().await.expect("plain HTTP still works");
        assert_eq!(plain.text().await.unwrap(), "ok");
    }
}
