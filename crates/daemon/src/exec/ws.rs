//! The websocket handshake (server side) for exec websockets over hyper.

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use super::session::{ExecWebSocket, WsTransport};

/// The websocket configuration: large frames allowed (no per-frame limit below 1 GiB), reads
/// of up to `read_buffer` bytes at a time, and writes flushed per message.
pub fn ws_config(read_buffer: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(read_buffer)
        .write_buffer_size(0)
        .max_message_size(Some(1 << 30))
        .max_frame_size(Some(1 << 30))
}

/// The read buffer of the server end of websocket `ws_id`. The buffer is allocated and zeroed
/// for every websocket, so it is sized for what the client sends on it: the `stdio` websocket
/// carries the command's input (64 KiB reads keep `cat` of a large input fast, and stay below
/// malloc's mmap threshold so that the memory is reused rather than mapped afresh for every
/// exec); `control` and `stderr` carry a few small messages.
pub fn read_buffer_size(ws_id: &str) -> usize {
    match ws_id {
        "stdio" => 64 * 1024,
        _ => 4 * 1024,
    }
}

/// Wrap an upgraded connection as a server websocket.
pub async fn server_websocket(io: Box<dyn WsTransport>, read_buffer: usize) -> ExecWebSocket {
    WebSocketStream::from_raw_socket(io, Role::Server, Some(ws_config(read_buffer))).await
}

fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// Header names of the `101` response in gorilla/websocket's case, as one raw request head.
const HANDSHAKE_NAMES: &[u8] = b"GET / HTTP/1.1\r\nUpgrade: x\r\nConnection: close\r\n\
Sec-WebSocket-Accept: x\r\n\r\n";

/// Response extensions that make hyper write the handshake's header names in Go's case
/// (`Sec-WebSocket-Accept`, where its title case would give `Sec-Websocket-Accept`).
///
/// hyper writes a response's header names from the case map a request parsed with
/// `preserve_header_case` carries in its extensions; that map type is not public, so one is
/// made once by parsing a request head with those names through an in-memory connection, and cloned into
/// every handshake response. `None` if that failed (names are then title-cased).
pub async fn header_case_extensions() -> Option<http::Extensions> {
    static CAPTURED: tokio::sync::OnceCell<Option<http::Extensions>> =
        tokio::sync::OnceCell::const_new();
    CAPTURED.get_or_init(capture_header_case).await.clone()
}

async fn capture_header_case() -> Option<http::Extensions> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let captured: std::sync::Arc<std::sync::Mutex<Option<http::Extensions>>> =
        std::sync::Arc::default();
    let slot = captured.clone();
    let svc = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        if let Ok(mut g) = slot.lock() {
            *g = Some(req.extensions().clone());
        }
        async { Ok::<_, std::convert::Infallible>(Response::new(crate::http::body::Body::empty())) }
    });
    let (mut client, server) = tokio::io::duplex(4096);
    let conn = hyper::server::conn::http1::Builder::new()
        .preserve_header_case(true)
        .serve_connection(hyper_util::rt::TokioIo::new(server), svc);
    let talk = async move {
        client.write_all(HANDSHAKE_NAMES).await?;
        let mut sink = Vec::new();
        client.read_to_end(&mut sink).await
    };
    let capture = async {
        let (served, talked) = tokio::join!(conn, talk);
        served.is_ok() && talked.is_ok()
    };
    let ok = tokio::time::timeout(std::time::Duration::from_secs(1), capture).await;
    if !matches!(ok, Ok(true)) {
        return None;
    }
    captured.lock().ok()?.take()
}

/// Check a websocket upgrade request and build the `101 Switching Protocols` response, or
/// return the 400 message (gorilla's texts).
pub fn handshake_response(headers: &HeaderMap) -> Result<Response<()>, String> {
    if !header_has_token(headers, header::CONNECTION, "upgrade") {
        return Err("websocket: the client is not using the websocket protocol: 'upgrade' token not found in 'Connection' header".into());
    }
    if !header_has_token(headers, header::UPGRADE, "websocket") {
        return Err("websocket: the client is not using the websocket protocol: 'websocket' token not found in 'Upgrade' header".into());
    }
    if !header_has_token(headers, header::SEC_WEBSOCKET_VERSION, "13") {
        return Err(
            "websocket: unsupported version: 13 not found in 'Sec-Websocket-Version' header".into(),
        );
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            "websocket: not a websocket handshake: 'Sec-WebSocket-Key' header is missing or blank"
                .to_string()
        })?;
    let accept = derive_accept_key(key.as_bytes());
    let mut resp = Response::new(());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(
        header::SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).map_err(|e| e.to_string())?,
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn accepts_rfc_sample_key() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        h.insert(
            header::SEC_WEBSOCKET_KEY,
            HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="),
        );
        let r = handshake_response(&h).unwrap();
        assert_eq!(r.status(), 101);
        assert_eq!(
            r.headers()[header::SEC_WEBSOCKET_ACCEPT],
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        h.remove(header::SEC_WEBSOCKET_KEY);
        assert!(handshake_response(&h).is_err());
    }
}
