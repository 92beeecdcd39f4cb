//! Behaviour only the fake has: recorded events, exec history, requested file metadata,
//! simulated checks and notices.

use std::collections::BTreeMap;
use std::time::Duration;

use pebble_client::container::{ContainerError, ExecOptions, MakeDirOptions, PushOptions};
use pebble_testing::{
    FakeContainer, MockResult, ServiceCall, ServiceEvent, Workload, layer_from_rockcraft,
};
use tokio::io::AsyncWriteExt;

const LAYER: &str = r#"
services:
  web:
    override: replace
    command: nginx
    startup: enabled
  db:
    override: replace
    command: postgres
checks:
  up:
    override: replace
    level: alive
    exec: {command: "true"}
  off:
    override: replace
    startup: disabled
    tcp: {port: 80}
"#;

fn fake() -> FakeContainer {
    FakeContainer::new().with_layer("base", LAYER).unwrap()
}

#[tokio::test]
async fn service_actions_are_recorded_in_order() {
    let c = fake();
    c.autostart().await.unwrap();
    c.restart(&["web"]).await.unwrap();
    c.send_signal("SIGHUP", &["web"]).await.unwrap();
    c.stop(&["web"]).await.unwrap();
    assert_eq!(
        c.service_events(),
        vec![
            ServiceEvent::Started("web".into()),
            ServiceEvent::Stopped("web".into()),
            ServiceEvent::Started("web".into()),
            ServiceEvent::Signalled {
                service: "web".into(),
                signal: "SIGHUP".into()
            },
            ServiceEvent::Stopped("web".into()),
        ]
    );
    assert_eq!(
        c.service_calls(),
        vec![
            ServiceCall {
                action: "autostart".into(),
                services: vec![]
            },
            ServiceCall {
                action: "restart".into(),
                services: vec!["web".into()]
            },
            ServiceCall {
                action: "stop".into(),
                services: vec!["web".into()]
            },
        ]
    );
}

#[tokio::test]
async fn exec_history_records_every_option_and_streamed_stdin() {
    let c = fake();
    c.exec_mock(&[], MockResult::ok());
    c.make_dir("/work", MakeDirOptions::new()).await.unwrap();
    let opts = ExecOptions::new()
        .env("FOO", "bar")
        .working_dir("/work")
        .timeout(Duration::from_secs(7))
        .user_id(1000)
        .user("bob")
        .group_id(100)
        .group("staff")
        .service_context("db")
        .combine_stderr(true);
    let mut p = c.exec(&["anything", "at", "all"], opts).await.unwrap();
    let stdin = p.stdin.as_mut().unwrap();
    stdin.write_all(b"part 1, ").await.unwrap();
    stdin.write_all(b"part 2").await.unwrap();
    p.wait().await.unwrap();
    let h = c.exec_history();
    assert_eq!(h.len(), 1);
    let r = &h[0];
    assert_eq!(r.command, ["anything", "at", "all"]);
    assert_eq!(r.environment["FOO"], "bar");
    assert_eq!(r.working_dir.as_deref(), Some("/work"));
    assert_eq!(r.timeout, Some(Duration::from_secs(7)));
    assert_eq!((r.user_id, r.user.as_deref()), (Some(1000), Some("bob")));
    assert_eq!((r.group_id, r.group.as_deref()), (Some(100), Some("staff")));
    assert_eq!(r.service_context.as_deref(), Some("db"));
    assert!(r.combine_stderr);
    assert_eq!(r.stdin_text(), "part 1, part 2");
}

#[tokio::test]
async fn exec_mocks_longest_prefix_and_replacement() {
    let c = fake();
    c.exec_mock(&[], MockResult::ok().stdout("any"));
    c.exec_mock(&["git"], MockResult::ok().stdout("git"));
    c.exec_mock(&["git", "log"], MockResult::ok().stdout("log"));
    let out = |cmd: &'static [&'static str]| {
        let c = c.clone();
        async move {
            c.exec(cmd, ExecOptions::new())
                .await
                .unwrap()
                .wait_output()
                .await
                .unwrap()
                .0
        }
    };
    assert_eq!(out(&["git", "log", "-1"]).await, "log");
    assert_eq!(out(&["git", "status"]).await, "git");
    assert_eq!(out(&["ls"]).await, "any");
    c.exec_mock(&["git"], MockResult::exit(2));
    let e = c
        .exec(&["git", "status"], ExecOptions::new())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap_err();
    assert_eq!(e.as_exec().unwrap().exit_code, 2);
}

#[tokio::test]
async fn exec_signal_before_wait_kills_the_mock() {
    let c = fake();
    c.exec_mock(&["sleep"], MockResult::ok());
    let mut p = c.exec(&["sleep", "10"], ExecOptions::new()).await.unwrap();
    p.send_signal("SIGTERM").await.unwrap();
    let e = p.wait().await.unwrap_err();
    assert_eq!(e.as_exec().unwrap().exit_code, 143);
    assert_eq!(c.exec_history()[0].signals, ["SIGTERM"]);
}

#[tokio::test]
async fn files_remember_requested_ownership() {
    let c = fake();
    c.push(
        "/etc/app/conf",
        "x",
        PushOptions::new()
            .make_dirs(true)
            .permissions(0o640)
            .user("app")
            .user_id(1234)
            .group("app")
            .group_id(4321),
    )
    .await
    .unwrap();
    let meta = c.file_meta("/etc/app/conf").unwrap();
    assert_eq!(meta.permissions, 0o640);
    assert_eq!(meta.user.as_deref(), Some("app"));
    let info = c
        .list_files("/etc/app/conf", Default::default())
        .await
        .unwrap();
    assert_eq!(info[0].user_id, Some(1234));
    assert_eq!(info[0].group, "app");
    assert_eq!(info[0].permissions, "640");
    let host = c.host_path("/etc/app/conf").unwrap();
    assert_eq!(std::fs::read_to_string(host).unwrap(), "x");
    // Paths cannot escape the root.
    assert!(c.host_path("/../../etc").unwrap().starts_with(c.root()));
}

#[tokio::test]
async fn checks_are_simulated() {
    let c = fake();
    let checks = c.get_checks(None, &[]).await.unwrap();
    let st: Vec<_> = checks
        .iter()
        .map(|c| (c.name.as_str(), c.status.as_str()))
        .collect();
    assert_eq!(st, [("off", "inactive"), ("up", "up")]);
    assert!(!checks[1].change_id.is_empty());
    assert_eq!(checks[1].threshold, 3);
    assert_eq!(c.get_checks(Some("alive"), &[]).await.unwrap().len(), 1);
    assert_eq!(c.start_checks(&["off", "up"]).await.unwrap(), ["off"]);
    assert_eq!(c.stop_checks(&["up"]).await.unwrap(), ["up"]);
    assert_eq!(c.get_check("up").await.unwrap().status, "inactive");
    let e = c.start_checks(&["nosuch"]).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot start checks: cannot find checks in plan: nosuch"
    );
    c.set_check_status("off", "down", 3);
    assert_eq!(c.get_check("off").await.unwrap().failures, 3);
    assert!(matches!(
        c.get_check("nosuch").await,
        Err(ContainerError::Model(_))
    ));
}

#[tokio::test]
async fn notices_are_simulated() {
    let c = fake();
    let id = c
        .notify("example.com/a", BTreeMap::from([("k".into(), "v".into())]))
        .await
        .unwrap();
    let id2 = c.notify("example.com/b", BTreeMap::new()).await.unwrap();
    assert_ne!(id, id2);
    assert_eq!(
        c.notify("example.com/a", BTreeMap::new()).await.unwrap(),
        id
    );
    let all = c.get_notices().await.unwrap();
    assert_eq!(
        all.iter().map(|n| n.key.as_str()).collect::<Vec<_>>(),
        ["example.com/b", "example.com/a"]
    );
    let n = c.get_notice(&id).await.unwrap();
    assert_eq!((n.occurrences, n.type_.as_str()), (2, "custom"));
    assert_eq!(n.expire_after, "168h0m0s");
    assert!(matches!(
        c.get_notice("999").await,
        Err(ContainerError::Model(_))
    ));
    let e = c.notify("nodomain", BTreeMap::new()).await.unwrap_err();
    assert_eq!(e.api_code(), Some(400));
}

#[tokio::test]
async fn rockcraft_layers() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("rockcraft.yaml");
    std::fs::write(
        &p,
        "name: x\nsummary: the rock\nparts: {}\nservices:\n  s:\n    override: replace\n    command: /s\nchecks:\n  c:\n    override: replace\n    http: {url: 'http://localhost/'}\n",
    )
    .unwrap();
    let l = layer_from_rockcraft(&p).unwrap();
    assert_eq!(l.summary, "the rock");
    assert!(
        l.description
            .starts_with("(no description) (built from the rockcraft.yaml at")
    );
    assert!(l.services.contains_key("s") && l.checks.contains_key("c"));
    assert!(layer_from_rockcraft(dir.path()).is_err());
    std::fs::write(&p, "name: x\n").unwrap();
    assert!(layer_from_rockcraft(&p).is_err());
}
