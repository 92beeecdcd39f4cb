//! Building responses: the JSON envelope, byte-exact with Go Pebble.
//!
//! `{"type":"sync","status-code":200,"status":"OK","result":...}`; async responses add
//! `"change":"<id>"` before `result`; errors carry `{"message":...,"kind"?:...}`. JSON is written
//! with Go's escaping (`<`, `>`, `&` as `\u003c`...), no trailing newline, `Content-Type:
//! application/json`.

use super::body::{Body, JsonBytes};
use http::{HeaderValue, StatusCode};
use pebble_api::{ErrorResult, gojson::write_go_json, status_text};
use serde::Serialize;

/// A handler's response.
pub type Resp = http::Response<Body>;

/// `application/json`
pub const JSON: HeaderValue = HeaderValue::from_static("application/json");

fn head(out: &mut Vec<u8>, type_: &str, code: u16) {
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(type_.as_bytes());
    out.extend_from_slice(b"\",\"status-code\":");
    push_decimal(out, code);
    out.extend_from_slice(b",\"status\":\"");
    out.extend_from_slice(status_text(code).as_bytes());
    out.push(b'"');
}

/// Append the decimal digits of `n`.
pub(crate) fn push_decimal(out: &mut Vec<u8>, n: u16) {
    let mut digits = [0u8; 5];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        // A digit is below 10.
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// A response with `body` as JSON, framed like Go. Its `Content-Type` is carried by the body
/// ([`Body::json`]): an empty header map costs nothing.
pub fn json_response(code: u16, body: impl Into<JsonBytes>) -> Resp {
    let mut resp = http::Response::new(Body::json(body.into()));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp
}

fn with_result<T: Serialize + ?Sized>(
    type_: &str,
    code: u16,
    change: Option<&str>,
    result: Option<&T>,
) -> Resp {
    let mut out = Vec::with_capacity(256);
    head(&mut out, type_, code);
    if let Some(c) = change {
        out.extend_from_slice(b",\"change\":");
        // Change ids are decimal digits; still escape properly.
        let _ = write_go_json(&mut out, c, true);
    }
    out.extend_from_slice(b",\"result\":");
    match result {
        Some(r) => {
            if write_go_json(&mut out, r, true).is_err() {
                return internal_error("cannot marshal result");
            }
        }
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
    json_response(code, out)
}

/// 200 sync response with `result`.
pub fn sync<T: Serialize + ?Sized>(result: &T) -> Resp {
    with_result("sync", 200, None, Some(result))
}

/// 200 sync response whose `result` JSON `write_result` appends to the buffer (for handlers
/// that write their JSON directly, without serde).
pub fn sync_with(size_hint: usize, write_result: impl FnOnce(&mut Vec<u8>)) -> Resp {
    json_response(200, sync_body_with(size_hint, write_result))
}

/// The body of [`sync_with`].
pub fn sync_body_with(size_hint: usize, write_result: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + size_hint);
    head(&mut out, "sync", 200);
    out.extend_from_slice(b",\"result\":");
    write_result(&mut out);
    out.push(b'}');
    out
}

/// Sync response with a non-200 status (health's 502).
pub fn sync_status<T: Serialize + ?Sized>(code: u16, result: &T) -> Resp {
    with_result("sync", code, None, Some(result))
}

/// 200 sync response without a `result` key (identities POST).
pub fn sync_no_result() -> Resp {
    let mut out = Vec::with_capacity(64);
    head(&mut out, "sync", 200);
    out.push(b'}');
    json_response(200, out)
}

/// 202 async response for `change_id`, with `"result":null`.
pub fn async_change(change_id: u64) -> Resp {
    with_result::<()>("async", 202, Some(&change_id.to_string()), None)
}

/// 202 async response for `change_id` with a result (exec).
pub fn async_change_with<T: Serialize + ?Sized>(change_id: u64, result: &T) -> Resp {
    with_result("async", 202, Some(&change_id.to_string()), Some(result))
}

/// Error response with a message and optional kind.
pub fn error_kind(code: u16, kind: &str, message: impl Into<String>) -> Resp {
    let result = ErrorResult {
        message: message.into(),
        kind: kind.to_string(),
        value: None,
    };
    with_result("error", code, None, Some(&result))
}

/// Error response with a message.
pub fn error(code: u16, message: impl Into<String>) -> Resp {
    error_kind(code, "", message)
}

/// 400 Bad Request.
pub fn bad_request(message: impl Into<String>) -> Resp {
    error(400, message)
}

/// 404 Not Found.
pub fn not_found(message: impl Into<String>) -> Resp {
    error(404, message)
}

/// 500 Internal Server Error.
pub fn internal_error(message: impl Into<String>) -> Resp {
    error(500, message)
}

/// 401 `access denied` with kind `login-required`.
pub fn unauthorized() -> Resp {
    error_kind(401, pebble_api::kinds::LOGIN_REQUIRED, "access denied")
}

/// 405 `method "X" not allowed`.
pub fn method_not_allowed(method: &str) -> Resp {
    error(405, format!("method {method:?} not allowed"))
}

/// 404 `invalid API endpoint requested`.
pub fn invalid_endpoint() -> Resp {
    error(404, "invalid API endpoint requested")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use http_body_util::BodyExt;

    async fn text(r: Resp) -> String {
        let b = r.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn golden_envelopes() {
        assert_eq!(
            text(async_change(1)).await,
            r#"{"type":"async","status-code":202,"status":"Accepted","change":"1","result":null}"#
        );
        assert_eq!(
            text(invalid_endpoint()).await,
            r#"{"type":"error","status-code":404,"status":"Not Found","result":{"message":"invalid API endpoint requested"}}"#
        );
        assert_eq!(
            text(method_not_allowed("PUT")).await,
            r#"{"type":"error","status-code":405,"status":"Method Not Allowed","result":{"message":"method \"PUT\" not allowed"}}"#
        );
        assert_eq!(
            text(error_kind(
                400,
                "no-default-services",
                "no default services"
            ))
            .await,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"no default services","kind":"no-default-services"}}"#
        );
        assert_eq!(
            text(sync(&true)).await,
            r#"{"type":"sync","status-code":200,"status":"OK","result":true}"#
        );
        assert_eq!(
            text(sync("a <b> & c")).await,
            r#"{"type":"sync","status-code":200,"status":"OK","result":"a \u003cb\u003e \u0026 c"}"#
        );
        assert_eq!(
            text(sync_with(4, |out| out.extend_from_slice(b"[1]"))).await,
            r#"{"type":"sync","status-code":200,"status":"OK","result":[1]}"#
        );
        assert_eq!(
            text(error(502, "x")).await,
            r#"{"type":"error","status-code":502,"status":"Bad Gateway","result":{"message":"x"}}"#
        );
        assert_eq!(
            text(sync_no_result()).await,
            r#"{"type":"sync","status-code":200,"status":"OK"}"#
        );
        assert_eq!(
            text(unauthorized()).await,
            r#"{"type":"error","status-code":401,"status":"Unauthorized","result":{"message":"access denied","kind":"login-required"}}"#
        );
    }
}
