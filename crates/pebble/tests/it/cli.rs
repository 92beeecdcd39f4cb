//! The golden CLI transcript (golden/cli.md), replayed against a real `pebble run`.
//!
//! One scenario in golden order, since change ids depend on the order of operations.

use std::time::Duration;

use insta::assert_snapshot;

use crate::harness::{Daemon, Out, mask, wait_for};

const BASE_LAYER: &str = r#"summary: golden CLI layer
services:
  alpha:
    override: replace
    command: /bin/sh -c "echo alpha starting; exec sleep 100000"
    startup: enabled
  beta:
    override: replace
    command: /bin/sh -c "echo beta ready; exec sleep 100000"
    startup: enabled
  gamma:
    override: replace
    command: sleep 100000
  quickfail:
    override: replace
    command: /bin/sh -c "echo quickfail out; echo quickfail err >&2; exit 1"
    backoff-delay: 30s
  ignorefail:
    override: replace
    command: /bin/sh -c "echo ignorefail out; exit 2"
    on-failure: ignore
"#;

const BAD_LAYER: &str =
    "services:\n  x:\n    override: replace\n    command: sleep 1\n    bogus-field: 1\n";

struct Scenario {
    d: Daemon,
}

impl Scenario {
    fn run(&self, args: &[&str]) -> Out {
        self.d.pebble(args)
    }

    /// Runs and renders with masking.
    fn show(&self, args: &[&str]) -> String {
        mask(self.d.dir.path(), &self.run(args).render())
    }

    fn current(&self, svc: &str) -> String {
        let out = self.run(&["services", svc]);
        out.stdout
            .lines()
            .nth(1)
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or("")
            .to_string()
    }
}

#[test]
fn golden_transcript() {
    let s = Scenario {
        d: Daemon::start(&[], &[]),
    };

    // ---- Version and empty plan (golden 1, 4, 5, 7, 8)
    let v = s.run(&["version"]);
    assert_eq!(v.code, 0);
    assert!(v.stdout.starts_with("client  v1.32.1\nserver  "), "{v:?}");

    assert_snapshot!(s.show(&["services"]), @r"
    exit=0
    --- stdout
    --- stderr
    Plan has no services.
    ");
    assert_snapshot!(s.show(&["plan"]), @r"
    exit=0
    --- stdout
    {}
    --- stderr
    ");
    assert_snapshot!(s.show(&["changes"]), @r"
    exit=0
    --- stdout
    --- stderr
    no changes found
    ");
    assert_snapshot!(s.show(&["replan"]), @r"
    exit=0
    --- stdout
    --- stderr
    ");

    // ---- Layers (golden 9-14)
    let base = s.d.write_file("base.yaml", BASE_LAYER);
    let bad = s.d.write_file("bad.yaml", BAD_LAYER);
    assert_snapshot!(s.show(&["add", "base", &base]), @r#"
    exit=0
    --- stdout
    Layer "base" added successfully from "[PEBBLE]/base.yaml"
    --- stderr
    "#);
    assert_snapshot!(s.show(&["add", "base", &base]), @r#"
    exit=1
    --- stdout
    --- stderr
    error: layer "base" already exists
    "#);
    assert_snapshot!(s.show(&["add", "--combine", "base", &base]), @r#"
    exit=0
    --- stdout
    Layer "base" added successfully from "[PEBBLE]/base.yaml"
    --- stderr
    "#);
    let out = s.run(&["add", "bad", &bad]);
    assert_eq!(
        out.stderr,
        "error: cannot parse layer YAML: cannot parse layer \"bad\" section \"services\":\n       yaml: unmarshal errors:\n\n       line 4: field bogus-field not found in type plan.Service\n"
    );
    assert_eq!(out.code, 1);
    assert_snapshot!(s.show(&["plan"]), @r#"
    exit=0
    --- stdout
    services:
        alpha:
            startup: enabled
            override: replace
            command: /bin/sh -c "echo alpha starting; exec sleep 100000"
        beta:
            startup: enabled
            override: replace
            command: /bin/sh -c "echo beta ready; exec sleep 100000"
        gamma:
            override: replace
            command: sleep 100000
        ignorefail:
            override: replace
            command: /bin/sh -c "echo ignorefail out; exit 2"
            on-failure: ignore
        quickfail:
            override: replace
            command: /bin/sh -c "echo quickfail out; echo quickfail err >&2; exit 1"
            backoff-delay: 30s
    --- stderr
    "#);

    // ---- Services (golden 15-31)
    let out = s.run(&["services"]);
    assert_eq!(
        out.stdout,
        "Service     Startup   Current   Since\n\
alpha       enabled   inactive  -\n\
beta        enabled   inactive  -\n\
gamma       disabled  inactive  -\n\
ignorefail  disabled  inactive  -\n\
quickfail   disabled  inactive  -\n"
    );
    for args in [
        &["replan"][..],
        &["start", "gamma"],
        &["start", "gamma"],
        &["stop", "gamma"],
        &["stop", "gamma"],
        &["restart", "beta"],
    ] {
        let out = s.run(args);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (0, "", ""),
            "{args:?}"
        );
    }
    assert_snapshot!(s.show(&["start", "nosuch"]), @r#"
    exit=1
    --- stdout
    --- stderr
    error: cannot start services: service "nosuch" does not exist
    "#);
    assert_snapshot!(s.show(&["start", "quickfail"]), @r#"
    exit=1
    --- stdout
    --- stderr
    error: cannot perform the following tasks:
    - Start service "quickfail" (service start attempt: exited quickly with code 1, will restart)
    "#);
    assert_snapshot!(s.show(&["start", "ignorefail"]), @r#"
    exit=1
    --- stdout
    --- stderr
    error: cannot perform the following tasks:
    - Start service "ignorefail" (service start attempt: exited quickly with code 2, will ignore)
    "#);
    assert_snapshot!(s.show(&["services"]), @r"
    exit=0
    --- stdout
    Service     Startup   Current   Since
    alpha       enabled   active    [TODAY]
    beta        enabled   active    [TODAY]
    gamma       disabled  inactive  [TODAY]
    ignorefail  disabled  error     [TODAY]
    quickfail   disabled  backoff   [TODAY]
    --- stderr
    ");
    // Unmasked: the relative time column is aligned on its real width.
    let out = s.run(&["services", "alpha", "quickfail"]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "Service    Startup   Current  Since");
    assert!(
        lines[1].starts_with("alpha      enabled   active   today at "),
        "{lines:?}"
    );
    assert!(lines[1].ends_with(" UTC"), "{lines:?}");
    assert!(
        lines[2].starts_with("quickfail  disabled  backoff  today at "),
        "{lines:?}"
    );
    assert_snapshot!(s.show(&["services", "nosuch"]), @r"
    exit=0
    --- stdout
    --- stderr
    No matching services.
    ");
    assert_snapshot!(s.show(&["services", "--format", "json", "alpha", "gamma"]), @r#"
    exit=0
    --- stdout
    {"services":{"alpha":{"name":"alpha","startup":"enabled","current":"active","current-since":"[TIME]"},"gamma":{"name":"gamma","startup":"disabled","current":"inactive","current-since":"[TIME]"}}}
    --- stderr
    "#);
    assert_snapshot!(s.show(&["services", "--format", "yaml", "alpha"]), @r"
    exit=0
    --- stdout
    services:
        alpha:
            name: alpha
            startup: enabled
            current: active
            current-since: [TIME]
    --- stderr
    ");
    let out = s.run(&["services", "--abs-time", "alpha"]);
    assert_eq!(out.stdout.len(), 81, "{out:?}");
    assert_snapshot!(mask(s.d.dir.path(), &out.stdout), @r"
    Service  Startup  Current  Since
    alpha    enabled  active   [TIME]
    ");

    // ---- Signals (golden 32-35)
    assert_snapshot!(s.show(&["signal", "HUP", "gamma"]), @r#"
    exit=1
    --- stdout
    --- stderr
    error: cannot send signal to "gamma": service is not running
    "#);
    assert_snapshot!(s.show(&["signal", "FOO", "alpha"]), @r#"
    exit=1
    --- stdout
    --- stderr
    error: cannot send signal to "alpha": invalid signal name "SIGFOO"
    "#);
    assert_snapshot!(s.show(&["signal", "HUP", "nosuch"]), @r#"
    exit=1
    --- stdout
    --- stderr
    error: cannot send signal to "nosuch": service is not running
    "#);
    assert_snapshot!(s.show(&["signal", "USR1", "beta"]), @r"
    exit=0
    --- stdout
    --- stderr
    ");

    // ---- Changes and tasks (golden 36-43)
    let out = s.run(&["changes"]);
    assert!(out.stdout.ends_with("\n\n"), "{out:?}");
    assert_snapshot!(mask(s.d.dir.path(), &out.stdout), @r#"
    ID   Status  Spawn               Ready               Summary
    1    Done    [TODAY]  [TODAY]  Replan - no services
    2    Done    [TODAY]  [TODAY]  Replan service "alpha" and 1 more
    3    Done    [TODAY]  [TODAY]  Start service "gamma"
    4    Done    [TODAY]  [TODAY]  Start service "gamma"
    5    Done    [TODAY]  [TODAY]  Stop service "gamma"
    6    Done    [TODAY]  [TODAY]  Stop service "gamma"
    7    Done    [TODAY]  [TODAY]  Restart service "beta"
    8    Error   [TODAY]  [TODAY]  Start service "quickfail"
    9    Error   [TODAY]  [TODAY]  Start service "ignorefail"
    "#);
    let out = s.run(&["changes", "--abs-time"]);
    assert_snapshot!(mask(s.d.dir.path(), &out.stdout), @r#"
    ID   Status  Spawn                 Ready                 Summary
    1    Done    [TIME]  [TIME]  Replan - no services
    2    Done    [TIME]  [TIME]  Replan service "alpha" and 1 more
    3    Done    [TIME]  [TIME]  Start service "gamma"
    4    Done    [TIME]  [TIME]  Start service "gamma"
    5    Done    [TIME]  [TIME]  Stop service "gamma"
    6    Done    [TIME]  [TIME]  Stop service "gamma"
    7    Done    [TIME]  [TIME]  Restart service "beta"
    8    Error   [TIME]  [TIME]  Start service "quickfail"
    9    Error   [TIME]  [TIME]  Start service "ignorefail"
    "#);
    let out = s.run(&["changes", "gamma"]);
    assert_eq!(out.stdout.len(), 360, "{out:?}");
    assert_snapshot!(mask(s.d.dir.path(), &out.stdout), @r#"
    ID   Status  Spawn               Ready               Summary
    3    Done    [TODAY]  [TODAY]  Start service "gamma"
    4    Done    [TODAY]  [TODAY]  Start service "gamma"
    5    Done    [TODAY]  [TODAY]  Stop service "gamma"
    6    Done    [TODAY]  [TODAY]  Stop service "gamma"
    "#);
    let out = s.run(&["tasks", "3"]);
    assert_eq!(out.stdout.len(), 127, "{out:?}");
    assert!(out.stdout.ends_with("\n\n"));
    assert_snapshot!(s.show(&["tasks", "8"]), @r#"
    exit=0
    --- stdout
    Status  Spawn               Ready               Summary
    Error   [TODAY]  [TODAY]  Start service "quickfail"

    ......................................................................
    Start service "quickfail"

    [TIME] INFO Most recent service output:
        quickfail out
        quickfail err
    [TIME] ERROR service start attempt: exited quickly with code 1, will restart

    --- stderr
    "#);
    assert_snapshot!(s.show(&["tasks", "--last=start"]), @r#"
    exit=0
    --- stdout
    Status  Spawn               Ready               Summary
    Error   [TODAY]  [TODAY]  Start service "ignorefail"

    ......................................................................
    Start service "ignorefail"

    [TIME] INFO Most recent service output:
        ignorefail out
    [TIME] ERROR service start attempt: exited quickly with code 2, will ignore

    --- stderr
    "#);
    assert_snapshot!(s.show(&["tasks", "999"]), @r#"
    exit=1
    --- stdout
    --- stderr
    error: cannot find change with id "999"
    "#);

    // ---- Logs (golden 44-48)
    assert_snapshot!(s.show(&["logs", "quickfail"]), @r"
    exit=0
    --- stdout
    [TIME] [quickfail] quickfail out
    [TIME] [quickfail] quickfail err
    --- stderr
    ");
    let out = s.run(&["logs", "-n", "1", "--format", "json", "quickfail"]);
    assert_snapshot!(mask(s.d.dir.path(), &out.stdout), @r#"{"time":"[TIME]","service":"quickfail","message":"quickfail err"}"#);
    assert_snapshot!(s.show(&["logs", "nosuch"]), @r"
    exit=0
    --- stdout
    --- stderr
    ");
    // Every text log line has a 3-digit millisecond time.
    let out = s.run(&["logs", "-n", "all"]);
    for line in out.stdout.lines() {
        assert_eq!(&line[19..20], ".", "{line}");
        assert_eq!(&line[23..26], "Z [", "{line}");
    }
    assert!(out.stdout.contains("[beta] beta ready\n"), "{out:?}");

    // ---- --no-wait prints the change id; the change then completes.
    let out = s.run(&["start", "--no-wait", "gamma"]);
    assert_eq!(out.code, 0);
    let id = out.stdout.trim().to_string();
    assert!(
        id.chars().all(|c| c.is_ascii_digit()) && !id.is_empty(),
        "{out:?}"
    );
    wait_for("gamma active", Duration::from_secs(10), || {
        s.current("gamma") == "active"
    });

    // ---- Stop everything (golden 123-124)
    let out = s.run(&["stop", "alpha", "beta", "gamma"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stderr, "");
    for svc in ["alpha", "beta", "gamma"] {
        assert_eq!(s.current(svc), "inactive", "{svc}");
    }
}

#[test]
fn autostart_without_default_services() {
    let d = Daemon::start(&[], &["--hold"]);
    let out = d.pebble(&["autostart"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (1, "", "error: no default services\n")
    );
    // golden 52: no checks running is healthy.
    let out = d.pebble(&["health"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "healthy\n"));
    let out = d.pebble(&["health", "--format", "json"]);
    assert_eq!(out.stdout, "{\"healthy\":true}\n");
}

#[test]
fn follow_logs_streams_new_lines() {
    use std::io::Read;
    let layer = "services:\n  tick:\n    override: replace\n    startup: enabled\n    command: /bin/sh -c \"echo first; exec sleep 100000\"\n";
    let d = Daemon::start(&[("001-base.yaml", layer)], &[]);
    wait_for("tick's first line", Duration::from_secs(10), || {
        d.pebble(&["logs", "tick"]).stdout.contains("[tick] first")
    });
    let mut child = std::process::Command::new(crate::harness::bin())
        .args(["logs", "-f", "-n", "1", "tick"])
        .env("PEBBLE", d.dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 256];
    let mut read_lines = |buf: &mut Vec<u8>, want: usize| {
        while String::from_utf8_lossy(buf).matches('\n').count() < want {
            let n = stdout.read(&mut chunk).unwrap();
            assert!(
                n > 0,
                "stream ended early: {:?}",
                String::from_utf8_lossy(buf)
            );
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    // The buffered line first...
    read_lines(&mut buf, 1);
    assert!(String::from_utf8_lossy(&buf).ends_with(" [tick] first\n"));
    // ...then lines written after the follow started.
    let out = d.pebble(&["restart", "tick"]);
    assert_eq!(out.code, 0, "{out:?}");
    read_lines(&mut buf, 2);
    let text = String::from_utf8_lossy(&buf).into_owned();
    assert_eq!(text.matches(" [tick] first\n").count(), 2, "{text}");
    // SIGINT ends the follow with exit code 0.
    // SAFETY: plain kill(2) of our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// Golden cli#20 and #123: a lone no-op stop prints nothing; a no-op stop task that finishes
/// while another service is still stopping prints its task log line on stdout.
#[test]
fn stop_prints_the_log_of_a_no_op_task_among_running_ones() {
    let layer = r#"services:
  slow:
    override: replace
    command: /bin/sh -c 'trap "sleep 0.3; exit 0" TERM; while :; do sleep 0.05; done'
  gamma:
    override: replace
    command: sleep 100000
"#;
    let s = Scenario {
        d: Daemon::start(&[("001-base.yaml", layer)], &[]),
    };
    let out = s.run(&["start", "slow", "gamma"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:?}");
    let out = s.run(&["stop", "gamma"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:?}");
    // Already stopped, alone: the change is ready at the first poll.
    let out = s.run(&["stop", "gamma"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:?}");

    let out = s.run(&["stop", "slow", "gamma"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    let line = out.stdout.strip_suffix('\n').unwrap_or_default();
    assert!(!line.contains('\n'), "{out:?}");
    let (time, rest) = line.split_once(' ').unwrap_or_default();
    assert_eq!(rest, "INFO Service \"gamma\" already stopped.", "{out:?}");
    assert!(
        time.parse::<jiff::Timestamp>().is_ok() && time.ends_with('Z') && time.len() == 20,
        "{out:?}"
    );
    assert_eq!(s.current("slow"), "inactive");
}

/// Request log lines are written in batches, yet in order with the other lines, within a
/// moment when nothing else is logged, and at exit.
#[test]
fn request_log_lines_keep_their_order_and_reach_the_log() {
    let layer = "services:\n    svc:\n        override: replace\n        command: sleep 60\n";
    let mut d = Daemon::start(&[("001-base.yaml", layer)], &[]);
    let out = d.pebble(&["services"]);
    assert_eq!(out.code, 0, "{}", out.render());
    // Nothing else is logged: the line comes out on its own.
    wait_for("the GET /v1/services line", Duration::from_secs(5), || {
        d.log().contains("[pebble] GET /v1/services ")
    });
    let out = d.pebble(&["start", "svc"]);
    assert_eq!(out.code, 0, "{}", out.render());
    let log = d.log();
    let get = log.find("GET /v1/services ").unwrap();
    let post = log.find(" 202 (http+unix)").expect(&log);
    let starting = log.find("Service \"svc\" starting: sleep 60").expect(&log);
    assert!(get < post && post < starting, "{log}");
    // The last request line is written at exit at the latest.
    let out = d.pebble(&["plan"]);
    assert_eq!(out.code, 0, "{}", out.render());
    assert_eq!(d.terminate(), Some(0));
    let log = d.log();
    let plan = log.find("GET /v1/plan?format=yaml ").expect(&log);
    assert!(plan > starting, "{log}");
    let exiting = log.find("Exiting on terminated signal.").expect(&log);
    assert!(plan < exiting, "{log}");
}
