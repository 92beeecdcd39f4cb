//! The websocket handshake (server side) for exec websockets over hyper.

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use super::session::{ExecWebSocket, WsTransport};

/// The websocket configuration used by both ends: large frames allowed (no per-frame limit
/// below 1 GiB), a 256 KiB read buffer, and writes flushed per message.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(256 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(1 << 30))
        .max_frame_size(Some(1 << 30))
}

/// Wrap an upgraded connection as a server websocket.
pub async fn server_websocket(io: Box<dyn WsTransport>) -> ExecWebSocket {
    WebSocketStream::from_raw_socket(io, Role::Server, Some(ws_config())).await
}

fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
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
