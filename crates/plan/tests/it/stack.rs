//! Adding layers to the stack: orders, sub-directories, combine in place.

use pebble_plan::{Layer, PlanError, add_layer, combine_layers, parse_layer};
use pretty_assertions::assert_eq;

fn layer(label: &str) -> Layer {
    parse_layer(
        0,
        label,
        b"services:\n  s:\n    override: merge\n    command: x\n",
    )
    .unwrap()
}

fn labels_orders(v: &[Layer]) -> Vec<(String, i64)> {
    v.iter().map(|l| (l.label.clone(), l.order)).collect()
}

#[test]
fn append_orders_and_subdirectories() {
    let s = add_layer(&[], layer("a"), false, false).unwrap();
    let s = add_layer(&s, layer("b"), false, false).unwrap();
    let s = add_layer(&s, layer("d/x"), false, false).unwrap();
    let s = add_layer(&s, layer("d/y"), false, false).unwrap();
    assert_eq!(
        labels_orders(&s),
        [
            ("a".into(), 1000),
            ("b".into(), 2000),
            ("d/x".into(), 3001),
            ("d/y".into(), 3002)
        ]
    );
    let s = add_layer(&s, layer("e"), false, false).unwrap();
    // Inserting into d/ now needs `inner`.
    assert_eq!(
        add_layer(&s, layer("d/z"), false, false)
            .unwrap_err()
            .to_string(),
        "cannot insert sub-directory layer without 'inner' attribute set"
    );
    let s = add_layer(&s, layer("d/z"), false, true).unwrap();
    assert_eq!(
        labels_orders(&s),
        [
            ("a".into(), 1000),
            ("b".into(), 2000),
            ("d/x".into(), 3001),
            ("d/y".into(), 3002),
            ("d/z".into(), 3003),
            ("e".into(), 4000)
        ]
    );
    assert_eq!(
        add_layer(&s, layer("a"), false, false).unwrap_err(),
        PlanError::LabelExists("a".into())
    );
}

#[test]
fn combine_in_place_keeps_order() {
    let s = add_layer(&[], layer("a"), false, false).unwrap();
    let s = add_layer(&s, layer("b"), false, false).unwrap();
    let extra = parse_layer(
        0,
        "a",
        b"summary: new\nservices:\n  s:\n    override: merge\n    environment: {K: v}\n",
    )
    .unwrap();
    let s = add_layer(&s, extra, true, false).unwrap();
    assert_eq!(labels_orders(&s), [("a".into(), 1000), ("b".into(), 2000)]);
    assert_eq!(s[0].summary, "new");
    assert_eq!(s[0].services["s"].environment["K"], "v");
    assert_eq!(s[0].services["s"].command, "x");
    // Combine with an unknown label appends.
    let s = add_layer(&s, layer("c"), true, false).unwrap();
    assert_eq!(s[2].order, 3000);
    assert!(combine_layers(&s).is_ok());
}
