//! Health checks with real checkers (http, tcp, exec processes) and `on-check-failure`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{TestDaemon, wait_until};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn check(d: &TestDaemon, name: &str) -> Value {
    let r = d.get(&format!("/v1/checks?names={name}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["result"][0].clone()
}

/// A tiny HTTP server: `/ok` answers 200, anything else 500 with a multi-line body.
async fn http_server() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let resp = if req.starts_with("GET /ok ") && req.contains("\r\nX-Token: t1\r\n") {
                    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n".to_string()
                } else if req.starts_with("GET /moved ") {
                    "HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: 0\r\n\r\n".to_string()
                } else {
                    let body = "line 1\nline 2\n";
                    format!(
                        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                };
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn real_checkers_report_pebble_errors() {
    let port = http_server().await;
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tcp_port = tcp.local_addr().unwrap().port();
    let layer = format!(
        r#"
checks:
  http-ok:
    override: replace
    period: 100ms
    http:
      url: http://127.0.0.1:{port}/moved
      headers:
        X-Token: t1
  http-bad:
    override: replace
    period: 100ms
    threshold: 1
    http:
      url: http://127.0.0.1:{port}/bad
  tcp-ok:
    override: replace
    level: alive
    period: 100ms
    tcp:
      host: 127.0.0.1
      port: {tcp_port}
  exec-bad:
    override: replace
    period: 100ms
    threshold: 2
    exec:
      command: /bin/sh -c "echo one; echo two >&2; exit 3"
      environment:
        X: y
"#
    );
    let d = TestDaemon::start_with_layers(&[("001-base.yaml", &layer)]).await;
    for name in ["http-ok", "tcp-ok"] {
        wait_until(|| async { check(&d, name).await["successes"].as_i64() >= Some(2) }).await;
        assert_eq!(check(&d, name).await["status"], "up");
    }
    wait_until(|| async { check(&d, "exec-bad").await["status"] == "down" }).await;
    wait_until(|| async { check(&d, "http-bad").await["status"] == "down" }).await;

    let exec = check(&d, "exec-bad").await;
    let prev = exec["prev-change-id"].as_str().unwrap();
    let change = d.get(&format!("/v1/changes/{prev}")).await.json()["result"].clone();
    assert_eq!(change["status"], "Error");
    assert_eq!(change["summary"], "Perform exec check \"exec-bad\"");
    let log = change["tasks"][0]["log"].as_array().unwrap();
    assert_eq!(log.len(), 2);
    for l in log {
        assert!(
            l.as_str()
                .unwrap()
                .ends_with(" ERROR exit status 3; one\ntwo"),
            "{l}"
        );
    }

    // A refresh runs the check now, in its recover task.
    let r = d.post("/v1/checks/refresh", r#"{"name":"http-bad"}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["result"]["error"],
        "non-2xx status code 500; line 1\nline 2"
    );
    let r = d.post("/v1/checks/refresh", r#"{"name":"http-ok"}"#).await;
    assert!(r.json()["result"].get("error").is_none(), "{}", r.text());

    // Health: the down checks have no level, so only the unfiltered query sees them.
    assert_eq!(d.get("/v1/health").await.status, 502);
    assert_eq!(d.get("/v1/health?level=alive").await.status, 200);

    // A closed port: Go's dial error text.
    drop(tcp);
    let r = d.post("/v1/checks/refresh", r#"{"name":"tcp-ok"}"#).await;
    assert_eq!(
        r.json()["result"]["error"],
        format!("dial tcp 127.0.0.1:{tcp_port}: connect: connection refused")
    );
    d.stop().await;
}

#[tokio::test]
async fn start_stop_and_plan_changes_over_the_api() {
    let layer = r#"
checks:
  chk:
    override: replace
    startup: disabled
    period: 100ms
    exec:
      command: "true"
"#;
    let d = TestDaemon::start_with_layers(&[("001-base.yaml", layer)]).await;
    assert_eq!(check(&d, "chk").await["status"], "inactive");
    let r = d
        .post("/v1/checks", r#"{"action":"start","checks":["chk"]}"#)
        .await;
    assert_eq!(
        r.text(),
        r#"{"type":"sync","status-code":200,"status":"OK","result":{"changed":["chk"]}}"#
    );
    wait_until(|| async { check(&d, "chk").await["successes"].as_i64() >= Some(1) }).await;
    let first = check(&d, "chk").await["change-id"].clone();

    // A changed check restarts with fresh counters in a new change.
    let r = d
        .add_layer(
            "more",
            "checks:\n  chk:\n    override: merge\n    period: 150ms\n",
            false,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let c = check(&d, "chk").await;
    assert_ne!(c["change-id"], first);
    assert_eq!(c["status"], "up");
    let old = d.wait_change(first.as_str().unwrap()).await;
    assert_eq!(old["ready"], true);

    let r = d
        .post("/v1/checks", r#"{"action":"stop","checks":["chk"]}"#)
        .await;
    assert_eq!(r.json()["result"]["changed"][0], "chk");
    assert_eq!(check(&d, "chk").await["status"], "inactive");
    let r = d
        .post("/v1/checks", r#"{"action":"stop","checks":["chk","x"]}"#)
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["result"]["message"],
        "cannot stop checks: cannot find checks in plan: x"
    );
    d.stop().await;
}

#[tokio::test]
async fn failing_check_restarts_its_service() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("starts");
    let healthy = dir.path().join("healthy");
    std::fs::write(&healthy, "").unwrap();
    let layer = format!(
        r#"
services:
  svc:
    override: replace
    startup: enabled
    command: /bin/sh -c "echo start >> {m}; exec sleep 1000"
    backoff-delay: 50ms
    on-check-failure:
      chk: restart
checks:
  chk:
    override: replace
    period: 100ms
    threshold: 2
    exec:
      command: test -e {h}
"#,
        m = marker.display(),
        h = healthy.display()
    );
    let d = TestDaemon::start_with_layers(&[("001-base.yaml", &layer)]).await;
    d.service_action("autostart", &[]).await;
    let starts = || {
        std::fs::read_to_string(&marker)
            .unwrap_or_default()
            .lines()
            .count()
    };
    wait_until(|| async { starts() == 1 }).await;
    wait_until(|| async { check(&d, "chk").await["successes"].as_i64() >= Some(1) }).await;
    std::fs::remove_file(&healthy).unwrap();
    wait_until(|| async { starts() == 2 }).await;
    let c = check(&d, "chk").await;
    assert_eq!(c["status"], "down");
    // It recovers once the check passes again; the service is not restarted again.
    std::fs::write(&healthy, "").unwrap();
    wait_until(|| async { check(&d, "chk").await["status"] == "up" }).await;
    wait_until(|| async {
        d.get("/v1/services?names=svc").await.json()["result"][0]["current"] == "active"
    })
    .await;
    assert_eq!(starts(), 2);
    d.stop().await;
}

#[tokio::test]
async fn failing_check_shuts_the_daemon_down() {
    let layer = r#"
services:
  svc:
    override: replace
    startup: enabled
    command: sleep 1000
    on-check-failure:
      chk: shutdown
checks:
  chk:
    override: replace
    startup: disabled
    period: 100ms
    threshold: 1
    exec:
      command: "false"
"#;
    let mut d = TestDaemon::start_with_layers(&[("001-base.yaml", layer)]).await;
    // Started once the service runs (a check failing while it starts is ignored).
    d.service_action("autostart", &[]).await;
    let r = d
        .post("/v1/checks", r#"{"action":"start","checks":["chk"]}"#)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let task = d.take_task();
    let code = tokio::time::timeout(std::time::Duration::from_secs(20), task)
        .await
        .expect("daemon did not exit")
        .unwrap();
    assert_eq!(code, 11);
}
