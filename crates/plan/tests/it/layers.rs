//! Layer parsing and plan validation, table-driven with Pebble's messages.

use pebble_plan::{GoDuration, Override, PlanError, ServiceAction, combine_layers, parse_layer};
use pretty_assertions::assert_eq;

fn parse(yaml: &str) -> Result<pebble_plan::Layer, PlanError> {
    parse_layer(1000, "layer-0", yaml.as_bytes())
}

fn plan_err(yaml: &str) -> String {
    match parse(yaml) {
        Err(e) => e.to_string(),
        Ok(l) => combine_layers(&[l]).unwrap_err().to_string(),
    }
}

#[test]
fn layer_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "services:\n  \"\":\n    override: replace\n    command: x\n",
            "cannot use empty string as service name",
        ),
        (
            "services:\n  pebble:\n    override: replace\n    command: x\n",
            "cannot use reserved service name \"pebble\"",
        ),
        (
            "services:\n  -svc1:\n    override: replace\n    command: x\n",
            "cannot use service name \"-svc1\": starting with \"-\" not allowed",
        ),
        (
            "services:\n  svc1:\n",
            "service object cannot be null for service \"svc1\"",
        ),
        (
            "services:\n  svc1: ~\n",
            "service object cannot be null for service \"svc1\"",
        ),
        (
            "checks:\n  chk1:\n",
            "check object cannot be null for check \"chk1\"",
        ),
        (
            "log-targets:\n  t1:\n",
            "log target object cannot be null for log target \"t1\"",
        ),
        (
            "services:\n  svc1:\n    override: replace\n    command: foo '\n",
            "plan service \"svc1\" command invalid: cannot parse service \"svc1\" command: EOF found when expecting closing quote",
        ),
        (
            "services:\n  svc1:\n    override: replace\n    command: cmd -v [ --foo ] bar\n",
            "plan service \"svc1\" command invalid: cannot parse service \"svc1\" command: cannot have any arguments after [ ... ] group",
        ),
        (
            "services:\n  svc1:\n    override: replace\n    command: cmd\n    on-success: success-shutdown\n",
            "plan service \"svc1\" on-success action \"success-shutdown\" invalid",
        ),
        (
            "services:\n  svc1:\n    override: replace\n    command: cmd\n    on-failure: failure-shutdown\n",
            "plan service \"svc1\" on-failure action \"failure-shutdown\" invalid",
        ),
        (
            "services:\n  svc1:\n    override: replace\n    command: cmd\n    on-check-failure:\n      chk1: explode\n",
            "plan service \"svc1\" on-check-failure action \"explode\" invalid",
        ),
        (
            "services:\n  svc1:\n    override: replace\n    command: cmd\n    backoff-factor: 0\n",
            "plan service \"svc1\" backoff-factor must be 1.0 or greater, not 0",
        ),
        (
            "services:\n  svc1:\n    override: replace\n    command: cmd\n    backoff-factor: 0.5\n",
            "plan service \"svc1\" backoff-factor must be 1.0 or greater, not 0.5",
        ),
        (
            "services:\n  svc1:\n    override: replace\n    command: cmd\n    backoff-factor: foo\n",
            "cannot parse layer \"layer-0\" section \"services\": invalid floating-point number \"foo\"",
        ),
        (
            "services:\n  svc1:\n    override: replace\n    command: cmd\n    backoff-factor: [1]\n",
            "cannot parse layer \"layer-0\" section \"services\": value must be a YAML number",
        ),
        (
            "services:\n  svc1:\n    override: replace\n    command: cmd\n    kill-delay: {a: 1}\n",
            "cannot parse layer \"layer-0\" section \"services\": duration must be a YAML string",
        ),
        (
            "services:\n  svc1:\n    override: replace\n    command: cmd\n    kill-delay: 3\n",
            "cannot parse layer \"layer-0\" section \"services\": invalid duration \"3\"",
        ),
        (
            "services:\n  svc1:\n    override: foo\n    command: cmd\n",
            "layer \"layer-0\" has invalid \"override\" value for service \"svc1\"",
        ),
        (
            "services:\n  svc1:\n    override: replace\n    command: cmd\n  svc1:\n    override: replace\n",
            "cannot parse layer \"layer-0\" section \"services\": yaml: unmarshal errors:\n  line 4: mapping key \"svc1\" already defined at line 1",
        ),
        (
            "services:\n  svc1:\n    override: replace\n    command: cmd\n    after: x\n    user-id: abc\n",
            "cannot parse layer \"layer-0\" section \"services\": yaml: unmarshal errors:\n  line 4: cannot unmarshal !!str `x` into []string\n  line 5: cannot unmarshal !!str `abc` into int",
        ),
        (
            "services: [a]\n",
            "cannot parse layer \"layer-0\" section \"services\": yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into map[string]*plan.Service",
        ),
        (
            "summary: a\nsummary: b\n",
            "cannot parse layer \"layer-0\": yaml: unmarshal errors:\n  line 2: mapping key \"summary\" already defined at line 1",
        ),
        (
            "hello\n",
            "cannot parse layer \"layer-0\": yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `hello` into map[string]yaml.Node",
        ),
        (
            "checks:\n  chk1:\n    override: replace\n    level: foo\n    exec: {command: x}\n",
            "plan check \"chk1\" level must be \"alive\" or \"ready\"",
        ),
        (
            "checks:\n  chk1:\n    override: replace\n    startup: foo\n    exec: {command: x}\n",
            "plan check \"chk1\" startup must be \"enabled\" or \"disabled\"",
        ),
        (
            "checks:\n  chk1:\n    override: replace\n    period: 0s\n    exec: {command: x}\n",
            "plan check \"chk1\" period must not be zero",
        ),
        (
            "checks:\n  chk1:\n    override: replace\n    timeout: 0\n    exec: {command: x}\n",
            "plan check \"chk1\" timeout must not be zero",
        ),
        (
            "checks:\n  chk1:\n    override: replace\n    exec:\n      command: foo '\n",
            "plan check \"chk1\" command invalid: EOF found when expecting closing quote",
        ),
        (
            "checks:\n  chk1:\n    override: replace\n    exec:\n      command: foo\n      group: staff\n",
            "plan check \"chk1\" has invalid user/group: must specify user, not just group",
        ),
        (
            "log-targets:\n  t1:\n    override: replace\n    type: foo\n    location: x\n",
            "log target \"t1\" has unsupported type \"foo\", must be \"loki\", \"opentelemetry\" or \"syslog\"",
        ),
        (
            "log-targets:\n  t1:\n    override: replace\n    type: loki\n    location: x\n    labels:\n      pebble_x: y\n",
            "log target \"t1\": label \"pebble_x\" uses reserved prefix \"pebble_\"",
        ),
        // Plan-level validation.
        (
            "checks:\n  c:\n    override: replace\n    http: {}\n",
            "plan must set \"url\" for http check \"c\"",
        ),
        (
            "checks:\n  c:\n    override: replace\n    tcp: {host: x}\n",
            "plan must set \"port\" for tcp check \"c\"",
        ),
        (
            "checks:\n  c:\n    override: replace\n    exec: {}\n",
            "plan must set \"command\" for exec check \"c\"",
        ),
        (
            "checks:\n  c:\n    override: replace\n    exec: {command: x, service-context: nope}\n",
            "plan check \"c\" service context specifies non-existent service \"nope\"",
        ),
        (
            "checks:\n  c:\n    override: replace\n    tcp: {port: 1}\n    exec: {command: x}\n",
            "plan must specify one of \"http\", \"tcp\", or \"exec\" for check \"c\"",
        ),
        (
            "checks:\n  c:\n    exec: {command: x}\n",
            "layer \"layer-0\" must define \"override\" for check \"c\"",
        ),
        (
            "log-targets:\n  t:\n    override: replace\n    location: x\n",
            "plan must define \"type\" (\"loki\", \"opentelemetry\" or \"syslog\") for log target \"t\"",
        ),
        (
            "log-targets:\n  t:\n    override: replace\n    type: loki\n",
            "plan must define \"location\" for log target \"t\"",
        ),
        (
            "log-targets:\n  t:\n    override: replace\n    type: loki\n    location: x\n    services: [-nope]\n",
            "log target \"t\" specifies unknown service \"nope\"",
        ),
        (
            "services:\n  a:\n    override: replace\n    command: x\n    requires: [zz]\n",
            "service \"zz\" does not exist",
        ),
        (
            "services:\n  a:\n    override: replace\n    command: x\n    after: [b]\n  b:\n    override: replace\n    command: x\n    after: [a]\n",
            "services in before/after loop: a, b",
        ),
        (
            "services:\n  a:\n    override: replace\n    command: x\n    before: [b]\n  b:\n    override: replace\n    command: x\n    before: [c]\n  c:\n    override: replace\n    command: x\n    before: [a]\n",
            "services in before/after loop: a, b, c",
        ),
    ];
    for (yaml, want) in cases {
        assert_eq!(plan_err(yaml), *want, "layer:\n{yaml}");
    }
}

#[test]
fn parses_fields_and_scalar_quirks() {
    let l = parse(
        "services:\n  svc1:\n    override: merge\n    command: cmd\n    environment:\n      A: true\n      B: 1.10\n      C:\n      D: 'x'\n      E: 0x10\n    user-id: 10\n    group-id: 20\n    on-success: ignore\n    on-check-failure:\n      chk: shutdown\n    backoff-delay: 1m30s\n    backoff-factor: 1.5\n    kill-delay: 10s\n    after: [a, b]\n    startup: anything\n",
    )
    .unwrap();
    let s = &l.services["svc1"];
    assert_eq!(s.name, "svc1");
    assert_eq!(s.override_, Some(Override::Merge));
    let env: Vec<(&str, &str)> = s
        .environment
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        env,
        [
            ("A", "true"),
            ("B", "1.10"),
            ("C", ""),
            ("D", "x"),
            ("E", "0x10")
        ]
    );
    assert_eq!((s.user_id, s.group_id), (Some(10), Some(20)));
    assert_eq!(s.on_success, Some(ServiceAction::Ignore));
    assert_eq!(s.on_check_failure["chk"], ServiceAction::Shutdown);
    assert_eq!(s.backoff_delay, Some(GoDuration::from_secs(90)));
    assert_eq!(s.backoff_factor, Some(1.5));
    assert_eq!(s.after, ["a", "b"]);
    assert_eq!(s.startup, "anything");
    // Empty documents and null sections are fine.
    assert!(parse("").unwrap().services.is_empty());
    assert!(parse("services:\nchecks: ~\n").unwrap().services.is_empty());
}

#[test]
fn layer_yaml_round_trip() {
    let text = "summary: Simple layer\ndescription: |-\n    A simple layer.\n    Second line.\nservices:\n    srv1:\n        summary: Service summary\n        startup: enabled\n        override: replace\n        command: cmd arg1 \"arg2 arg3\"\n        after:\n            - srv2\n        before:\n            - srv3\n        requires:\n            - srv2\n            - srv3\n        environment:\n            var1: val1\n            var2: val2\n            var10: val10\n        user-id: 1000\n        user: bob\n        on-check-failure:\n            chk1: restart\n        backoff-delay: 1s\n        backoff-factor: 1.5\n        backoff-limit: 1m0s\n        kill-delay: 5s\nchecks:\n    chk1:\n        override: merge\n        period: 10s\n        http:\n            url: https://example.com/\n            headers:\n                X-A: b\nlog-targets:\n    t1:\n        type: loki\n        location: http://x/\n        services: []\n        override: merge\n";
    let layer = parse(text).unwrap();
    assert_eq!(layer.to_yaml(), text);
}

#[test]
fn pairing_section() {
    assert_eq!(
        plan_err("pairing:\n  mode: foo\n"),
        "invalid pairing mode \"foo\": should be \"disabled\", \"single\" or \"multiple\""
    );
    let a = parse("pairing:\n  mode: single\n").unwrap();
    let b = parse_layer(
        2000,
        "b",
        b"services:\n  s:\n    override: replace\n    command: x\n",
    )
    .unwrap();
    let plan = combine_layers(&[a.clone(), b]).unwrap();
    assert_eq!(plan.pairing_mode, "single");
    assert_eq!(
        plan.to_yaml(),
        "services:\n    s:\n        override: replace\n        command: x\npairing:\n    mode: single\n"
    );
    let c = parse_layer(3000, "c", b"pairing:\n  mode: multiple\n").unwrap();
    assert_eq!(combine_layers(&[a, c]).unwrap().pairing_mode, "multiple");
}

/// Appendix C item 5: check sub-objects merge under `override: merge`, so turning an http
/// check into a tcp one by merging keeps the http part and fails validation; `replace` works.
#[test]
fn merging_a_check_into_another_type_is_an_error() {
    let base = parse_layer(
        1,
        "base",
        b"checks:\n  c:\n    override: replace\n    http:\n      url: http://localhost:8080/\n",
    )
    .unwrap();
    let merge = parse_layer(
        2,
        "merge",
        b"checks:\n  c:\n    override: merge\n    tcp:\n      port: 8080\n",
    )
    .unwrap();
    assert_eq!(
        combine_layers(&[base.clone(), merge])
            .unwrap_err()
            .to_string(),
        "plan must specify one of \"http\", \"tcp\", or \"exec\" for check \"c\""
    );
    let replace = parse_layer(
        2,
        "replace",
        b"checks:\n  c:\n    override: replace\n    tcp:\n      port: 8080\n",
    )
    .unwrap();
    let plan = combine_layers(&[base, replace]).unwrap();
    let c = &plan.checks["c"];
    assert!(c.http.is_none() && c.tcp.is_some(), "{c:?}");
}
