//! Check manager tests with fake checkers on tokio's paused clock.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::state::Status;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// A checker whose outcome the test flips; counts its calls.
#[derive(Default)]
struct Fake {
    failing: AtomicBool,
    slow: AtomicBool,
    calls: AtomicUsize,
}

impl Checker for Fake {
    fn check(&self) -> checkers::CheckFuture<'_> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            if self.slow.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            if self.failing.load(Ordering::SeqCst) {
                Err(CheckError {
                    message: "exit status 1".into(),
                    details: "boom".into(),
                })
            } else {
                Ok(())
            }
        })
    }
}

struct Setup {
    mgr: Arc<CheckManager>,
    state: State,
    fakes: Arc<Mutex<HashMap<String, Arc<Fake>>>>,
    failed: Arc<Mutex<Vec<String>>>,
}

impl Setup {
    fn fake(&self, name: &str) -> Arc<Fake> {
        lock(&self.fakes)
            .entry(name.to_string())
            .or_default()
            .clone()
    }
    fn info(&self, name: &str) -> CheckInfo {
        self.mgr.check(name).unwrap()
    }
    fn change(&self, id: &str) -> pebble_api::ChangeInfo {
        self.state.change_info(id.parse().unwrap()).unwrap()
    }
}

fn plan(yaml: &str) -> Arc<Plan> {
    let layer = pebble_plan::parse_layer(1000, "base", yaml.as_bytes()).unwrap();
    Arc::new(pebble_plan::combine_layers(&[layer]).unwrap())
}

fn setup(yaml: &str) -> Setup {
    let state = State::in_memory();
    let runner = TaskRunner::new(state.clone());
    let fakes: Arc<Mutex<HashMap<String, Arc<Fake>>>> = Arc::default();
    let f2 = fakes.clone();
    let factory: CheckerFactory = Arc::new(move |c: &Check| -> Arc<dyn Checker> {
        lock(&f2).entry(c.name.clone()).or_default().clone()
    });
    let mgr = CheckManager::new(state.clone(), runner, factory);
    let failed: Arc<Mutex<Vec<String>>> = Arc::default();
    let f3 = failed.clone();
    mgr.set_failure_handler(Arc::new(move |n: &str| lock(&f3).push(n.to_string())));
    mgr.plan_changed(&plan(yaml));
    Setup {
        mgr,
        state,
        fakes,
        failed,
    }
}

/// Advance the paused clock in small steps until `cond` holds (at most `max`).
async fn wait_until(max: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + max;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "condition not met within {max:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

const ONE: &str = "
checks:
  chk:
    override: replace
    level: alive
    period: 1s
    threshold: 2
    exec:
      command: /bin/false
";

#[tokio::test(start_paused = true)]
async fn first_attempt_one_period_after_start_then_every_period() {
    let s = setup(ONE);
    let fake = s.fake("chk");
    let t0 = Instant::now();
    let info = s.info("chk");
    assert_eq!(info.status, "up");
    assert_eq!(info.startup, "enabled");
    assert_eq!(info.change_id, "1");
    wait_until(Duration::from_secs(5), || {
        fake.calls.load(Ordering::SeqCst) == 1
    })
    .await;
    let elapsed = t0.elapsed();
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_millis(1100),
        "{elapsed:?}"
    );
    wait_until(Duration::from_secs(5), || {
        fake.calls.load(Ordering::SeqCst) == 3
    })
    .await;
    assert!(t0.elapsed() >= Duration::from_secs(3));
    assert_eq!(s.info("chk").successes, 3);
    let ch = s.change("1");
    assert_eq!(ch.kind, "perform-check");
    assert_eq!(ch.summary, "Perform exec check \"chk\"");
    assert_eq!(ch.status, "Doing");
}

#[tokio::test(start_paused = true)]
async fn threshold_errors_perform_and_starts_recover_then_recovers() {
    let s = setup(ONE);
    let fake = s.fake("chk");
    fake.failing.store(true, Ordering::SeqCst);
    wait_until(Duration::from_secs(5), || s.info("chk").failures == 1).await;
    let info = s.info("chk");
    assert_eq!((info.status.as_str(), info.change_id.as_str()), ("up", "1"));
    assert!(lock(&s.failed).is_empty());
    let ch = s.change("1");
    assert_eq!(ch.tasks[0].log.len(), 1);
    assert!(ch.tasks[0].log[0].ends_with(" ERROR exit status 1; boom"));

    wait_until(Duration::from_secs(5), || s.info("chk").status == "down").await;
    let info = s.info("chk");
    assert_eq!(info.failures, 2);
    assert_eq!(info.change_id, "2");
    assert_eq!(info.prev_change_id, "1");
    assert_eq!(*lock(&s.failed), vec!["chk".to_string()]);
    assert!(!s.mgr.healthy("", &[]));
    assert!(!s.mgr.healthy("ready", &[]), "ready includes alive checks");
    let perform = s.state.wait_change_ready(1).await.unwrap();
    assert_eq!(perform.status, "Error");
    assert_eq!(
        perform.err,
        "cannot perform the following tasks:\n- Perform exec check \"chk\" (exit status 1; boom)\n- Perform exec check \"chk\" (exit status 1; boom)"
    );
    let recover = s.change("2");
    assert_eq!(recover.kind, "recover-check");
    assert_eq!(recover.summary, "Recover exec check \"chk\"");
    assert_eq!(recover.status, "Doing");

    // Still failing: counted and logged on the recover task, no new action.
    wait_until(Duration::from_secs(5), || s.info("chk").failures == 3).await;
    assert_eq!(s.change("2").tasks[0].log.len(), 1);
    assert_eq!(lock(&s.failed).len(), 1);

    fake.failing.store(false, Ordering::SeqCst);
    wait_until(Duration::from_secs(5), || s.info("chk").status == "up").await;
    let info = s.info("chk");
    assert_eq!((info.successes, info.failures), (1, 0));
    assert_eq!(
        (info.change_id.as_str(), info.prev_change_id.as_str()),
        ("3", "2")
    );
    assert_eq!(s.state.wait_change_ready(2).await.unwrap().status, "Done");
    assert_eq!(s.change("3").kind, "perform-check");
    assert!(s.mgr.healthy("", &[]));
    wait_until(Duration::from_secs(5), || s.info("chk").successes == 2).await;
}

#[tokio::test(start_paused = true)]
async fn success_after_failures_resets_and_logs() {
    let s = setup(&ONE.replace("threshold: 2", "threshold: 5"));
    let fake = s.fake("chk");
    fake.failing.store(true, Ordering::SeqCst);
    wait_until(Duration::from_secs(5), || s.info("chk").failures == 2).await;
    fake.failing.store(false, Ordering::SeqCst);
    wait_until(Duration::from_secs(5), || s.info("chk").failures == 0).await;
    let log = &s.change("1").tasks[0].log;
    assert_eq!(log.len(), 3);
    assert!(
        log[2].ends_with(" INFO succeeded after 2 failures"),
        "{log:?}"
    );
    assert_eq!(s.info("chk").status, "up");
}

const TWO: &str = "
checks:
  a:
    override: replace
    startup: disabled
    period: 1s
    tcp:
      port: 1
  b:
    override: replace
    level: ready
    period: 1s
    http:
      url: http://localhost/
";

#[tokio::test(start_paused = true)]
async fn start_stop_and_errors() {
    let s = setup(TWO);
    let a = s.info("a");
    assert_eq!(
        (a.status.as_str(), a.startup.as_str()),
        ("inactive", "disabled")
    );
    assert_eq!(a.change_id, "");
    assert_eq!(
        s.change(&s.info("b").change_id).summary,
        "Perform HTTP check \"b\""
    );
    assert_eq!(
        s.mgr
            .start_checks(&["a".into(), "nosuch".into(), "zz".into()]),
        Err(ChecksError::NotFound(vec!["nosuch".into(), "zz".into()]))
    );
    assert_eq!(
        ChecksError::NotFound(vec!["x".into(), "y".into()]).to_string(),
        "cannot find checks in plan: x, y"
    );
    assert_eq!(
        s.mgr.start_checks(&["b".into(), "a".into()]).unwrap(),
        vec!["a"]
    );
    assert_eq!(s.info("a").status, "up");
    assert_eq!(
        s.change(&s.info("a").change_id).summary,
        "Perform TCP check \"a\""
    );
    assert!(s.mgr.start_checks(&["a".into()]).unwrap().is_empty());

    s.fake("a").failing.store(true, Ordering::SeqCst);
    wait_until(Duration::from_secs(5), || s.info("a").failures == 1).await;
    let id: u64 = s.info("a").change_id.parse().unwrap();
    assert_eq!(s.mgr.stop_checks(&["a".into()]).unwrap(), vec!["a"]);
    let a = s.info("a");
    assert_eq!(
        (a.status.as_str(), a.failures, a.change_id.as_str()),
        ("inactive", 1, "")
    );
    assert!(s.mgr.stop_checks(&["a".into()]).unwrap().is_empty());
    assert!(s.state.wait_change_ready(id).await.unwrap().ready);
    // No more attempts once stopped.
    let calls = s.fake("a").calls.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(s.fake("a").calls.load(Ordering::SeqCst), calls);
    assert!(s.mgr.healthy("", &[]), "inactive checks are ignored");
}

#[tokio::test(start_paused = true)]
async fn plan_changes_restart_only_modified_checks() {
    let s = setup(TWO);
    let b_change = s.info("b").change_id;
    // Same config: nothing restarts.
    s.mgr.plan_changed(&plan(TWO));
    assert_eq!(s.info("b").change_id, b_change);
    // Modified: the old change is aborted and a fresh one starts.
    s.mgr.plan_changed(&plan(
        &TWO.replace("url: http://localhost/", "url: http://localhost/x"),
    ));
    let new_change = s.info("b").change_id;
    assert_ne!(new_change, b_change);
    assert!(
        s.state
            .wait_change_ready(b_change.parse().unwrap())
            .await
            .unwrap()
            .ready
    );
    assert_eq!(s.info("b").status, "up");
    // Enabled -> disabled: keeps running.
    let disabled = TWO.replace(
        "    level: ready\n",
        "    level: ready\n    startup: disabled\n",
    );
    s.mgr.plan_changed(&plan(&disabled));
    assert_eq!(s.info("b").change_id, new_change);
    // Removed: gone, its change aborted.
    let only_a = "
checks:
  a:
    override: replace
    startup: disabled
    period: 1s
    tcp:
      port: 1
";
    s.mgr.plan_changed(&plan(only_a));
    assert!(s.mgr.check("b").is_none());
    assert!(
        s.state
            .wait_change_ready(new_change.parse().unwrap())
            .await
            .unwrap()
            .ready
    );
    assert_eq!(s.mgr.checks().len(), 1);
    // Replan starts enabled inactive checks only.
    s.mgr.replan();
    assert_eq!(s.info("a").status, "inactive");
}

#[tokio::test(start_paused = true)]
async fn refresh_runs_now_in_the_task_and_resets_the_ticker() {
    let s = setup(ONE);
    let fake = s.fake("chk");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let t0 = Instant::now();
    let (info, err) = s.mgr.refresh("chk").await.unwrap();
    assert!(err.is_none());
    assert_eq!(info.successes, 1);
    assert!(t0.elapsed() < Duration::from_millis(50));
    // The next tick is one period after the refresh, not at the old 1 s mark.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
    wait_until(Duration::from_secs(2), || {
        fake.calls.load(Ordering::SeqCst) == 2
    })
    .await;
    assert!(t0.elapsed() >= Duration::from_secs(1));

    fake.failing.store(true, Ordering::SeqCst);
    let (info, err) = s.mgr.refresh("chk").await.unwrap();
    assert_eq!(err.unwrap().full(), "exit status 1; boom");
    assert_eq!((info.failures, info.status.as_str()), (1, "up"));
    assert_eq!(
        s.mgr.refresh("nosuch").await.unwrap_err().to_string(),
        "cannot find check with name \"nosuch\""
    );
}

#[tokio::test(start_paused = true)]
async fn refresh_of_an_inactive_check_changes_nothing() {
    let s = setup(TWO);
    s.fake("a").failing.store(true, Ordering::SeqCst);
    let (info, err) = s.mgr.refresh("a").await.unwrap();
    assert_eq!(err.unwrap().message, "exit status 1");
    assert_eq!((info.status.as_str(), info.failures), ("inactive", 0));
    assert_eq!(s.fake("a").calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn timeouts_count_as_failures() {
    let s = setup(&ONE.replace("period: 1s", "period: 1s\n    timeout: 300ms"));
    s.fake("chk").slow.store(true, Ordering::SeqCst);
    wait_until(Duration::from_secs(5), || s.info("chk").failures == 1).await;
    let log = &s.change("1").tasks[0].log;
    assert!(
        log[0].ends_with(" ERROR check timed out after 300ms"),
        "{log:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn health_levels_and_names() {
    let s = setup(
        "
checks:
  alive:
    override: replace
    level: alive
    period: 1s
    threshold: 1
    tcp:
      port: 1
  ready:
    override: replace
    level: ready
    period: 1s
    threshold: 1
    tcp:
      port: 1
  none:
    override: replace
    period: 1s
    threshold: 1
    tcp:
      port: 1
",
    );
    s.fake("none").failing.store(true, Ordering::SeqCst);
    wait_until(Duration::from_secs(5), || s.info("none").status == "down").await;
    assert!(!s.mgr.healthy("", &[]));
    assert!(s.mgr.healthy("alive", &[]));
    assert!(s.mgr.healthy("ready", &[]));
    assert!(s.mgr.healthy("", &["alive".into(), "ready".into()]));
    s.fake("alive").failing.store(true, Ordering::SeqCst);
    wait_until(Duration::from_secs(5), || s.info("alive").status == "down").await;
    assert!(!s.mgr.healthy("alive", &[]));
    assert!(!s.mgr.healthy("ready", &[]));
    assert!(s.mgr.healthy("ready", &["ready".into()]));
    let m = s.mgr.metrics();
    assert_eq!(m.len(), 3);
    assert!(m.iter().all(|c| c.active));
}

#[tokio::test(start_paused = true)]
async fn carried_over_changes_are_aborted() {
    let state = State::in_memory();
    let mut b = ChangeBuilder::new(PERFORM_CHECK, "Perform exec check \"old\"");
    b.set_data("check-name", Value::String("old".into()));
    b.add_task(PERFORM_CHECK, "Perform exec check \"old\"");
    let ids = state.add_change(b);
    let runner = TaskRunner::new(state.clone());
    let factory: CheckerFactory =
        Arc::new(|_: &Check| -> Arc<dyn Checker> { Arc::new(Fake::default()) });
    let mgr = CheckManager::new(state.clone(), runner, factory);
    mgr.plan_changed(&plan(ONE));
    let info = state.wait_change_ready(ids.change).await.unwrap();
    assert_eq!(info.tasks[0].status, Status::Hold.as_str());
    assert_eq!(mgr.check("chk").unwrap().change_id, "2");
}

#[tokio::test(start_paused = true)]
async fn replan_restarts_stopped_enabled_checks_only() {
    let s = setup(TWO);
    let old = s.info("b").change_id;
    assert_eq!(s.mgr.stop_checks(&["b".into()]).unwrap(), vec!["b"]);
    assert_eq!(s.info("b").status, "inactive");
    s.mgr.replan();
    let b = s.info("b");
    assert_eq!(b.status, "up");
    assert_ne!(b.change_id, old);
    assert_eq!((b.successes, b.failures), (0, 0));
    assert_eq!(s.info("a").status, "inactive");
    // A running check is left alone.
    s.mgr.replan();
    assert_eq!(s.info("b").change_id, b.change_id);
}

/// An exec check's `service-context` brings the service's workload too: its environment
/// under the service's (under the check's) and its user and group.
#[test]
fn service_context_includes_the_workload() {
    let p = plan(
        "workloads:\n  w:\n    override: replace\n    environment:\n      A: w\n      B: w\n      C: w\n    user: bob\n    group-id: 7\nservices:\n  s:\n    override: replace\n    command: x\n    workload: w\n    environment:\n      B: s\n      C: s\nchecks:\n  c:\n    override: replace\n    exec:\n      command: true\n      service-context: s\n      environment:\n        C: c\n",
    );
    let merged = merge_service_context(&p, &p.checks["c"]);
    let e = merged.exec.unwrap();
    let env: Vec<String> = e
        .environment
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    assert_eq!(env, ["A=w", "B=s", "C=c"]);
    assert_eq!((e.user.as_str(), e.group_id), ("bob", Some(7)));
}
