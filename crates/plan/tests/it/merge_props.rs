//! Property tests of the merge laws.

use pebble_plan::{GoDuration, Layer, Override, Service, combine_to_layer};
use proptest::prelude::*;
use std::time::Duration;

fn opt_str() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[a-z]{1,6}"]
}

fn service(ov: Override) -> impl Strategy<Value = Service> {
    (
        opt_str(),
        opt_str(),
        prop::collection::vec("[a-z]{1,4}", 0..3),
        prop::collection::btree_map("[A-Z]{1,3}", "[a-z]{0,3}", 0..3),
        prop::option::of(0u32..5000),
        prop::option::of(1u64..100_000),
    )
        .prop_map(
            move |(summary, command, after, environment, user_id, delay)| Service {
                name: "svc".into(),
                override_: Some(ov),
                summary,
                command,
                after,
                environment,
                user_id,
                backoff_delay: delay.map(|ms| GoDuration(Duration::from_millis(ms))),
                ..Service::default()
            },
        )
}

fn layer(label: &str, svc: Service) -> Layer {
    let mut l = Layer {
        label: label.into(),
        ..Layer::default()
    };
    l.services.insert("svc".into(), svc);
    l
}

proptest! {
    #[test]
    fn merge_onto_itself_keeps_scalars(s in service(Override::Merge)) {
        let out = combine_to_layer(&[layer("a", s.clone()), layer("b", s.clone())]).unwrap();
        let m = &out.services["svc"];
        prop_assert_eq!(&m.summary, &s.summary);
        prop_assert_eq!(&m.command, &s.command);
        prop_assert_eq!(m.user_id, s.user_id);
        prop_assert_eq!(m.backoff_delay, s.backoff_delay);
        prop_assert_eq!(&m.environment, &s.environment);
        prop_assert_eq!(m.after.len(), 2 * s.after.len());
    }

    #[test]
    fn replace_discards_earlier(a in service(Override::Merge), b in service(Override::Replace)) {
        let out = combine_to_layer(&[layer("a", a), layer("b", b.clone())]).unwrap();
        prop_assert_eq!(&out.services["svc"], &b);
    }

    #[test]
    fn merge_is_associative_on_scalars(
        a in service(Override::Merge), b in service(Override::Merge), c in service(Override::Merge)
    ) {
        let left = combine_to_layer(&[
            combine_to_layer(&[layer("a", a.clone()), layer("b", b.clone())]).unwrap(),
            layer("c", c.clone()),
        ]).unwrap();
        let mut bc = combine_to_layer(&[layer("b", b), layer("c", c)]).unwrap();
        // The combined layer keeps the first override; make it merge for the outer combine.
        for s in bc.services.values_mut() { s.override_ = Some(Override::Merge); }
        let right = combine_to_layer(&[layer("a", a), bc]).unwrap();
        let (l, r) = (&left.services["svc"], &right.services["svc"]);
        prop_assert_eq!(&l.summary, &r.summary);
        prop_assert_eq!(&l.command, &r.command);
        prop_assert_eq!(l.user_id, r.user_id);
        prop_assert_eq!(l.backoff_delay, r.backoff_delay);
        prop_assert_eq!(&l.environment, &r.environment);
        prop_assert_eq!(&l.after, &r.after);
    }

    #[test]
    fn list_lengths_add_up(a in service(Override::Replace), b in service(Override::Merge)) {
        let out = combine_to_layer(&[layer("a", a.clone()), layer("b", b.clone())]).unwrap();
        prop_assert_eq!(out.services["svc"].after.len(), a.after.len() + b.after.len());
    }

    #[test]
    fn durations_round_trip(ns in 0i64..i64::MAX) {
        let s = pebble_plan::go_duration::format_nanos(ns);
        prop_assert_eq!(pebble_plan::go_duration::parse_nanos(&s).unwrap(), ns);
    }

    #[test]
    fn plan_yaml_reparses(s in service(Override::Replace)) {
        prop_assume!(!s.command.is_empty());
        let l = layer("a", s);
        let text = l.to_yaml();
        let back = pebble_plan::parse_layer(0, "a", text.as_bytes()).unwrap();
        prop_assert_eq!(&back.services["svc"], &l.services["svc"]);
    }
}
