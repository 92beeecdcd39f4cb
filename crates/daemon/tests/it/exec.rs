//! Exec through the real daemon code: HTTP server on a Unix socket, the exec API, websockets,
//! the task runner and the reaper, driven by the Rust client library.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use http::Method;
use pebble_client::{Client, ExecOptions, Query, exec_output};
use tokio_tungstenite::tungstenite::Message;

/// The daemon served in-process on a temp dir (self-contained: HTTP server + router only).
struct TestDaemon {
    socket: std::path::PathBuf,
    daemon: pebble_daemon::overlord::Daemon,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::watch::Sender<bool>,
}

impl TestDaemon {
    async fn start_in(dir: tempfile::TempDir, persist: bool) -> TestDaemon {
        Self::start_with(dir, persist, None).await
    }

    async fn start_with(
        dir: tempfile::TempDir,
        persist: bool,
        users: Option<std::sync::Arc<dyn pebble_daemon::users::UserDb>>,
    ) -> TestDaemon {
        use pebble_daemon::http::server::{ServerCtx, serve_unix};
        let mut opts = pebble_daemon::overlord::DaemonOptions::new(dir.path());
        opts.persist = persist;
        opts.users = users;
        let daemon = pebble_daemon::overlord::Daemon::new(opts).unwrap();
        let socket = dir.path().join(".pebble.socket");
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let ctx = std::sync::Arc::new(ServerCtx {
            daemon: daemon.clone(),
            router: std::sync::Arc::new(pebble_daemon::http::handlers::router()),
            hyper_only: false,
        });
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(serve_unix(listener, ctx, rx));
        TestDaemon {
            socket,
            daemon,
            _dir: dir,
            _stop: tx,
        }
    }
}

struct ExecDaemon {
    client: Client,
    inner: TestDaemon,
}

async fn start() -> ExecDaemon {
    pebble_daemon::daemonlog::set_silent(true);
    let inner = TestDaemon::start_in(tempfile::tempdir().unwrap(), false).await;
    ExecDaemon {
        client: Client::new(inner.socket.clone()),
        inner,
    }
}

async fn post_raw(client: &Client, body: &str) -> (u16, String) {
    let (parts, bytes) = client
        .request_bytes(
            Method::POST,
            "/v1/exec",
            &Query::new(),
            Some(body.as_bytes().to_vec()),
        )
        .await
        .unwrap();
    (
        parts.status.as_u16(),
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn echo_round_trip_and_change_shape() {
    let d = start().await;
    let (status, body) = post_raw(&d.client, r#"{"command":["echo","hi"]}"#).await;
    assert_eq!(status, 202, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["type"], "async");
    assert_eq!(v["status"], "Accepted");
    let change = v["change"].as_str().unwrap().to_string();
    let task = v["result"]["task-id"].as_str().unwrap().to_string();
    assert_eq!(v["result"]["environment"]["LANG"], "C.UTF-8");
    assert!(v["result"]["environment"]["PATH"].is_string());
    assert!(v["result"]["working-dir"].is_string());
    // Keys are in Go's order: type, status-code, status, change, result.
    assert!(
        body.starts_with(r#"{"type":"async","status-code":202,"status":"Accepted","change":""#)
    );

    let _control = d.client.exec_websocket(&task, "control").await.unwrap();
    let mut stdio = d.client.exec_websocket(&task, "stdio").await.unwrap();
    stdio
        .send(Message::text(r#"{"command":"end"}"#))
        .await
        .unwrap();
    let mut out = Vec::new();
    loop {
        match stdio.next().await.unwrap().unwrap() {
            Message::Binary(b) => out.extend_from_slice(&b),
            Message::Text(t) => {
                assert_eq!(t.as_str(), r#"{"command":"end"}"#);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(out, b"hi\n");
    let info = d
        .client
        .wait_change(&change, Some(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(info.kind, "exec");
    assert_eq!(info.summary, "Execute command \"echo\"");
    assert_eq!(info.status, "Done");
    assert!(info.ready);
    assert_eq!(info.tasks.len(), 1);
    assert_eq!(info.tasks[0].id, task);
    assert_eq!(info.tasks[0].kind, "exec");
    assert_eq!(info.tasks[0].data["exit-code"], 0);
}

/// Exec resolves users and groups through the daemon's user database (`/etc/passwd` and
/// `/etc/group` read as files, never NSS): a user and group that exist only in the daemon's
/// files are found, and `HOME`/`USER` come from them.
#[tokio::test]
async fn users_come_from_the_daemons_user_database() {
    pebble_daemon::daemonlog::set_silent(true);
    let files = tempfile::tempdir().unwrap();
    let uid = nix::unistd::getuid().as_raw();
    let gid = nix::unistd::getgid().as_raw();
    let home = files.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let passwd = files.path().join("passwd");
    let group = files.path().join("group");
    std::fs::write(
        &passwd,
        format!(
            "pebble-only-user:x:{uid}:{gid}:X:{}:/bin/sh\n",
            home.display()
        ),
    )
    .unwrap();
    std::fs::write(&group, format!("pebble-only-group:x:{gid}:\n")).unwrap();
    let users = std::sync::Arc::new(pebble_daemon::users::FileUserDb::new(&passwd, &group));
    let inner = TestDaemon::start_with(tempfile::tempdir().unwrap(), false, Some(users)).await;
    let client = Client::new(inner.socket.clone());

    let (status, body) = post_raw(
        &client,
        r#"{"command":["true"],"user":"pebble-only-user","group":"pebble-only-group","environment":{"HOME":"","USER":""}}"#,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["result"]["environment"]["USER"], "pebble-only-user");
    assert_eq!(
        v["result"]["environment"]["HOME"],
        home.display().to_string()
    );
    assert_eq!(v["result"]["working-dir"], home.display().to_string());

    // A user in the system's database but not in the daemon's files is unknown.
    let (status, body) = post_raw(&client, r#"{"command":["true"],"user":"root"}"#).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("user: unknown user root"), "{body}");
}

/// `/v1/changes/{id}/wait` parses and prints its timeout as Go does: exact fractions and Go's
/// quoting in errors (a pending exec change is one that is not ready).
#[tokio::test]
async fn change_wait_timeout_is_go_duration() {
    let d = start().await;
    let (status, body) = post_raw(&d.client, r#"{"command":["true"]}"#).await;
    assert_eq!(status, 202, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let change = v["change"].as_str().unwrap().to_string();
    let wait = |timeout: &'static str| {
        let client = d.client.clone();
        let path = format!("/v1/changes/{change}/wait");
        async move {
            let mut q = Query::new();
            q.push("timeout", timeout);
            let (parts, bytes) = client
                .request_bytes(Method::GET, &path, &q, None)
                .await
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            (parts.status.as_u16(), v["result"]["message"].clone())
        }
    };
    // A negative timeout answers at once; 0.071m is exactly 4.26s.
    assert_eq!(
        wait("-0.071m").await,
        (504, "timed out waiting for change after -4.26s".into())
    );
    assert_eq!(
        wait("-1.009h").await,
        (504, "timed out waiting for change after -1h0m32.4s".into())
    );
    assert_eq!(
        wait("a\"b").await,
        (
            400,
            r#"invalid timeout: time: invalid duration "a\"b""#.into()
        )
    );
}

/// The `101 Switching Protocols` head is byte for byte gorilla's (golden api-exec.md): header
/// names in its case (`Sec-WebSocket-Accept`), no `Date`.
#[tokio::test]
async fn websocket_handshake_head_matches_go() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let d = start().await;
    let (status, body) = post_raw(&d.client, r#"{"command":["echo","hi"]}"#).await;
    assert_eq!(status, 202, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let task = v["result"]["task-id"].as_str().unwrap().to_string();
    for ws in ["control", "stdio"] {
        let mut sock = tokio::net::UnixStream::connect(&d.inner.socket)
            .await
            .unwrap();
        let req = format!(
            "GET /v1/tasks/{task}/websocket/{ws} HTTP/1.1\r\nHost: localhost\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        sock.write_all(req.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(sock.read(&mut byte).await.unwrap(), 1, "{head:?}");
            head.push(byte[0]);
        }
        assert_eq!(
            String::from_utf8(head).unwrap(),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        );
    }
}

#[tokio::test]
async fn request_errors_are_pebbles() {
    let d = start().await;
    let cases = [
        (
            r#"{"command":["/nonexistent/bin/x"]}"#,
            400,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"cannot find executable \"/nonexistent/bin/x\""}}"#,
        ),
        (
            r#"{"command":["nosuchbinary"]}"#,
            400,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"cannot find executable \"nosuchbinary\""}}"#,
        ),
        (
            r#"{"command":[]}"#,
            400,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"must specify command"}}"#,
        ),
        (
            r#"{"command":["true"],"timeout":"soon"}"#,
            400,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"invalid timeout: time: invalid duration \"soon\""}}"#,
        ),
        (
            r#"{"command":["true"],"working-dir":"/srv/golden/nope"}"#,
            500,
            r#"{"type":"error","status-code":500,"status":"Internal Server Error","result":{"message":"cannot call exec: working directory \"/srv/golden/nope\" does not exist"}}"#,
        ),
        (
            r#"{"command":["true"],"user":"nosuchuser"}"#,
            400,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"user: unknown user nosuchuser"}}"#,
        ),
        (
            r#"{"command":["true"],"service-context":"nosuch"}"#,
            400,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"context service \"nosuch\" not found"}}"#,
        ),
    ];
    for (req, code, want) in cases {
        let (status, body) = post_raw(&d.client, req).await;
        assert_eq!((status, body.as_str()), (code, want), "request {req}");
    }
    // ops sends explicit nulls for unset fields.
    let (status, body) = post_raw(
        &d.client,
        r#"{"command":["true"],"service-context":null,"environment":{},"working-dir":null,
            "timeout":null,"user-id":null,"user":null,"group-id":null,"group":null,
            "split-stderr":false}"#,
    )
    .await;
    assert_eq!(status, 202, "{body}");
}

#[tokio::test]
async fn websocket_errors() {
    let d = start().await;
    let err = d.client.exec_websocket("999", "stdio").await.unwrap_err();
    assert_eq!(err.code(), Some(404));
    assert_eq!(err.to_string(), "cannot find task \"999\"");
    let (_, body) = post_raw(&d.client, r#"{"command":["cat"]}"#).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let task = v["result"]["task-id"].as_str().unwrap();
    let err = d.client.exec_websocket(task, "stderr").await.unwrap_err();
    assert_eq!(err.code(), Some(404));
    assert_eq!(
        err.to_string(),
        format!("cannot find stderr websocket for task \"{task}\"")
    );
    let mut stdio = d.client.exec_websocket(task, "stdio").await.unwrap();
    let err = d.client.exec_websocket(task, "stdio").await.unwrap_err();
    assert_eq!(err.code(), Some(500));
    stdio
        .send(Message::text(r#"{"command":"end"}"#))
        .await
        .unwrap();
    while let Some(Ok(m)) = stdio.next().await {
        if m.is_text() {
            break;
        }
    }
}

#[tokio::test]
async fn exit_codes_timeout_and_split_stderr() {
    let d = start().await;
    let mut opts = ExecOptions::new(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"]);
    opts.split_stderr = true;
    let (code, out, err) = exec_output(&d.client, &opts, None).await.unwrap();
    assert_eq!(
        (code, &out[..], &err[..]),
        (3, &b"out\n"[..], &b"err\n"[..])
    );

    let mut opts = ExecOptions::new(["sleep", "5"]);
    opts.timeout = Some(Duration::from_millis(100));
    let start = Instant::now();
    let e = exec_output(&d.client, &opts, None).await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(4));
    match e {
        pebble_client::Error::Change { err, change } => {
            assert_eq!(
                err,
                "cannot perform the following tasks:\n- Execute command \"sleep\" (timed out after 100ms: context deadline exceeded)"
            );
            assert_eq!(change.tasks[0].data["exit-code"], -1);
            assert_eq!(change.tasks[0].status, "Error");
            assert!(
                change.tasks[0].log[0]
                    .ends_with(" ERROR timed out after 100ms: context deadline exceeded")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn stdin_env_and_working_dir() {
    let d = start().await;
    let mut opts = ExecOptions::new(["/bin/sh", "-c", "echo $FOO $THREE; pwd; cat"]);
    opts.environment.insert("FOO".into(), "bar".into());
    opts.working_dir = Some("/tmp".into());
    let (code, out, _) = exec_output(&d.client, &opts, Some(b"piped in\n"))
        .await
        .unwrap();
    assert_eq!(code, 0);
    assert_eq!(String::from_utf8(out).unwrap(), "bar\n/tmp\npiped in\n");
}

#[tokio::test]
async fn signal_gives_143() {
    let d = start().await;
    let mut p = d
        .client
        .exec(&ExecOptions::new(["sh", "-c", "echo ready; exec sleep 10"]))
        .await
        .unwrap();
    let ctl = p.controller();
    // Send the signal once the command runs.
    let (tx, rx) = tokio::io::duplex(64);
    let reader = tokio::spawn(async move {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(rx).lines();
        let first = lines.next_line().await.unwrap();
        ctl.signal("SIGTERM");
        first
    });
    p.stream(None::<tokio::io::Empty>, tx, None::<tokio::io::Sink>)
        .await
        .unwrap();
    assert_eq!(reader.await.unwrap().as_deref(), Some("ready"));
    assert_eq!(p.wait().await.unwrap(), 143);
}

#[tokio::test]
async fn never_connected_fails_after_five_seconds() {
    let d = start().await;
    let (_, body) = post_raw(&d.client, r#"{"command":["sleep","10"]}"#).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let change = v["change"].as_str().unwrap();
    let task = v["result"]["task-id"].as_str().unwrap();
    let start = Instant::now();
    let info = d
        .client
        .wait_change(change, Some(Duration::from_secs(10)))
        .await
        .unwrap();
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(4900) && took < Duration::from_secs(8),
        "{took:?}"
    );
    assert_eq!(
        info.err,
        format!(
            "cannot perform the following tasks:\n- Execute command \"sleep\" (exec {task}: timeout waiting for websocket connections: context deadline exceeded)"
        )
    );
    assert!(info.tasks[0].data.is_empty());
    // A late websocket gets the change error.
    let err = d.client.exec_websocket(task, "stdio").await.unwrap_err();
    assert_eq!(err.code(), Some(500));
    let _ = &d.inner.daemon;
}

#[tokio::test]
async fn cat_throughput_and_round_trip() {
    let d = start().await;
    // Round trip of `true` (warm-up first).
    for _ in 0..3 {
        let mut p = d.client.exec(&ExecOptions::new(["true"])).await.unwrap();
        p.stream(
            None::<tokio::io::Empty>,
            tokio::io::sink(),
            None::<tokio::io::Sink>,
        )
        .await
        .unwrap();
        assert_eq!(p.wait().await.unwrap(), 0);
    }
    // 16 MiB through cat, checked byte for byte.
    let data: Vec<u8> = (0..16u32 << 20).map(|i| (i % 253) as u8).collect();
    let (code, out, _) = exec_output(&d.client, &ExecOptions::new(["cat"]), Some(&data))
        .await
        .unwrap();
    assert_eq!(code, 0);
    assert_eq!(out.len(), data.len());
    assert!(out == data);
}

/// The command starts once stdio is connected; a `control` websocket that arrives after it
/// ended (a client connecting in parallel can lose that race) is accepted and closed at once,
/// rather than answered with an empty 200.
#[tokio::test]
async fn late_control_websocket_is_accepted_then_closed() {
    let d = start().await;
    let (status, body) = post_raw(&d.client, r#"{"command":["true"]}"#).await;
    assert_eq!(status, 202, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let task = v["result"]["task-id"].as_str().unwrap().to_string();
    let change = v["change"].as_str().unwrap().to_string();
    let mut stdio = d.client.exec_websocket(&task, "stdio").await.unwrap();
    stdio
        .send(Message::text(r#"{"command":"end"}"#))
        .await
        .unwrap();
    while let Some(Ok(m)) = stdio.next().await {
        if m.is_text() {
            break;
        }
    }
    // Wait until the change is ready: the execution is gone from the manager.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let c = d.inner.daemon.state().change_info(change.parse().unwrap());
        if c.is_some_and(|c| c.ready) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "change {change} never became ready"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut control = d.client.exec_websocket(&task, "control").await.unwrap();
    // Closed by the server without any message.
    assert!(
        matches!(control.next().await, None | Some(Err(_))),
        "control should be closed at once"
    );
}
