//! Typed calls: request shapes and answer decoding.

use std::time::Duration;

use pebble_client::{AddLayerOptions, ChangeSelect, Error, LogsOptions};

use crate::fake::{self, Answer};

const CHANGE_DONE: &str = r#"{"type":"sync","status-code":200,"status":"OK","result":{"id":"3","kind":"start","summary":"Start service \"gamma\"","status":"Done","tasks":[{"id":"3","kind":"start","summary":"Start service \"gamma\"","status":"Done","progress":{"label":"","done":1,"total":1},"spawn-time":"2026-11-26T22:23:45.9Z","ready-time":"2026-11-26T22:23:46.9Z"}],"ready":true,"spawn-time":"2026-11-26T22:23:45.9Z","ready-time":"2026-11-26T22:23:46.9Z"}}"#;

const CHANGE_ERROR: &str = r#"{"type":"sync","status-code":200,"status":"OK","result":{"id":"8","kind":"start","summary":"Start service \"quickfail\"","status":"Error","ready":true,"err":"cannot perform the following tasks:\n- Start service \"quickfail\" (service start attempt: exited quickly with code 1, will restart)","spawn-time":"2026-11-26T22:23:47.1Z","ready-time":"2026-11-26T22:23:47.9Z"}}"#;

fn route(method: &str, target: &str) -> Answer {
    match (method, target) {
        ("GET", "/v1/system-info") => Answer::json(
            200,
            r#"{"type":"sync","status-code":200,"status":"OK","result":{"boot-id":"b","version":"v1.32.1"}}"#,
        ),
        ("GET", "/v1/health") => Answer::json(
            502,
            r#"{"type":"sync","status-code":502,"status":"Bad Gateway","result":{"healthy":false}}"#,
        ),
        ("POST", "/v1/services") => Answer::json(
            202,
            r#"{"type":"async","status-code":202,"status":"Accepted","change":"3","result":null}"#,
        ),
        ("POST", "/v1/layers") => Answer::json(
            400,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"layer \"base\" already exists"}}"#,
        ),
        ("GET", "/v1/plan?format=yaml") => Answer::json(
            200,
            r#"{"type":"sync","status-code":200,"status":"OK","result":"services:\n    a:\n        command: x \u003e y\n"}"#,
        ),
        ("GET", "/v1/services?names=alpha,quickfail") => Answer::json(
            200,
            r#"{"type":"sync","status-code":200,"status":"OK","result":[{"name":"alpha","startup":"enabled","current":"active","current-since":"2026-11-26T22:23:44.617853505Z"},{"name":"quickfail","startup":"disabled","current":"inactive"}]}"#,
        ),
        ("GET", "/v1/changes?select=all&for=gamma") => Answer::json(
            200,
            r#"{"type":"sync","status-code":200,"status":"OK","result":[]}"#,
        ),
        ("GET", "/v1/changes/3") | ("GET", "/v1/changes/3/wait") => Answer::json(200, CHANGE_DONE),
        ("GET", "/v1/changes/8/wait") => Answer::json(200, CHANGE_ERROR),
        ("GET", "/v1/changes/9/wait?timeout=100ms") => Answer::json(
            504,
            r#"{"type":"error","status-code":504,"status":"Gateway Timeout","result":{"message":"timed out waiting for change after 100ms"}}"#,
        ),
        ("POST", "/v1/signals") => Answer::json(
            500,
            r#"{"type":"error","status-code":500,"status":"Internal Server Error","result":{"message":"cannot send signal to \"gamma\": service is not running"}}"#,
        ),
        ("GET", t) if t.starts_with("/v1/logs") => Answer {
            status: 200,
            content_type: "application/x-ndjson",
            body: "{\"time\":\"2026-11-26T22:23:44.619Z\",\"service\":\"beta\",\"message\":\"beta ready\"}\n{\"time\":\"2026-11-26T22:23:46.79Z\",\"service\":\"beta\",\"message\":\"a <b> & c\"}\n".to_string(),
            chunked: true,
        },
        ("POST", "/v1/changes/3") => Answer::json(
            400,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"cannot abort change 3 with nothing pending"}}"#,
        ),
        _ => Answer::json(
            404,
            r#"{"type":"error","status-code":404,"status":"Not Found","result":{"message":"invalid API endpoint requested"}}"#,
        ),
    }
}

#[tokio::test]
async fn system_info_and_health() {
    let f = fake::start(route);
    let c = f.client();
    assert_eq!(c.system_info().await.unwrap().version, "v1.32.1");
    // A 502 with a sync envelope is a result, not an error.
    assert!(!c.health(None, &[]).await.unwrap().healthy);
}

#[tokio::test]
async fn service_actions_send_the_right_body() {
    let f = fake::start(route);
    let c = f.client();
    assert_eq!(c.start(&["gamma".to_string()]).await.unwrap(), "3");
    assert_eq!(c.replan().await.unwrap(), "3");
    let seen = f.seen();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].target.as_str()),
        ("POST", "/v1/services")
    );
    assert_eq!(seen[0].body, r#"{"action":"start","services":["gamma"]}"#);
    assert_eq!(seen[1].body, r#"{"action":"replan","services":[]}"#);
}

#[tokio::test]
async fn api_errors_carry_code_kind_and_message() {
    let f = fake::start(route);
    let c = f.client();
    let opts = AddLayerOptions {
        label: "base".into(),
        layer_yaml: "services: {}\n".into(),
        ..Default::default()
    };
    match c.add_layer(&opts).await.unwrap_err() {
        Error::Api {
            code,
            status,
            kind,
            message,
        } => {
            assert_eq!(
                (code, status.as_str(), kind.as_str()),
                (400, "Bad Request", "")
            );
            assert_eq!(message, "layer \"base\" already exists");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        f.seen()[0].body,
        r#"{"action":"add","combine":false,"label":"base","format":"yaml","layer":"services: {}\n"}"#
    );
    let e = c
        .send_signal("SIGHUP", &["gamma".into()])
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(500));
    assert_eq!(
        e.to_string(),
        "cannot send signal to \"gamma\": service is not running"
    );
    let e = c.abort("3").await.unwrap_err();
    assert_eq!(e.to_string(), "cannot abort change 3 with nothing pending");
}

#[tokio::test]
async fn plan_and_services() {
    let f = fake::start(route);
    let c = f.client();
    assert_eq!(
        c.plan_yaml().await.unwrap(),
        "services:\n    a:\n        command: x > y\n"
    );
    let s = c
        .services(&["alpha".to_string(), "quickfail".to_string()])
        .await
        .unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(
        s[0].current_since.as_deref(),
        Some("2026-11-26T22:23:44.617853505Z")
    );
    assert_eq!(s[1].current_since, None);
    assert!(
        c.changes(ChangeSelect::All, Some("gamma"))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn waiting_for_changes() {
    let f = fake::start(route);
    let c = f.client();
    let ch = c.wait_change("3", None).await.unwrap();
    assert_eq!((ch.status.as_str(), ch.ready), ("Done", true));
    assert_eq!(ch.tasks[0].progress.total, 1);
    match c.wait_change_ok("8", None).await.unwrap_err() {
        Error::Change { err, change } => {
            assert!(err.starts_with("cannot perform the following tasks:\n- Start service"));
            assert_eq!(change.id, "8");
        }
        other => panic!("{other:?}"),
    }
    match c
        .wait_change("9", Some(Duration::from_millis(100)))
        .await
        .unwrap_err()
    {
        Error::Timeout(m) => assert_eq!(m, "timed out waiting for change after 100ms"),
        other => panic!("{other:?}"),
    }
    // Ids that cannot be part of a URL are refused before any request.
    assert!(matches!(c.change("../x").await, Err(Error::Protocol(_))));
}

#[tokio::test]
async fn logs_are_read_as_a_stream() {
    let f = fake::start(route);
    let c = f.client();
    let opts = LogsOptions {
        n: Some(-1),
        services: vec!["beta".into()],
    };
    let logs = c.logs(&opts).await.unwrap();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[1].message, "a <b> & c");
    assert_eq!(logs[1].time, "2026-11-26T22:23:46.79Z");
    let mut stream = c.follow_logs(&opts).await.unwrap();
    assert_eq!(stream.next().await.unwrap().unwrap().service, "beta");
    assert!(stream.next().await.unwrap().is_ok());
    assert!(stream.next().await.is_none());
    let targets: Vec<String> = f.seen().into_iter().map(|s| s.target).collect();
    assert_eq!(
        targets,
        vec![
            "/v1/logs?n=-1&services=beta",
            "/v1/logs?n=-1&services=beta&follow=true"
        ]
    );
}

#[tokio::test]
async fn missing_socket_is_a_connection_error() {
    let dir = tempfile::tempdir().unwrap();
    let c = pebble_client::Client::new(dir.path().join("nope.socket"));
    let e = c.system_info().await.unwrap_err();
    assert!(matches!(e, Error::Connection(_)), "{e:?}");
    assert!(
        e.to_string()
            .ends_with("connect: no such file or directory"),
        "{e}"
    );
}
