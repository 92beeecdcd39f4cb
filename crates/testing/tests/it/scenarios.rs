//! The shared scenario suite: every scenario runs against the fake and the real daemon and
//! asserts the same outcomes.

use std::time::Duration;

use pebble_client::container::{
    ContainerError, ExecOptions, ListFilesOptions, MakeDirOptions, PushOptions, ServiceStatus,
};
use pebble_testing::{MockResult, Workload};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::env::Env;

const BASE: &str = r#"
summary: base layer
services:
  alpha:
    override: replace
    command: sleep 1000
    startup: enabled
    environment:
      A: "1"
  beta:
    override: replace
    command: sleep 1001
    requires: [alpha]
"#;

fn api(e: &ContainerError) -> (u16, String) {
    match e {
        ContainerError::Api { code, message, .. } => (*code, message.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn path_kind(e: &ContainerError) -> String {
    match e {
        ContainerError::Path { kind, .. } => kind.clone(),
        other => panic!("expected a path error, got {other:?}"),
    }
}

async fn statuses(w: &impl Workload) -> Vec<(String, String)> {
    w.get_services(&[])
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.name, s.current.as_str().to_string()))
        .collect()
}

fn st(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

async fn layers_and_combine(env: &mut impl Env) {
    let w = env.w();
    w.add_layer("base", BASE, false).await.unwrap();
    let plan = w.get_plan().await.unwrap();
    assert_eq!(plan.services.keys().collect::<Vec<_>>(), ["alpha", "beta"]);
    assert_eq!(plan.services["alpha"].command, "sleep 1000");

    // Same label without combine.
    let e = w.add_layer("base", BASE, false).await.unwrap_err();
    assert_eq!(api(&e), (400, r#"layer "base" already exists"#.to_string()));

    // Combine with merge: environment maps are merged, lists appended.
    let overlay = json!({"services": {"alpha": {"override": "merge", "environment": {"B": "2"}}}});
    w.add_layer("base", overlay, true).await.unwrap();
    let plan = w.get_plan().await.unwrap();
    let env_a: Vec<_> = plan.services["alpha"].environment.iter().collect();
    assert_eq!(env_a.len(), 2);
    assert_eq!(plan.services["alpha"].command, "sleep 1000");

    // Combine with replace: the whole entry is replaced.
    let replace = "services:\n  alpha:\n    override: replace\n    command: sleep 1002\n";
    w.add_layer("base", replace, true).await.unwrap();
    let plan = w.get_plan().await.unwrap();
    assert!(plan.services["alpha"].environment.is_empty());
    assert_eq!(plan.services["alpha"].startup, "");

    // A new layer on top merging into alpha.
    let top = pebble_plan::parse_layer(
        0,
        "top",
        b"services:\n  alpha:\n    override: merge\n    startup: enabled\n",
    )
    .unwrap();
    w.add_layer("top", &top, false).await.unwrap();
    let plan = w.get_plan().await.unwrap();
    assert_eq!(plan.services["alpha"].startup, "enabled");
    assert_eq!(plan.services["alpha"].command, "sleep 1002");

    // Invalid layers are rejected with a 400.
    let e = w
        .add_layer("bad", "services:\n  x:\n    command: foo\n", false)
        .await
        .unwrap_err();
    assert_eq!(api(&e).0, 400);
    let e = w.add_layer("bad", "services: [", false).await.unwrap_err();
    assert!(api(&e).1.starts_with("cannot parse layer YAML"), "{e}");
}

async fn service_actions(env: &mut impl Env) {
    let w = env.w();
    w.add_layer("base", BASE, false).await.unwrap();
    assert_eq!(
        statuses(w).await,
        st(&[("alpha", "inactive"), ("beta", "inactive")])
    );

    w.autostart().await.unwrap();
    assert_eq!(
        statuses(w).await,
        st(&[("alpha", "active"), ("beta", "inactive")])
    );

    // Start is idempotent; beta requires alpha.
    w.start(&["beta"]).await.unwrap();
    w.start(&["beta"]).await.unwrap();
    assert!(w.get_service("beta").await.unwrap().is_running());

    // Stopping alpha stops beta, which requires it.
    w.stop(&["alpha"]).await.unwrap();
    assert_eq!(
        statuses(w).await,
        st(&[("alpha", "inactive"), ("beta", "inactive")])
    );
    w.stop(&["alpha"]).await.unwrap();

    // Restart of a stopped service starts it.
    w.restart(&["alpha"]).await.unwrap();
    assert_eq!(
        w.get_service("alpha").await.unwrap().current,
        ServiceStatus::Active
    );

    // Errors.
    let e = w.start(&["nosuch"]).await.unwrap_err();
    assert_eq!(
        api(&e),
        (
            400,
            r#"cannot start services: service "nosuch" does not exist"#.to_string()
        )
    );
    let e = w.start(&[]).await.unwrap_err();
    assert_eq!(
        api(&e),
        (400, "must specify services for start action".to_string())
    );
    let e = w.get_service("nosuch").await.unwrap_err();
    assert!(matches!(e, ContainerError::Model(_)), "{e:?}");
    assert_eq!(w.get_services(&["alpha", "nosuch"]).await.unwrap().len(), 1);

    // Signals.
    w.send_signal("SIGWINCH", &["alpha"]).await.unwrap();
    let e = w.send_signal("SIGFOO", &["alpha"]).await.unwrap_err();
    assert_eq!(
        api(&e),
        (
            500,
            r#"cannot send signal to "alpha": invalid signal name "SIGFOO""#.to_string()
        )
    );
    let e = w.send_signal("SIGHUP", &["beta"]).await.unwrap_err();
    assert_eq!(
        api(&e),
        (
            500,
            r#"cannot send signal to "beta": service is not running"#.to_string()
        )
    );
    let e = w.send_signal("SIGHUP", &["nosuch"]).await.unwrap_err();
    assert_eq!(api(&e).0, 500);

    w.stop(&["alpha"]).await.unwrap();
}

async fn service_start_failures(env: &mut impl Env) {
    env.exits_quickly("quickfail", 1);
    env.exits_quickly("ignorefail", 2);
    let w = env.w();
    w.add_layer(
        "fail",
        r#"
services:
  quickfail:
    override: replace
    command: /bin/sh -c "exit 1"
    backoff-delay: 30s
  ignorefail:
    override: replace
    command: /bin/sh -c "exit 2"
    on-failure: ignore
"#,
        false,
    )
    .await
    .unwrap();
    match w.start(&["quickfail"]).await.unwrap_err() {
        ContainerError::Change { err, .. } => assert_eq!(
            err,
            "cannot perform the following tasks:\n- Start service \"quickfail\" \
             (service start attempt: exited quickly with code 1, will restart)"
        ),
        other => panic!("expected a change error, got {other:?}"),
    }
    match w.start(&["ignorefail"]).await.unwrap_err() {
        ContainerError::Change { err, .. } => assert!(err.ends_with("will ignore)"), "{err}"),
        other => panic!("expected a change error, got {other:?}"),
    }
    assert_eq!(
        statuses(w).await,
        st(&[("ignorefail", "error"), ("quickfail", "backoff")])
    );
    w.stop(&["quickfail"]).await.unwrap();
    assert_eq!(
        w.get_service("quickfail").await.unwrap().current,
        ServiceStatus::Inactive
    );
}

async fn autostart_without_defaults(env: &mut impl Env) {
    let w = env.w();
    w.add_layer(
        "l",
        "services:\n  x: {override: replace, command: sleep 1000}\n",
        false,
    )
    .await
    .unwrap();
    let e = w.autostart().await.unwrap_err();
    assert_eq!(e.kind(), Some("no-default-services"));
    assert_eq!(api(&e), (400, "no default services".to_string()));
}

async fn replan_applies_changes(env: &mut impl Env) {
    let w = env.w();
    w.add_layer("base", BASE, false).await.unwrap();
    w.replan().await.unwrap();
    assert_eq!(
        statuses(w).await,
        st(&[("alpha", "active"), ("beta", "inactive")])
    );
    // A changed config of a disabled service that never ran: replan leaves it alone.
    let overlay = json!({"services": {"beta": {"override": "merge", "environment": {"X": "1"}}}});
    w.add_layer("base", overlay, true).await.unwrap();
    w.replan().await.unwrap();
    assert_eq!(
        statuses(w).await,
        st(&[("alpha", "active"), ("beta", "inactive")])
    );
    // Once it has run, a changed config makes replan start it again, even when stopped.
    w.start(&["beta"]).await.unwrap();
    w.stop(&["beta"]).await.unwrap();
    let overlay = json!({"services": {"beta": {"override": "merge", "environment": {"X": "2"}}}});
    w.add_layer("base", overlay, true).await.unwrap();
    w.replan().await.unwrap();
    assert_eq!(
        statuses(w).await,
        st(&[("alpha", "active"), ("beta", "active")])
    );
    // Nothing changed: replan is a no-op.
    w.replan().await.unwrap();
    assert_eq!(
        statuses(w).await,
        st(&[("alpha", "active"), ("beta", "active")])
    );
    w.stop(&["alpha"]).await.unwrap();
}

async fn exec_results_and_errors(env: &mut impl Env) {
    env.mock(&["echo", "hi"], MockResult::ok().stdout("hi\n"));
    env.mock(
        &["/bin/sh", "-c"],
        MockResult::exit(3).stdout("out\n").stderr("err\n"),
    );
    env.mock(&["sleep"], MockResult::timeout());
    let w = env.w();

    let (out, err) = w
        .exec(&["echo", "hi"], ExecOptions::new())
        .await
        .unwrap()
        .wait_output()
        .await
        .unwrap();
    assert_eq!((out.as_str(), err.as_str()), ("hi\n", ""));

    let p = w
        .exec(
            &["/bin/sh", "-c", "echo out; echo err >&2; exit 3"],
            ExecOptions::new(),
        )
        .await
        .unwrap();
    match p.wait_output().await.unwrap_err() {
        ContainerError::Exec(e) => {
            assert_eq!(e.exit_code, 3);
            assert_eq!(e.stdout_text(), "out\n");
            assert_eq!(e.stderr_text(), "err\n");
        }
        other => panic!("expected an exec error, got {other:?}"),
    }
    let p = w
        .exec(
            &["/bin/sh", "-c", "echo out; echo err >&2; exit 3"],
            ExecOptions::new(),
        )
        .await
        .unwrap();
    let e = p.wait().await.unwrap_err();
    assert_eq!(e.as_exec().map(|e| e.exit_code), Some(3));

    let e = w
        .exec(&["nosuchbinary"], ExecOptions::new())
        .await
        .unwrap_err();
    assert_eq!(
        api(&e),
        (400, r#"cannot find executable "nosuchbinary""#.to_string())
    );
    let e = w
        .exec(
            &["echo", "hi"],
            ExecOptions::new().service_context("nosuch"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        api(&e),
        (400, r#"context service "nosuch" not found"#.to_string())
    );

    let p = w
        .exec(
            &["sleep", "5"],
            ExecOptions::new().timeout(Duration::from_millis(100)),
        )
        .await
        .unwrap();
    match p.wait().await.unwrap_err() {
        ContainerError::Change { err, .. } => assert!(err.contains("timed out"), "{err}"),
        other => panic!("expected a change error, got {other:?}"),
    }
}

async fn exec_stdin(env: &mut impl Env) {
    env.mock_fn(&["cat"], |c| MockResult::ok().stdout(c.stdin.clone()));
    let w = env.w();
    let p = w
        .exec(&["cat"], ExecOptions::new().stdin("some input\n"))
        .await
        .unwrap();
    assert_eq!(p.wait_output().await.unwrap().0, "some input\n");
    let p = w
        .exec(&["cat"], ExecOptions::new().stdin(vec![0u8, 159, 146, 150]))
        .await
        .unwrap();
    assert_eq!(p.wait_output_bytes().await.unwrap().0, [0u8, 159, 146, 150]);
    // Combined stderr goes into stdout.
    env.mock(&["/bin/sh"], MockResult::ok().stdout("o\n").stderr("e\n"));
    let w = env.w();
    let p = w
        .exec(
            &["/bin/sh", "-c", "echo o; echo e >&2"],
            ExecOptions::new().combine_stderr(true),
        )
        .await
        .unwrap();
    assert!(p.stderr.is_none());
    let (out, err) = p.wait_output().await.unwrap();
    assert_eq!((out.as_str(), err.as_str()), ("o\ne\n", ""));
}

async fn exec_signal_and_streaming(env: &mut impl Env) {
    env.mock(&["sleep"], MockResult::ok());
    env.mock_fn(&["cat"], |c| MockResult::ok().stdout(c.stdin.clone()));
    let w = env.w();
    // A process killed by SIGTERM exits with 128 + 15.
    let mut p = w.exec(&["sleep", "10"], ExecOptions::new()).await.unwrap();
    p.send_signal("SIGTERM").await.unwrap();
    let e = p.wait().await.unwrap_err();
    assert_eq!(e.as_exec().map(|e| e.exit_code), Some(143), "{e:?}");

    // Streaming stdin from a task while reading stdout.
    let mut p = w.exec(&["cat"], ExecOptions::new()).await.unwrap();
    let mut stdin = p.stdin.take().unwrap();
    let writer = tokio::spawn(async move {
        for line in ["one\n", "2\n", "THREE\n"] {
            stdin.write_all(line.as_bytes()).await.unwrap();
        }
        stdin.shutdown().await.unwrap();
    });
    let mut lines = BufReader::new(p.stdout.take().unwrap()).lines();
    let mut got = Vec::new();
    while let Some(l) = lines.next_line().await.unwrap() {
        got.push(l);
    }
    writer.await.unwrap();
    p.wait().await.unwrap();
    assert_eq!(got, ["one", "2", "THREE"]);
}

async fn exec_environment_and_context(env: &mut impl Env) {
    env.mock_fn(&["/bin/sh"], |c| {
        // The service context supplies CTX=svc, as the plan service below does.
        let ctx = if c.service_context.is_some() {
            "svc"
        } else {
            ""
        };
        let var = c.environment.get("FOO").cloned().unwrap_or_default();
        let wd = c.working_dir.clone().unwrap_or_default();
        MockResult::ok().stdout(format!("{var}|{ctx}|{wd}\n"))
    });
    let base = env.base();
    let w = env.w();
    w.make_dir(&base, MakeDirOptions::new().make_parents(true))
        .await
        .unwrap();
    w.add_layer(
        "ctx",
        "services:\n  svc:\n    override: replace\n    command: sleep 1000\n    environment: {CTX: svc}\n",
        false,
    )
    .await
    .unwrap();
    let (out, _) = w
        .exec(
            &["/bin/sh", "-c", "echo \"$FOO|$CTX|$PWD\""],
            ExecOptions::new()
                .env("FOO", "bar")
                .working_dir(&base)
                .service_context("svc"),
        )
        .await
        .unwrap()
        .wait_output()
        .await
        .unwrap();
    assert_eq!(out, format!("bar|svc|{base}\n"));
    let e = w
        .exec(
            &["/bin/sh", "-c", "true"],
            ExecOptions::new().working_dir(&format!("{base}/nope")),
        )
        .await
        .unwrap_err();
    assert_eq!(e.api_code(), Some(500), "{e:?}");
}

async fn files_roundtrip(env: &mut impl Env) {
    let base = env.base();
    let w = env.w();
    w.make_dir(&base, MakeDirOptions::new().make_parents(true))
        .await
        .unwrap();
    let f = format!("{base}/conf/app.txt");
    w.push(
        &f,
        "hello\n",
        PushOptions::new().make_dirs(true).permissions(0o600),
    )
    .await
    .unwrap();
    assert_eq!(w.pull_text(&f).await.unwrap(), "hello\n");
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    w.push(&format!("{base}/big.bin"), big.clone(), PushOptions::new())
        .await
        .unwrap();
    assert_eq!(w.pull_bytes(&format!("{base}/big.bin")).await.unwrap(), big);

    let listed = w
        .list_files(&format!("{base}/conf"), ListFilesOptions::default())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "app.txt");
    assert_eq!(listed[0].type_, "file");
    assert_eq!(listed[0].permissions, "600");
    assert_eq!(listed[0].size, Some(6));
    let me = w.list_files(&f, ListFilesOptions::itself()).await.unwrap();
    assert_eq!(me[0].path, f);
    let txt = w
        .list_files(&base, ListFilesOptions::pattern("*.bin"))
        .await
        .unwrap();
    assert_eq!(
        txt.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["big.bin"]
    );
    let conf = w
        .list_files(&format!("{base}/conf"), ListFilesOptions::itself())
        .await
        .unwrap();
    assert_eq!(conf[0].permissions, "755");

    assert!(w.exists(&f).await.unwrap());
    assert!(!w.isdir(&f).await.unwrap());
    assert!(w.isdir(&base).await.unwrap());
    assert!(!w.exists(&format!("{base}/nope")).await.unwrap());

    w.remove_path(&f, false).await.unwrap();
    assert!(!w.exists(&f).await.unwrap());
}

async fn file_errors(env: &mut impl Env) {
    let base = env.base();
    let w = env.w();
    w.make_dir(&base, MakeDirOptions::new().make_parents(true))
        .await
        .unwrap();
    let missing = format!("{base}/missing.txt");

    let e = w
        .pull(&missing)
        .await
        .err()
        .expect("pull of a missing file fails");
    assert_eq!(path_kind(&e), "not-found");
    assert_eq!(
        e.to_string(),
        format!("stat {missing}: no such file or directory")
    );
    let e = w
        .pull(&base)
        .await
        .err()
        .expect("pull of a directory fails");
    assert_eq!(path_kind(&e), "generic-file-error");

    let e = w
        .list_files(&missing, ListFilesOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        api(&e),
        (404, format!("stat {missing}: no such file or directory"))
    );
    assert_eq!(e.kind(), Some("not-found"));

    let e = w.make_dir(&base, MakeDirOptions::new()).await.unwrap_err();
    assert_eq!(path_kind(&e), "generic-file-error");
    assert_eq!(e.to_string(), format!("mkdir {base}: file exists"));
    let e = w
        .make_dir(&format!("{base}/a/b"), MakeDirOptions::new())
        .await
        .unwrap_err();
    assert_eq!(path_kind(&e), "not-found");

    let e = w
        .push(&format!("{base}/no/parent.txt"), "x", PushOptions::new())
        .await
        .unwrap_err();
    assert_eq!(path_kind(&e), "not-found");
    let e = w
        .push("relative.txt", "x", PushOptions::new())
        .await
        .unwrap_err();
    assert_eq!(path_kind(&e), "generic-file-error");
    assert_eq!(
        e.to_string(),
        r#"paths must be absolute, got "relative.txt""#
    );
    let e = w
        .push(
            &format!("{base}/p.txt"),
            "x",
            PushOptions::new().permissions(0o1000),
        )
        .await
        .unwrap_err();
    assert_eq!(path_kind(&e), "generic-file-error");

    w.push(
        &format!("{base}/d/f"),
        "x",
        PushOptions::new().make_dirs(true),
    )
    .await
    .unwrap();
    let e = w
        .remove_path(&format!("{base}/d"), false)
        .await
        .unwrap_err();
    assert_eq!(path_kind(&e), "generic-file-error");
    assert_eq!(
        e.to_string(),
        format!("remove {base}/d: directory not empty")
    );
    let e = w.remove_path(&missing, false).await.unwrap_err();
    assert_eq!(path_kind(&e), "not-found");
    w.remove_path(&missing, true).await.unwrap();
    w.remove_path(&format!("{base}/d"), true).await.unwrap();
}

async fn push_pull_paths(env: &mut impl Env) {
    let base = env.base();
    let w = env.w();
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("tree");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a.txt"), "A").unwrap();
    std::fs::write(src.join("sub/b.txt"), "B").unwrap();
    w.make_dir(&base, MakeDirOptions::new().make_parents(true))
        .await
        .unwrap();
    w.push_path(&[src.as_path()], &base).await.unwrap();
    assert_eq!(
        w.pull_text(&format!("{base}/tree/sub/b.txt"))
            .await
            .unwrap(),
        "B"
    );

    let out = local.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    w.pull_path(&[&format!("{base}/tree")], &out).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("tree/a.txt")).unwrap(),
        "A"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("tree/sub/b.txt")).unwrap(),
        "B"
    );

    let e = w
        .pull_path(&[&format!("{base}/nope")], &out)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ContainerError::MultiPushPull(v) if v.len() == 1),
        "{e:?}"
    );
}

async fn connection_errors(env: &mut impl Env) {
    assert!(env.w().can_connect().await);
    let plan = env.w().get_plan().await.unwrap();
    assert!(plan.services.is_empty() && plan.checks.is_empty());
    assert!(env.w().get_services(&[]).await.unwrap().is_empty());
    env.disconnect();
    let w = env.w();
    assert!(!w.can_connect().await);
    for e in [
        w.get_plan().await.unwrap_err(),
        w.add_layer("x", BASE, false).await.unwrap_err(),
        w.start(&["alpha"]).await.unwrap_err(),
        w.get_services(&[]).await.unwrap_err(),
        w.exec(&["echo"], ExecOptions::new()).await.unwrap_err(),
        w.push("/x", "x", PushOptions::new()).await.unwrap_err(),
        w.list_files("/", ListFilesOptions::default())
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(e, ContainerError::Connection(_)), "{e:?}");
    }
}

crate::both!(
    layers_and_combine,
    service_actions,
    service_start_failures,
    autostart_without_defaults,
    replan_applies_changes,
    exec_results_and_errors,
    exec_stdin,
    exec_signal_and_streaming,
    exec_environment_and_context,
    files_roundtrip,
    file_errors,
    push_pull_paths,
    connection_errors,
);
