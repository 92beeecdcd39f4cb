//! Twins of the seed guide's Python examples ("How to manage the workload container"): each
//! example is written once over `&impl Workload`, with the same code as the crate docs' example,
//! and driven against the fake container (`fake::<name>`) and a real daemon through the fixture
//! (`real::<name>`), asserting the same outcomes. Programs the guide assumes (`/pause`,
//! `pg_dump`, `ls`, ...) are replaced by stand-ins the real daemon can run (`sleep`, `sh -c`,
//! `printf`); the fake gets the equivalent exec mock. Side effects only a real process can show
//! (a restart seen by the service itself, a signal received) are checked on the real daemon by
//! waiting for the file the stand-in writes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use pebble_client::container::{ContainerError, ExecOptions, MakeDirOptions};
use pebble_testing::{MockResult, Workload, layer_from_rockcraft};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::env::{Env, FakeEnv, RealEnv};

/// Which side a driver runs on.
trait Side {
    const REAL: bool;
}
impl Side for FakeEnv {
    const REAL: bool = false;
}
impl Side for RealEnv {
    const REAL: bool = true;
}

/// A long-running stand-in for a workload's server.
const IDLE: &str = "sleep 1000";

/// Creates the scenario directory (in the container) and returns it as a local path: on the
/// real daemon (in-process, same filesystem) the stand-ins' files land there.
async fn scenario_dir(env: &impl Env) -> PathBuf {
    let base = env.base();
    env.w()
        .make_dir(
            &base,
            MakeDirOptions {
                make_parents: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    PathBuf::from(base)
}

/// Waits (bounded) until `path` holds at least `n` lines, and returns them.
async fn wait_for_lines(path: &Path, n: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let lines: Vec<String> = std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} never had {n} lines: {lines:?}",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The current user and group names (a real daemon can run commands as them even unprivileged).
/// Read from the user database, not by running `id`: the in-process daemon's reaper would reap
/// that child before `std::process` could wait for it.
fn current_user_group() -> (String, String) {
    // SAFETY: getpwuid/getgrgid return a pointer to static storage or null; the names are
    // copied out at once, and no other thread of this test reads the user database.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        let gr = libc::getgrgid(libc::getegid());
        assert!(!pw.is_null() && !gr.is_null(), "no user or group entry");
        let user = std::ffi::CStr::from_ptr((*pw).pw_name)
            .to_string_lossy()
            .into_owned();
        let group = std::ffi::CStr::from_ptr((*gr).gr_name)
            .to_string_lossy()
            .into_owned();
        (user, group)
    }
}

// 1. Add a layer and autostart (pebble-ready).

async fn twin_pause_pebble_ready(
    container: &impl Workload,
    command: &str,
) -> Result<(), ContainerError> {
    let layer = json!({
        "summary": "pause layer",
        "description": "pebble config layer for google/pause",
        "services": {
            "pause": {
                "override": "replace",
                "summary": "pause service",
                "command": command,
                "startup": "enabled",
            }
        },
    });
    container.add_layer("pause", layer, true).await?;
    container.autostart().await
}

async fn pause_pebble_ready<E: Env + Side>(env: &mut E) {
    twin_pause_pebble_ready(env.w(), IDLE).await.unwrap();
    assert!(env.w().get_service("pause").await.unwrap().is_running());
    let plan = env.w().get_plan().await.unwrap();
    assert_eq!(plan.services["pause"].command, IDLE);
}

// 2. Config-changed: an overlay layer merged into the service, then replan.

async fn twin_config_changed(c: &impl Workload, timeout: &str) -> Result<(), ContainerError> {
    let layer = json!({"services": {"pause": {
        "override": "merge",
        "environment": {"TIMEOUT": timeout},
    }}});
    match c.add_layer("pause", layer, true).await {
        Ok(()) => c.replan().await,
        // The container might not be ready yet.
        Err(
            ContainerError::Path { .. }
            | ContainerError::Protocol(_)
            | ContainerError::Connection(_),
        ) => Ok(()),
        Err(e) => Err(e),
    }
}

async fn config_changed<E: Env + Side>(env: &mut E) {
    let dir = scenario_dir(env).await;
    let starts = dir.join("starts");
    let command = format!(
        "sh -c 'echo \"T=$TIMEOUT\" >> {}; exec sleep 1000'",
        starts.display()
    );
    let base = json!({"services": {"pause": {
        "override": "replace", "command": command, "startup": "enabled",
    }}});
    env.w().add_layer("pause", base, false).await.unwrap();
    env.w().autostart().await.unwrap();
    twin_config_changed(env.w(), "30").await.unwrap();
    let plan = env.w().get_plan().await.unwrap();
    assert_eq!(plan.services["pause"].environment["TIMEOUT"], "30");
    assert!(env.w().get_service("pause").await.unwrap().is_running());
    if E::REAL {
        // The service was restarted by replan, and sees the new environment.
        assert_eq!(wait_for_lines(&starts, 2).await, ["T=", "T=30"]);
    }
    // Not ready yet: the error is handled.
    env.disconnect();
    twin_config_changed(env.w(), "40").await.unwrap();
}

// 3. Replan after adding a layer (snappass).

async fn twin_start_snappass(c: &impl Workload, command: &str) -> Result<(), ContainerError> {
    let layer = json!({"services": {"snappass": {
        "override": "replace",
        "summary": "snappass service",
        "command": command,
        "startup": "enabled",
    }}});
    c.add_layer("snappass", layer, true).await?;
    c.replan().await
}

async fn start_snappass<E: Env + Side>(env: &mut E) {
    twin_start_snappass(env.w(), IDLE).await.unwrap();
    let plan = env.w().get_plan().await.unwrap();
    assert_eq!(plan.services.keys().collect::<Vec<_>>(), ["snappass"]);
    assert!(env.w().get_service("snappass").await.unwrap().is_running());
}

// 4. Backup: stop a running service, then start it again.

async fn twin_backup_action(c: &impl Workload) -> Result<(), ContainerError> {
    let is_running = c.get_service("mysql").await?.is_running();
    if is_running {
        c.stop(&["mysql"]).await?;
    }
    // do_mysql_backup();
    if is_running {
        c.start(&["mysql"]).await?;
    }
    Ok(())
}

async fn backup_action<E: Env + Side>(env: &mut E) {
    let dir = scenario_dir(env).await;
    let starts = dir.join("mysql-starts");
    let command = format!("sh -c 'echo up >> {}; exec sleep 1000'", starts.display());
    let layer = json!({"services": {"mysql": {"override": "replace", "command": command}}});
    let w = env.w();
    w.add_layer("db", layer, false).await.unwrap();
    w.start(&["mysql"]).await.unwrap();
    twin_backup_action(w).await.unwrap();
    assert!(w.get_service("mysql").await.unwrap().is_running());
    if E::REAL {
        // Stopped and started again: the stand-in ran twice.
        assert_eq!(wait_for_lines(&starts, 2).await, ["up", "up"]);
    }
    // Not running: left alone.
    w.stop(&["mysql"]).await.unwrap();
    twin_backup_action(w).await.unwrap();
    assert!(!w.get_service("mysql").await.unwrap().is_running());
}

// 5. Exec with error handling.

async fn twin_cat_bad_arg(c: &impl Workload) -> Result<Vec<String>, ContainerError> {
    let process = c.exec(&["cat", "--bad-arg"], ExecOptions::new()).await?;
    let mut log = Vec::new();
    match process.wait_output().await {
        Ok((stdout, _)) => log.push(stdout),
        Err(ContainerError::Exec(e)) => {
            log.push(format!("Exited with code {}. Stderr:", e.exit_code));
            for line in e.stderr_text().lines() {
                log.push(format!("    {line}"));
            }
        }
        Err(e) => return Err(e),
    }
    Ok(log)
}

async fn cat_bad_arg<E: Env + Side>(env: &mut E) {
    env.mock(
        &["cat"],
        MockResult::exit(1).stderr(
            "cat: unrecognized option '--bad-arg'\nTry 'cat --help' for more information.\n",
        ),
    );
    let log = twin_cat_bad_arg(env.w()).await.unwrap();
    assert_eq!(log[0], "Exited with code 1. Stderr:");
    assert!(log.len() >= 2 && log[1].contains("--bad-arg"), "{log:?}");
}

// 6. Exec options, stdin as text or bytes.

async fn twin_exec_options(
    c: &impl Workload,
    user: &str,
    group: &str,
) -> Result<(String, Vec<u8>), ContainerError> {
    let p = c
        .exec(
            &["tr", "a-z", "A-Z"],
            ExecOptions::new()
                .stdin("This is\na test\n")
                .env("FOO", "bar")
                .working_dir("/tmp")
                .timeout(Duration::from_secs(5))
                .user(user)
                .group(group),
        )
        .await?;
    let (stdout, _) = p.wait_output().await?;

    let p = c
        .exec(&["cat"], ExecOptions::new().stdin(vec![1u8, 2]))
        .await?;
    let (bytes, _) = p.wait_output_bytes().await?;
    Ok((stdout, bytes))
}

async fn exec_options<E: Env + Side>(env: &mut E) {
    env.mock_fn(&["tr"], |call| {
        MockResult::ok().stdout(call.stdin.to_ascii_uppercase())
    });
    env.mock_fn(&["cat"], |call| MockResult::ok().stdout(call.stdin.clone()));
    let tmp = MakeDirOptions {
        make_parents: true,
        ..Default::default()
    };
    env.w().make_dir("/tmp", tmp).await.unwrap();
    let (user, group) = current_user_group();
    let (stdout, bytes) = twin_exec_options(env.w(), &user, &group).await.unwrap();
    assert_eq!(stdout, "THIS IS\nA TEST\n");
    assert_eq!(bytes, [1u8, 2]);
}

// 7. Streaming stdin and stdout.

async fn twin_stream_lines(c: &impl Workload) -> Result<Vec<String>, ContainerError> {
    let mut process = c.exec(&["cat"], ExecOptions::new()).await?;
    let mut stdin = process.stdin.take().expect("stdin is streamed");
    let writer = tokio::spawn(async move {
        for line in ["one\n", "2\n", "THREE\n"] {
            stdin.write_all(line.as_bytes()).await?;
        }
        stdin.shutdown().await // end of input
    });
    let mut lines = BufReader::new(process.stdout.take().expect("stdout")).lines();
    let mut out = Vec::new();
    while let Some(line) = lines.next_line().await? {
        out.push(format!("Output: {line}"));
    }
    writer.await.expect("writer task")?;
    process.wait().await?;
    Ok(out)
}

async fn stream_lines<E: Env + Side>(env: &mut E) {
    env.mock_fn(&["cat"], |call| MockResult::ok().stdout(call.stdin.clone()));
    assert_eq!(
        twin_stream_lines(env.w()).await.unwrap(),
        ["Output: one", "Output: 2", "Output: THREE"]
    );
}

// 8. Introspect the plan, signal services.

async fn twin_log_services(c: &impl Workload) -> Result<Vec<String>, ContainerError> {
    c.replan().await?;
    let plan = c.get_plan().await?;
    Ok(plan
        .services
        .keys()
        .map(|s| format!("Service: {s}"))
        .collect())
}

async fn log_services_and_signal<E: Env + Side>(env: &mut E) {
    let dir = scenario_dir(env).await;
    // Stand-ins that note each SIGHUP and keep running.
    let hup = |name: &str| {
        format!(
            "sh -c 'trap \"echo hup >> {}\" HUP; while true; do sleep 1 & wait; done'",
            dir.join(name).display()
        )
    };
    let layer = json!({"services": {
        "nginx": {"override": "replace", "command": hup("nginx-hup"), "startup": "enabled"},
        "redis": {"override": "replace", "command": hup("redis-hup"), "startup": "enabled"},
    }});
    let w = env.w();
    w.add_layer("web", layer, false).await.unwrap();
    assert_eq!(
        twin_log_services(w).await.unwrap(),
        ["Service: nginx", "Service: redis"]
    );
    assert!(w.get_service("redis").await.unwrap().is_running());
    w.send_signal("SIGHUP", &["nginx", "redis"]).await.unwrap();
    if E::REAL {
        wait_for_lines(&dir.join("nginx-hup"), 1).await;
        wait_for_lines(&dir.join("redis-hup"), 1).await;
    }
    assert!(w.get_service("nginx").await.unwrap().is_running());
    // Services that are not running cannot be signalled.
    w.stop(&["redis"]).await.unwrap();
    let err = w
        .send_signal("SIGHUP", &["nginx", "redis"])
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"cannot send signal to "redis": service is not running"#
    );
}

// 9. Exec with a timeout, output and warnings (pg_dump).

async fn twin_pg_backup(
    c: &impl Workload,
    command: &[&str],
    timeout: Duration,
) -> Result<(String, Vec<String>), ContainerError> {
    let process = c.exec(command, ExecOptions::new().timeout(timeout)).await?;
    let (sql, warnings) = process.wait_output().await?;
    let warnings = warnings
        .lines()
        .map(|l| format!("pg_dump: {}", l.trim()))
        .collect();
    Ok((sql, warnings))
}

async fn pg_backup<E: Env + Side>(env: &mut E) {
    // pg_dump's stand-in: a dump on stdout, a warning on stderr.
    env.mock(
        &["sh"],
        MockResult::ok()
            .stdout("CREATE TABLE t;\n")
            .stderr("old server\n"),
    );
    env.mock(&["sleep"], MockResult::timeout());
    let pg_dump = ["sh", "-c", "echo 'CREATE TABLE t;'; echo 'old server' >&2"];
    let (sql, warnings) = twin_pg_backup(env.w(), &pg_dump, Duration::from_secs(5 * 60))
        .await
        .unwrap();
    assert_eq!(sql, "CREATE TABLE t;\n");
    assert_eq!(warnings, ["pg_dump: old server"]);
    // A command that runs past its timeout fails with a change error.
    let slow = ["sleep", "10"];
    match twin_pg_backup(env.w(), &slow, Duration::from_millis(200)).await {
        Err(ContainerError::Change { err, .. }) => assert!(err.contains("timed out"), "{err}"),
        other => panic!("expected a change error, got {other:?}"),
    }
}

// 10. Stdin from a file, stdout to a file.

async fn twin_upper_file(
    c: &impl Workload,
    input: &Path,
    output: &Path,
) -> Result<(), ContainerError> {
    let mut process = c.exec(&["tr", "a-z", "A-Z"], ExecOptions::new()).await?;
    let mut stdin = process.stdin.take().expect("stdin");
    let mut stdout = process.stdout.take().expect("stdout");
    let mut src = tokio::fs::File::open(input).await?;
    let mut dst = tokio::fs::File::create(output).await?;
    let feed = async move {
        tokio::io::copy(&mut src, &mut stdin).await?;
        tokio::io::AsyncWriteExt::shutdown(&mut stdin).await
    };
    let (fed, copied) = tokio::join!(feed, tokio::io::copy(&mut stdout, &mut dst));
    fed?;
    copied?;
    process.wait().await
}

async fn upper_file<E: Env + Side>(env: &mut E) {
    env.mock_fn(&["tr"], |call| {
        MockResult::ok().stdout(call.stdin.to_ascii_uppercase())
    });
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (
        dir.path().join("LICENSE.txt"),
        dir.path().join("output.txt"),
    );
    std::fs::write(&input, "apache license\n").unwrap();
    twin_upper_file(env.w(), &input, &output).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "APACHE LICENSE\n"
    );
}

// 11. Send a signal to a running command.

async fn twin_interrupt(c: &impl Workload) -> Result<(), ContainerError> {
    let mut process = c.exec(&["sleep", "10"], ExecOptions::new()).await?;
    process.send_signal("SIGTERM").await?;
    process.wait().await
}

async fn interrupt<E: Env + Side>(env: &mut E) {
    env.mock(&["sleep"], MockResult::ok());
    let err = twin_interrupt(env.w()).await.unwrap_err();
    assert_eq!(err.as_exec().map(|e| e.exit_code), Some(143), "{err:?}"); // 128 + SIGTERM
    assert_eq!(
        err.to_string(),
        r#"non-zero exit code 143 executing ["sleep", "10"]"#
    );
}

// 12. Test command execution (exec mocks and history).

const LS_LL: &str = "\
.rw-rw-r--  228 ubuntu ubuntu 18 jan 12:05 -- charmcraft.yaml
drwxrwxr-x    - ubuntu ubuntu 18 jan 12:06 -- lib
";

#[allow(clippy::disallowed_names)] // The seed's container is named `foo`.
async fn twin_on_start(foo: &impl Workload, command: &[&str]) -> Result<String, ContainerError> {
    let mut proc = foo.exec(command, ExecOptions::new()).await?;
    if let Some(stdin) = proc.stdin.as_mut() {
        stdin.write_all(b"...").await?;
    }
    let (stdout, _) = proc.wait_output().await?;
    Ok(stdout)
}

async fn on_start<E: Env + Side>(env: &mut E) {
    // `ls -ll`'s stand-in prints the listing the fake's mock returns.
    env.mock(&["printf"], MockResult::ok().stdout(LS_LL));
    let ls = ["printf", "%s", LS_LL];
    assert_eq!(twin_on_start(env.w(), &ls).await.unwrap(), LS_LL);
    // A missing executable (no mock on the fake) fails with a 400.
    let err = env
        .w()
        .exec(&["no-such-command-for-twins"], ExecOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.api_code(), Some(400), "{err:?}");
}

// 13. Test that a layer is added (from a rockcraft.yaml).

async fn twin_on_pebble_ready(c: &impl Workload) -> Result<(), ContainerError> {
    c.add_layer(
        "charm",
        "services:\n  app: {override: merge, environment: {MODE: prod}}\n",
        false,
    )
    .await?;
    c.replan().await
}

async fn rockcraft_layer<E: Env + Side>(env: &mut E) {
    let dir = tempfile::tempdir().unwrap();
    let rockcraft = dir.path().join("rockcraft.yaml");
    std::fs::write(
        &rockcraft,
        format!(
            "name: app\nsummary: my app\nservices:\n  app:\n    \
             override: replace\n    command: {IDLE}\n    startup: enabled\n"
        ),
    )
    .unwrap();
    let layer = layer_from_rockcraft(&rockcraft).unwrap();
    env.w().add_layer("rock", &layer, false).await.unwrap();
    twin_on_pebble_ready(env.w()).await.unwrap();
    let plan = env.w().get_plan().await.unwrap();
    assert_eq!(plan.services["app"].command, IDLE);
    assert_eq!(plan.services["app"].environment["MODE"], "prod");
    assert!(env.w().get_service("app").await.unwrap().is_running());
}

crate::both!(
    pause_pebble_ready,
    config_changed,
    start_snappass,
    backup_action,
    cat_bad_arg,
    exec_options,
    stream_lines,
    log_services_and_signal,
    pg_backup,
    upper_file,
    interrupt,
    on_start,
    rockcraft_layer,
);
