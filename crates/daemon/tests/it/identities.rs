//! `/v1/identities` over the socket: CRUD, persistence, and the access a local identity gives
//! its uid (the test connects as its own uid, root in CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::TestDaemon;

fn my_uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

#[tokio::test]
async fn crud_masks_secrets_and_persists() {
    let d = TestDaemon::start().await;
    let r = d.get("/v1/identities").await;
    assert_eq!(
        r.text(),
        r#"{"type":"sync","status-code":200,"status":"OK","result":{}}"#
    );
    let r = d
        .post(
            "/v1/identities",
            r#"{"action":"add","identities":{"bob":{"access":"read","basic":{"password":"$6$s$h"}},"carl":{"access":"metrics","local":{"user-id":4242}}}}"#,
        )
        .await;
    assert_eq!(
        r.text(),
        r#"{"type":"sync","status-code":200,"status":"OK"}"#
    );
    let r = d
        .post(
            "/v1/identities",
            r#"{"action":"add","identities":{"bob":{"access":"read","local":{"user-id":1}},"carl":{"access":"read","local":{"user-id":2}}}}"#,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["result"]["message"],
        "identities already exist: bob, carl"
    );
    let r = d
        .post(
            "/v1/identities",
            r#"{"action":"update","identities":{"dan":{"access":"read","local":{"user-id":3}}}}"#,
        )
        .await;
    assert_eq!(
        r.json()["result"]["message"],
        "identities do not exist: dan"
    );
    let r = d
        .post(
            "/v1/identities",
            r#"{"action":"add","identities":{"dan":{"access":"read","local":{"user-id":4242}}}}"#,
        )
        .await;
    assert_eq!(
        r.json()["result"]["message"],
        "cannot have multiple identities with user ID 4242 (carl, dan)"
    );
    let r = d
        .post(
            "/v1/identities",
            r#"{"action":"add","identities":{"x":null}}"#,
        )
        .await;
    assert_eq!(
        r.json()["result"]["message"],
        "identity value for \"x\" must not be null for add operation"
    );
    let r = d
        .post("/v1/identities", r#"{"action":"frob","identities":{}}"#)
        .await;
    assert_eq!(
        r.json()["result"]["message"],
        "invalid action \"frob\", must be \"add\", \"update\", \"replace\", or \"remove\""
    );
    let r = d.get("/v1/identities").await;
    assert_eq!(
        r.text(),
        r#"{"type":"sync","status-code":200,"status":"OK","result":{"bob":{"access":"read","basic":{"password":"*****"}},"carl":{"access":"metrics","local":{"user-id":4242}}}}"#
    );
    // Persisted in the state file and loaded by the next daemon.
    d.daemon.state().flush().await;
    let (_, dir) = d.stop().await;
    let d = TestDaemon::start_in(dir, true).await;
    let r = d.get("/v1/identities").await;
    assert_eq!(r.json()["result"]["carl"]["local"]["user-id"], 4242);
    let r = d
        .post(
            "/v1/identities",
            r#"{"action":"replace","identities":{"bob":null,"carl":{"access":"read","local":{"user-id":7}}}}"#,
        )
        .await;
    assert_eq!(r.status, 200);
    let r = d.get("/v1/identities").await;
    assert_eq!(
        r.json()["result"],
        serde_json::json!({"carl":{"access":"read","local":{"user-id":7}}})
    );
    let r = d
        .post(
            "/v1/identities",
            r#"{"action":"remove","identities":{"carl":null}}"#,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        d.get("/v1/identities").await.json()["result"],
        serde_json::json!({})
    );
}

#[tokio::test]
async fn local_identity_sets_the_access_of_its_uid() {
    let d = TestDaemon::start().await;
    let uid = my_uid();
    // Demote the caller to read: read endpoints work, admin ones are 401.
    let body = format!(
        r#"{{"action":"add","identities":{{"me":{{"access":"read","local":{{"user-id":{uid}}}}}}}}}"#
    );
    assert_eq!(d.post("/v1/identities", &body).await.status, 200);
    assert_eq!(d.get("/v1/services").await.status, 200);
    assert_eq!(d.get("/v1/identities").await.status, 200);
    let r = d.get("/v1/plan").await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":401,"status":"Unauthorized","result":{"message":"access denied","kind":"login-required"}}"#
    );
    let r = d
        .post(
            "/v1/identities",
            r#"{"action":"remove","identities":{"me":null}}"#,
        )
        .await;
    assert_eq!(r.status, 401);
    // A read user still adds custom notices (owned by its uid) and reads them.
    let r = d
        .post(
            "/v1/notices",
            r#"{"action":"add","type":"custom","key":"a.com/x"}"#,
        )
        .await;
    assert_eq!(r.status, 200);
    let r = d.get("/v1/notices?types=custom").await;
    assert_eq!(r.json()["result"][0]["user-id"], uid);
}

#[tokio::test]
async fn untrusted_identity_gets_only_open_endpoints() {
    let d = TestDaemon::start().await;
    let uid = my_uid();
    let body = format!(
        r#"{{"action":"replace","identities":{{"me":{{"access":"untrusted","local":{{"user-id":{uid}}}}}}}}}"#
    );
    assert_eq!(d.post("/v1/identities", &body).await.status, 200);
    assert_eq!(d.get("/v1/services").await.status, 401);
    assert_eq!(d.get("/v1/notices").await.status, 401);
    assert_eq!(d.get("/v1/system-info").await.status, 200);
}

/// A daemon with one basic identity, `name` with password `secret` and the given access.
async fn daemon_with_basic_identity(name: &str, access: &str) -> TestDaemon {
    // `openssl passwd -6 -salt goldensalt secret`
    let hash = "$6$goldensalt$fUbARX.Tx8g7STXAQDwfMcbvDxCzyVO8CNdKFHBi3rSOahAa4nh4fWsGa0tiUBFSgLxAlSojz7MkWg9bSm79R.";
    let d = TestDaemon::start().await;
    let body = format!(
        r#"{{"action":"add","identities":{{"{name}":{{"access":"{access}","basic":{{"password":"{hash}"}}}}}}}}"#
    );
    let r = d.post("/v1/identities", &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    d
}

#[tokio::test]
async fn basic_credentials_authenticate_as_the_basic_identity() {
    let d = daemon_with_basic_identity("bob", "read").await;
    let get = |auth: &'static str| {
        let d = &d;
        async move {
            let mut c = d.connect().await;
            c.send("GET", "/v1/plan?format=yaml", None, &[auth]).await;
            c.read().await.status
        }
    };
    // "bob:secret": bob's read access, so the admin-only plan is denied.
    assert_eq!(get("Authorization: Basic Ym9iOnNlY3JldA==").await, 401);
    // A wrong password ("bob:nope") matches no identity: the uid defaults apply.
    let own = if nix::unistd::getuid().is_root() {
        200
    } else {
        401
    };
    assert_eq!(get("Authorization: Basic Ym9iOm5vcGU=").await, own);
    assert_eq!(d.get("/v1/plan?format=yaml").await.status, own);
}

/// `GET /v1/services` is answered in place, without a header map unless the request has an
/// `Authorization` field: then the caller is still resolved from it.
#[tokio::test]
async fn basic_credentials_apply_to_endpoints_answered_in_place() {
    let d = daemon_with_basic_identity("eve", "untrusted").await;
    let mut c = d.connect().await;
    // "eve:secret", twice on one connection, then without credentials on it.
    for _ in 0..2 {
        c.send(
            "GET",
            "/v1/services",
            None,
            &["authorization: Basic ZXZlOnNlY3JldA=="],
        )
        .await;
        assert_eq!(c.read().await.status, 401);
    }
    c.send("GET", "/v1/services", None, &[]).await;
    assert_eq!(c.read().await.status, 200);
}
