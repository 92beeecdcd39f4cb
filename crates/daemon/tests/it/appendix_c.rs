//! The deliberate choices on Pebble's gotchas (pebble-semantics Appendix C, listed in
//! docs/compatibility.md), checked on an in-process daemon with real processes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{TestDaemon, wait_until, write_layers};
use serde_json::Value;
use std::path::Path;

/// Write an executable shell script into `dir` and return its path.
fn script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}

/// A service script that prints its two arguments and its pid, then sleeps: every start of a
/// service leaves one `<name> <version> pid <pid>` line in its log.
fn announcing_script(dir: &Path) -> String {
    script(dir, "svc.sh", "echo \"$1 $2 pid $$\"\nexec sleep 1000")
}

/// `current` of one service.
async fn current(d: &TestDaemon, name: &str) -> String {
    let v = d.get(&format!("/v1/services?names={name}")).await.json();
    v["result"][0]["current"].as_str().unwrap().to_string()
}

/// The log messages of one service, oldest first.
async fn log_messages(d: &TestDaemon, name: &str) -> Vec<String> {
    let r = d.get(&format!("/v1/logs?services={name}&n=-1")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.text()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["service"], name, "{l}");
            v["message"].as_str().unwrap().to_string()
        })
        .collect()
}

/// Wait until the log of `name` has `n` lines; return them.
async fn wait_log_lines(d: &TestDaemon, name: &str, n: usize) -> Vec<String> {
    wait_until(|| async { log_messages(d, name).await.len() >= n }).await;
    log_messages(d, name).await
}

/// The pid printed by [`announcing_script`] in a log line.
fn pid_of(line: &str) -> i32 {
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// `(kind, summary)` of every task of a change, sorted.
fn task_summaries(change: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = change["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["kind"].as_str().unwrap().to_string(),
                t["summary"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The log of the task with `summary`.
fn task_log(change: &Value, summary: &str) -> Vec<String> {
    let task = change["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["summary"] == summary)
        .unwrap_or_else(|| panic!("no task {summary:?} in {change}"));
    task["log"]
        .as_array()
        .map(|l| l.iter().map(|e| e.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

fn pair(kind: &str, summary: &str) -> (String, String) {
    (kind.to_string(), summary.to_string())
}

async fn add_layer_ok(d: &TestDaemon, label: &str, yaml: &str) {
    let r = d.add_layer(label, yaml, false).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Item 2: replan stops the services that require a changed one, and starts a changed service
/// even if it is `startup: disabled`, provided it had been started before.
#[tokio::test]
async fn item2_replan_stops_dependents_and_starts_changed_disabled_services() {
    let d = TestDaemon::start().await;
    let svc = announcing_script(d.dir.path());
    add_layer_ok(
        &d,
        "base",
        &format!(
            "services:
  db:
    override: replace
    command: {svc} db v1
  app:
    override: replace
    command: {svc} app v1
    requires: [db]
    after: [db]
  old:
    override: replace
    command: {svc} old v1
  never:
    override: replace
    command: {svc} never v1
"
        ),
    )
    .await;
    let ch = d.service_action("start", &["app"]).await;
    assert_eq!(ch["status"], "Done", "{ch}");
    let ch = d.service_action("start", &["old"]).await;
    assert_eq!(ch["status"], "Done", "{ch}");
    let ch = d.service_action("stop", &["old"]).await;
    assert_eq!(ch["status"], "Done", "{ch}");
    assert_eq!(current(&d, "app").await, "active");
    assert_eq!(current(&d, "old").await, "inactive");

    // Change db (required by app), old (stopped) and never (never started); app unchanged.
    add_layer_ok(
        &d,
        "v2",
        &format!(
            "services:
  db:
    override: merge
    command: {svc} db v2
  old:
    override: merge
    command: {svc} old v2
  never:
    override: merge
    command: {svc} never v2
"
        ),
    )
    .await;
    let ch = d.service_action("replan", &[]).await;
    assert_eq!(ch["status"], "Done", "{ch}");
    assert_eq!(
        task_summaries(&ch),
        [
            pair("start", "Start service \"db\""),
            pair("start", "Start service \"old\""),
            pair("stop", "Stop service \"app\""),
            pair("stop", "Stop service \"db\""),
            pair("stop", "Stop service \"old\""),
        ],
        "{ch}"
    );
    let old_stop = task_log(&ch, "Stop service \"old\"");
    assert!(
        old_stop.len() == 1 && old_stop[0].ends_with("INFO Service \"old\" already stopped."),
        "{old_stop:?}"
    );
    // app (unchanged, requires db) was stopped and, being disabled, stays stopped.
    assert_eq!(current(&d, "app").await, "inactive");
    assert_eq!(current(&d, "db").await, "active");
    assert_eq!(current(&d, "old").await, "active");
    assert_eq!(current(&d, "never").await, "inactive");
    let db = wait_log_lines(&d, "db", 2).await;
    assert!(
        db[0].starts_with("db v1 pid ") && db[1].starts_with("db v2 pid "),
        "{db:?}"
    );
    let old = wait_log_lines(&d, "old", 2).await;
    assert!(old[1].starts_with("old v2 pid "), "{old:?}");
    assert!(log_messages(&d, "never").await.is_empty());
    d.stop().await;
}

/// Item 3: restart stops only the named service (not the services that require it) but
/// starts the named service's `requires` closure.
#[tokio::test]
async fn item3_restart_stops_only_named_but_starts_requires_closure() {
    let d = TestDaemon::start().await;
    let svc = announcing_script(d.dir.path());
    add_layer_ok(
        &d,
        "base",
        &format!(
            "services:
  db:
    override: replace
    command: {svc} db v1
  app:
    override: replace
    command: {svc} app v1
    requires: [db]
    after: [db]
  web:
    override: replace
    command: {svc} web v1
    requires: [app]
    after: [app]
"
        ),
    )
    .await;
    let ch = d.service_action("start", &["web"]).await;
    assert_eq!(
        task_summaries(&ch),
        [
            pair("start", "Start service \"app\""),
            pair("start", "Start service \"db\""),
            pair("start", "Start service \"web\""),
        ]
    );
    let app_before = pid_of(&wait_log_lines(&d, "app", 1).await[0]);

    let ch = d.service_action("restart", &["app"]).await;
    assert_eq!(ch["status"], "Done", "{ch}");
    // "N more" counts the services of the start lanes.
    assert_eq!(ch["summary"], "Restart service \"app\" and 1 more");
    assert_eq!(
        task_summaries(&ch),
        [
            pair("start", "Start service \"app\""),
            pair("start", "Start service \"db\""),
            pair("stop", "Stop service \"app\""),
        ],
        "web (requires app) is not stopped; db (required by app) gets a start task"
    );
    let db_log = task_log(&ch, "Start service \"db\"");
    assert_eq!(db_log.len(), 1, "{db_log:?}");
    assert!(
        db_log[0].ends_with("INFO Service \"db\" already started."),
        "{db_log:?}"
    );
    let app = wait_log_lines(&d, "app", 2).await;
    assert_ne!(pid_of(&app[1]), app_before, "app was restarted: {app:?}");
    // web kept running its first process, db too.
    for name in ["web", "db", "app"] {
        assert_eq!(current(&d, name).await, "active", "{name}");
    }
    assert_eq!(log_messages(&d, "web").await.len(), 1);
    assert_eq!(log_messages(&d, "db").await.len(), 1);
    d.stop().await;
}

/// Item 17 (deliberate difference): `start`/`autostart` of a running service does not adopt the
/// new plan config, so the next replan restarts it with the new command.
#[tokio::test]
async fn item17_replan_restarts_running_service_after_noop_start() {
    let d = TestDaemon::start().await;
    let svc = announcing_script(d.dir.path());
    add_layer_ok(
        &d,
        "base",
        &format!(
            "services:
  s:
    override: replace
    command: {svc} s v1
    startup: enabled
"
        ),
    )
    .await;
    let ch = d.service_action("start", &["s"]).await;
    assert_eq!(ch["status"], "Done", "{ch}");
    let first = wait_log_lines(&d, "s", 1).await;
    assert!(first[0].starts_with("s v1 pid "), "{first:?}");

    add_layer_ok(
        &d,
        "v2",
        &format!("services:\n  s:\n    override: merge\n    command: {svc} s v2\n"),
    )
    .await;
    // Both are no-ops that leave Pebble's task log line.
    for action in ["start", "autostart"] {
        let names: &[&str] = if action == "start" { &["s"] } else { &[] };
        let ch = d.service_action(action, names).await;
        assert_eq!(ch["status"], "Done", "{ch}");
        let log = task_log(&ch, "Start service \"s\"");
        assert!(
            log.len() == 1 && log[0].ends_with("INFO Service \"s\" already started."),
            "{action}: {log:?}"
        );
    }
    assert_eq!(log_messages(&d, "s").await.len(), 1, "still the v1 process");

    let ch = d.service_action("replan", &[]).await;
    assert_eq!(ch["status"], "Done", "{ch}");
    assert_eq!(
        task_summaries(&ch),
        [
            pair("start", "Start service \"s\""),
            pair("stop", "Stop service \"s\""),
        ]
    );
    let lines = wait_log_lines(&d, "s", 2).await;
    assert!(lines[1].starts_with("s v2 pid "), "{lines:?}");
    assert_ne!(pid_of(&lines[1]), pid_of(&lines[0]));
    assert_eq!(current(&d, "s").await, "active");
    d.stop().await;
}

/// Item 12: a service's stdout and stderr end in the same log, in the order written.
#[tokio::test]
async fn item12_stdout_and_stderr_share_one_log() {
    let d = TestDaemon::start().await;
    let mix = script(
        d.dir.path(),
        "mix.sh",
        "echo to-stdout\necho to-stderr >&2\necho again-stdout\nexec sleep 1000",
    );
    add_layer_ok(
        &d,
        "base",
        &format!("services:\n  mix:\n    override: replace\n    command: {mix}\n"),
    )
    .await;
    d.service_action("start", &["mix"]).await;
    assert_eq!(
        wait_log_lines(&d, "mix", 3).await,
        ["to-stdout", "to-stderr", "again-stdout"]
    );
    d.stop().await;
}

/// Item 8: `POST /v1/signals` signals the main process only; stop signals the whole group.
#[tokio::test]
async fn item8_signal_reaches_main_pid_only_stop_reaches_group() {
    let d = TestDaemon::start().await;
    let dir = d.dir.path();
    let rec = dir.join("signals.txt");
    let rec = rec.display();
    let child = script(
        dir,
        "child.sh",
        &format!(
            "trap 'echo child-HUP >> {rec}' HUP\n\
             trap 'echo child-TERM >> {rec}; exit 0' TERM\n\
             echo child-ready >> {rec}\n\
             while :; do sleep 0.05; done"
        ),
    );
    let parent = script(
        dir,
        "parent.sh",
        &format!(
            "trap 'echo main-HUP >> {rec}' HUP\n\
             trap 'echo main-TERM >> {rec}; exit 0' TERM\n\
             {child} &\n\
             while :; do sleep 0.05; done"
        ),
    );
    add_layer_ok(
        &d,
        "base",
        &format!("services:\n  tree:\n    override: replace\n    command: {parent}\n"),
    )
    .await;
    let ch = d.service_action("start", &["tree"]).await;
    assert_eq!(ch["status"], "Done", "{ch}");
    let read = || std::fs::read_to_string(dir.join("signals.txt")).unwrap_or_default();
    wait_until(|| async { read().contains("child-ready") }).await;

    let r = d
        .post("/v1/signals", r#"{"signal":"SIGHUP","services":["tree"]}"#)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    wait_until(|| async { read().contains("main-HUP") }).await;
    assert_eq!(current(&d, "tree").await, "active");

    let ch = d.service_action("stop", &["tree"]).await;
    assert_eq!(ch["status"], "Done", "{ch}");
    wait_until(|| async { read().contains("child-TERM") && read().contains("main-TERM") }).await;
    // A pending HUP would have been handled before the TERM (dash runs traps in signal order).
    let text = read();
    assert!(
        !text.contains("child-HUP"),
        "the child got the signal:\n{text}"
    );
    d.stop().await;
}

/// Item 11: an unknown `user:` is accepted in a layer and fails when the service starts.
#[tokio::test]
async fn item11_unknown_user_fails_at_start_not_at_layer_add() {
    let d = TestDaemon::start().await;
    add_layer_ok(
        &d,
        "base",
        "services:\n  u:\n    override: replace\n    command: sleep 1000\n    user: no-such-user-pebble-rs\n",
    )
    .await;
    let plan = d.get("/v1/plan?format=yaml").await;
    assert!(
        plan.text().contains("no-such-user-pebble-rs"),
        "{}",
        plan.text()
    );
    let ch = d.service_action("start", &["u"]).await;
    assert_eq!(ch["status"], "Error", "{ch}");
    assert_eq!(
        ch["err"],
        "cannot perform the following tasks:\n- Start service \"u\" (user: unknown user no-such-user-pebble-rs)"
    );
    assert_eq!(current(&d, "u").await, "inactive");
    d.stop().await;
}

/// Item 4: layers added over the API and the services' state are memory-only: after a daemon
/// restart on the same directory only the layer files remain and services are inactive, while
/// changes (in the state file) survive.
#[tokio::test]
async fn item4_api_layers_and_service_state_do_not_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    write_layers(
        dir.path(),
        &[(
            "001-base.yaml",
            "services:\n  base:\n    override: replace\n    command: sleep 1000\n    startup: enabled\n",
        )],
    );
    let d = TestDaemon::start_in(dir, true).await;
    add_layer_ok(
        &d,
        "extra",
        "services:\n  extra:\n    override: replace\n    command: sleep 1000\n",
    )
    .await;
    let ch = d.service_action("start", &["base", "extra"]).await;
    assert_eq!(ch["status"], "Done", "{ch}");
    assert_eq!(current(&d, "base").await, "active");
    let (code, dir) = d.stop().await;
    assert_eq!(code, 0);

    let d = TestDaemon::start_in(dir, true).await;
    let plan = d.get("/v1/plan?format=yaml").await.text();
    assert!(plan.contains("base:") && !plan.contains("extra"), "{plan}");
    let v = d.get("/v1/services").await.json();
    assert_eq!(
        v["result"],
        serde_json::json!([{"name": "base", "startup": "enabled", "current": "inactive"}]),
        "no current-since: the service has never been started by this daemon"
    );
    let all = d.get("/v1/changes?select=all").await.json();
    assert!(!all["result"].as_array().unwrap().is_empty(), "{all}");
    d.stop().await;
}
