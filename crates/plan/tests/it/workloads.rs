//! The `workloads` extension section: parsing, merging, validation and YAML output.

use pebble_plan::{Override, PlanError, Workload, combine_layers, parse_layer};
use pretty_assertions::assert_eq;

fn layer(order: i64, label: &str, yaml: &str) -> pebble_plan::Layer {
    parse_layer(order, label, yaml.as_bytes()).unwrap()
}

/// The error of parsing then combining one layer.
fn err(yaml: &str) -> PlanError {
    match parse_layer(1000, "base", yaml.as_bytes()) {
        Err(e) => e,
        Ok(l) => combine_layers(&[l]).unwrap_err(),
    }
}

#[test]
fn parses_every_field() {
    let l = layer(
        1000,
        "base",
        "workloads:\n  w:\n    override: replace\n    environment:\n      A: 1\n      B: x\n    user-id: 10\n    user: u\n    group-id: 20\n    group: g\n",
    );
    let w = &l.workloads["w"];
    assert_eq!(w.name, "w");
    assert_eq!(w.override_, Some(Override::Replace));
    assert_eq!(w.environment["A"], "1");
    assert_eq!(w.environment["B"], "x");
    assert_eq!((w.user_id, w.user.as_str()), (Some(10), "u"));
    assert_eq!((w.group_id, w.group.as_str()), (Some(20), "g"));
    // An empty section is fine and adds nothing.
    assert!(layer(1, "e", "workloads: {}\n").workloads.is_empty());
    assert!(layer(1, "e", "workloads:\n").workloads.is_empty());
}

#[test]
fn layer_errors_are_pebbles() {
    let cases: &[(&str, &str, bool)] = &[
        (
            "workloads:\n  w:\n    override: replace\n    future: 1\n",
            "cannot parse the \"workloads\" section: yaml: unmarshal errors:\n  line 3: field future not found in type workloads.Workload",
            true,
        ),
        (
            "workloads:\n  w:\n    override: replace\n    user-id: x\n",
            "cannot parse the \"workloads\" section: yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str `x` into int",
            true,
        ),
        (
            "workloads:\n  w:\n    override: replace\n    override: merge\n",
            "cannot parse the \"workloads\" section: yaml: unmarshal errors:\n  line 3: mapping key \"override\" already defined at line 2",
            true,
        ),
        (
            "workloads: 5\n",
            "cannot parse the \"workloads\" section: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!int `5` into workloads.WorkloadsSection",
            true,
        ),
        (
            "workloads:\n  w: x\n",
            "cannot parse the \"workloads\" section: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `x` into workloads.Workload",
            true,
        ),
        (
            "workloads:\n  w:\n",
            "workload \"w\": cannot have a null value",
            true,
        ),
        (
            "workloads:\n  w: ~\n",
            "workload \"w\": cannot have a null value",
            true,
        ),
        (
            "workloads:\n  \"\":\n    override: replace\n",
            "workload \"\": cannot have an empty name",
            true,
        ),
        (
            "workloads:\n  w:\n    environment:\n      A: b\n",
            "workload \"w\": must define an \"override\" policy",
            false,
        ),
        (
            "workloads:\n  w: {}\n",
            "workload \"w\": must define an \"override\" policy",
            false,
        ),
        (
            "workloads:\n  w:\n    override: foo\n",
            "workload \"w\": has an invalid \"override\" policy: \"foo\"",
            false,
        ),
        (
            "services:\n  s:\n    override: replace\n    command: x\n    workload: nope\n",
            "workload \"nope\": not defined for service \"s\"",
            false,
        ),
        (
            "workloads:\n  w:\n    override: replace\nservices:\n  s:\n    override: replace\n    command: x\n    workload: w\n    user: bob\n",
            "plan service \"s\" cannot have user information and a workload at the same time",
            false,
        ),
        (
            "workloads:\n  w:\n    override: replace\nservices:\n  s:\n    override: replace\n    command: x\n    workload: w\n    user-id: 0\n",
            "plan service \"s\" cannot have user information and a workload at the same time",
            false,
        ),
        (
            "workloads:\n  w:\n    override: replace\nservices:\n  s:\n    override: replace\n    command: x\n    workload: w\n    group: adm\n",
            "plan service \"s\" cannot have group information and a workload at the same time",
            false,
        ),
        (
            "workloads:\n  w:\n    override: replace\nservices:\n  s:\n    override: replace\n    command: x\n    workload: w\n    group-id: 4\n",
            "plan service \"s\" cannot have group information and a workload at the same time",
            false,
        ),
    ];
    for (yaml, want, is_parse) in cases {
        let e = err(yaml);
        assert_eq!(e.to_string(), *want, "for {yaml:?}");
        assert_eq!(e.is_parse(), *is_parse, "for {yaml:?}");
    }
}

#[test]
fn merges_and_replaces_across_layers() {
    let a = layer(
        1000,
        "a",
        "workloads:\n  w:\n    override: replace\n    environment:\n      A: a\n      B: a\n    user: alice\n  v:\n    override: replace\n    user-id: 5\n",
    );
    let b = layer(
        2000,
        "b",
        "workloads:\n  w:\n    override: merge\n    environment:\n      B: b\n      C: b\n    group: staff\n  v:\n    override: replace\n    group-id: 7\n    user-id: 6\n  n:\n    override: merge\n    user: nn\n",
    );
    let plan = combine_layers(&[a, b]).unwrap();
    let w = &plan.workloads["w"];
    assert_eq!(
        w.override_,
        Some(Override::Replace),
        "merge keeps the first override"
    );
    let env: Vec<_> = w
        .environment
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    assert_eq!(env, ["A=a", "B=b", "C=b"]);
    assert_eq!((w.user.as_str(), w.group.as_str()), ("alice", "staff"));
    let v = &plan.workloads["v"];
    assert_eq!((v.user_id, v.group_id), (Some(6), Some(7)));
    assert_eq!(plan.workloads["n"].user, "nn");
    let names: Vec<_> = plan.workloads.keys().cloned().collect();
    assert_eq!(names, ["n", "v", "w"]);
}

#[test]
fn plan_yaml_has_workloads_after_builtins_and_before_pairing() {
    let a = layer(
        1000,
        "a",
        "pairing:\n  mode: single\nworkloads:\n  wb:\n    group: g\n    user: u\n    group-id: 2\n    user-id: 1\n    environment:\n      Z: z\n      A: \"1\"\n    override: replace\n  wa:\n    override: merge\nservices:\n  s:\n    override: replace\n    command: x\n    workload: wb\n    environment:\n      A: svc\n",
    );
    let plan = combine_layers(std::slice::from_ref(&a)).unwrap();
    let want = "services:\n    s:\n        override: replace\n        command: x\n        workload: wb\n        environment:\n            A: svc\nworkloads:\n    wa:\n        override: merge\n    wb:\n        override: replace\n        environment:\n            A: \"1\"\n            Z: z\n        user-id: 1\n        user: u\n        group-id: 2\n        group: g\npairing:\n    mode: single\n";
    assert_eq!(plan.to_yaml(), want);
    // A layer prints its workloads the same way.
    assert!(a.to_yaml().contains(
        "workloads:\n    wa:\n        override: merge\n    wb:\n        override: replace\n"
    ));
    // The plan output parses back to the same workloads.
    let back = parse_layer(1, "back", want.as_bytes()).unwrap();
    assert_eq!(combine_layers(&[back]).unwrap().workloads, plan.workloads);
}

#[test]
fn resolved_service_layers_the_service_over_its_workload() {
    let a = layer(
        1000,
        "a",
        "workloads:\n  w:\n    override: replace\n    environment:\n      A: w\n      B: w\n    user: bob\n    group-id: 9\nservices:\n  s:\n    override: replace\n    command: x\n    workload: w\n    environment:\n      B: s\n  plain:\n    override: replace\n    command: y\n    user: carol\n",
    );
    let plan = combine_layers(&[a]).unwrap();
    let s = plan.resolved_service("s").unwrap();
    assert_eq!(s.environment["A"], "w");
    assert_eq!(s.environment["B"], "s");
    assert_eq!((s.user.as_str(), s.group_id), ("bob", Some(9)));
    assert_eq!(s.user_id, None);
    let p = plan.resolved_service("plain").unwrap();
    assert_eq!(&p, &plan.services["plain"]);
    assert!(plan.resolved_service("nope").is_none());
}

#[test]
fn workload_users_are_validated_with_the_given_database() {
    let a = layer(
        1000,
        "a",
        "workloads:\n  b:\n    override: replace\n    group-id: 4\n  a:\n    override: replace\n    user: alice\n",
    );
    let plan = combine_layers(&[a]).unwrap();
    let db = pebble_plan::UserDb::parse(
        "alice:x:1000:1000::/home/alice:/bin/sh\n",
        "alice:x:1000:\n",
    );
    let check = |w: &Workload| {
        pebble_plan::normalize_uid_gid(w.user_id, &w.user, w.group_id, &w.group, &db)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        plan.validate_workload_users(check).unwrap_err().to_string(),
        "workload \"b\": must specify user, not just group"
    );
    let ok = layer(
        1,
        "ok",
        "workloads:\n  a:\n    override: replace\n    user: alice\n",
    );
    combine_layers(&[ok])
        .unwrap()
        .validate_workload_users(check)
        .unwrap();
}
