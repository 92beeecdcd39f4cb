//! Commands that need no daemon (or whose daemon is missing).

use insta::assert_snapshot;

use crate::harness::{mask, pebble_in};

fn run(args: &[&str]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = pebble_in(dir.path(), args);
    let text = mask(dir.path(), &out.render());
    (dir, text)
}

#[test]
fn golden_2_unknown_command() {
    let (_d, out) = run(&["nosuchcmd"]);
    assert_snapshot!(out, @r#"
    exit=1
    --- stdout
    --- stderr
    error: unknown command "nosuchcmd", see 'pebble help'
    "#);
}

#[test]
fn golden_3_unknown_flag() {
    let (_d, out) = run(&["services", "--bogus"]);
    assert_snapshot!(out, @r"
    exit=1
    --- stdout
    --- stderr
    error: unknown flag `bogus'
    ");
}

#[test]
fn golden_23_start_without_service() {
    let (_d, out) = run(&["start"]);
    assert_snapshot!(out, @r"
    exit=1
    --- stdout
    --- stderr
    error: the required argument `<service> (at least 1 argument)` was not provided
    ");
}

#[test]
fn golden_50_bad_n() {
    let (_d, out) = run(&["logs", "-n", "bad"]);
    assert_snapshot!(out, @r#"
    exit=1
    --- stdout
    --- stderr
    error: expected n to be a non-negative integer or "all", not "bad"
    "#);
}

#[test]
fn golden_43_tasks_without_id() {
    let (_d, out) = run(&["tasks"]);
    assert_snapshot!(out, @r"
    exit=1
    --- stdout
    --- stderr
    error: please provide change ID or type with --last=<type>
    ");
}

#[test]
fn changes_with_a_number() {
    let (_d, out) = run(&["changes", "12"]);
    assert_snapshot!(out, @r"
    exit=1
    --- stdout
    --- stderr
    error: 'pebble changes' command expects a service name, try 'pebble tasks 12'
    ");
}

#[test]
fn signal_must_be_uppercase() {
    let (_d, out) = run(&["signal", "hup", "svc"]);
    assert_snapshot!(out, @r"
    exit=1
    --- stdout
    --- stderr
    error: signal name must be uppercase, for example HUP
    ");
}

#[test]
fn no_daemon_is_a_connection_error() {
    let (_d, out) = run(&["services"]);
    assert_snapshot!(out, @r"
    exit=1
    --- stdout
    --- stderr
    error: cannot communicate with server: dial unix [PEBBLE]/.pebble.socket: connect: no such file or directory
    ");
}

#[test]
fn version_without_daemon() {
    let (_d, out) = run(&["version"]);
    assert_snapshot!(out, @r"
    exit=0
    --- stdout
    client  v1.32.1
    server  -
    --- stderr
    ");
    let (_d, out) = run(&["version", "--client"]);
    assert_snapshot!(out, @r"
    exit=0
    --- stdout
    v1.32.1
    --- stderr
    ");
}

#[test]
fn help_all_lists_groups() {
    let dir = tempfile::tempdir().unwrap();
    let out = pebble_in(dir.path(), &["help", "--all"]);
    assert_eq!(out.code, 0);
    for group in ["Run:", "Info:", "Plan:", "Services:", "Changes:"] {
        assert!(
            out.stdout.contains(group),
            "{group} missing in {}",
            out.stdout
        );
    }
    let out = pebble_in(dir.path(), &[]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("pebble help --all"));
}

#[test]
fn add_missing_file() {
    let (_d, out) = run(&["add", "missing", "/nonexistent/missing.yaml"]);
    assert_snapshot!(out, @r"
    exit=1
    --- stdout
    --- stderr
    error: open /nonexistent/missing.yaml: no such file or directory
    ");
}
