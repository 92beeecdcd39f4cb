//! State-machine tests on tokio's paused clock with the fake spawner.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::sys::{FakeSignalMode, FakeSpawner, SentSignal};
use crate::tasklog::NoTaskLog;
use crate::users::FileUserDb;
use pebble_plan::{GoDuration, Override};
use std::sync::Mutex as StdMutex;
use tokio::time::Instant;

#[derive(Default)]
struct RecLog(StdMutex<Vec<String>>);

impl TaskLog for RecLog {
    fn info(&self, message: &str) {
        self.0.lock().unwrap().push(format!("INFO {message}"));
    }
    fn error(&self, message: &str) {
        self.0.lock().unwrap().push(format!("ERROR {message}"));
    }
}

impl RecLog {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

fn svc(name: &str) -> Service {
    Service {
        name: name.into(),
        command: format!("/bin/{name} --flag"),
        override_: Some(Override::Replace),
        ..Default::default()
    }
}

fn setup(services: Vec<Service>) -> (Arc<FakeSpawner>, Arc<ServiceManager>) {
    crate::daemonlog::set_silent(true);
    let fake = FakeSpawner::new();
    let mgr = ServiceManager::new(
        fake.clone(),
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
    (fake, mgr)
}

fn status(mgr: &ServiceManager, name: &str) -> &'static str {
    mgr.services(&[name.to_string()])[0].current
}

/// Start in a background task; returns its join handle.
fn bg_start(
    mgr: &Arc<ServiceManager>,
    name: &str,
) -> tokio::task::JoinHandle<(Result<(), ServiceError>, Vec<String>, Duration)> {
    let mgr = mgr.clone();
    let name = name.to_string();
    tokio::spawn(async move {
        let log = RecLog::default();
        let t0 = Instant::now();
        let r = mgr.start(&name, &log).await;
        (r, log.lines(), t0.elapsed())
    })
}

async fn wait_status(mgr: &ServiceManager, name: &str, want: &str) {
    for _ in 0..10_000 {
        if status(mgr, name) == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("{name} never became {want}, is {}", status(mgr, name));
}

#[tokio::test(start_paused = true)]
async fn start_resolves_after_okay_delay() {
    let (fake, mgr) = setup(vec![svc("a")]);
    let (r, log, elapsed) = bg_start(&mgr, "a").await.unwrap();
    assert_eq!(r, Ok(()));
    assert!(log.is_empty(), "{log:?}");
    assert!(elapsed >= OKAY_DELAY && elapsed < OKAY_DELAY + Duration::from_millis(10));
    assert_eq!(status(&mgr, "a"), "active");
    let p = fake.last().unwrap();
    assert_eq!(p.spec.argv, ["/bin/a", "--flag"]);
    assert!(mgr.services(&[]).iter().all(|s| s.current_since.is_some()));

    // A second start is a no-op with Pebble's task log line.
    let log = RecLog::default();
    mgr.start("a", &log).await.unwrap();
    assert_eq!(log.lines(), ["INFO Service \"a\" already started."]);
    assert_eq!(fake.spawn_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn exit_within_okay_delay_fails_start_and_applies_action() {
    let (fake, mgr) = setup(vec![svc("a")]);
    let h = bg_start(&mgr, "a");
    let p = fake.wait_spawned(1).await;
    p.write_output(b"out line\nerr line\n").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    p.exit(1);
    let (r, log, elapsed) = h.await.unwrap();
    assert_eq!(
        r.unwrap_err().to_string(),
        "service start attempt: exited quickly with code 1, will restart"
    );
    assert!(elapsed < OKAY_DELAY);
    assert_eq!(
        log,
        ["INFO Most recent service output:\n    out line\n    err line"]
    );
    assert_eq!(status(&mgr, "a"), "backoff");
    // The restart action still applies: a new process after ~500 ms.
    let t0 = Instant::now();
    fake.wait_spawned(2).await;
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(500) && waited <= Duration::from_millis(551));
    assert_eq!(status(&mgr, "a"), "active");
}

#[tokio::test(start_paused = true)]
async fn exit_with_ignore_goes_to_error_or_inactive() {
    let mut a = svc("a");
    a.on_failure = Some(ServiceAction::Ignore);
    let mut b = svc("b");
    b.on_success = Some(ServiceAction::Ignore);
    let (fake, mgr) = setup(vec![a, b]);
    let h = bg_start(&mgr, "a");
    fake.wait_spawned(1).await.exit(2);
    let (r, _, _) = h.await.unwrap();
    assert_eq!(
        r.unwrap_err().to_string(),
        "service start attempt: exited quickly with code 2, will ignore"
    );
    assert_eq!(status(&mgr, "a"), "error");

    bg_start(&mgr, "b").await.unwrap().0.unwrap();
    fake.wait_spawned(2).await.exit(0);
    wait_status(&mgr, "b", "inactive").await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(fake.spawn_count(), 2, "ignore must not restart");
}

#[tokio::test(start_paused = true)]
async fn backoff_sequence_with_jitter() {
    let (fake, mgr) = setup(vec![svc("a")]);
    bg_start(&mgr, "a").await.unwrap().0.unwrap();
    let expected = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0];
    for (i, secs) in expected.iter().enumerate() {
        let p = fake.wait_spawned(i + 1).await;
        p.exit(1);
        let t0 = Instant::now();
        wait_status(&mgr, "a", "backoff").await;
        fake.wait_spawned(i + 2).await;
        let waited = t0.elapsed().as_secs_f64();
        assert!(
            waited >= *secs && waited <= secs * 1.1 + 0.002,
            "backoff {} waited {waited}, want {secs} + 0-10%",
            i + 1
        );
        assert_eq!(
            status(&mgr, "a"),
            "active",
            "restart goes straight to running"
        );
    }
}

/// With `backoff-limit` 10 s: three quick failures (backoffs 0.5, 1 and 2 s), a fourth process
/// that runs for `run`, then the wait before the fifth.
async fn wait_after_fourth_run(run: Duration) -> Duration {
    let mut a = svc("a");
    a.backoff_limit = Some(GoDuration(Duration::from_secs(10)));
    let (fake, mgr) = setup(vec![a]);
    bg_start(&mgr, "a").await.unwrap().0.unwrap();
    for n in 1..=3 {
        fake.wait_spawned(n).await.exit(1);
    }
    let p = fake.wait_spawned(4).await;
    tokio::time::sleep(run).await;
    p.exit(1);
    let t0 = Instant::now();
    fake.wait_spawned(5).await;
    t0.elapsed()
}

#[tokio::test(start_paused = true)]
async fn backoff_resets_after_running_backoff_limit() {
    // Up for longer than backoff-limit: counters reset, the next wait is the first one.
    let waited = wait_after_fourth_run(Duration::from_secs(11)).await;
    assert!(
        waited >= Duration::from_millis(500) && waited <= Duration::from_millis(551),
        "{waited:?}"
    );
}

/// The reset needs the process running at `backoff-limit` after its spawn: one that exits
/// just before keeps the counters. A restarted process is running at once (no start check),
/// so with a limit shorter than its runs every restart waits the first delay again.
#[tokio::test(start_paused = true)]
async fn backoff_resets_only_for_processes_running_at_backoff_limit() {
    let waited = wait_after_fourth_run(Duration::from_secs(9)).await;
    assert!(
        waited >= Duration::from_secs(4) && waited <= Duration::from_millis(4_410),
        "{waited:?}"
    );

    let mut b = svc("b");
    b.backoff_delay = Some(GoDuration(Duration::from_millis(100)));
    b.backoff_limit = Some(GoDuration(Duration::from_millis(500)));
    let (fake, mgr) = setup(vec![b]);
    bg_start(&mgr, "b").await.unwrap().0.unwrap();
    for n in 1..=4 {
        let p = fake.wait_spawned(n).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        p.exit(1);
        let t0 = Instant::now();
        fake.wait_spawned(n + 1).await;
        let waited = t0.elapsed();
        assert!(
            waited >= Duration::from_millis(100) && waited <= Duration::from_millis(111),
            "restart {n}: {waited:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn stop_escalates_sigterm_sigkill_then_fails() {
    let (fake, mgr) = setup(vec![svc("a")]);
    bg_start(&mgr, "a").await.unwrap().0.unwrap();
    let pid = fake.last().unwrap().pid;
    let t0 = Instant::now();
    let r = mgr.stop("a", &NoTaskLog).await;
    assert_eq!(
        r.unwrap_err().to_string(),
        "cannot stop service: process still running after SIGTERM and SIGKILL"
    );
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_secs(10) && waited < Duration::from_millis(10_010));
    assert_eq!(
        fake.signals(),
        [
            SentSignal {
                pid,
                signal: Signal::SIGTERM,
                group: true
            },
            SentSignal {
                pid,
                signal: Signal::SIGKILL,
                group: true
            }
        ]
    );
    assert_eq!(status(&mgr, "a"), "inactive");
}

#[tokio::test(start_paused = true)]
async fn stop_with_kill_delay_and_sigkill_success() {
    let mut a = svc("a");
    a.kill_delay = Some(GoDuration(Duration::from_secs(2)));
    let (fake, mgr) = setup(vec![a]);
    fake.set_signal_mode(FakeSignalMode::IgnoreTerm);
    bg_start(&mgr, "a").await.unwrap().0.unwrap();
    let t0 = Instant::now();
    mgr.stop("a", &NoTaskLog).await.unwrap();
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_secs(2) && waited < Duration::from_millis(2010));
    assert_eq!(status(&mgr, "a"), "inactive");
    // A stopped service is not restarted.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(fake.spawn_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn stop_messages_for_each_state() {
    let (fake, mgr) = setup(vec![svc("a"), svc("b")]);
    fake.set_signal_mode(FakeSignalMode::Obey);
    let log = RecLog::default();
    mgr.stop("a", &log).await.unwrap();
    bg_start(&mgr, "a").await.unwrap().0.unwrap();
    mgr.stop("a", &log).await.unwrap();
    mgr.stop("a", &log).await.unwrap();
    assert_eq!(
        log.lines(),
        [
            "INFO Service \"a\" has never been started.",
            "INFO Service \"a\" already stopped."
        ]
    );
    // Stop while starting: the pending start fails.
    let h = bg_start(&mgr, "b");
    fake.wait_spawned(2).await;
    mgr.stop("b", &NoTaskLog).await.unwrap();
    let (r, _, _) = h.await.unwrap();
    assert_eq!(r, Err(ServiceError::StoppedEarly));
    assert_eq!(
        ServiceError::StoppedEarly.to_string(),
        "service start attempt: stopped before the 1s okay delay"
    );
}

#[tokio::test(start_paused = true)]
async fn stop_in_backoff_is_immediate() {
    let (fake, mgr) = setup(vec![svc("a")]);
    let h = bg_start(&mgr, "a");
    fake.wait_spawned(1).await.exit(1);
    let _ = h.await.unwrap();
    assert_eq!(status(&mgr, "a"), "backoff");
    mgr.stop("a", &NoTaskLog).await.unwrap();
    assert_eq!(status(&mgr, "a"), "inactive");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(fake.spawn_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn dropping_start_kills_group_and_stops() {
    let (fake, mgr) = setup(vec![svc("a")]);
    let h = bg_start(&mgr, "a");
    let p = fake.wait_spawned(1).await;
    h.abort();
    let _ = h.await;
    assert_eq!(
        fake.signals(),
        [SentSignal {
            pid: p.pid,
            signal: Signal::SIGKILL,
            group: true
        }]
    );
    assert_eq!(status(&mgr, "a"), "inactive");
    p.exit(137);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(status(&mgr, "a"), "inactive");
    assert_eq!(fake.spawn_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_actions_request_exit_codes() {
    let cases = [
        (Some(ServiceAction::Shutdown), None, 1, 10),
        (Some(ServiceAction::SuccessShutdown), None, 1, 0),
        (None, Some(ServiceAction::Shutdown), 0, 0),
        (None, Some(ServiceAction::FailureShutdown), 0, 10),
    ];
    for (on_failure, on_success, code, want) in cases {
        let mut a = svc("a");
        a.on_failure = on_failure;
        a.on_success = on_success;
        let (fake, mgr) = setup(vec![a]);
        let rx = mgr.shutdown_requests();
        bg_start(&mgr, "a").await.unwrap().0.unwrap();
        fake.wait_spawned(1).await.exit(code);
        wait_status(&mgr, "a", "error").await;
        assert_eq!(
            *rx.borrow(),
            Some(want),
            "{on_failure:?} {on_success:?} {code}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn check_failure_actions() {
    let mut a = svc("a");
    a.on_check_failure
        .insert("chk".into(), ServiceAction::Shutdown);
    let mut b = svc("b");
    b.on_check_failure
        .insert("chk2".into(), ServiceAction::Restart);
    let (fake, mgr) = setup(vec![a, b]);
    fake.set_signal_mode(FakeSignalMode::Obey);
    let rx = mgr.shutdown_requests();
    mgr.check_failed("chk");
    assert_eq!(*rx.borrow(), None, "not started: ignored");
    bg_start(&mgr, "a").await.unwrap().0.unwrap();
    mgr.check_failed("chk");
    assert_eq!(*rx.borrow(), Some(EXIT_CHECK_FAILURE));

    bg_start(&mgr, "b").await.unwrap().0.unwrap();
    let pid = fake.wait_spawned(2).await.pid;
    mgr.check_failed("chk2");
    // SIGTERM to the group, then a backoff restart.
    fake.wait_spawned(3).await;
    assert!(fake.signals().contains(&SentSignal {
        pid,
        signal: Signal::SIGTERM,
        group: true
    }));
    assert_eq!(status(&mgr, "b"), "active");
}

#[tokio::test(start_paused = true)]
async fn signals_only_while_running() {
    let (fake, mgr) = setup(vec![svc("a"), svc("b")]);
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        mgr.send_signal(&names(&["a", "nosuch"]), "SIGHUP")
            .unwrap_err()
            .to_string(),
        "cannot send signal to \"a\": service is not running; \
         cannot send signal to \"nosuch\": service is not running"
    );
    bg_start(&mgr, "a").await.unwrap().0.unwrap();
    let pid = fake.last().unwrap().pid;
    mgr.send_signal(&names(&["a"]), "SIGHUP").unwrap();
    assert_eq!(
        fake.signals(),
        [SentSignal {
            pid,
            signal: Signal::SIGHUP,
            group: false
        }]
    );
    for bad in ["SIGFOO", "hup", ""] {
        assert_eq!(
            mgr.send_signal(&names(&["a"]), bad)
                .unwrap_err()
                .to_string(),
            format!("cannot send signal to \"a\": invalid signal name {bad:?}")
        );
    }
}

#[tokio::test(start_paused = true)]
async fn current_since_changes_only_with_status() {
    let (fake, mgr) = setup(vec![svc("a")]);
    assert_eq!(mgr.services(&[])[0].current_since, None);
    let h = bg_start(&mgr, "a");
    fake.wait_spawned(1).await;
    let since_starting = mgr.services(&[])[0].current_since.unwrap();
    std::thread::sleep(Duration::from_millis(5));
    h.await.unwrap().0.unwrap();
    // starting -> running keeps "active", so the time does not change.
    assert_eq!(mgr.services(&[])[0].current_since, Some(since_starting));
    mgr.stop("a", &NoTaskLog).await.unwrap_err();
    assert_ne!(mgr.services(&[])[0].current_since, Some(since_starting));
}

#[tokio::test(start_paused = true)]
async fn services_listing_sorted_and_filtered() {
    let mut b = svc("b");
    b.startup = "enabled".into();
    let (_fake, mgr) = setup(vec![b, svc("a")]);
    let all = mgr.services(&[]);
    assert_eq!(
        all.iter()
            .map(|s| (s.name.as_str(), s.startup.as_str(), s.current))
            .collect::<Vec<_>>(),
        [("a", "disabled", "inactive"), ("b", "enabled", "inactive")]
    );
    let some = mgr.services(&["b".into(), "nosuch".into()]);
    assert_eq!(some.len(), 1);
    assert_eq!(some[0].name, "b");
}

#[tokio::test(start_paused = true)]
async fn replan_lists_changed_and_enabled() {
    let mut c = svc("c");
    c.startup = "enabled".into();
    let (_fake, mgr) = setup(vec![svc("a"), svc("b"), c.clone()]);
    bg_start(&mgr, "a").await.unwrap().0.unwrap();
    bg_start(&mgr, "b").await.unwrap().0.unwrap();
    assert_eq!(mgr.replan_lists(), (vec![], vec!["c".to_string()]));
    let mut plan = Plan::default();
    let mut a2 = svc("a");
    a2.command = "/bin/other".into();
    for s in [a2, svc("b"), c] {
        plan.services.insert(s.name.clone(), s);
    }
    mgr.set_plan(Arc::new(plan));
    assert_eq!(
        mgr.replan_lists(),
        (
            vec!["a".to_string()],
            vec!["a".to_string(), "c".to_string()]
        )
    );
    // The stored config was updated: a second replan sees no change.
    assert_eq!(mgr.replan_lists(), (vec![], vec!["c".to_string()]));
}

/// Appendix C item 17 (deliberate difference): starting an already running service does not
/// adopt the new plan config, so the next replan still sees the change and restarts it.
#[tokio::test(start_paused = true)]
async fn start_of_running_service_keeps_its_started_config() {
    let (fake, mgr) = setup(vec![svc("a")]);
    bg_start(&mgr, "a").await.unwrap().0.unwrap();
    let mut a2 = svc("a");
    a2.command = "/bin/new --flag".into();
    let mut plan = Plan::default();
    plan.services.insert("a".into(), a2);
    mgr.set_plan(Arc::new(plan));
    let (r, log, _) = bg_start(&mgr, "a").await.unwrap();
    r.unwrap();
    assert_eq!(log, ["INFO Service \"a\" already started."]);
    assert_eq!(fake.spawn_count(), 1, "no new process");
    assert_eq!(
        mgr.replan_lists(),
        (vec!["a".to_string()], vec!["a".to_string()]),
        "replan must still see the changed config"
    );
    // Replan's stop then start runs the new command.
    fake.set_signal_mode(FakeSignalMode::Obey);
    mgr.stop("a", &NoTaskLog).await.unwrap();
    bg_start(&mgr, "a").await.unwrap().0.unwrap();
    assert_eq!(fake.spawn_count(), 2);
    assert_eq!(fake.last().unwrap().spec.argv, ["/bin/new", "--flag"]);
    assert_eq!(mgr.replan_lists(), (vec![], vec![]));
}

#[tokio::test(start_paused = true)]
async fn spawn_failure_is_start_error() {
    let (fake, mgr) = setup(vec![svc("a")]);
    fake.fail_next_spawn("exec: \"x\": executable file not found in $PATH");
    let r = mgr.start("a", &NoTaskLog).await;
    assert_eq!(
        r.unwrap_err().to_string(),
        "cannot start service: exec: \"x\": executable file not found in $PATH"
    );
    assert_eq!(status(&mgr, "a"), "inactive");
    assert!(mgr.active_services().is_empty());
}

#[tokio::test(start_paused = true)]
async fn environment_is_daemon_env_plus_plan_env() {
    let mut a = svc("a");
    a.environment.insert("FOO".into(), "bar".into());
    a.environment.insert("PATH".into(), "/plan/path".into());
    a.working_dir = "/tmp".into();
    let (fake, mgr) = setup(vec![a]);
    bg_start(&mgr, "a").await.unwrap().0.unwrap();
    let spec = fake.last().unwrap().spec.clone();
    let get = |k: &str| {
        spec.env
            .iter()
            .filter(|(ek, _)| ek == k)
            .map(|(_, v)| v.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(get("FOO"), ["bar"]);
    assert_eq!(
        get("PATH"),
        ["/plan/path"],
        "plan value overrides, no duplicates"
    );
    assert_eq!(spec.dir.as_deref(), Some(std::path::Path::new("/tmp")));
    assert_eq!((spec.uid, spec.gid), (None, None));
}

#[tokio::test(start_paused = true)]
async fn output_goes_to_ring_and_survives_restart() {
    let (fake, mgr) = setup(vec![svc("a")]);
    bg_start(&mgr, "a").await.unwrap().0.unwrap();
    let p = fake.last().unwrap();
    p.write_output(b"first run\n").await;
    p.exit(1);
    let p2 = fake.wait_spawned(2).await;
    p2.write_output(b"second run\n").await;
    tokio::task::yield_now().await;
    let ring = mgr.log_ring("a").unwrap();
    let msgs: Vec<String> = ring
        .last_entries(None)
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert_eq!(msgs, ["first run", "second run"]);
    assert_eq!(mgr.log_rings().len(), 1);
}

#[test]
fn backoff_step_truncates_like_go() {
    let d = Duration::from_millis(500);
    let l = Duration::from_secs(30);
    let mut cur = Duration::ZERO;
    let mut seq = Vec::new();
    for _ in 0..8 {
        cur = next_backoff(cur, d, 2.0, l);
        seq.push(cur.as_secs_f64());
    }
    assert_eq!(seq, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]);
    assert_eq!(
        next_backoff(Duration::from_nanos(3), d, 1.5, l),
        Duration::from_nanos(4)
    );
}

#[tokio::test(start_paused = true)]
async fn user_switch_sets_ids_home_and_user() {
    crate::daemonlog::set_silent(true);
    let dir = tempfile::tempdir().unwrap();
    let passwd = dir.path().join("passwd");
    let group = dir.path().join("group");
    std::fs::write(&passwd, "svcuser:x:4321:8765:S:/home/svcuser:/bin/sh\n").unwrap();
    std::fs::write(&group, "svcgrp:x:8765:\n").unwrap();
    let fake = FakeSpawner::new();
    let mgr = ServiceManager::new(
        fake.clone(),
        ServiceManagerOptions {
            verbose: false,
            users: Arc::new(FileUserDb::new(&passwd, &group)),
        },
    );
    let mut a = svc("a");
    a.user = "svcuser".into();
    let mut b = svc("b");
    b.user = "svcuser".into();
    b.environment.insert("HOME".into(), "/custom".into());
    let mut c = svc("c");
    c.user = "ghost".into();
    let mut plan = Plan::default();
    for s in [a, b, c] {
        plan.services.insert(s.name.clone(), s);
    }
    mgr.set_plan(Arc::new(plan));
    let env_of = |spec: &SpawnSpec, k: &str| {
        spec.env
            .iter()
            .find(|(ek, _)| ek == k)
            .map(|(_, v)| v.to_string_lossy().into_owned())
    };
    bg_start(&mgr, "a").await.unwrap().0.unwrap();
    let spec = fake.last().unwrap().spec.clone();
    assert_eq!((spec.uid, spec.gid), (Some(4321), Some(8765)));
    assert_eq!(env_of(&spec, "HOME").as_deref(), Some("/home/svcuser"));
    assert_eq!(env_of(&spec, "USER").as_deref(), Some("svcuser"));
    bg_start(&mgr, "b").await.unwrap().0.unwrap();
    let spec = fake.last().unwrap().spec.clone();
    assert_eq!(env_of(&spec, "HOME").as_deref(), Some("/custom"));
    assert_eq!(env_of(&spec, "USER").as_deref(), Some("svcuser"));
    let err = mgr.start("c", &NoTaskLog).await.unwrap_err();
    // As in Pebble, user/group errors are not prefixed with "cannot start service: ".
    assert_eq!(err.to_string(), "user: unknown user ghost");
    assert_eq!(status(&mgr, "c"), "inactive");
}

fn workload(name: &str, env: &[(&str, &str)]) -> pebble_plan::Workload {
    pebble_plan::Workload {
        name: name.into(),
        override_: Some(Override::Replace),
        environment: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    }
}

/// A service naming a workload runs with the workload's environment under its own and with
/// the workload's user and group.
#[tokio::test(start_paused = true)]
async fn workload_environment_and_identity_apply() {
    crate::daemonlog::set_silent(true);
    let dir = tempfile::tempdir().unwrap();
    let passwd = dir.path().join("passwd");
    let group = dir.path().join("group");
    std::fs::write(&passwd, "wluser:x:4322:8766:W:/home/wluser:/bin/sh\n").unwrap();
    std::fs::write(&group, "wlgrp:x:8766:\nother:x:9000:\n").unwrap();
    let fake = FakeSpawner::new();
    let mgr = ServiceManager::new(
        fake.clone(),
        ServiceManagerOptions {
            verbose: false,
            users: Arc::new(FileUserDb::new(&passwd, &group)),
        },
    );
    let mut w = workload("w", &[("SHARED", "workload"), ("ONLY_W", "w")]);
    w.user = "wluser".into();
    w.group = "other".into();
    let mut a = svc("a");
    a.workload = "w".into();
    a.environment.insert("SHARED".into(), "service".into());
    let mut plan = Plan::default();
    plan.services.insert("a".into(), a);
    plan.workloads.insert("w".into(), w);
    mgr.set_plan(Arc::new(plan));
    bg_start(&mgr, "a").await.unwrap().0.unwrap();
    let spec = fake.last().unwrap().spec.clone();
    let env_of = |k: &str| {
        spec.env
            .iter()
            .find(|(ek, _)| ek == k)
            .map(|(_, v)| v.to_string_lossy().into_owned())
    };
    assert_eq!(env_of("SHARED").as_deref(), Some("service"));
    assert_eq!(env_of("ONLY_W").as_deref(), Some("w"));
    assert_eq!(env_of("HOME").as_deref(), Some("/home/wluser"));
    assert_eq!((spec.uid, spec.gid), (Some(4322), Some(9000)));
}

/// Replan restarts a service whose workload definition changed, even though its own plan
/// entry did not.
#[tokio::test(start_paused = true)]
async fn replan_restarts_a_service_whose_workload_changed() {
    let mut a = svc("a");
    a.workload = "w".into();
    let (_fake, mgr) = setup(vec![]);
    let plan_with = |w: pebble_plan::Workload| {
        let mut plan = Plan::default();
        plan.services.insert("a".into(), a.clone());
        plan.services.insert("b".into(), svc("b"));
        plan.workloads.insert("w".into(), w);
        Arc::new(plan)
    };
    mgr.set_plan(plan_with(workload("w", &[("X", "1")])));
    bg_start(&mgr, "a").await.unwrap().0.unwrap();
    bg_start(&mgr, "b").await.unwrap().0.unwrap();
    mgr.set_plan(plan_with(workload("w", &[("X", "1")])));
    assert_eq!(
        mgr.replan_lists(),
        (vec![], vec![]),
        "same workload: no restart"
    );
    mgr.set_plan(plan_with(workload("w", &[("X", "2")])));
    assert_eq!(
        mgr.replan_lists(),
        (vec!["a".to_string()], vec!["a".to_string()])
    );
}

/// Put a record of `name` in `state`, its status changed at `since`.
fn put_record(mgr: &ServiceManager, name: &str, state: State, since: SystemTime) {
    let mut data = ServiceData::new(svc(name));
    data.state = state;
    data.set_since(since);
    data.start_count = 1;
    mgr.lock().services.insert(name.to_string(), data);
}

#[tokio::test(start_paused = true)]
async fn prune_drops_old_stopped_records_and_their_rings() {
    let (_fake, mgr) = setup(vec![svc("old"), svc("new"), svc("err"), svc("run")]);
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    put_record(&mgr, "old", State::Stopped, now - 8 * day);
    put_record(&mgr, "new", State::Stopped, now - 6 * day);
    put_record(&mgr, "err", State::Exited, now - 30 * day);
    put_record(&mgr, "run", State::Running, now - 30 * day);
    assert!(mgr.log_ring("old").is_some());
    assert_eq!(mgr.prune(now, 7 * day, 100), 1);
    assert!(
        mgr.log_ring("old").is_none(),
        "the ring goes with the record"
    );
    assert!(mgr.log_ring("new").is_some());
    assert!(mgr.log_ring("err").is_some(), "error is not inactive");
    assert!(mgr.log_ring("run").is_some());
    // The pruned service is listed as never started.
    let old = mgr.services(&["old".to_string()]);
    assert_eq!((old[0].current, old[0].current_since), ("inactive", None));
    assert_eq!(mgr.metrics().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn prune_keeps_at_most_max_stopped_oldest_first() {
    let (_fake, mgr) = setup(vec![]);
    let now = SystemTime::now();
    for i in 0..5u64 {
        put_record(
            &mgr,
            &format!("s{i}"),
            State::Stopped,
            now - Duration::from_secs(100 - i),
        );
    }
    put_record(&mgr, "run", State::Running, now - Duration::from_secs(1000));
    assert_eq!(mgr.prune(now, Duration::from_secs(86_400 * 7), 2), 3);
    let mut left: Vec<String> = mgr.log_rings().into_iter().map(|(n, _)| n).collect();
    left.sort();
    assert_eq!(left, ["run", "s3", "s4"]);
    assert_eq!(mgr.prune(now, Duration::from_secs(86_400 * 7), 2), 0);
}

/// The kept rendering of the whole list is made again once anything may have changed (a
/// start, a new plan), and only then.
#[tokio::test(start_paused = true)]
async fn full_list_rendering_is_kept_until_the_state_changes() {
    let (fake, mgr) = setup(vec![svc("a"), svc("b")]);
    let renders = std::cell::Cell::new(0);
    let render = |list: ServiceStatusIter<'_>| {
        renders.set(renders.get() + 1);
        let text: Vec<String> = list.map(|s| format!("{}={}", s.name, s.current)).collect();
        bytes::Bytes::from(text.join(","))
    };
    assert_eq!(mgr.full_list_rendered(render), "a=inactive,b=inactive");
    assert_eq!(mgr.full_list_rendered(render), "a=inactive,b=inactive");
    assert_eq!(renders.get(), 1);
    // Reading the state in other ways keeps it.
    let _ = mgr.services(&[]);
    assert_eq!(mgr.full_list_rendered(render), "a=inactive,b=inactive");
    assert_eq!(renders.get(), 1);

    bg_start(&mgr, "a").await.unwrap().0.unwrap();
    assert!(fake.last().is_some());
    assert_eq!(mgr.full_list_rendered(render), "a=active,b=inactive");
    assert_eq!(renders.get(), 2);

    let mut plan = Plan::default();
    plan.services.insert("c".into(), svc("c"));
    mgr.set_plan(Arc::new(plan));
    assert_eq!(mgr.full_list_rendered(render), "c=inactive");
    assert_eq!(renders.get(), 3);
}
