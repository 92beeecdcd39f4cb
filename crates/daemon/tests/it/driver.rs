//! The daemon's own HTTP/1.1 driver answers with the same bytes as hyper did: one daemon
//! served on two sockets, one by hyper alone and one by the driver, gets the same raw
//! requests on both and must answer each byte for byte alike (the `Date` value masked).
#![allow(clippy::unwrap_used)]

use pebble_daemon::http::server::{ServerCtx, serve_unix};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

struct Pair {
    _dir: tempfile::TempDir,
    hyper: PathBuf,
    driver: PathBuf,
    _stop: tokio::sync::watch::Sender<bool>,
}

async fn pair() -> Pair {
    pebble_daemon::daemonlog::set_silent(true);
    let dir = tempfile::tempdir().unwrap();
    let mut opts = pebble_daemon::overlord::DaemonOptions::new(dir.path());
    opts.persist = false;
    let daemon = pebble_daemon::overlord::Daemon::new(opts).unwrap();
    let router = Arc::new(pebble_daemon::http::handlers::router());
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut socks = Vec::new();
    for hyper_only in [true, false] {
        let sock = dir.path().join(if hyper_only {
            "hyper.sock"
        } else {
            "driver.sock"
        });
        let listener = UnixListener::bind(&sock).unwrap();
        let ctx = Arc::new(ServerCtx {
            daemon: daemon.clone(),
            router: router.clone(),
            hyper_only,
        });
        tokio::spawn(serve_unix(listener, ctx, rx.clone()));
        socks.push(sock);
    }
    let driver = socks.pop().unwrap();
    let hyper = socks.pop().unwrap();
    Pair {
        _dir: dir,
        hyper,
        driver,
        _stop: tx,
    }
}

/// Send `raw` in one write and read until the server closes (or 2 s of silence).
async fn exchange(sock: &Path, raw: &[u8]) -> Vec<u8> {
    let mut s = UnixStream::connect(sock).await.unwrap();
    s.write_all(raw).await.unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        match tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// Mask the value of every `Date:` header line.
fn mask_dates(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::new();
    for line in text.split_inclusive("\r\n") {
        if line.starts_with("Date: ") {
            out.push_str("Date: [DATE]\r\n");
        } else {
            out.push_str(line);
        }
    }
    out
}

async fn same(p: &Pair, what: &str, raw: &[u8]) -> String {
    let a = mask_dates(&exchange(&p.hyper, raw).await);
    let b = mask_dates(&exchange(&p.driver, raw).await);
    assert_eq!(a, b, "{what}: hyper (left) and the driver (right) differ");
    assert!(!a.is_empty(), "{what}: no answer");
    a
}

fn get(path: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n")
        .into_bytes()
}

fn post(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn driver_and_hyper_answer_alike() {
    let p = pair().await;
    let mut layer = String::from("services:\n");
    for i in 0..40 {
        layer.push_str(&format!(
            "    svc{i}:\n        override: replace\n        command: sleep 1000\n"
        ));
    }
    let add = serde_json::json!({"action": "add", "combine": true, "label": "big",
        "format": "yaml", "layer": layer})
    .to_string();
    let small = p._dir.path().join("small.txt");
    std::fs::write(&small, "hello\n").unwrap();
    let large = p._dir.path().join("large.txt");
    std::fs::write(&large, "x".repeat(100_000)).unwrap();

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("system-info", get("/v1/system-info", "")),
        ("empty services", get("/v1/services", "")),
        ("add layer", post("/v1/layers", &add)),
        ("add layer again", post("/v1/layers", &add)),
        (
            "services over 2048 bytes (chunked)",
            get("/v1/services", ""),
        ),
        ("plan yaml", get("/v1/plan?format=yaml", "")),
        ("changes", get("/v1/changes?select=all", "")),
        ("logs", get("/v1/logs?n=10", "")),
        ("404", get("/v1/nope", "")),
        ("405", get("/v1/layers", "")),
        ("301", get("/v1//services?names=a", "")),
        (
            "unknown action",
            post("/v1/services", r#"{"action":"bogus"}"#),
        ),
        ("bad json", post("/v1/layers", "{nope")),
        ("empty body", post("/v1/services", "")),
        (
            "chunked request body (hyper on both)",
            b"POST /v1/services HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\
              Connection: close\r\n\r\n5\r\n{\"act\r\n0\r\n\r\n"
                .to_vec(),
        ),
        ("HTTP/1.0", b"GET /v1/health HTTP/1.0\r\n\r\n".to_vec()),
        (
            "HEAD",
            b"HEAD /v1/health HTTP/1.1\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        ("garbage", b"\x01\x02 nonsense\r\n\r\n".to_vec()),
        (
            "websocket without upgrade headers",
            get("/v1/tasks/1/websocket/control", ""),
        ),
        (
            "small file",
            get(
                &format!("/v1/files?action=read&path={}", small.display()),
                "",
            ),
        ),
        (
            "large file (streamed)",
            get(
                &format!("/v1/files?action=read&path={}", large.display()),
                "",
            ),
        ),
        (
            "two pipelined requests, keep-alive then close",
            [
                b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
                get("/v1/system-info", ""),
            ]
            .concat(),
        ),
        (
            "keep-alive request, then a chunked one on the same connection",
            [
                b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
                b"POST /v1/layers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\
                  Connection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
                    .to_vec(),
            ]
            .concat(),
        ),
    ];
    let mut seen = Vec::new();
    for (what, raw) in &cases {
        seen.push((what, same(&p, what, raw).await));
    }
    let find = |what: &str| &seen.iter().find(|(w, _)| **w == what).unwrap().1;
    // The cases cover each framing.
    assert!(find("services over 2048 bytes (chunked)").contains("Transfer-Encoding: chunked\r\n"));
    assert!(find("system-info").contains("Content-Length: "));
    assert!(find("404").starts_with("HTTP/1.1 404 Not Found\r\n"));
    assert!(find("system-info").contains("Connection: close\r\n"));
    assert_eq!(
        find("two pipelined requests, keep-alive then close")
            .matches("HTTP/1.1 200 OK\r\n")
            .count(),
        2
    );
}

/// A kept-alive connection serves request after request; a client that shuts its side during
/// a long-poll gets the connection closed at once, on both servers (the handler is dropped).
#[tokio::test]
async fn keep_alive_and_hangup() {
    let p = pair().await;
    let mut s = UnixStream::connect(&p.driver).await.unwrap();
    let req = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut buf = vec![0u8; 4096];
    for _ in 0..50 {
        s.write_all(req).await.unwrap();
        let n = s.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!(buf[..n].ends_with(b"}"));
    }
    for sock in [&p.hyper, &p.driver] {
        // A long-poll on a notice that never comes, abandoned by its client.
        let mut w = UnixStream::connect(sock).await.unwrap();
        w.write_all(b"GET /v1/notices?timeout=30s&types=custom HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        w.shutdown().await.unwrap();
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), w.read_to_end(&mut rest)).await;
        assert!(matches!(read, Ok(Ok(0))), "{sock:?}: {read:?} {rest:?}");
    }
    let out = exchange(&p.driver, &get("/v1/system-info", "")).await;
    assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
}
