//! Start/stop lanes (examples from Pebble's tests, §1.8).

use pebble_plan::{Plan, combine_layers, parse_layer};
use pretty_assertions::assert_eq;

fn plan(yaml: &str) -> Plan {
    combine_layers(&[parse_layer(1000, "base", yaml.as_bytes()).unwrap()]).unwrap()
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn chain_is_one_lane() {
    let p = plan(
        "services:\n  srv1:\n    override: replace\n    command: x\n    requires: [srv2]\n    before: [srv2]\n  srv2:\n    override: replace\n    command: x\n    requires: [srv3]\n    before: [srv3]\n  srv3:\n    override: replace\n    command: x\n",
    );
    assert_eq!(
        p.start_order(&names(&["srv1"])).unwrap(),
        vec![names(&["srv1", "srv2", "srv3"])]
    );
    assert_eq!(
        p.stop_order(&names(&["srv3"])).unwrap(),
        vec![names(&["srv3", "srv2", "srv1"])]
    );
}

#[test]
fn independent_services_get_own_lanes() {
    let three = "services:\n  srv1:\n    override: replace\n    command: x\n  srv2:\n    override: replace\n    command: x\n  srv3:\n    override: replace\n    command: x\n";
    let p = plan(three);
    let all = names(&["srv1", "srv2", "srv3"]);
    let want = vec![names(&["srv1"]), names(&["srv2"]), names(&["srv3"])];
    assert_eq!(p.start_order(&all).unwrap(), want);
    assert_eq!(p.stop_order(&all).unwrap(), want);
    let p = plan(&format!(
        "{three}  srv4:\n    override: replace\n    command: x\n    requires: [srv1]\n    after: [srv1]\n"
    ));
    let all = names(&["srv1", "srv2", "srv3", "srv4"]);
    assert_eq!(
        p.start_order(&all).unwrap(),
        vec![names(&["srv1", "srv4"]), names(&["srv2"]), names(&["srv3"])]
    );
    assert_eq!(
        p.stop_order(&all).unwrap(),
        vec![names(&["srv4", "srv1"]), names(&["srv2"]), names(&["srv3"])]
    );
    // Stopping srv1 also stops srv4, which requires it.
    assert_eq!(
        p.stop_order(&names(&["srv1"])).unwrap(),
        vec![names(&["srv4", "srv1"])]
    );
    assert_eq!(
        p.start_order(&names(&["srv4"])).unwrap(),
        vec![names(&["srv1", "srv4"])]
    );
    assert_eq!(
        p.start_order(&names(&["nope"])).unwrap_err().to_string(),
        "service \"nope\" does not exist"
    );
}

#[test]
fn startup_enabled() {
    let p = plan(
        "services:\n  b:\n    override: replace\n    command: x\n    startup: enabled\n  a:\n    override: replace\n    command: x\n    startup: enabled\n  c:\n    override: replace\n    command: x\n",
    );
    assert_eq!(p.startup_enabled_services(), names(&["a", "b"]));
}

/// Appendix C item 1: `requires` pulls services in but does not order them: without
/// `after`/`before` the lane follows name order, so the requirer may come first.
#[test]
fn requires_does_not_order() {
    let p = plan(
        "services:\n  a:\n    override: replace\n    command: x\n    requires: [b]\n  b:\n    override: replace\n    command: x\n",
    );
    assert_eq!(
        p.start_order(&names(&["a"])).unwrap(),
        vec![names(&["a", "b"])]
    );
}

/// Appendix C item 1: `after`/`before` between services not linked by `requires` do not
/// serialise them: each gets its own lane (lanes run concurrently), ordered but separate.
#[test]
fn after_without_requires_gives_separate_lanes() {
    let p = plan(
        "services:\n  a:\n    override: replace\n    command: x\n    after: [b]\n  b:\n    override: replace\n    command: x\n  c:\n    override: replace\n    command: x\n    before: [b]\n",
    );
    let all = names(&["a", "b", "c"]);
    assert_eq!(
        p.start_order(&all).unwrap(),
        vec![names(&["c"]), names(&["b"]), names(&["a"])]
    );
    assert_eq!(
        p.stop_order(&all).unwrap(),
        vec![names(&["a"]), names(&["b"]), names(&["c"])]
    );
}

/// Appendix C item 1: unknown names in `after`/`before` are ignored; in `requires` they
/// make the plan invalid.
#[test]
fn unknown_after_before_ignored_unknown_requires_fatal() {
    let p = plan(
        "services:\n  a:\n    override: replace\n    command: x\n    after: [ghost1]\n    before: [ghost2]\n",
    );
    assert_eq!(p.start_order(&names(&["a"])).unwrap(), vec![names(&["a"])]);
    assert_eq!(p.stop_order(&names(&["a"])).unwrap(), vec![names(&["a"])]);
    let layer = parse_layer(
        1000,
        "base",
        b"services:\n  a:\n    override: replace\n    command: x\n    requires: [ghost]\n",
    )
    .unwrap();
    assert_eq!(
        combine_layers(&[layer]).unwrap_err().to_string(),
        "service \"ghost\" does not exist"
    );
}
