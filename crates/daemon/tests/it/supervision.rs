//! Real-process tests of the reaper, the real spawner and the service manager.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pebble_daemon::reaper::Reaper;
use pebble_daemon::servstate::{ServiceManager, ServiceManagerOptions};
use pebble_daemon::sys::RealSpawner;
use pebble_daemon::tasklog::NoTaskLog;
use pebble_daemon::users::FileUserDb;
use pebble_plan::{Override, Plan, Service};

fn sh(script: &str) -> Command {
    let mut c = Command::new("/bin/sh");
    c.arg("-c").arg(script);
    c
}

#[tokio::test]
async fn reaper_reports_exit_code() {
    let reaper = Reaper::start().unwrap();
    let child = reaper.spawn(&mut sh("exit 3")).unwrap();
    assert_eq!(child.exit.await, 3);
}

#[tokio::test]
async fn reaper_reports_128_plus_signal() {
    let reaper = Reaper::start().unwrap();
    let child = reaper.spawn(&mut sh("exec sleep 100")).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(child.exit.await, 143);
}

#[tokio::test]
async fn reaper_reaps_orphaned_grandchildren() {
    let reaper = Reaper::start().unwrap();
    let mut cmd = sh("sleep 0.2 & echo $!");
    cmd.stdout(Stdio::piped());
    let mut child = reaper.spawn(&mut cmd).unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let grandchild: i32 = out.trim().parse().unwrap();
    assert_eq!(child.exit.await, 0);
    // The orphan is re-parented to us (subreaper) and must be reaped, not left a zombie.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{grandchild}")).exists() {
        assert!(
            Instant::now() < deadline,
            "grandchild {grandchild} not reaped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn reaper_exec_failure_and_concurrent_spawns() {
    let reaper = Reaper::start().unwrap();
    // exec failure: std waits for its own child; must not race with the reaper.
    for _ in 0..20 {
        let err = reaper
            .spawn(&mut Command::new("/nonexistent/binary"))
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }
    let mut waiters = Vec::new();
    for i in 0..50 {
        let c = reaper.spawn(&mut sh(&format!("exit {}", i % 7))).unwrap();
        waiters.push((i % 7, c.exit));
    }
    for (want, w) in waiters {
        assert_eq!(w.await, want);
    }
}

fn script(dir: &tempfile::TempDir, name: &str, body: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

fn manager(services: Vec<Service>) -> Arc<ServiceManager> {
    pebble_daemon::daemonlog::set_silent(true);
    let reaper = Reaper::start().unwrap();
    let mgr = ServiceManager::new(
        Arc::new(RealSpawner::new(reaper)),
        ServiceManagerOptions {
            verbose: false,
            users: Arc::new(FileUserDb::default()),
        },
    );
    let mut plan = Plan::default();
    for s in services {
        plan.services.insert(s.name.clone(), s);
    }
    mgr.set_plan(Arc::new(plan));
    mgr
}

fn service(name: &str, command: String) -> Service {
    Service {
        name: name.into(),
        command,
        override_: Some(Override::Replace),
        ..Default::default()
    }
}

#[tokio::test]
async fn service_output_is_captured_with_prefixes() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = script(&dir, "svc.sh", "echo hello\necho oops >&2\nexec sleep 100");
    let mgr = manager(vec![service("svc", cmd)]);
    mgr.start("svc", &NoTaskLog).await.unwrap();
    let ring = mgr.log_ring("svc").unwrap();
    let raw = String::from_utf8(ring.raw_bytes()).unwrap();
    let lines: Vec<&str> = raw.lines().collect();
    assert_eq!(lines.len(), 2, "{raw:?}");
    for (line, msg) in lines.iter().zip(["hello", "oops"]) {
        // 2022-10-26T01:18:26.904Z [svc] hello
        assert_eq!(line.len(), 24 + " [svc] ".len() + msg.len(), "{line}");
        assert_eq!(&line[10..11], "T");
        assert_eq!(&line[23..], format!("Z [svc] {msg}"));
    }
    let t0 = Instant::now();
    mgr.stop("svc", &NoTaskLog).await.unwrap();
    assert!(t0.elapsed() < Duration::from_secs(4));
    assert_eq!(mgr.services(&[])[0].current, "inactive");
}

#[tokio::test]
async fn stop_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    let cmd = script(
        &dir,
        "tree.sh",
        &format!(
            "trap '' TERM\nsleep 100 &\necho $! > {}\nwait",
            pidfile.display()
        ),
    );
    let mut svc = service("tree", cmd);
    svc.kill_delay = Some(pebble_plan::GoDuration(Duration::from_millis(300)));
    let mgr = manager(vec![svc]);
    mgr.start("tree", &NoTaskLog).await.unwrap();
    let child: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The shell ignores SIGTERM (its `sleep` child dies of it); SIGKILL follows kill-delay.
    let t0 = Instant::now();
    mgr.stop("tree", &NoTaskLog).await.unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(300));
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{child}")).exists() {
        assert!(Instant::now() < deadline, "grandchild {child} survived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn quick_exit_reports_code_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = script(&dir, "fail.sh", "echo bye\nexit 3");
    let mut svc = service("fail", cmd);
    svc.on_failure = Some(pebble_plan::ServiceAction::Ignore);
    let mgr = manager(vec![svc]);
    #[derive(Default)]
    struct Log(std::sync::Mutex<Vec<String>>);
    impl pebble_daemon::tasklog::TaskLog for Log {
        fn info(&self, m: &str) {
            self.0.lock().unwrap().push(m.to_string());
        }
        fn error(&self, m: &str) {
            self.0.lock().unwrap().push(m.to_string());
        }
    }
    let log = Log::default();
    let err = mgr.start("fail", &log).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "service start attempt: exited quickly with code 3, will ignore"
    );
    assert_eq!(
        *log.0.lock().unwrap(),
        ["Most recent service output:\n    bye"]
    );
    assert_eq!(mgr.services(&[])[0].current, "error");
}

#[tokio::test]
async fn missing_executable_is_a_start_error() {
    let mgr = manager(vec![service("nope", "no-such-command-xyz".into())]);
    let err = mgr.start("nope", &NoTaskLog).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot start service: exec: \"no-such-command-xyz\": executable file not found in $PATH"
    );
    let mgr = manager(vec![service("nope", "/no/such/file".into())]);
    let err = mgr.start("nope", &NoTaskLog).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot start service: fork/exec /no/such/file: no such file or directory"
    );
}

fn cpu_time() -> Duration {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid out-pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Daemon-side CPU to ingest 1 GB of 100-byte lines (run with `--ignored --nocapture`,
/// ideally in release mode). `PEBBLE_BENCH_BYTES` overrides the size.
#[tokio::test]
#[ignore]
async fn bench_log_ingest_cpu() {
    let bytes: u64 = std::env::var("PEBBLE_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000_000);
    let dir = tempfile::tempdir().unwrap();
    let cmd = script(
        &dir,
        "flood.sh",
        &format!("yes \"$(printf '%099d' 0)\" | head -c {bytes}\necho DONE\nexec sleep 100"),
    );
    let mgr = manager(vec![service("flood", cmd)]);
    let cpu0 = cpu_time();
    let t0 = Instant::now();
    mgr.start("flood", &NoTaskLog).await.unwrap();
    let ring = mgr.log_ring("flood").unwrap();
    while ring
        .last_entries(Some(1))
        .first()
        .map(|e| e.message.as_str())
        != Some("DONE")
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cpu = cpu_time() - cpu0;
    println!(
        "ingested {bytes} bytes in {:?} wall, daemon CPU {:?}",
        t0.elapsed(),
        cpu
    );
    mgr.stop("flood", &NoTaskLog).await.unwrap();
}

#[tokio::test]
async fn reaper_output_captures_both_streams() {
    let reaper = Reaper::start().unwrap();
    let out = reaper
        .output(&mut sh("echo out; echo err >&2; exit 4"))
        .await
        .unwrap();
    assert_eq!(out.code, 4);
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
}
