//! Golden vectors from Go Pebble v1.32.1 (golden/api-basics.md, golden/cli.md).

use pebble_plan::{Plan, add_layer, combine_layers, parse_layer};
use pretty_assertions::assert_eq;

pub const BASE_LAYER: &str = r#"summary: golden base layer
description: Services, checks and a log target used by the golden capture.
services:
  alpha:
    override: replace
    summary: Prints numbered lines
    command: /srv/golden/bin/ticker.sh alpha
    startup: enabled
  beta:
    override: replace
    command: /bin/sh -c "echo 'beta ready <ok> & done'; exec sleep 100000"
    startup: enabled
    environment:
      GREETING: hello
  gamma:
    override: replace
    command: sleep 100000
  www:
    override: replace
    command: /usr/bin/python3 /srv/golden/bin/httpd.py 18080
    startup: enabled
  quickfail:
    override: replace
    command: /bin/sh -c "echo quickfail out; echo quickfail err >&2; exit 1"
    backoff-delay: 30s
  ignorefail:
    override: replace
    command: /bin/sh -c "echo ignorefail out; exit 2"
    on-failure: ignore
checks:
  chk-http:
    override: replace
    level: ready
    startup: disabled
    period: 1s
    http:
      url: http://127.0.0.1:18080/health
  chk-tcp:
    override: replace
    level: alive
    startup: disabled
    period: 1s
    tcp:
      port: 18080
      host: 127.0.0.1
  chk-exec:
    override: replace
    startup: disabled
    period: 1s
    threshold: 2
    exec:
      command: /bin/sh -c "echo exec check failing; exit 1"
log-targets:
  tgt1:
    override: replace
    type: loki
    location: http://127.0.0.1:3100/loki/api/v1/push
    services: [gamma]
    labels:
      env: golden
"#;

/// Exchange #38: the plan after adding `base` and combining a summary change into alpha.
const PLAN_38: &str = r#"services:
    alpha:
        summary: Prints numbered lines (combined)
        startup: enabled
        override: replace
        command: /srv/golden/bin/ticker.sh alpha
    beta:
        startup: enabled
        override: replace
        command: /bin/sh -c "echo 'beta ready <ok> & done'; exec sleep 100000"
        environment:
            GREETING: hello
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
    www:
        startup: enabled
        override: replace
        command: /usr/bin/python3 /srv/golden/bin/httpd.py 18080
checks:
    chk-exec:
        override: replace
        startup: disabled
        period: 1s
        threshold: 2
        exec:
            command: /bin/sh -c "echo exec check failing; exit 1"
    chk-http:
        override: replace
        level: ready
        startup: disabled
        period: 1s
        threshold: 3
        http:
            url: http://127.0.0.1:18080/health
    chk-tcp:
        override: replace
        level: alive
        startup: disabled
        period: 1s
        threshold: 3
        tcp:
            port: 18080
            host: 127.0.0.1
log-targets:
    tgt1:
        type: loki
        location: http://127.0.0.1:3100/loki/api/v1/push
        services:
            - gamma
        override: replace
        labels:
            env: golden
"#;

fn api_add(
    layers: &[pebble_plan::Layer],
    label: &str,
    yaml: &str,
    combine: bool,
) -> Result<(Vec<pebble_plan::Layer>, Plan), String> {
    let layer = parse_layer(0, label, yaml.as_bytes()).map_err(|e| {
        if e.is_parse() {
            format!("cannot parse layer YAML: {e}")
        } else {
            e.to_string()
        }
    })?;
    let stack = add_layer(layers, layer, combine, false).map_err(|e| e.to_string())?;
    let plan = combine_layers(&stack).map_err(|e| e.to_string())?;
    Ok((stack, plan))
}

#[test]
fn exchange_38_plan_yaml() {
    assert_eq!(Plan::default().to_yaml(), "{}\n");
    let (stack, _) = api_add(&[], "base", BASE_LAYER, false).unwrap();
    assert_eq!(stack[0].order, 1000);
    // #21: duplicate label without combine.
    let dup =
        "services:\n  alpha:\n    override: merge\n    summary: Prints numbered lines (combined)\n";
    assert_eq!(
        api_add(&stack, "base", dup, false).unwrap_err(),
        "layer \"base\" already exists"
    );
    // #22: combine.
    let (stack, plan) = api_add(&stack, "base", dup, true).unwrap();
    assert_eq!(stack.len(), 1);
    assert_eq!(stack[0].order, 1000);
    assert_eq!(plan.to_yaml(), PLAN_38);
    insta::assert_snapshot!(plan.to_yaml().lines().take(6).collect::<Vec<_>>().join("\n"), @r"
    services:
        alpha:
            summary: Prints numbered lines (combined)
            startup: enabled
            override: replace
            command: /srv/golden/bin/ticker.sh alpha
    ");
}

#[test]
fn cli_plan_output() {
    let layer = r#"summary: golden CLI layer
services:
  alpha:
    override: replace
    command: /srv/golden/bin/ticker.sh alpha
    startup: enabled
  gamma:
    override: replace
    command: sleep 100000
checks:
  chk-tcp:
    override: replace
    level: alive
    startup: disabled
    period: 1s
    tcp:
      port: 18080
"#;
    let (_, plan) = api_add(&[], "base", layer, false).unwrap();
    // Adding the same layer again with combine keeps the output the same.
    let (_, plan2) = api_add(&plan.layers, "base", layer, true).unwrap();
    let want = "services:\n    alpha:\n        startup: enabled\n        override: replace\n        command: /srv/golden/bin/ticker.sh alpha\n    gamma:\n        override: replace\n        command: sleep 100000\nchecks:\n    chk-tcp:\n        override: replace\n        level: alive\n        startup: disabled\n        period: 1s\n        threshold: 3\n        tcp:\n            port: 18080\n";
    assert_eq!(plan.to_yaml(), want);
    assert_eq!(plan2.to_yaml(), want);
}

#[test]
fn golden_layer_errors() {
    let cases: &[(&str, &str, &str)] = &[
        // (label, layer, message as the API shows it)
        (
            "unk",
            "services:\n  x:\n    override: replace\n    command: sleep 1\n    bogus-field: 1\n",
            "cannot parse layer YAML: cannot parse layer \"unk\" section \"services\": yaml: unmarshal errors:\n  line 4: field bogus-field not found in type plan.Service",
        ),
        (
            "unktop",
            "bogus-top: 1\n",
            "cannot parse layer YAML: cannot parse layer \"unktop\": unknown section \"bogus-top\"",
        ),
        (
            "noover",
            "services:\n  x:\n    command: sleep 1\n",
            "layer \"noover\" must define \"override\" for service \"x\"",
        ),
        (
            "baddur",
            "services:\n  x:\n    override: replace\n    command: sleep 1\n    backoff-delay: 5 parsecs\n",
            "cannot parse layer YAML: cannot parse layer \"baddur\" section \"services\": invalid duration \"5 parsecs\"",
        ),
        (
            "badact",
            "services:\n  x:\n    override: replace\n    command: sleep 1\n    on-failure: explode\n",
            "cannot parse layer YAML: plan service \"x\" on-failure action \"explode\" invalid",
        ),
        (
            "nocmd",
            "services:\n  x:\n    override: replace\n",
            "plan must define \"command\" for service \"x\"",
        ),
        (
            "badchk",
            "checks:\n  c:\n    override: replace\n    period: 1s\n",
            "plan must specify one of \"http\", \"tcp\", or \"exec\" for check \"c\"",
        ),
        (
            "pebble-x",
            "services: {}\n",
            "cannot parse layer YAML: cannot use reserved label prefix \"pebble-\"",
        ),
    ];
    for (label, yaml, want) in cases {
        assert_eq!(
            api_add(&[], label, yaml, false).unwrap_err(),
            *want,
            "{label}"
        );
    }
    // Bad YAML keeps Pebble's prefix; the parser's text differs from go-yaml's.
    let err = api_add(&[], "bad", "services:\n  x: [unclosed\n", false).unwrap_err();
    assert!(
        err.starts_with("cannot parse layer YAML: cannot parse layer \"bad\": yaml: line "),
        "{err}"
    );
    // Labels are barely validated.
    assert!(api_add(&[], "badlabel!", "services: {}\n", false).is_ok());
}

#[test]
fn yaml_syntax_error_text() {
    let err = parse_layer(0, "bad", b"services:\n  x: [unclosed\n").unwrap_err();
    // Go: `cannot parse layer "bad": yaml: line 1: did not find expected ',' or ']'`.
    insta::assert_snapshot!(err.to_string(), @r#"cannot parse layer "bad": yaml: line 2: unclosed bracket '['"#);
}

/// Appendix C item 6: of a check's defaults only `threshold` (3) is shown in the plan;
/// `level`, `startup`, `period` and `timeout` are not.
#[test]
fn check_threshold_default_is_the_only_default_shown() {
    let (_, plan) = api_add(
        &[],
        "base",
        "checks:\n  c:\n    override: replace\n    exec:\n      command: true\n",
        false,
    )
    .unwrap();
    assert_eq!(
        plan.to_yaml(),
        "checks:\n    c:\n        override: replace\n        threshold: 3\n        exec:\n            command: \"true\"\n"
    );
}
