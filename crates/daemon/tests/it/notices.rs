//! `/v1/notices` over the socket: custom notices, change-update notices, filters,
//! long-polling and persistence.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::TestDaemon;
use std::time::Duration;

fn add(key: &str, extra: &str) -> String {
    format!(r#"{{"action":"add","type":"custom","key":"{key}"{extra}}}"#)
}

#[tokio::test]
async fn custom_notices_repeat_and_filter() {
    let d = TestDaemon::start().await;
    let r = d
        .post("/v1/notices", &add("example.com/a", r#","data":{"k":"v"}"#))
        .await;
    assert_eq!(
        r.text(),
        r#"{"type":"sync","status-code":200,"status":"OK","result":{"id":"1"}}"#
    );
    let r = d
        .post(
            "/v1/notices",
            &add("example.com/a", r#","data":{"k":"v2"}"#),
        )
        .await;
    assert_eq!(r.json()["result"]["id"], "1");
    let r = d
        .post(
            "/v1/notices",
            &add("example.com/b", r#","repeat-after":"1h""#),
        )
        .await;
    assert_eq!(r.json()["result"]["id"], "2");
    let r = d.get("/v1/notices?types=custom").await;
    let list = r.json()["result"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["key"], "example.com/a");
    assert_eq!(list[0]["occurrences"], 2);
    assert_eq!(list[0]["last-data"], serde_json::json!({"k":"v2"}));
    assert_eq!(list[0]["expire-after"], "168h0m0s");
    assert!(list[0].get("repeat-after").is_none());
    assert_eq!(list[1]["repeat-after"], "1h0m0s");
    assert!(list[1].get("last-data").is_none());
    // After the first one's last-repeated time: only the second.
    let after = list[0]["last-repeated"].as_str().unwrap().to_string();
    let r = d
        .get(&format!("/v1/notices?types=custom&after={after}"))
        .await;
    assert_eq!(r.json()["result"].as_array().unwrap().len(), 1);
    let r = d
        .get("/v1/notices?keys=example.com/b,example.com/zzz")
        .await;
    assert_eq!(r.json()["result"][0]["id"], "2");
    let r = d.get("/v1/notices?types=bogus").await;
    assert_eq!(
        r.text(),
        r#"{"type":"sync","status-code":200,"status":"OK","result":[]}"#
    );
    let r = d.get("/v1/notices/1").await;
    assert_eq!(r.json()["result"]["key"], "example.com/a");
    let r = d.get("/v1/notices/99").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json()["result"]["message"],
        "cannot find notice with ID \"99\""
    );
    let r = d.get("/v1/notices?users=all&user-id=0").await;
    assert_eq!(r.status, 400);
    let r = d.get("/v1/notices?timeout=bogus").await;
    assert_eq!(
        r.json()["result"]["message"],
        "invalid timeout: time: invalid duration \"bogus\""
    );
    for (body, msg) in [
        (
            add("nodomain", ""),
            "invalid key \"nodomain\" (must be in \"example.com/path\" format)",
        ),
        (
            r#"{"action":"add","type":"warning","key":"a.com/x"}"#.to_string(),
            "invalid type \"warning\" (can only add \"custom\" notices)",
        ),
        (
            add("a.com/x", r#","data":{"n":true}"#),
            "cannot decode notice data: json: cannot unmarshal bool into Go value of type string",
        ),
        (
            add("a.com/x", r#","repeat-after":"soon""#),
            "invalid repeat-after: time: invalid duration \"soon\"",
        ),
        (
            add(&format!("a.com/{}", "x".repeat(300)), ""),
            "key must be 256 bytes or less",
        ),
    ] {
        let r = d.post("/v1/notices", &body).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.json()["result"]["message"], msg);
    }
}

#[tokio::test]
async fn changes_record_change_update_notices() {
    let d = TestDaemon::start_with_layers(&[(
        "001-base.yaml",
        "services:\n  s:\n    override: replace\n    command: sleep 1000\n",
    )])
    .await;
    let r = d
        .post("/v1/services", r#"{"action":"start","services":["s"]}"#)
        .await;
    let change = r.json()["change"].as_str().unwrap().to_string();
    d.wait_change(&change).await;
    let r = d
        .get(&format!("/v1/notices?types=change-update&keys={change}"))
        .await;
    let n = &r.json()["result"][0];
    assert_eq!(n["user-id"], serde_json::Value::Null);
    assert_eq!(n["last-data"], serde_json::json!({"kind":"start"}));
    // Created, Doing, Done.
    assert_eq!(n["occurrences"], 3);
    let r = d
        .post("/v1/services", r#"{"action":"stop","services":["s"]}"#)
        .await;
    d.wait_change(r.json()["change"].as_str().unwrap()).await;
}

#[tokio::test]
async fn long_poll_wakes_on_a_new_notice_and_times_out_empty() {
    let d = TestDaemon::start().await;
    let t0 = std::time::Instant::now();
    let r = d
        .get("/v1/notices?keys=example.com/never&timeout=100ms")
        .await;
    assert_eq!(
        r.text(),
        r#"{"type":"sync","status-code":200,"status":"OK","result":[]}"#
    );
    assert!(t0.elapsed() >= Duration::from_millis(100));
    let waiter = {
        let socket = d.socket.clone();
        tokio::spawn(async move {
            let mut c =
                crate::common::Conn::new(tokio::net::UnixStream::connect(&socket).await.unwrap());
            c.send(
                "GET",
                "/v1/notices?keys=example.com/later&timeout=30s",
                None,
                &[],
            )
            .await;
            c.read().await
        })
    };
    // Whether the waiter is parked already or connects after the POST, it answers with the
    // notice (a parked waiter is woken by the new occurrence).
    let r = d.post("/v1/notices", &add("example.com/later", "")).await;
    assert_eq!(r.status, 200);
    let r = tokio::time::timeout(Duration::from_secs(20), waiter)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.json()["result"][0]["key"], "example.com/later");
}

#[tokio::test]
async fn notices_persist_with_the_state() {
    let d = TestDaemon::start().await;
    d.post("/v1/notices", &add("example.com/p", r#","data":{"a":"b"}"#))
        .await;
    d.daemon.state().flush().await;
    let (_, dir) = d.stop().await;
    let d = TestDaemon::start_in(dir, true).await;
    let r = d.get("/v1/notices?types=custom").await;
    assert_eq!(
        r.json()["result"][0]["last-data"],
        serde_json::json!({"a":"b"})
    );
    let r = d.post("/v1/notices", &add("example.com/q", "")).await;
    assert_eq!(r.json()["result"]["id"], "2");
}
