//! `GET /v1/metrics` over the socket and the `--http` listener: service start counts and
//! active state, check counters, and who may read the metrics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{TestDaemon, wait_until};

/// The value of the sample `name{label="value"}` in a metrics text, if present.
fn sample(text: &str, name: &str, label: &str, value: &str) -> Option<u64> {
    let prefix = format!("{name}{{{label}=\"{value}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.parse().unwrap())
}

const LAYER: &str = r#"
services:
  svc:
    override: replace
    command: sleep 1000
  never:
    override: replace
    command: sleep 1000
checks:
  good:
    override: replace
    period: 100ms
    exec:
      command: "true"
  bad:
    override: replace
    period: 100ms
    threshold: 1
    exec:
      command: "false"
  idle:
    override: replace
    startup: disabled
    period: 100ms
    exec:
      command: "true"
"#;

#[tokio::test]
async fn start_counts_active_state_and_check_counters() {
    let d = TestDaemon::start().await;

    // Nothing started and no checks: an empty body without a content type.
    let r = d.get("/v1/metrics").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"");
    assert_eq!(r.header("Content-Length"), Some("0"));
    assert_eq!(r.header("Content-Type"), None);

    assert_eq!(d.add_layer("base", LAYER, false).await.status, 200);
    d.service_action("start", &["svc"]).await;
    d.service_action("stop", &["svc"]).await;
    let text = d.get("/v1/metrics").await.text();
    assert_eq!(
        sample(&text, "pebble_service_start_count", "service", "svc"),
        Some(1)
    );
    assert_eq!(
        sample(&text, "pebble_service_active", "service", "svc"),
        Some(0)
    );
    d.service_action("start", &["svc"]).await;

    wait_until(|| async {
        let text = d.get("/v1/metrics").await.text();
        sample(&text, "pebble_check_success_count", "check", "good").unwrap_or(0) >= 2
            && sample(&text, "pebble_check_failure_count", "check", "bad").unwrap_or(0) >= 2
    })
    .await;
    let r = d.get("/v1/metrics").await;
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    let text = r.text();
    // Started twice, running now.
    assert_eq!(
        sample(&text, "pebble_service_start_count", "service", "svc"),
        Some(2)
    );
    assert_eq!(
        sample(&text, "pebble_service_active", "service", "svc"),
        Some(1)
    );
    // Never started: not listed.
    assert!(!text.contains("service=\"never\""), "{text}");
    // Up: gauge 1, no failures.
    assert_eq!(sample(&text, "pebble_check_up", "check", "good"), Some(1));
    assert_eq!(
        sample(&text, "pebble_check_failure_count", "check", "good"),
        Some(0)
    );
    // Down (threshold 1): no up gauge, no successes.
    assert_eq!(sample(&text, "pebble_check_up", "check", "bad"), None);
    assert_eq!(
        sample(&text, "pebble_check_success_count", "check", "bad"),
        Some(0)
    );
    // Inactive (startup: disabled): counters only.
    assert_eq!(sample(&text, "pebble_check_up", "check", "idle"), None);
    assert_eq!(
        sample(&text, "pebble_check_success_count", "check", "idle"),
        Some(0)
    );
    assert_eq!(
        sample(&text, "pebble_check_failure_count", "check", "idle"),
        Some(0)
    );
    // Services come before checks, each metric followed by a blank line.
    assert!(text.starts_with(
        "# HELP pebble_service_active Whether the service is currently active (1) or not (0)\n\
         # TYPE pebble_service_active gauge\n\
         pebble_service_active{service=\"svc\"} 1\n\n"
    ));
    assert!(text.ends_with("pebble_check_failure_count{check=\"idle\"} 0\n\n"));
    // Stop the service with the daemon (no process left behind).
    assert_eq!(d.stop().await.0, 0);
}

fn set_own_access(access: &str) -> String {
    let uid = nix::unistd::getuid().as_raw();
    format!(
        r#"{{"action":"replace","identities":{{"me":{{"access":"{access}","local":{{"user-id":{uid}}}}}}}}}"#
    )
}

#[tokio::test]
async fn socket_callers_need_metrics_read_or_admin_access() {
    // Our own uid demoted by a local identity (one daemon per level: only admins edit
    // identities). Over the socket read users may read metrics too, as in Pebble.
    for (access, metrics, services) in [
        ("admin", 200, 200),
        ("read", 200, 200),
        ("metrics", 200, 401),
        ("untrusted", 401, 401),
    ] {
        let d = TestDaemon::start().await;
        let r = d.post("/v1/identities", &set_own_access(access)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let r = d.get("/v1/metrics").await;
        assert_eq!(r.status, metrics, "{access}: {}", r.text());
        if metrics == 401 {
            assert_eq!(
                r.text(),
                r#"{"type":"error","status-code":401,"status":"Unauthorized","result":{"message":"access denied","kind":"login-required"}}"#
            );
        }
        assert_eq!(d.get("/v1/services").await.status, services, "{access}");
    }
}

#[tokio::test]
async fn http_listener_serves_metrics_to_metrics_identities_only() {
    // `openssl passwd -6 -salt goldensalt secret`
    let hash = "$6$goldensalt$fUbARX.Tx8g7STXAQDwfMcbvDxCzyVO8CNdKFHBi3rSOahAa4nh4fWsGa0tiUBFSgLxAlSojz7MkWg9bSm79R.";
    let d = crate::common::HttpDaemon::start().await;
    let body = format!(
        r#"{{"action":"add","identities":{{"bob":{{"access":"read","basic":{{"password":"{hash}"}}}},"mon":{{"access":"metrics","basic":{{"password":"{hash}"}}}},"root":{{"access":"admin","basic":{{"password":"{hash}"}}}}}}}}"#
    );
    let mut c = crate::common::Conn::new(tokio::net::UnixStream::connect(&d.sock).await.unwrap());
    c.send("POST", "/v1/identities", Some(body.as_bytes()), &[])
        .await;
    assert_eq!(c.read().await.status, 200);

    let get = async |auth: Option<&'static str>| {
        let auth = auth
            .map(|a| format!("Authorization: Basic {a}\r\n"))
            .unwrap_or_default();
        d.tcp_exchange(&format!(
            "GET /v1/metrics HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
        ))
        .await
    };
    // No credentials, a read identity ("bob:secret"), an admin one ("root:secret"), and a
    // wrong password ("mon:nope") are denied; the metrics identity ("mon:secret") is served.
    for auth in [
        None,
        Some("Ym9iOnNlY3JldA=="),
        Some("cm9vdDpzZWNyZXQ="),
        Some("bW9uOm5vcGU="),
    ] {
        let r = get(auth).await;
        assert!(
            r.starts_with("HTTP/1.1 401 Unauthorized\r\n"),
            "{auth:?}: {r}"
        );
        assert!(r.ends_with(r#""result":{"message":"access denied","kind":"login-required"}}"#));
    }
    let r = get(Some("bW9uOnNlY3JldA==")).await;
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
    assert!(r.contains("\r\nContent-Length: 0\r\n"), "{r}");

    assert_eq!(d.stop().await, 0);
}
