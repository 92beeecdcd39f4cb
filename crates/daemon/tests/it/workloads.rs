//! The `workloads` layer section: services run with their workload's environment, and the
//! section cannot be changed through the API once the layers directory is loaded.
#![allow(clippy::unwrap_used)]

use crate::common::{TestDaemon, wait_until, write_layers};
use pebble_daemon::overlord::{Daemon, DaemonOptions};

const BASE: &str = r#"
workloads:
    w:
        override: replace
        environment:
            SHARED: from-workload
            ONLY_W: w-only
services:
    svc:
        override: replace
        command: /bin/sh -c "echo \"$SHARED $ONLY_W\" > $OUT; exec sleep 1000"
        workload: w
        environment:
            SHARED: from-service
"#;

fn message(r: &crate::common::Resp) -> String {
    r.json()["result"]["message"].as_str().unwrap().to_string()
}

async fn plan_yaml(d: &TestDaemon) -> String {
    let r = d.get("/v1/plan?format=yaml").await;
    r.json()["result"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn service_gets_workload_env_and_workloads_are_immutable() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("env.out");
    let base = BASE.replace("$OUT", out.to_str().unwrap());
    write_layers(dir.path(), &[("001-base.yaml", &base)]);
    let d = TestDaemon::start_in(dir, false).await;

    // The service sees the workload's variable, overridden by its own.
    let change = d.service_action("start", &["svc"]).await;
    assert_eq!(change["status"], "Done", "{change}");
    wait_until(|| async { std::fs::read_to_string(&out).is_ok_and(|s| s.ends_with('\n')) }).await;
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "from-service w-only\n"
    );

    let plan_before = plan_yaml(&d).await;
    assert!(
        plan_before.contains(
            "workloads:\n    w:\n        override: replace\n        environment:\n            ONLY_W: w-only\n            SHARED: from-workload\n"
        ),
        "{plan_before}"
    );

    // Adding or combining a layer that changes the workloads is refused, and changes nothing.
    let changes = [
        ("new", "workloads:\n  w2:\n    override: replace\n", false),
        (
            "base",
            "workloads:\n  w:\n    override: merge\n    environment:\n      X: y\n",
            true,
        ),
        (
            "other",
            "workloads:\n  w:\n    override: replace\n    environment:\n      SHARED: from-workload\n      ONLY_W: w-only\n    user-id: 0\n",
            false,
        ),
    ];
    for (label, yaml, combine) in changes {
        let r = d.add_layer(label, yaml, combine).await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(message(&r), "cannot change immutable section \"workloads\"");
        assert_eq!(plan_yaml(&d).await, plan_before);
    }
    let layers = d.daemon.layers();
    assert_eq!(layers.len(), 1, "no layer was added");

    // A layer that leaves the workloads as they are is accepted.
    let r = d
        .add_layer(
            "more",
            "services:\n  other:\n    override: replace\n    command: sleep 1\n    workload: w\n",
            false,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = d
        .add_layer("base", "workloads:\n  w:\n    override: merge\n", true)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = d.add_layer("empty", "workloads: {}\n", false).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(d.daemon.plan().services["other"].workload, "w");

    // Validation messages through the API.
    let r = d
        .add_layer(
            "bad",
            "services:\n  t:\n    override: replace\n    command: x\n    workload: nope\n",
            false,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        message(&r),
        "workload \"nope\": not defined for service \"t\""
    );
    let r = d.add_layer("null", "workloads:\n  w:\n", false).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        message(&r),
        "cannot parse layer YAML: workload \"w\": cannot have a null value"
    );
    d.stop().await;
}

#[tokio::test]
async fn workload_with_unknown_user_fails_the_load() {
    let dir = tempfile::tempdir().unwrap();
    write_layers(
        dir.path(),
        &[(
            "001-base.yaml",
            "workloads:\n  w:\n    override: replace\n    user: no-such-user-here\n",
        )],
    );
    let mut opts = DaemonOptions::new(dir.path());
    opts.persist = false;
    let err = Daemon::new(opts).err().unwrap();
    assert_eq!(
        err.to_string(),
        "cannot load plan: workload \"w\": user: unknown user no-such-user-here"
    );
}
