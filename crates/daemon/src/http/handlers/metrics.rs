//! `GET /v1/metrics` (metrics access): service and check counters in the OpenMetrics-style
//! text format of Pebble 1.32.1.
//!
//! Each metric is written as a `# HELP` line, a `# TYPE` line, one sample
//! `name{label="value"} N` (the label value quoted like Go's `%q`) and a blank line. Services
//! come first (every service the manager has started at least once, by name: `active` gauge then
//! `start_count` counter), then checks (by name: the `up` gauge only while the check is up, then
//! the success and failure counters). An empty body is sent without a content type, as Go does.

use crate::checks::{CheckManager, CheckMetrics};
use crate::http::body::Body;
use crate::http::envelope::Resp;
use crate::http::router::Req;
use crate::servstate::ServiceMetrics;
use http::{HeaderValue, header};
use pebble_plan::quote::go_quote;
use std::fmt::Write as _;

/// `text/plain; charset=utf-8`, what Go's content sniffing gives the text.
const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

/// Kind of a metric (its `# TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// Append one metric with a single label.
fn write_metric(
    out: &mut String,
    name: &str,
    kind: Kind,
    help: &str,
    label: (&str, &str),
    value: u64,
) {
    let _ = write!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {}\n{name}{{{}={}}} {value}\n\n",
        kind.as_str(),
        label.0,
        go_quote(label.1),
    );
}

/// Render the metrics text of `services` then `checks` (each already sorted by name).
pub fn render(services: &[ServiceMetrics], checks: &[CheckMetrics]) -> String {
    let mut out = String::with_capacity(400 * services.len() + 450 * checks.len());
    for s in services {
        let label = ("service", s.name.as_str());
        write_metric(
            &mut out,
            "pebble_service_active",
            Kind::Gauge,
            "Whether the service is currently active (1) or not (0)",
            label,
            u64::from(s.active),
        );
        write_metric(
            &mut out,
            "pebble_service_start_count",
            Kind::Counter,
            "Number of times the service has started",
            label,
            s.start_count,
        );
    }
    for c in checks {
        let label = ("check", c.name.as_str());
        if c.active && c.up {
            write_metric(
                &mut out,
                "pebble_check_up",
                Kind::Gauge,
                "Whether the health check is up (1) or not (0)",
                label,
                1,
            );
        }
        write_metric(
            &mut out,
            "pebble_check_success_count",
            Kind::Counter,
            "Number of times the check has succeeded",
            label,
            c.successes,
        );
        write_metric(
            &mut out,
            "pebble_check_failure_count",
            Kind::Counter,
            "Number of times the check has failed",
            label,
            c.failures,
        );
    }
    out
}

/// `GET /v1/metrics`.
pub async fn metrics(req: Req) -> Resp {
    let services = req.daemon.services().metrics();
    let checks = req
        .daemon
        .extension::<CheckManager>()
        .map(|m| m.metrics())
        .unwrap_or_default();
    let text = render(&services, &checks);
    if text.is_empty() {
        return http::Response::new(Body::empty());
    }
    let mut resp = http::Response::new(Body::go_framed(text));
    // Go writes a sniffed content type after `Date`.
    resp.headers_mut()
        .insert(header::DATE, crate::http::server::date_value());
    resp.headers_mut().insert(header::CONTENT_TYPE, TEXT);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(name: &str, active: bool, start_count: u64) -> ServiceMetrics {
        ServiceMetrics {
            name: name.into(),
            active,
            start_count,
        }
    }

    fn chk(name: &str, active: bool, up: bool, successes: u64, failures: u64) -> CheckMetrics {
        CheckMetrics {
            name: name.into(),
            active,
            up,
            successes,
            failures,
        }
    }

    /// The body of golden exchange `api-checks-notices-misc.md` #25, byte for byte.
    const GOLDEN_25: &str = include_str!("testdata/metrics-golden-25.txt");

    #[test]
    fn renders_the_golden_body() {
        let services = [
            svc("alpha", true, 1),
            svc("beta", true, 4),
            svc("gamma", true, 5),
            svc("ignorefail", false, 1),
            svc("quickfail", false, 1),
            svc("www", true, 1),
        ];
        let checks = [
            // Down (threshold reached): no up gauge.
            chk("chk-exec", true, false, 0, 3),
            chk("chk-http", true, true, 3, 0),
            chk("chk-tcp", true, true, 2, 0),
        ];
        let text = render(&services, &checks);
        assert_eq!(text.len(), 3198);
        assert_eq!(text, GOLDEN_25);
    }

    #[test]
    fn nothing_renders_empty() {
        assert_eq!(render(&[], &[]), "");
    }

    #[test]
    fn inactive_check_has_no_up_gauge() {
        let text = render(&[], &[chk("c1", false, false, 0, 0)]);
        assert_eq!(
            text,
            "# HELP pebble_check_success_count Number of times the check has succeeded\n\
             # TYPE pebble_check_success_count counter\n\
             pebble_check_success_count{check=\"c1\"} 0\n\n\
             # HELP pebble_check_failure_count Number of times the check has failed\n\
             # TYPE pebble_check_failure_count counter\n\
             pebble_check_failure_count{check=\"c1\"} 0\n\n"
        );
    }

    #[test]
    fn label_values_are_go_quoted() {
        let text = render(&[svc("a\"b\\c\u{1}", false, 0)], &[]);
        assert!(
            text.contains("pebble_service_active{service=\"a\\\"b\\\\c\\x01\"} 0\n"),
            "{text}"
        );
    }
}
