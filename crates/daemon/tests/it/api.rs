//! The HTTP API of an in-process daemon, driven with raw HTTP over its socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{TestDaemon, mask_times, wait_until};
use pebble_daemon::http::router::{Transport, UserAccess, UserState};
use std::sync::Arc;

const SERVICES: &str = r#"
services:
  svc1:
    override: replace
    summary: html <ok> & done
    command: sleep 1001
    startup: enabled
  svc2:
    override: replace
    command: sleep 1000
  quick:
    override: replace
    command: false
    backoff-delay: 30s
"#;

/// Write an executable shell script (commands are kept free of quoting).
fn script(dir: &std::path::Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}

#[tokio::test]
async fn system_info_health_and_headers() {
    let d = TestDaemon::start().await;
    let r = d.get("/v1/system-info").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header_names(),
        vec!["Content-Type", "Date", "Content-Length"]
    );
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    let boot = d.daemon.boot_id().to_string();
    assert_eq!(
        r.text(),
        format!(
            r#"{{"type":"sync","status-code":200,"status":"OK","result":{{"boot-id":"{boot}","version":"v1.32.1"}}}}"#
        )
    );
    for q in [
        "/v1/health",
        "/v1/health?level=alive",
        "/v1/health?names=nosuch",
    ] {
        let r = d.get(q).await;
        assert_eq!(
            r.text(),
            r#"{"type":"sync","status-code":200,"status":"OK","result":{"healthy":true}}"#
        );
    }
    let r = d.get("/v1/health?level=bogus").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"level must be \"alive\" or \"ready\""}}"#
    );
}

#[tokio::test]
async fn routing_errors_match_golden() {
    let d = TestDaemon::start().await;
    let not_found = r#"{"type":"error","status-code":404,"status":"Not Found","result":{"message":"invalid API endpoint requested"}}"#;
    for p in ["/v1/nope", "/", "/v1/services/"] {
        let r = d.get(p).await;
        assert_eq!((r.status, r.text().as_str()), (404, not_found), "{p}");
    }
    let r = d.request("PUT", "/v1/services", Some(b"")).await;
    assert_eq!(r.status, 405);
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":405,"status":"Method Not Allowed","result":{"message":"method \"PUT\" not allowed"}}"#
    );
    let r = d.request("DELETE", "/v1/changes/1", None).await;
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":405,"status":"Method Not Allowed","result":{"message":"method \"DELETE\" not allowed"}}"#
    );
    let r = d.get("/v1/services/alpha").await;
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"not implemented"}}"#
    );
}

#[tokio::test]
async fn bad_bodies_are_rejected_and_daemon_stays_up() {
    let d = TestDaemon::start().await;
    let r = d.post("/v1/services", "{not json").await;
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"cannot decode data from request body: invalid character 'n' looking for beginning of object key string"}}"#
    );
    let r = d.post("/v1/layers", "").await;
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"cannot decode request body: EOF"}}"#
    );
    // A 100 MB body: a clean 400, no change to the plan, the daemon keeps serving.
    let big = vec![b' '; 100 * 1024 * 1024];
    let mut c = d.connect().await;
    c.send(
        "POST",
        "/v1/layers",
        None,
        &[&format!("Content-Length: {}", big.len())],
    )
    .await;
    let _ = c.write_raw(&big).await; // the server may close before reading it all
    let r = c.read().await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("cannot read request body"),
        "{}",
        r.text()
    );
    let r = d.get("/v1/plan?format=yaml").await;
    assert_eq!(
        r.text(),
        r#"{"type":"sync","status-code":200,"status":"OK","result":"{}\n"}"#
    );
    let r = d
        .post("/v1/services", r#"{"action":"explode","services":["x"]}"#)
        .await;
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"invalid action \"explode\""}}"#
    );
}

#[tokio::test]
async fn keep_alive_chunked_requests_and_connection_close() {
    let d = TestDaemon::start().await;
    let mut c = d.connect().await;
    c.send("GET", "/v1/services", None, &[]).await;
    let r = c.read().await;
    assert_eq!(
        r.text(),
        r#"{"type":"sync","status-code":200,"status":"OK","result":[]}"#
    );
    // Same connection, chunked request body.
    let body = r#"{"action":"add","label":"a","format":"yaml","layer":"services: {}\n"}"#;
    let (a, b) = body.split_at(20);
    let raw = format!(
        "POST /v1/layers HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    c.write_raw(raw.as_bytes()).await.unwrap();
    let r = c.read().await;
    assert_eq!(
        r.text(),
        r#"{"type":"sync","status-code":200,"status":"OK","result":true}"#
    );
    c.send("GET", "/v1/system-info", None, &["Connection: close"])
        .await;
    let r = c.read().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Connection"), Some("close"));
}

#[tokio::test]
async fn layers_and_plan() {
    let d = TestDaemon::start().await;
    let r = d.add_layer("base", SERVICES, false).await;
    assert_eq!(
        r.text(),
        r#"{"type":"sync","status-code":200,"status":"OK","result":true}"#
    );
    let r = d.add_layer("base", "services: {}\n", false).await;
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"layer \"base\" already exists"}}"#
    );
    let r = d
        .add_layer(
            "base",
            "services:\n  svc2:\n    override: merge\n    summary: combined\n",
            true,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = d
        .add_layer("noover", "services:\n  x:\n    command: sleep 1\n", false)
        .await;
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"layer \"noover\" must define \"override\" for service \"x\""}}"#
    );
    let r = d.add_layer("pebble-x", "services: {}\n", false).await;
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"cannot parse layer YAML: cannot use reserved label prefix \"pebble-\""}}"#
    );
    let r = d
        .post(
            "/v1/layers",
            r#"{"action":"remove","label":"x","format":"yaml","layer":""}"#,
        )
        .await;
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"invalid action \"remove\""}}"#
    );
    let r = d
        .post(
            "/v1/layers",
            r#"{"action":"add","format":"yaml","layer":""}"#,
        )
        .await;
    assert!(r.text().contains(r#""message":"label must be set""#));
    let r = d
        .post(
            "/v1/layers",
            r#"{"action":"add","label":"x","layer":"services: {}\n"}"#,
        )
        .await;
    assert!(r.text().contains(r#""message":"invalid format \"\"""#));

    let r = d.get("/v1/plan").await;
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"invalid format \"\""}}"#
    );
    let r = d.get("/v1/plan?format=yaml").await;
    let yaml = r.json()["result"].as_str().unwrap().to_string();
    assert!(
        yaml.contains("    svc2:\n        summary: combined\n"),
        "{yaml}"
    );
    // Go escapes HTML characters inside the envelope.
    assert!(
        r.text().contains(r"html \u003cok\u003e \u0026 done"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn services_lifecycle_and_changes() {
    let d = TestDaemon::start().await;
    d.add_layer("base", SERVICES, false).await;

    let r = d.get("/v1/services").await;
    assert_eq!(
        r.text(),
        r#"{"type":"sync","status-code":200,"status":"OK","result":[{"name":"quick","startup":"disabled","current":"inactive"},{"name":"svc1","startup":"enabled","current":"inactive"},{"name":"svc2","startup":"disabled","current":"inactive"}]}"#
    );

    let r = d
        .post(
            "/v1/services",
            r#"{"action":"start","services":["svc2","svc1"]}"#,
        )
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(
        r.text(),
        r#"{"type":"async","status-code":202,"status":"Accepted","change":"1","result":null}"#
    );
    let ch = d.wait_change("1").await;
    assert_eq!(ch["summary"], "Start service \"svc2\" and 1 more");
    assert_eq!(ch["status"], "Done");
    assert_eq!(ch["kind"], "start");
    assert_eq!(ch["tasks"].as_array().unwrap().len(), 2);

    let r = d.get("/v1/services?names=svc2,svc1,nosuch").await;
    let v = r.json();
    let names: Vec<_> = v["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["svc1", "svc2"]);
    assert!(
        v["result"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["current"] == "active")
    );
    assert!(v["result"][0]["current-since"].is_string());

    // Already started: a Done change whose task log says so.
    let ch = d.service_action("start", &["svc2"]).await;
    assert_eq!(ch["status"], "Done");
    assert!(
        ch["tasks"][0]["log"][0]
            .as_str()
            .unwrap()
            .ends_with("INFO Service \"svc2\" already started.")
    );

    let ch = d.service_action("restart", &["svc1"]).await;
    assert_eq!(ch["summary"], "Restart service \"svc1\"");
    let kinds: Vec<_> = ch["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["stop", "start"]);

    // A start failure: Error change with the service output and err text.
    let ch = d.service_action("start", &["quick"]).await;
    assert_eq!(ch["status"], "Error");
    assert_eq!(
        ch["err"],
        "cannot perform the following tasks:\n- Start service \"quick\" (service start attempt: exited quickly with code 1, will restart)"
    );

    let ch = d.service_action("stop", &["svc1", "svc2"]).await;
    assert_eq!(ch["summary"], "Stop service \"svc1\" and 1 more");
    assert_eq!(ch["status"], "Done");

    // Errors.
    for (body, msg) in [
        (
            r#"{"action":"start","services":["nosuch"]}"#,
            r#"cannot start services: service \"nosuch\" does not exist"#,
        ),
        (
            r#"{"action":"start","services":[]}"#,
            "must specify services for start action",
        ),
        (
            r#"{"action":"stop"}"#,
            "must specify services for stop action",
        ),
        (
            r#"{"action":"replan","services":["svc1"]}"#,
            "replan accepts no service names",
        ),
        (r#"{"services":["svc1"]}"#, r#"invalid action \"\""#),
    ] {
        let r = d.post("/v1/services", body).await;
        assert_eq!(
            r.text(),
            format!(
                r#"{{"type":"error","status-code":400,"status":"Bad Request","result":{{"message":"{msg}"}}}}"#
            ),
            "{body}"
        );
    }

    // Changes lists.
    let r = d.get("/v1/changes").await;
    assert_eq!(
        r.text(),
        r#"{"type":"sync","status-code":200,"status":"OK","result":[]}"#
    );
    let all = d.get("/v1/changes?select=all").await.json();
    assert_eq!(all["result"].as_array().unwrap().len(), 5);
    let ready = d.get("/v1/changes?select=ready&for=quick").await.json();
    assert_eq!(ready["result"].as_array().unwrap().len(), 1);
    let r = d.get("/v1/changes?select=bogus").await;
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"select should be one of: all,in-progress,ready"}}"#
    );
    let r = d.get("/v1/changes/999").await;
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":404,"status":"Not Found","result":{"message":"cannot find change with id \"999\""}}"#
    );
    let r = d.get("/v1/changes/999/wait").await;
    assert_eq!(r.status, 404);
    let r = d.get("/v1/changes/1/wait?timeout=bogus").await;
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"invalid timeout: time: invalid duration \"bogus\""}}"#
    );
    let r = d.post("/v1/changes/1", r#"{"action":"abort"}"#).await;
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"cannot abort change 1 with nothing pending"}}"#
    );
    let r = d.post("/v1/changes/1", r#"{"action":"explode"}"#).await;
    assert!(
        r.text()
            .contains(r#""message":"invalid action \"explode\"""#)
    );
    let r = d.post("/v1/changes/999", r#"{"action":"abort"}"#).await;
    assert_eq!(r.status, 404);

    let r = d.post("/v1/services", r#"{"action":"autostart"}"#).await;
    assert_eq!(r.status, 202);
    let (code, _) = d.stop().await;
    assert_eq!(code, 0);
}

#[tokio::test]
async fn wait_timeout_and_abort_of_running_change() {
    let d = TestDaemon::start().await;
    d.add_layer("base", SERVICES, false).await;
    let r = d
        .post("/v1/services", r#"{"action":"start","services":["svc2"]}"#)
        .await;
    let id = r.json()["change"].as_str().unwrap().to_string();
    let r = d.get(&format!("/v1/changes/{id}/wait?timeout=100ms")).await;
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":504,"status":"Gateway Timeout","result":{"message":"timed out waiting for change after 100ms"}}"#
    );
    let r = d.get("/v1/changes?select=in-progress").await.json();
    assert_eq!(r["result"][0]["status"], "Doing");
    assert!(r["result"][0].get("ready-time").is_none());
    let r = d
        .post(&format!("/v1/changes/{id}"), r#"{"action":"abort"}"#)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["result"]["status"], "Abort");
    let ch = d.wait_change(&id).await;
    assert_eq!(ch["status"], "Error");
    assert_eq!(
        ch["err"],
        "cannot perform the following tasks:\n- Start service \"svc2\" (start aborted, sent SIGKILL to process)"
    );
}

#[tokio::test]
async fn empty_replan_and_no_default_services() {
    let d = TestDaemon::start().await;
    let r = d.post("/v1/services", r#"{"action":"autostart"}"#).await;
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"no default services","kind":"no-default-services"}}"#
    );
    let r = d.post("/v1/services", r#"{"action":"replan"}"#).await;
    assert_eq!(
        r.text(),
        r#"{"type":"async","status-code":202,"status":"Accepted","change":"1","result":null}"#
    );
    let r = d.get("/v1/changes/1/wait?timeout=5s").await;
    assert_eq!(
        mask_times(&r.text()),
        r#"{"type":"sync","status-code":200,"status":"OK","result":{"id":"1","kind":"replan","summary":"Replan - no services","status":"Done","ready":true,"spawn-time":"[time]","ready-time":"[time]"}}"#
    );
}

#[tokio::test]
async fn signals_errors() {
    let d = TestDaemon::start().await;
    d.add_layer("base", SERVICES, false).await;
    d.service_action("start", &["svc2"]).await;
    for (body, code, msg) in [
        (
            r#"{"signal":"SIGFOO","services":["svc2"]}"#,
            500,
            r#"cannot send signal to \"svc2\": invalid signal name \"SIGFOO\""#,
        ),
        (
            r#"{"signal":"SIGUSR1","services":["nosuch"]}"#,
            500,
            r#"cannot send signal to \"nosuch\": service is not running"#,
        ),
        (
            r#"{"signal":"SIGUSR1","services":[]}"#,
            400,
            "must specify one or more services",
        ),
    ] {
        let r = d.post("/v1/signals", body).await;
        let status = if code == 500 {
            "Internal Server Error"
        } else {
            "Bad Request"
        };
        assert_eq!(
            r.text(),
            format!(
                r#"{{"type":"error","status-code":{code},"status":"{status}","result":{{"message":"{msg}"}}}}"#
            )
        );
    }
    let r = d
        .post("/v1/signals", r#"{"signal":"SIGHUP","services":["svc2"]}"#)
        .await;
    assert_eq!(
        r.text(),
        r#"{"type":"sync","status-code":200,"status":"OK","result":true}"#
    );
    wait_until(|| async {
        let v = d.get("/v1/services?names=svc2").await.json();
        v["result"][0]["current"] != "active"
    })
    .await;
}

#[tokio::test]
async fn logs_n_and_follow() {
    let d = TestDaemon::start().await;
    let talk = script(
        d.dir.path(),
        "talk.sh",
        "echo 'one <&>'; echo two; echo three; exec sleep 1000",
    );
    d.add_layer(
        "base",
        &format!("services:\n  talk:\n    override: replace\n    command: {talk}\n"),
        false,
    )
    .await;
    d.service_action("start", &["talk"]).await;
    let r = d.get("/v1/logs?n=2").await;
    assert_eq!(r.header("Content-Type"), Some("application/x-ndjson"));
    assert_eq!(r.chunks.len(), 2, "one data chunk then the end");
    assert_eq!(
        mask_times(&r.text()),
        "{\"time\":\"[time]\",\"service\":\"talk\",\"message\":\"two\"}\n{\"time\":\"[time]\",\"service\":\"talk\",\"message\":\"three\"}\n"
    );
    let r = d.get("/v1/logs?services=talk&n=-1").await;
    assert!(r.header("Content-Length").is_some());
    assert!(r.text().starts_with("{\"time\":"));
    assert!(r.text().contains("\"message\":\"one <&>\""), "{}", r.text());
    let r = d.get("/v1/logs?services=nosuch").await;
    assert_eq!((r.status, r.header("Content-Length")), (200, Some("0")));
    let r = d.get("/v1/logs?n=bad").await;
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"n must be -1, 0, or a positive integer"}}"#
    );
    let r = d.get("/v1/logs?follow=yes").await;
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"follow parameter must be \"true\" or \"false\""}}"#
    );

    // Follow: the last line, then new lines as they are written (one chunk each).
    let mut c = d.connect().await;
    c.send("GET", "/v1/logs?follow=true&services=talk&n=1", None, &[])
        .await;
    let (status, _) = c.read_head().await;
    assert_eq!(status, 200);
    let first = String::from_utf8(c.read_chunk().await.unwrap()).unwrap();
    assert!(first.contains("\"message\":\"three\""), "{first}");
    d.daemon
        .services()
        .log_ring("talk")
        .unwrap()
        .append_raw(b"2026-01-01T00:00:00.120Z [talk] injected\n");
    let next = String::from_utf8(c.read_chunk().await.unwrap()).unwrap();
    assert_eq!(
        next,
        "{\"time\":\"2026-01-01T00:00:00.12Z\",\"service\":\"talk\",\"message\":\"injected\"}\n"
    );
}

#[tokio::test]
async fn large_envelopes_are_chunked() {
    let d = TestDaemon::start().await;
    let mut yaml = String::from("services:\n");
    for i in 0..60 {
        yaml.push_str(&format!(
            "  service-{i}:\n    override: replace\n    command: sleep 1\n"
        ));
    }
    d.add_layer("many", &yaml, false).await;
    let r = d.get("/v1/services").await;
    assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(
        r.header_names(),
        vec!["Content-Type", "Date", "Transfer-Encoding"]
    );
    assert_eq!(r.chunks, vec![r.body.len(), 0]);
}

#[tokio::test]
async fn read_users_get_401_on_admin_endpoints() {
    let d = TestDaemon::start().await;
    d.daemon.set_user_resolver(Arc::new(
        |_t: Transport, uid: Option<u32>, _h: &http::HeaderMap| {
            Some(UserState {
                access: UserAccess::Read,
                uid,
                username: None,
            })
        },
    ));
    let denied = r#"{"type":"error","status-code":401,"status":"Unauthorized","result":{"message":"access denied","kind":"login-required"}}"#;
    assert_eq!(
        d.add_layer("x", "services: {}\n", false).await.text(),
        denied
    );
    assert_eq!(d.get("/v1/plan?format=yaml").await.text(), denied);
    assert_eq!(d.get("/v1/services").await.status, 200);
    // 405 is decided before access.
    assert_eq!(d.request("PUT", "/v1/layers", Some(b"")).await.status, 405);
}

#[tokio::test]
async fn http_listener_serves_only_open_endpoints() {
    let d = crate::common::HttpDaemon::start().await;
    let get = async |path: &'static str| {
        d.tcp_exchange(&format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ))
        .await
    };
    assert!(
        get("/v1/system-info")
            .await
            .starts_with("HTTP/1.1 200 OK\r\n")
    );
    let r = get("/v1/services").await;
    assert!(r.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{r}");
    assert!(r.ends_with(r#"{"message":"access denied","kind":"login-required"}}"#));
    assert_eq!(d.stop().await, 0);
}

#[tokio::test]
async fn state_survives_restart() {
    let d = TestDaemon::start().await;
    d.add_layer("base", SERVICES, false).await;
    d.service_action("start", &["svc2"]).await;
    d.service_action("stop", &["svc2"]).await;
    let (code, dir) = d.stop().await;
    assert_eq!(code, 0);
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(".pebble.state")).unwrap()).unwrap();
    assert_eq!(state["last-change-id"], 2);

    let d = TestDaemon::start_in(dir, true).await;
    let all = d.get("/v1/changes?select=all").await.json();
    let ids: Vec<_> = all["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, vec!["1", "2"]);
    // Layers added over the API are not persisted; ids continue.
    d.add_layer("base", SERVICES, false).await;
    let r = d
        .post("/v1/services", r#"{"action":"start","services":["svc2"]}"#)
        .await;
    assert_eq!(r.json()["change"], "3");
}

#[tokio::test]
async fn memory_only_state_writes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = TestDaemon::start_in(dir, false).await;
    d.post("/v1/services", r#"{"action":"replan"}"#).await;
    let (_, dir) = d.stop().await;
    assert!(!dir.path().join(".pebble.state").exists());
}

#[tokio::test]
async fn layer_directory_is_loaded_and_errors_are_reported() {
    let d = TestDaemon::start_with_layers(&[("001-base.yaml", SERVICES), ("README", "x")]).await;
    let v = d.get("/v1/services").await.json();
    assert_eq!(v["result"].as_array().unwrap().len(), 3);
    drop(d);
    let dir = tempfile::tempdir().unwrap();
    crate::common::write_layers(
        dir.path(),
        &[("001-bad.yaml", "services:\n  x:\n    command: sleep 1\n")],
    );
    let err =
        pebble_daemon::Daemon::new(pebble_daemon::DaemonOptions::new(dir.path())).unwrap_err();
    assert_eq!(
        format!("cannot run daemon: {err}"),
        "cannot run daemon: cannot load plan: layer \"bad\" must define \"override\" for service \"x\""
    );
    let dir = tempfile::tempdir().unwrap();
    crate::common::write_layers(dir.path(), &[("01-bad.yaml", "services: {}\n")]);
    let err =
        pebble_daemon::Daemon::new(pebble_daemon::DaemonOptions::new(dir.path())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot load plan: invalid layer filename: \"01-bad.yaml\" (must look like \"123-some-label.yaml\")"
    );
}

#[tokio::test]
async fn service_failure_shutdown_exits_10() {
    let mut d = TestDaemon::start().await;
    d.add_layer(
        "base",
        "services:\n  fail:\n    override: replace\n    command: false\n    on-failure: shutdown\n",
        false,
    )
    .await;
    let r = d
        .post("/v1/services", r#"{"action":"start","services":["fail"]}"#)
        .await;
    assert_eq!(r.status, 202);
    let task = d.take_task();
    let code = tokio::time::timeout(std::time::Duration::from_secs(20), task)
        .await
        .expect("daemon did not exit")
        .unwrap();
    assert_eq!(code, 10);
}
