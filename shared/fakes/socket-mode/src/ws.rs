//! The fake's WebSocket side: `ws://127.0.0.1:PORT/link?ticket=…`.

use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tracing::{debug, info};

use super::Inner;
use super::state::Out;

pub(super) async fn accept_loop(inner: Arc<Inner>, listener: TcpListener) {
    let mut stop = inner.stop.subscribe();
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    tokio::spawn(serve(Arc::clone(&inner), stream));
                }
            }
        }
    }
}

fn reject(status: StatusCode, why: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(why.to_owned()));
    *response.status_mut() = status;
    response
}

// The handshake callback's error type is tungstenite's.
#[allow(clippy::result_large_err)]
async fn serve(inner: Arc<Inner>, stream: TcpStream) {
    let checker = Arc::clone(&inner);
    let check = move |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        let mut state = checker.lock();
        if state.refuse_connections > 0 {
            state.refuse_connections -= 1;
            state.refused_connections += 1;
            drop(state);
            checker.bump();
            return Err(reject(StatusCode::SERVICE_UNAVAILABLE, "refused by the fake"));
        }
        if request.uri().path() != "/link" {
            return Err(reject(StatusCode::NOT_FOUND, "not found"));
        }
        let ticket = request.uri().query().unwrap_or("").split('&').find_map(|kv| kv.strip_prefix("ticket=")).unwrap_or("");
        if !state.take_ticket(ticket) {
            return Err(reject(StatusCode::UNAUTHORIZED, "unknown or used ticket"));
        }
        Ok(response)
    };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, check).await else {
        debug!("fake socket mode: handshake refused or failed");
        return;
    };

    let (tx, mut rx) = mpsc::unbounded_channel();
    let (id, hello_delay, num_connections) = {
        let mut state = inner.lock();
        let id = state.add_conn(tx);
        (id, state.hello_delay, state.open_count())
    };
    inner.bump();
    info!(conn = id, "fake socket mode: connection opened");

    let (mut write, mut read) = ws.split();
    let mut stop = inner.stop.subscribe();
    let hello_at = Instant::now() + hello_delay;
    let mut hello_sent = false;
    let mut stalled_until: Option<Instant> = None;
    let mut closing = false;

    loop {
        let stalled = stalled_until.is_some_and(|t| Instant::now() < t);
        tokio::select! {
            _ = stop.changed() => break,
            () = sleep_until(hello_at), if !hello_sent => {
                hello_sent = true;
                let hello = json!({
                    "type": "hello",
                    "num_connections": num_connections,
                    "debug_info": {"host": "fake-socket-mode", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": "A0FAKEPULSE"},
                });
                // Ready first: envelopes routed here from now on queue behind the hello.
                inner.lock().mark_ready(id);
                inner.bump();
                if write.send(Message::text(hello.to_string())).await.is_err() {
                    break;
                }
            }
            () = sleep(std::time::Duration::from_millis(20)), if stalled => {}
            out = rx.recv() => match out {
                Some(Out::Text(text)) => {
                    if write.send(Message::text(text)).await.is_err() {
                        break;
                    }
                }
                Some(Out::Close) => {
                    closing = true;
                    let _ = write.send(Message::Close(None)).await;
                }
                Some(Out::Stall(duration)) => stalled_until = Some(Instant::now() + duration),
                Some(Out::Drop) | None => break,
            },
            frame = read.next(), if !stalled => match frame {
                Some(Ok(Message::Text(text))) => {
                    inner.lock().record_ack(id, text.as_str());
                    inner.bump();
                }
                Some(Ok(Message::Close(_))) => {
                    // tungstenite answers the close; the stream ends on the next read.
                    debug!(conn = id, closing, "fake socket mode: close frame from the client");
                }
                Some(Ok(_)) => {}
                None | Some(Err(_)) => break,
            },
        }
    }
    // Dropping both halves closes the TCP connection (abruptly, for `Out::Drop`).
    drop(write);
    drop(read);
    inner.lock().mark_closed(id);
    inner.bump();
    info!(conn = id, "fake socket mode: connection closed");
}
