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
