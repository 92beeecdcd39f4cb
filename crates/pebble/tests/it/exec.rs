//! `pebble exec` against a real `pebble run`: golden outputs and exit codes (golden/cli.md
//! 92-97), stdin from a pipe, signal forwarding, and `-t` on a real pseudo-terminal.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Daemon, bin};

const CONTEXT_LAYER: &str = r#"services:
  beta:
    override: replace
    command: sleep 100000
    environment:
      GREETING: bonjour
    working-dir: /tmp
"#;

fn exec_cmd(d: &Daemon, args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.arg("exec")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PEBBLE", d.dir.path());
    c
}

#[test]
fn golden_outputs_and_exit_codes() {
    let d = Daemon::start(&[("001-ctx.yaml", CONTEXT_LAYER)], &[]);
    let o = d.pebble(&["exec", "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(
        (o.code, o.stdout.as_str(), o.stderr.as_str()),
        (3, "out\n", "err\n")
    );
    let o = d.pebble(&["exec", "echo", "hi"]);
    assert_eq!(
        (o.code, o.stdout.as_str(), o.stderr.as_str()),
        (0, "hi\n", "")
    );
    let o = d.pebble(&["exec", "nosuchbinary"]);
    assert_eq!(
        (o.code, o.stdout.as_str(), o.stderr.as_str()),
        (1, "", "error: cannot find executable \"nosuchbinary\"\n")
    );
    let o = d.pebble(&["exec", "--timeout", "100ms", "--", "sleep", "5"]);
    assert_eq!(
        (o.code, o.stdout.as_str(), o.stderr.as_str()),
        (
            1,
            "",
            "error: cannot perform the following tasks:\n- Execute command \"sleep\" (timed out after 100ms: context deadline exceeded)\n"
        )
    );
    let o = d.pebble(&[
        "exec",
        "--context",
        "beta",
        "--",
        "sh",
        "-c",
        "echo $GREETING $PWD",
    ]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "bonjour /tmp\n"));
    let o = d.pebble(&[
        "exec",
        "-w",
        "/",
        "--env",
        "A=1",
        "--env",
        "B",
        "--",
        "sh",
        "-c",
        "echo $A-$B-$PWD",
    ]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "1--/\n"));
    let o = d.pebble(&["exec", "-t", "-T", "true"]);
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (1, "error: cannot use -t and -T at the same time\n")
    );
}

#[test]
fn stdin_from_a_pipe_and_big_output() {
    let d = Daemon::start(&[], &[]);
    let mut child = exec_cmd(&d, &["cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let data: Vec<u8> = (0..4u32 << 20).map(|i| (i % 251) as u8).collect();
    let mut stdin = child.stdin.take().unwrap();
    let expected = data.clone();
    let writer = std::thread::spawn(move || {
        stdin.write_all(&data).unwrap();
    });
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    writer.join().unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(out.len(), expected.len());
    assert!(out == expected);
}

#[test]
fn forwards_sigterm_and_exits_143() {
    let d = Daemon::start(&[], &[]);
    let mut child = exec_cmd(&d, &["--", "sh", "-c", "echo ready; exec sleep 10"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = [0u8; 6];
    stdout.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ready\n");
    // SAFETY: plain kill(2) of our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    assert_eq!(child.wait().unwrap().code(), Some(143));
}

fn openpty(rows: u16, cols: u16) -> (OwnedFd, OwnedFd) {
    let (mut m, mut s) = (0, 0);
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors; the winsize pointer is valid.
    let rc = unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws) };
    assert_eq!(rc, 0);
    // SAFETY: fresh descriptors we own.
    unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) }
}

/// Read from the PTY master until `needle` shows up.
fn read_until(master: &mut std::fs::File, acc: &mut Vec<u8>, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(acc).contains(needle) {
        assert!(
            Instant::now() < deadline,
            "{needle:?} not in {:?}",
            String::from_utf8_lossy(acc)
        );
        match master.read(&mut buf) {
            Ok(0) | Err(_) => panic!(
                "pty closed before {needle:?}: {:?}",
                String::from_utf8_lossy(acc)
            ),
            Ok(n) => acc.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn terminal_shell_on_a_pty_with_resize() {
    let d = Daemon::start(&[], &[]);
    let (master, slave) = openpty(30, 100);
    let mut child = exec_cmd(&d, &["-t", "--", "sh"])
        .env("TERM", "dumb")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave))
        .spawn()
        .unwrap();
    let mut m = std::fs::File::from(master);
    let mut acc = Vec::new();
    m.write_all(b"stty size; tty; echo hello-$((6*7))\n")
        .unwrap();
    read_until(&mut m, &mut acc, "hello-42");
    let text = String::from_utf8_lossy(&acc).into_owned();
    assert!(text.contains("30 100"), "{text:?}");
    assert!(text.contains("/dev/pts/"), "{text:?}");
    // Resize the local terminal and tell the CLI (SIGWINCH): the remote PTY follows.
    let ws = libc::winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ with a valid winsize; kill(2) of our own child.
    unsafe {
        use std::os::fd::AsRawFd;
        assert_eq!(libc::ioctl(m.as_raw_fd(), libc::TIOCSWINSZ, &ws), 0);
        libc::kill(child.id() as i32, libc::SIGWINCH);
    }
    m.write_all(b"while [ \"$(stty size)\" != \"40 120\" ]; do sleep 0.05; done; echo resized\n")
        .unwrap();
    read_until(&mut m, &mut acc, "resized\r\n");
    m.write_all(b"exit 7\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(7));
            break;
        }
        assert!(Instant::now() < deadline, "pebble exec -t did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Descriptors and threads of process `pid`.
/// What the daemon's descriptors point at (`socket:[inode]`, `pipe:[inode]`, paths), and its
/// thread count. Comparing targets rather than counts means a transient descriptor open at the
/// baseline cannot hide a leaked one (which has a new inode).
fn fds_threads(pid: i32) -> (std::collections::BTreeSet<String>, usize) {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .map(|t| t.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    let threads = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0);
    (fds, threads)
}

/// 2,000 mixed execs (normal, non-zero, stdin, timeout, client killed mid-stream, client that
/// never connects) run concurrently; afterwards the daemon's descriptors and threads are back
/// at their starting counts.
#[tokio::test]
async fn soak_leaves_no_fds_or_threads() {
    use pebble_client::{Client, ExecOptions, exec_output};
    let d = Daemon::start(&[], &[]);
    let socket = d.dir.path().join(".pebble.socket");
    let pid = {
        let sock = tokio::net::UnixStream::connect(&socket).await.unwrap();
        sock.peer_cred().unwrap().pid().unwrap()
    };
    let base = fds_threads(pid);
    let client = Client::new(socket);
    let start = Instant::now();

    // A few clients that never connect their websockets (each fails after 5 s).
    let mut never = Vec::new();
    for _ in 0..8 {
        let req = pebble_api::ExecRequest {
            command: vec!["sleep".into(), "10".into()],
            ..Default::default()
        };
        never.push(client.post_async("/v1/exec", &req).await.unwrap());
    }

    const TOTAL: usize = 2000;
    const BATCH: usize = 16;
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    let mut i = 0;
    while i < TOTAL {
        let mut set = tokio::task::JoinSet::new();
        for j in i..(i + BATCH).min(TOTAL) {
            let client = client.clone();
            let dir = d.dir.path().to_path_buf();
            set.spawn(async move {
                match j % 20 {
                    0..=8 => {
                        let (code, out, _) =
                            exec_output(&client, &ExecOptions::new(["echo", "hi"]), None)
                                .await
                                .unwrap();
                        assert_eq!((code, &out[..]), (0, &b"hi\n"[..]));
                        "normal"
                    }
                    9..=12 => {
                        let mut o = ExecOptions::new(["sh", "-c", "echo e >&2; exit 3"]);
                        o.split_stderr = true;
                        let (code, _, err) = exec_output(&client, &o, None).await.unwrap();
                        assert_eq!((code, &err[..]), (3, &b"e\n"[..]));
                        "nonzero"
                    }
                    13..=15 => {
                        let data = vec![b'x'; 65536];
                        let (code, out, _) =
                            exec_output(&client, &ExecOptions::new(["cat"]), Some(&data))
                                .await
                                .unwrap();
                        assert_eq!((code, out.len()), (0, data.len()));
                        "stdin"
                    }
                    16..=17 => {
                        let mut o = ExecOptions::new(["sleep", "5"]);
                        o.timeout = Some(Duration::from_millis(20));
                        let e = exec_output(&client, &o, None).await.unwrap_err();
                        assert!(e.to_string().contains("timed out after 20ms"), "{e}");
                        "timeout"
                    }
                    _ => {
                        // A `pebble exec` client killed mid-stream (sockets gone, no close
                        // frames): the daemon kills the command and finishes the change.
                        tokio::task::spawn_blocking(move || {
                            let mut child = Command::new(bin())
                                .args(["exec", "--", "sh", "-c", "while :; do echo y; done"])
                                .env_clear()
                                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                                .env("PEBBLE", &dir)
                                .stdin(Stdio::null())
                                .stdout(Stdio::piped())
                                .stderr(Stdio::null())
                                .spawn()
                                .unwrap();
                            let mut buf = [0u8; 2];
                            child.stdout.take().unwrap().read_exact(&mut buf).unwrap();
                            child.kill().unwrap();
                            child.wait().unwrap();
                        })
                        .await
                        .unwrap();
                        "disconnect"
                    }
                }
            });
        }
        while let Some(r) = set.join_next().await {
            *counts.entry(r.unwrap()).or_default() += 1;
        }
        i += BATCH;
    }
    assert_eq!(counts.values().sum::<usize>(), TOTAL);
    for id in &never {
        let c = client
            .wait_change(id, Some(Duration::from_secs(20)))
            .await
            .unwrap();
        assert!(c.err.contains("timeout waiting for websocket connections"));
    }
    // Every change is finished, including the killed clients' ones.
    let pending = client
        .changes(pebble_client::ChangeSelect::InProgress, None)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut pending_now = pending.len();
    while pending_now > 0 {
        assert!(
            Instant::now() < deadline,
            "{pending_now} changes still in progress"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        pending_now = client
            .changes(pebble_client::ChangeSelect::InProgress, None)
            .await
            .unwrap()
            .len();
    }
    let elapsed = start.elapsed();
    // Lingering websockets close within a few seconds; then nothing is left beyond the start.
    // (The counts may end below it: a blocking-pool thread, and a state-file write, that were
    // alive when the baseline was taken end on their own.)
    let deadline = Instant::now() + Duration::from_secs(20);
    while {
        let (fds, threads) = fds_threads(pid);
        !fds.is_subset(&base.0) || threads > base.1
    } {
        assert!(
            Instant::now() < deadline,
            "daemon fds/threads {:?}, at start {base:?}",
            fds_threads(pid)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The daemon is still there and serving (the counts above are not those of a dead process).
    assert!(fds_threads(pid).1 >= 1, "daemon {pid} is gone");
    client
        .system_info()
        .await
        .expect("daemon answers after the soak");
    eprintln!(
        "soak: {counts:?} in {elapsed:?}; daemon fds/threads back to {}, {}",
        base.0.len(),
        base.1
    );
}
