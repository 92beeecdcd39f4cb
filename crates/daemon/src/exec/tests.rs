//! Session tests: real processes through the reaper, websockets over Unix stream pairs.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use pebble_api::ExecRequest;
use pebble_plan::Plan;
use tokio::net::UnixStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::*;
use crate::reaper::Reaper;

type ClientWs = WebSocketStream<UnixStream>;

fn manager() -> ExecManager {
    crate::daemonlog::set_silent(true);
    ExecManager::new(Reaper::start().unwrap())
}

fn register(mgr: &ExecManager, id: &str, json: &str) -> ExecSetup {
    let req: ExecRequest = serde_json::from_str(json).unwrap();
    let plan = Plan::default();
    let ctx = ExecContext {
        plan: &plan,
        daemon_env: ExecContext::current_env(),
        daemon_uid: nix::unistd::getuid().as_raw(),
        users: &crate::users::FileUserDb::default(),
    };
    let setup = prepare(&req, &ctx).unwrap();
    mgr.register(id, setup.clone());
    setup
}

async fn connect(mgr: &ExecManager, id: &str, ws: &str) -> ClientWs {
    let claim = mgr.connect(id, ws).unwrap();
    let (a, b) = UnixStream::pair().unwrap();
    tokio::spawn(claim.attach(a));
    WebSocketStream::from_raw_socket(b, Role::Client, None).await
}

/// Read data frames until the end command; returns the bytes.
async fn read_to_end(ws: &mut ClientWs) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(msg) = ws.next().await {
        match msg.unwrap() {
            Message::Binary(b) => out.extend_from_slice(&b),
            Message::Text(t) => {
                assert_eq!(t.as_str(), END_COMMAND);
                return out;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    panic!("stream ended without end command");
}

async fn send_end(ws: &mut ClientWs) {
    ws.send(Message::text(END_COMMAND)).await.unwrap();
}

fn run(mgr: &ExecManager, id: &str) -> tokio::task::JoinHandle<ExecOutcome> {
    let mgr = mgr.clone();
    let id = id.to_string();
    tokio::spawn(async move { mgr.run(&id, std::future::pending()).await })
}

#[tokio::test]
async fn echo_hi_then_exit_code_zero() {
    let mgr = manager();
    register(&mgr, "1", r#"{"command":["echo","hi"]}"#);
    let task = run(&mgr, "1");
    let _control = connect(&mgr, "1", "control").await;
    let mut stdio = connect(&mgr, "1", "stdio").await;
    send_end(&mut stdio).await;
    assert_eq!(read_to_end(&mut stdio).await, b"hi\n");
    let out = task.await.unwrap();
    assert_eq!(
        out,
        ExecOutcome {
            exit_code: Some(0),
            error: None
        }
    );
    assert_eq!(mgr.active(), 0);
    // Second connects after the end are refused.
    assert!(matches!(
        mgr.connect("1", "stdio"),
        Err(ConnectError::NotRunning(_))
    ));
}

#[tokio::test]
async fn split_stderr_and_exit_code() {
    let mgr = manager();
    register(
        &mgr,
        "2",
        r#"{"command":["/bin/sh","-c","echo out; echo err >&2; exit 3"],"split-stderr":true}"#,
    );
    assert!(matches!(
        mgr.connect("2", "bogus"),
        Err(ConnectError::UnknownWebsocket { .. })
    ));
    let task = run(&mgr, "2");
    let mut stdio = connect(&mgr, "2", "stdio").await;
    assert!(matches!(
        mgr.connect("2", "stdio"),
        Err(ConnectError::AlreadyConnected(_))
    ));
    let mut stderr = connect(&mgr, "2", "stderr").await;
    assert_eq!(read_to_end(&mut stdio).await, b"out\n");
    assert_eq!(read_to_end(&mut stderr).await, b"err\n");
    assert_eq!(task.await.unwrap().exit_code, Some(3));
}

#[tokio::test]
async fn merged_stderr_and_stdin() {
    let mgr = manager();
    register(
        &mgr,
        "3",
        r#"{"command":["/bin/sh","-c","cat; echo err >&2"],"environment":{"FOO":"bar"}}"#,
    );
    assert!(matches!(
        mgr.connect("3", "stderr"),
        Err(ConnectError::UnknownWebsocket { .. })
    ));
    let task = run(&mgr, "3");
    let mut stdio = connect(&mgr, "3", "stdio").await;
    stdio
        .send(Message::binary(b"ping\n".to_vec()))
        .await
        .unwrap();
    send_end(&mut stdio).await;
    assert_eq!(read_to_end(&mut stdio).await, b"ping\nerr\n");
    assert_eq!(task.await.unwrap().exit_code, Some(0));
}

#[tokio::test]
async fn big_output_with_big_input() {
    let mgr = manager();
    register(&mgr, "4", r#"{"command":["cat"]}"#);
    let task = run(&mgr, "4");
    let stdio = connect(&mgr, "4", "stdio").await;
    let (mut tx, mut rx) = stdio.split();
    let data: Vec<u8> = (0..8 << 20).map(|i| (i % 251) as u8).collect();
    let expected = data.clone();
    let writer = tokio::spawn(async move {
        for chunk in data.chunks(1 << 20) {
            tx.send(Message::binary(chunk.to_vec())).await.unwrap();
        }
        tx.send(Message::text(END_COMMAND)).await.unwrap();
        tx
    });
    let mut got = Vec::new();
    while let Some(m) = rx.next().await {
        match m.unwrap() {
            Message::Binary(b) => got.extend_from_slice(&b),
            Message::Text(_) => break,
            _ => {}
        }
    }
    let _tx = writer.await.unwrap();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected);
    assert_eq!(task.await.unwrap().exit_code, Some(0));
}

#[tokio::test]
async fn timeout_kills_and_fails() {
    let mgr = manager();
    register(&mgr, "5", r#"{"command":["sleep","5"],"timeout":"100ms"}"#);
    let task = run(&mgr, "5");
    let mut stdio = connect(&mgr, "5", "stdio").await;
    let start = Instant::now();
    assert_eq!(read_to_end(&mut stdio).await, b"");
    let out = task.await.unwrap();
    assert!(start.elapsed() < Duration::from_secs(3));
    assert_eq!(
        out,
        ExecOutcome {
            exit_code: Some(-1),
            error: Some("timed out after 100ms: context deadline exceeded".into())
        }
    );
}

#[tokio::test(start_paused = true)]
async fn websockets_never_connected() {
    let mgr = manager();
    register(&mgr, "6", r#"{"command":["sleep","10"]}"#);
    let out = mgr.run("6", std::future::pending()).await;
    assert_eq!(
        out,
        ExecOutcome {
            exit_code: None,
            error: Some(
                "exec 6: timeout waiting for websocket connections: context deadline exceeded"
                    .into()
            )
        }
    );
    assert_eq!(mgr.active(), 0);
}

#[tokio::test]
async fn signal_through_control() {
    let mgr = manager();
    register(&mgr, "7", r#"{"command":["sleep","10"]}"#);
    let task = run(&mgr, "7");
    let mut control = connect(&mgr, "7", "control").await;
    let _stdio = connect(&mgr, "7", "stdio").await;
    // Resize is ignored without a terminal, junk is ignored, then SIGTERM.
    control
        .send(Message::text(
            r#"{"command":"resize","resize":{"width":1,"height":1}}"#,
        ))
        .await
        .unwrap();
    control.send(Message::text("not json")).await.unwrap();
    control
        .send(Message::text(
            r#"{"command":"signal","signal":{"name":"SIGNOPE"}}"#,
        ))
        .await
        .unwrap();
    control
        .send(Message::text(
            r#"{"command": "signal", "signal": {"name": "SIGTERM"}}"#,
        ))
        .await
        .unwrap();
    assert_eq!(task.await.unwrap().exit_code, Some(143));
    // The server closes control without a close frame.
    match control.next().await {
        None | Some(Err(_)) => {}
        Some(Ok(m)) => panic!("unexpected {m:?}"),
    }
}

#[tokio::test]
async fn control_dropped_abnormally_kills() {
    let mgr = manager();
    register(&mgr, "8", r#"{"command":["sleep","10"]}"#);
    let task = run(&mgr, "8");
    let control = connect(&mgr, "8", "control").await;
    let mut stdio = connect(&mgr, "8", "stdio").await;
    let start = Instant::now();
    drop(control); // TCP-style drop, no close frame
    assert_eq!(read_to_end(&mut stdio).await, b"");
    assert_eq!(task.await.unwrap().exit_code, Some(137));
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn control_closed_cleanly_does_not_kill() {
    let mgr = manager();
    register(
        &mgr,
        "9",
        r#"{"command":["sh","-c","sleep 0.3; echo done"]}"#,
    );
    let task = run(&mgr, "9");
    let mut control = connect(&mgr, "9", "control").await;
    let mut stdio = connect(&mgr, "9", "stdio").await;
    control.close(None).await.unwrap();
    assert_eq!(read_to_end(&mut stdio).await, b"done\n");
    assert_eq!(task.await.unwrap().exit_code, Some(0));
}

#[tokio::test]
async fn grandchild_holding_stdout_keeps_task_open() {
    let mgr = manager();
    register(
        &mgr,
        "10",
        r#"{"command":["sh","-c","(sleep 0.4; echo late) & echo early"]}"#,
    );
    let task = run(&mgr, "10");
    let mut stdio = connect(&mgr, "10", "stdio").await;
    assert_eq!(read_to_end(&mut stdio).await, b"early\nlate\n");
    assert_eq!(task.await.unwrap().exit_code, Some(0));
}

#[tokio::test]
async fn terminal_has_pty_size_and_ctty() {
    let mgr = manager();
    register(
        &mgr,
        "11",
        r#"{"command":["sh","-c","stty size; tty >/dev/null && echo tty; read x; echo got $x; while [ \"$(stty size)\" != \"20 90\" ]; do sleep 0.01; done; echo resized"],
            "terminal":true,"interactive":true,"width":77,"height":33}"#,
    );
    let task = run(&mgr, "11");
    let mut control = connect(&mgr, "11", "control").await;
    let mut stdio = connect(&mgr, "11", "stdio").await;
    let mut first = String::new();
    while !first.contains("tty\r\n") {
        match stdio.next().await.unwrap().unwrap() {
            Message::Binary(b) => first.push_str(&String::from_utf8_lossy(&b)),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(first.contains("33 77\r\n"), "{first:?}");
    stdio
        .send(Message::binary(b"abc\n".to_vec()))
        .await
        .unwrap();
    control
        .send(Message::text(
            r#"{"command":"resize","resize":{"width":90,"height":20}}"#,
        ))
        .await
        .unwrap();
    let out = String::from_utf8(read_to_end(&mut stdio).await).unwrap();
    assert!(out.contains("got abc"), "{out:?}");
    assert!(out.ends_with("resized\r\n"), "{out:?}");
    assert_eq!(task.await.unwrap().exit_code, Some(0));
}

#[tokio::test]
async fn interactive_end_sends_eof() {
    let mgr = manager();
    register(
        &mgr,
        "12",
        r#"{"command":["cat"],"terminal":true,"interactive":true}"#,
    );
    let task = run(&mgr, "12");
    let mut stdio = connect(&mgr, "12", "stdio").await;
    stdio
        .send(Message::binary(b"xyz\n".to_vec()))
        .await
        .unwrap();
    send_end(&mut stdio).await;
    let out = read_to_end(&mut stdio).await;
    assert!(String::from_utf8_lossy(&out).contains("xyz"));
    assert_eq!(task.await.unwrap().exit_code, Some(0));
}

#[tokio::test]
async fn abort_kills() {
    let mgr = manager();
    register(
        &mgr,
        "13",
        r#"{"command":["sh","-c","echo started; exec sleep 10"]}"#,
    );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let m2 = mgr.clone();
    let task = tokio::spawn(async move {
        m2.run("13", async {
            let _ = rx.await;
        })
        .await
    });
    let mut stdio = connect(&mgr, "13", "stdio").await;
    match stdio.next().await.unwrap().unwrap() {
        Message::Binary(b) => assert_eq!(&b[..], b"started\n"),
        other => panic!("unexpected {other:?}"),
    }
    tx.send(()).unwrap();
    assert_eq!(read_to_end(&mut stdio).await, b"");
    let out = task.await.unwrap();
    assert_eq!(out.exit_code, Some(-1));
    assert_eq!(out.error.as_deref(), Some("context canceled"));
}

#[tokio::test]
async fn spawn_failure_reports_error() {
    let mgr = manager();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("noexec");
    std::fs::write(&script, "#!/nonexistent/interp\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let json = format!(r#"{{"command":["{}"]}}"#, script.display());
    register(&mgr, "14", &json);
    let task = run(&mgr, "14");
    let mut stdio = connect(&mgr, "14", "stdio").await;
    assert_eq!(read_to_end(&mut stdio).await, b"");
    let out = task.await.unwrap();
    assert_eq!(out.exit_code, Some(-1));
    assert_eq!(
        out.error.unwrap(),
        format!("fork/exec {}: no such file or directory", script.display())
    );
}

/// The command leads its own session, with an empty signal mask and no ignored signals
/// (SIGPIPE back to default), whichever way it was spawned.
#[tokio::test]
async fn child_has_own_session_and_clean_signal_state() {
    let mgr = manager();
    register(
        &mgr,
        "1",
        // `exec grep` reads its own status: a grep run as a child would race with the shell,
        // which blocks every signal while it vforks that child.
        r#"{"command":["/bin/sh","-c","cut -d' ' -f6 /proc/$$/stat; echo $$; exec grep -E '^Sig(Blk|Ign)' /proc/self/status"]}"#,
    );
    let task = run(&mgr, "1");
    let _control = connect(&mgr, "1", "control").await;
    let mut stdio = connect(&mgr, "1", "stdio").await;
    send_end(&mut stdio).await;
    let out = String::from_utf8(read_to_end(&mut stdio).await).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[0], lines[1], "session id is the pid: {out}");
    assert_eq!(lines[2], "SigBlk:\t0000000000000000", "{out}");
    assert_eq!(lines[3], "SigIgn:\t0000000000000000", "{out}");
    assert_eq!(task.await.unwrap().exit_code, Some(0));
}
