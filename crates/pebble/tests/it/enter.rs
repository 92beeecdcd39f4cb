//! `pebble enter`: the in-process daemon, readiness, the subcommand rules and exit codes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{bin, pebble_in, wait_for};

/// A temp `$PEBBLE` with one layer: `svc` (startup enabled) touches `started` and sleeps.
fn pebble_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ld = dir.path().join("layers");
    std::fs::create_dir_all(&ld).unwrap();
    let layer = format!(
        "services:\n  svc:\n    override: replace\n    startup: enabled\n    command: sh -c 'touch {}/started; exec sleep 1000'\n",
        dir.path().display()
    );
    std::fs::write(ld.join("001-base.yaml"), layer).unwrap();
    dir
}

fn started(dir: &Path) -> String {
    dir.join("started").to_string_lossy().into_owned()
}

/// Spawns `pebble <args>` in the background (output to `$PEBBLE/out.log`).
fn spawn(dir: &Path, args: &[&str]) -> std::process::Child {
    let log = std::fs::File::create(dir.join("out.log")).unwrap();
    Command::new(bin())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PEBBLE", dir)
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("out.log")).unwrap_or_default()
}

fn sigterm_and_wait(mut child: std::process::Child) -> i32 {
    // SAFETY: plain kill(2) of our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    child.wait().unwrap().code().unwrap_or(-1)
}

#[test]
fn without_subcommand_it_runs_the_daemon() {
    let dir = pebble_dir();
    let child = spawn(dir.path(), &["enter"]);
    // Default services are started, as by `pebble run`.
    wait_for("svc started", Duration::from_secs(20), || {
        dir.path().join("started").exists()
    });
    assert!(
        pebble_in(dir.path(), &["services"])
            .stdout
            .contains(" active ")
    );
    assert_eq!(sigterm_and_wait(child), 0);
    let log = std::fs::read_to_string(dir.path().join("out.log")).unwrap();
    assert!(log.contains("[pebble] Started daemon."), "{log}");
    assert!(
        log.contains("[pebble] Exiting on terminated signal."),
        "{log}"
    );
}

#[test]
fn exec_prints_and_exits_with_the_command_s_code() {
    let dir = pebble_dir();
    let out = pebble_in(dir.path(), &["enter", "exec", "echo", "hi"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "hi\n"));
    // The daemon's log is silenced for exec.
    assert_eq!(out.stderr, "");
    // The daemon was stopped: its socket is gone. Default services were not started.
    assert!(!dir.path().join(".pebble.socket").exists());
    assert!(!dir.path().join("started").exists());

    let out = pebble_in(
        dir.path(),
        &["enter", "exec", "sh", "-c", "echo out; exit 3"],
    );
    assert_eq!((out.code, out.stdout.as_str()), (3, "out\n"));
    assert!(!dir.path().join(".pebble.socket").exists());
}

#[test]
fn run_starts_default_services_before_the_subcommand() {
    let dir = pebble_dir();
    let started = started(dir.path());
    // Without --run the service is not started.
    let out = pebble_in(dir.path(), &["enter", "exec", "test", "-f", &started]);
    assert_eq!(out.code, 1, "{}", out.render());
    // With --run the subcommand runs once the autostart change is done.
    let out = pebble_in(
        dir.path(),
        &["enter", "--run", "exec", "test", "-f", &started],
    );
    assert_eq!(out.code, 0, "{}", out.render());
    assert!(!dir.path().join(".pebble.socket").exists());
}

#[test]
fn services_and_plan_run_against_a_held_daemon() {
    let dir = pebble_dir();
    let out = pebble_in(dir.path(), &["enter", "services"]);
    assert_eq!(out.code, 0, "{}", out.render());
    assert_eq!(
        out.stdout,
        "Service  Startup  Current   Since\nsvc      enabled  inactive  -\n"
    );
    assert_eq!(out.stderr, "");
    let out = pebble_in(dir.path(), &["enter", "plan"]);
    assert_eq!(out.code, 0, "{}", out.render());
    assert!(
        out.stdout.starts_with("services:\n    svc:\n"),
        "{}",
        out.stdout
    );
    // -v keeps the daemon's log.
    let out = pebble_in(dir.path(), &["enter", "-v", "services"]);
    assert_eq!(out.code, 0, "{}", out.render());
    assert!(
        out.stderr.contains("[pebble] Started daemon."),
        "{}",
        out.stderr
    );
}

#[test]
fn start_keeps_the_daemon_running() {
    let dir = pebble_dir();
    let child = spawn(dir.path(), &["enter", "start", "svc"]);
    // The start change is done (the subcommand has finished).
    wait_for("svc started", Duration::from_secs(20), || {
        let out = pebble_in(dir.path(), &["changes"]);
        out.stdout.contains("Done") && out.stdout.contains("Start service \"svc\"")
    });
    // The subcommand has finished once its client runtime is gone: only the daemon's runtime
    // (one eventfd) is left in the process.
    let fds = format!("/proc/{}/fd", child.id());
    wait_for(
        "the start subcommand to finish",
        Duration::from_secs(20),
        || {
            std::fs::read_dir(&fds)
                .unwrap()
                .filter(|e| {
                    std::fs::read_link(e.as_ref().unwrap().path())
                        .is_ok_and(|l| l.to_string_lossy() == "anon_inode:[eventfd]")
                })
                .count()
                == 1
        },
    );
    // Still serving after the subcommand finished.
    let out = pebble_in(dir.path(), &["services"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("svc      enabled  active"),
        "{}",
        out.stdout
    );
    assert_eq!(sigterm_and_wait(child), 0, "{}", log(dir.path()));
    assert!(!dir.path().join(".pebble.socket").exists());
}

#[test]
fn subcommand_errors() {
    let dir = pebble_dir();
    for (args, err) in [
        (
            &["enter", "stop", "svc"][..],
            "error: enter: must use --run before \"stop\" subcommand\n",
        ),
        (
            &["enter", "--run", "services"][..],
            "error: enter: cannot provide --run before \"services\" subcommand\n",
        ),
        (
            &["enter", "-v", "exec", "true"][..],
            "error: enter: cannot provide -v/--verbose before \"exec\" subcommand\n",
        ),
        (
            &["enter", "changes"][..],
            "error: enter: subcommand \"changes\" is not supported\n",
        ),
        (
            &["enter", "nosuchcmd"][..],
            "error: unknown command \"nosuchcmd\", see 'pebble help'\n",
        ),
    ] {
        let out = pebble_in(dir.path(), args);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (1, "", err),
            "{args:?}"
        );
    }
    // No daemon was started for any of them.
    assert!(!dir.path().join(".pebble.state").exists());
}

#[test]
fn help_runs_without_a_daemon() {
    let dir = pebble_dir();
    let out = pebble_in(dir.path(), &["enter", "help"]);
    assert_eq!(out.code, 0, "{}", out.render());
    assert_eq!(out.stdout, pebble_in(dir.path(), &["help"]).stdout);
    assert_eq!(out.stderr, "");
    assert!(!dir.path().join(".pebble.state").exists());
}
