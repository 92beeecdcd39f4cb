//! `serve-hyper`: the framework floor of figure e. A tokio current-thread runtime serving
//! HTTP/1.1 with hyper 1 on the daemon's stack defaults (tokio's own socket registration,
//! title-case headers, no automatic `Date`), answering every request with the status, headers
//! and body of a recorded response, as `serve-fixed` answers its bytes. What the daemon costs
//! on top of this is routing, access checks, the handler, its JSON and the request log line.

use std::convert::Infallible;
use std::path::Path;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// A recorded response split into its parts.
#[derive(Debug, Clone)]
pub struct Recorded {
    status: http::StatusCode,
    headers: http::HeaderMap,
    body: Bytes,
}

/// Split `raw` (`HTTP/1.1 200 OK\r\n...\r\n\r\nbody`, with `Content-Length` framing) into a
/// status, headers (without `Content-Length`, which hyper writes) and body.
pub fn parse_recorded(raw: &[u8]) -> anyhow::Result<Recorded> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of head in the recorded response")?;
    let head = std::str::from_utf8(&raw[..split]).context("recorded head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let code: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let mut headers = http::HeaderMap::new();
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            bail!("bad header line {line:?}");
        };
        let name = http::HeaderName::from_bytes(k.trim().as_bytes())?;
        if name == http::header::CONTENT_LENGTH || name == http::header::TRANSFER_ENCODING {
            continue;
        }
        headers.append(name, http::HeaderValue::from_str(v.trim())?);
    }
    Ok(Recorded {
        status: http::StatusCode::from_u16(code)?,
        headers,
        body: Bytes::copy_from_slice(&raw[split + 4..]),
    })
}

/// Serve `recorded` on `sock` forever (prints `ready` once listening).
pub fn serve(sock: &Path, recorded: Recorded) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let _ = std::fs::remove_file(sock);
        let listener = tokio::net::UnixListener::bind(sock)?;
        println!("ready");
        loop {
            let (stream, _) = listener.accept().await?;
            let recorded = recorded.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |_req| {
                    let mut resp = http::Response::new(Full::new(recorded.body.clone()));
                    *resp.status_mut() = recorded.status;
                    *resp.headers_mut() = recorded.headers.clone();
                    async move { Ok::<_, Infallible>(resp) }
                });
                let _ = http1::Builder::new()
                    .title_case_headers(true)
                    .auto_date_header(false)
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::httpraw::{Conn, get_request};

    /// The hyper floor answers the recorded bytes exactly (head in the same case and order,
    /// same body), so that it does the same work on the wire as the daemon.
    #[test]
    fn answers_the_recorded_bytes() {
        let raw: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Fri, 27 Nov 2026 01:15:55 GMT\r\nContent-Length: 10\r\n\r\n{\"a\":\"b<\"}";
        let dir = std::env::temp_dir().join(format!("pebble-bench-h-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("s");
        let s2 = sock.clone();
        let rec = parse_recorded(raw).unwrap();
        std::thread::spawn(move || serve(&s2, rec));
        let mut s = loop {
            if let Ok(s) = std::os::unix::net::UnixStream::connect(&sock) {
                break s;
            }
            std::thread::yield_now();
        };
        use std::io::{Read, Write};
        for _ in 0..2 {
            s.write_all(&get_request("/v1/services")).unwrap();
            let mut got = vec![0u8; raw.len()];
            s.read_exact(&mut got).unwrap();
            assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(raw));
        }
        let mut c = Conn::new(s);
        assert_eq!(c.round_trip(&get_request("/x")).unwrap(), (200, 10));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
