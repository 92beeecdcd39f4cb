//! The files API through the real daemon (HTTP server on a Unix socket): every exchange of
//! golden/api-files.md, with the fixture under a temp dir instead of /srv/golden/files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{Conn, Resp, TestDaemon};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

const B: &str = "GoldenBoundary0123456789abcdefABCDEF";
const JAN1: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn set_mtime(p: &Path) {
    let ts = nix::sys::time::TimeSpec::new(JAN1, 0);
    nix::sys::stat::utimensat(
        nix::fcntl::AT_FDCWD,
        p,
        &ts,
        &ts,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .unwrap();
}

/// The golden fixture: hello.txt, a.txt, b.log (0600), sub/nested.txt, link-to-hello,
/// nonempty/inner/x, removeme.txt; mtimes 2026-01-01 except the symlink's.
fn fixture(root: &Path) -> String {
    let f = root.join("files");
    std::fs::create_dir_all(f.join("sub")).unwrap();
    std::fs::create_dir_all(f.join("nonempty/inner")).unwrap();
    std::fs::write(f.join("hello.txt"), "hello, golden world\n").unwrap();
    std::fs::write(f.join("a.txt"), "A\n").unwrap();
    std::fs::write(f.join("b.log"), "log line\n").unwrap();
    std::fs::write(f.join("sub/nested.txt"), "n\n").unwrap();
    std::fs::write(f.join("nonempty/inner/x"), "x").unwrap();
    std::fs::write(f.join("removeme.txt"), "bye\n").unwrap();
    for (p, m) in [
        ("hello.txt", 0o644),
        ("a.txt", 0o644),
        ("b.log", 0o600),
        ("removeme.txt", 0o644),
        ("sub", 0o755),
        ("nonempty", 0o755),
        ("", 0o755),
    ] {
        std::fs::set_permissions(f.join(p), std::fs::Permissions::from_mode(m)).unwrap();
    }
    std::os::unix::fs::symlink("hello.txt", f.join("link-to-hello")).unwrap();
    for p in [
        "hello.txt",
        "a.txt",
        "b.log",
        "sub/nested.txt",
        "sub",
        "nonempty/inner/x",
        "nonempty/inner",
        "nonempty",
        "removeme.txt",
        "",
    ] {
        set_mtime(&f.join(p));
    }
    f.to_str().unwrap().to_string()
}

/// The golden text with `/srv/golden/files` replaced, and root's names replaced by the
/// test's own user and group.
fn golden(text: &str, dir: &str) -> String {
    let me = std::fs::metadata(dir).unwrap();
    let user = pebble_daemon::files::owner::user_name(me.uid()).unwrap_or_default();
    let group = pebble_daemon::files::owner::group_name(me.gid()).unwrap_or_default();
    let jan1 = pebble_daemon::files::info::rfc3339_secs(JAN1);
    text.replace("/srv/golden/files", dir)
        .replace(
            r#""user-id":0,"user":"root","group-id":0,"group":"root""#,
            &format!(
                r#""user-id":{},"user":"{user}","group-id":{},"group":"{group}""#,
                me.uid(),
                me.gid()
            ),
        )
        .replace("2026-01-01T00:00:00Z", &jan1)
}

/// Mask the symlink's (or a new file's) varying mtime.
fn mask_mtime(body: &str, name: &str) -> String {
    let key = format!(r#""name":"{name}""#);
    let Some(i) = body.find(&key) else {
        return body.to_string();
    };
    let lm = body[i..].find(r#""last-modified":""#).unwrap() + i + 17;
    let end = body[lm..].find('"').unwrap() + lm;
    format!("{}[time]{}", &body[..lm], &body[end..])
}

async fn get_with(d: &TestDaemon, path: &str, extra: &[&str]) -> Resp {
    let mut c = d.connect().await;
    c.send("GET", path, None, extra).await;
    c.read().await
}

async fn read_files(d: &TestDaemon, query: &str) -> Resp {
    get_with(
        d,
        &format!("/v1/files?action=read&{query}"),
        &["Accept: multipart/form-data"],
    )
    .await
}

/// Replace the random boundary of a read response by `BOUNDARY`.
fn unbound(r: &Resp) -> String {
    let ct = r.header("Content-Type").unwrap();
    let b = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
    assert_eq!(b.len(), 60, "{ct}");
    r.text().replace(b, "BOUNDARY")
}

fn push_body(meta: &str, files: &[(&str, &str)]) -> String {
    let mut s = format!(
        "--{B}\r\nContent-Disposition: form-data; name=\"request\"\r\nContent-Type: application/json\r\n\r\n{meta}\r\n"
    );
    for (path, content) in files {
        s.push_str(&format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{path}\"\r\nContent-Type: application/octet-stream\r\n\r\n{content}\r\n"
        ));
    }
    s.push_str(&format!("--{B}--\r\n"));
    s
}

/// POST a multipart body, sent chunked in pieces of `piece` bytes (as both clients do).
async fn post_multipart(d: &TestDaemon, content_type: &str, body: &[u8], piece: usize) -> Resp {
    let mut c: Conn = d.connect().await;
    let head = format!(
        "POST /v1/files HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    c.write_raw(head.as_bytes()).await.unwrap();
    for p in body.chunks(piece) {
        let mut chunk = format!("{:x}\r\n", p.len()).into_bytes();
        chunk.extend_from_slice(p);
        chunk.extend_from_slice(b"\r\n");
        c.write_raw(&chunk).await.unwrap();
    }
    c.write_raw(b"0\r\n\r\n").await.unwrap();
    c.read().await
}

async fn post_json(d: &TestDaemon, body: &str) -> Resp {
    d.post("/v1/files", body).await
}

fn sync_ok(paths: &[&str]) -> String {
    let items: Vec<String> = paths
        .iter()
        .map(|p| format!(r#"{{"path":"{p}"}}"#))
        .collect();
    format!(
        r#"{{"type":"sync","status-code":200,"status":"OK","result":[{}]}}"#,
        items.join(",")
    )
}

#[tokio::test]
async fn list_exchanges_match_golden() {
    pebble_daemon::daemonlog::set_silent(true);
    let d = TestDaemon::start().await;
    let dir = fixture(d.dir.path());

    let r = d.get(&format!("/v1/files?action=list&path={dir}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    let expected = golden(
        r#"{"type":"sync","status-code":200,"status":"OK","result":[{"path":"/srv/golden/files/a.txt","name":"a.txt","type":"file","size":2,"permissions":"644","last-modified":"2026-01-01T00:00:00Z","user-id":0,"user":"root","group-id":0,"group":"root"},{"path":"/srv/golden/files/b.log","name":"b.log","type":"file","size":9,"permissions":"600","last-modified":"2026-01-01T00:00:00Z","user-id":0,"user":"root","group-id":0,"group":"root"},{"path":"/srv/golden/files/hello.txt","name":"hello.txt","type":"file","size":20,"permissions":"644","last-modified":"2026-01-01T00:00:00Z","user-id":0,"user":"root","group-id":0,"group":"root"},{"path":"/srv/golden/files/link-to-hello","name":"link-to-hello","type":"symlink","permissions":"777","last-modified":"2026-11-26T22:23:21Z","user-id":0,"user":"root","group-id":0,"group":"root"},{"path":"/srv/golden/files/nonempty","name":"nonempty","type":"directory","permissions":"755","last-modified":"2026-01-01T00:00:00Z","user-id":0,"user":"root","group-id":0,"group":"root"},{"path":"/srv/golden/files/removeme.txt","name":"removeme.txt","type":"file","size":4,"permissions":"644","last-modified":"2026-01-01T00:00:00Z","user-id":0,"user":"root","group-id":0,"group":"root"},{"path":"/srv/golden/files/sub","name":"sub","type":"directory","permissions":"755","last-modified":"2026-01-01T00:00:00Z","user-id":0,"user":"root","group-id":0,"group":"root"}]}"#,
        &dir,
    );
    assert_eq!(
        mask_mtime(&r.text(), "link-to-hello"),
        mask_mtime(&expected, "link-to-hello")
    );

    let r = d
        .get(&format!("/v1/files?action=list&path={dir}&pattern=*.txt"))
        .await;
    let expected = golden(
        r#"{"type":"sync","status-code":200,"status":"OK","result":[{"path":"/srv/golden/files/a.txt","name":"a.txt","type":"file","size":2,"permissions":"644","last-modified":"2026-01-01T00:00:00Z","user-id":0,"user":"root","group-id":0,"group":"root"},{"path":"/srv/golden/files/hello.txt","name":"hello.txt","type":"file","size":20,"permissions":"644","last-modified":"2026-01-01T00:00:00Z","user-id":0,"user":"root","group-id":0,"group":"root"},{"path":"/srv/golden/files/removeme.txt","name":"removeme.txt","type":"file","size":4,"permissions":"644","last-modified":"2026-01-01T00:00:00Z","user-id":0,"user":"root","group-id":0,"group":"root"}]}"#,
        &dir,
    );
    assert_eq!(r.text(), expected);

    let r = d
        .get(&format!("/v1/files?action=list&path={dir}&itself=true"))
        .await;
    let expected = golden(
        r#"{"type":"sync","status-code":200,"status":"OK","result":[{"path":"/srv/golden/files","name":"files","type":"directory","permissions":"755","last-modified":"2026-01-01T00:00:00Z","user-id":0,"user":"root","group-id":0,"group":"root"}]}"#,
        &dir,
    );
    assert_eq!(r.text(), expected);

    let r = d
        .get(&format!("/v1/files?action=list&path={dir}/hello.txt"))
        .await;
    let expected = golden(
        r#"{"type":"sync","status-code":200,"status":"OK","result":[{"path":"/srv/golden/files/hello.txt","name":"hello.txt","type":"file","size":20,"permissions":"644","last-modified":"2026-01-01T00:00:00Z","user-id":0,"user":"root","group-id":0,"group":"root"}]}"#,
        &dir,
    );
    assert_eq!(r.text(), expected);

    let r = d
        .get(&format!("/v1/files?action=list&path={dir}/missing"))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.text(),
        format!(
            r#"{{"type":"error","status-code":404,"status":"Not Found","result":{{"message":"stat {dir}/missing: no such file or directory","kind":"not-found"}}}}"#
        )
    );
    // The path appears exactly as sent, trailing slash included.
    let r = d
        .get("/v1/files?action=list&path=/not/existing/file/")
        .await;
    assert!(
        r.text()
            .contains("stat /not/existing/file/: no such file or directory")
    );

    let r = d.get("/v1/files?action=list&path=relative/x").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"path must be absolute, got \"relative/x\""}}"#
    );

    let r = d
        .get(&format!("/v1/files?action=list&path={dir}&pattern=[bad"))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"syntax error in pattern","kind":"generic-file-error"}}"#
    );

    let r = d.get("/v1/files?action=list").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"must specify path"}}"#
        )
    );

    let r = d.get(&format!("/v1/files?action=bogus&path={dir}")).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"invalid action \"bogus\""}}"#
        )
    );

    let r = d.get("/v1/files?action=list&path=/&itself=true").await;
    assert!(
        r.text()
            .contains(r#""path":"/","name":"/","type":"directory""#)
    );
}

#[tokio::test]
async fn read_exchanges_match_golden() {
    pebble_daemon::daemonlog::set_silent(true);
    let d = TestDaemon::start().await;
    let dir = fixture(d.dir.path());

    let r = read_files(&d, &format!("path={dir}/hello.txt")).await;
    assert_eq!(r.status, 200);
    let expected = golden(
        "--BOUNDARY\r\nContent-Disposition: form-data; name=\"files\"; filename=\"/srv/golden/files/hello.txt\"\r\nContent-Type: application/octet-stream\r\n\r\nhello, golden world\n\r\n--BOUNDARY\r\nContent-Disposition: form-data; name=\"response\"\r\nContent-Type: application/json\r\n\r\n{\"type\":\"sync\",\"status-code\":200,\"status\":\"OK\",\"result\":[{\"path\":\"/srv/golden/files/hello.txt\"}]}\n\r\n--BOUNDARY--\r\n",
        &dir,
    );
    assert_eq!(unbound(&r), expected);
    // Small answers are framed with Content-Length, like Go's buffered writer.
    assert_eq!(
        r.header("Content-Length"),
        Some(r.body.len().to_string().as_str())
    );

    let r = read_files(&d, &format!("path={dir}/hello.txt&path={dir}/a.txt")).await;
    let expected = golden(
        "--BOUNDARY\r\nContent-Disposition: form-data; name=\"files\"; filename=\"/srv/golden/files/hello.txt\"\r\nContent-Type: application/octet-stream\r\n\r\nhello, golden world\n\r\n--BOUNDARY\r\nContent-Disposition: form-data; name=\"files\"; filename=\"/srv/golden/files/a.txt\"\r\nContent-Type: application/octet-stream\r\n\r\nA\n\r\n--BOUNDARY\r\nContent-Disposition: form-data; name=\"response\"\r\nContent-Type: application/json\r\n\r\n{\"type\":\"sync\",\"status-code\":200,\"status\":\"OK\",\"result\":[{\"path\":\"/srv/golden/files/hello.txt\"},{\"path\":\"/srv/golden/files/a.txt\"}]}\n\r\n--BOUNDARY--\r\n",
        &dir,
    );
    assert_eq!(unbound(&r), expected);

    let r = read_files(&d, &format!("path={dir}/missing.txt")).await;
    let expected = golden(
        "--BOUNDARY\r\nContent-Disposition: form-data; name=\"response\"\r\nContent-Type: application/json\r\n\r\n{\"type\":\"sync\",\"status-code\":200,\"status\":\"OK\",\"result\":[{\"path\":\"/srv/golden/files/missing.txt\",\"error\":{\"message\":\"stat /srv/golden/files/missing.txt: no such file or directory\",\"kind\":\"not-found\"}}]}\n\r\n--BOUNDARY--\r\n",
        &dir,
    );
    assert_eq!((r.status, unbound(&r)), (200, expected));

    let r = read_files(&d, &format!("path={dir}/sub")).await;
    let expected = golden(
        "--BOUNDARY\r\nContent-Disposition: form-data; name=\"response\"\r\nContent-Type: application/json\r\n\r\n{\"type\":\"sync\",\"status-code\":200,\"status\":\"OK\",\"result\":[{\"path\":\"/srv/golden/files/sub\",\"error\":{\"message\":\"can only read a regular file: \\\"/srv/golden/files/sub\\\"\",\"kind\":\"generic-file-error\"}}]}\n\r\n--BOUNDARY--\r\n",
        &dir,
    );
    assert_eq!(unbound(&r), expected);

    let r = read_files(&d, &format!("path={dir}/missing.txt&path={dir}/a.txt")).await;
    let expected = golden(
        "--BOUNDARY\r\nContent-Disposition: form-data; name=\"files\"; filename=\"/srv/golden/files/a.txt\"\r\nContent-Type: application/octet-stream\r\n\r\nA\n\r\n--BOUNDARY\r\nContent-Disposition: form-data; name=\"response\"\r\nContent-Type: application/json\r\n\r\n{\"type\":\"sync\",\"status-code\":200,\"status\":\"OK\",\"result\":[{\"path\":\"/srv/golden/files/missing.txt\",\"error\":{\"message\":\"stat /srv/golden/files/missing.txt: no such file or directory\",\"kind\":\"not-found\"}},{\"path\":\"/srv/golden/files/a.txt\"}]}\n\r\n--BOUNDARY--\r\n",
        &dir,
    );
    assert_eq!(unbound(&r), expected);

    let r = d
        .get(&format!("/v1/files?action=read&path={dir}/hello.txt"))
        .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"must accept multipart/form-data"}}"#
        )
    );
    let r = read_files(&d, "").await;
    assert!(r.text().contains("must specify one or more paths"));
}

#[tokio::test]
async fn make_dirs_and_remove_exchanges_match_golden() {
    pebble_daemon::daemonlog::set_silent(true);
    let d = TestDaemon::start().await;
    let dir = fixture(d.dir.path());
    let j = |s: &str| golden(s, &dir);

    let req = j(r#"{"action":"make-dirs","dirs":[{"path":"/srv/golden/files/newdir"}]}"#);
    let r = post_json(&d, &req).await;
    assert_eq!(
        (r.status, r.text()),
        (200, sync_ok(&[&format!("{dir}/newdir")]))
    );
    let r = post_json(&d, &req).await;
    assert_eq!(
        r.text(),
        j(
            r#"{"type":"sync","status-code":200,"status":"OK","result":[{"path":"/srv/golden/files/newdir","error":{"message":"mkdir /srv/golden/files/newdir: file exists","kind":"generic-file-error"}}]}"#
        )
    );
    let r = post_json(&d, &j(r#"{"action":"make-dirs","dirs":[{"path":"/srv/golden/files/newdir","make-parents":true}]}"#)).await;
    assert_eq!(r.text(), sync_ok(&[&format!("{dir}/newdir")]));
    let r = post_json(
        &d,
        &j(r#"{"action":"make-dirs","dirs":[{"path":"/srv/golden/files/no/such/parent"}]}"#),
    )
    .await;
    assert_eq!(
        r.text(),
        j(
            r#"{"type":"sync","status-code":200,"status":"OK","result":[{"path":"/srv/golden/files/no/such/parent","error":{"message":"mkdir /srv/golden/files/no/such/parent.mkdir-new: no such file or directory","kind":"not-found"}}]}"#
        )
    );
    let r = post_json(&d, &j(r#"{"action":"make-dirs","dirs":[{"path":"/srv/golden/files/p1/p2","make-parents":true,"permissions":"700"}]}"#)).await;
    assert_eq!(r.text(), sync_ok(&[&format!("{dir}/p1/p2")]));
    let r = post_json(&d, r#"{"action":"make-dirs","dirs":[{"path":"rel/dir"}]}"#).await;
    assert_eq!(
        r.text(),
        r#"{"type":"sync","status-code":200,"status":"OK","result":[{"path":"rel/dir","error":{"message":"paths must be absolute, got \"rel/dir\"","kind":"generic-file-error"}}]}"#
    );
    let r = post_json(&d, &j(r#"{"action":"make-dirs","dirs":[{"path":"/srv/golden/files/bp","permissions":"1000"}]}"#)).await;
    assert_eq!(
        r.text(),
        j(
            r#"{"type":"sync","status-code":200,"status":"OK","result":[{"path":"/srv/golden/files/bp","error":{"message":"permissions must be a 3-digit octal string, got \"1000\"","kind":"generic-file-error"}}]}"#
        )
    );
    let r = post_json(
        &d,
        &j(r#"{"action":"make-dirs","dirs":[{"path":"/srv/golden/files/hello.txt"}]}"#),
    )
    .await;
    assert_eq!(
        r.text(),
        j(
            r#"{"type":"sync","status-code":200,"status":"OK","result":[{"path":"/srv/golden/files/hello.txt","error":{"message":"mkdir /srv/golden/files/hello.txt: not a directory","kind":"generic-file-error"}}]}"#
        )
    );
    // Parents made with make-parents get the same mode (golden 24).
    let r = d
        .get(&format!("/v1/files?action=list&path={dir}/p1&itself=true"))
        .await;
    assert!(
        r.text()
            .contains(r#""type":"directory","permissions":"700""#),
        "{}",
        r.text()
    );

    let r = post_json(
        &d,
        &j(r#"{"action":"remove","paths":[{"path":"/srv/golden/files/removeme.txt"}]}"#),
    )
    .await;
    assert_eq!(r.text(), sync_ok(&[&format!("{dir}/removeme.txt")]));
    let r = post_json(
        &d,
        &j(r#"{"action":"remove","paths":[{"path":"/srv/golden/files/nonempty"}]}"#),
    )
    .await;
    assert_eq!(
        r.text(),
        j(
            r#"{"type":"sync","status-code":200,"status":"OK","result":[{"path":"/srv/golden/files/nonempty","error":{"message":"remove /srv/golden/files/nonempty: directory not empty","kind":"generic-file-error"}}]}"#
        )
    );
    let r = post_json(
        &d,
        &j(r#"{"action":"remove","paths":[{"path":"/srv/golden/files/missing.txt"}]}"#),
    )
    .await;
    assert_eq!(
        r.text(),
        j(
            r#"{"type":"sync","status-code":200,"status":"OK","result":[{"path":"/srv/golden/files/missing.txt","error":{"message":"remove /srv/golden/files/missing.txt: no such file or directory","kind":"not-found"}}]}"#
        )
    );
    let r = post_json(&d, &j(r#"{"action":"remove","paths":[{"path":"/srv/golden/files/nonempty","recursive":true}]}"#)).await;
    assert_eq!(r.text(), sync_ok(&[&format!("{dir}/nonempty")]));
    assert!(!Path::new(&format!("{dir}/nonempty")).exists());
    let r = post_json(&d, &j(r#"{"action":"remove","paths":[{"path":"/srv/golden/files/missing","recursive":true}]}"#)).await;
    assert_eq!(r.text(), sync_ok(&[&format!("{dir}/missing")]));
    let r = post_json(&d, r#"{"action":"remove","paths":[{"path":"relative"}]}"#).await;
    assert_eq!(
        r.text(),
        r#"{"type":"sync","status-code":200,"status":"OK","result":[{"path":"relative","error":{"message":"paths must be absolute, got \"relative\"","kind":"generic-file-error"}}]}"#
    );
    let r = post_json(&d, r#"{"action":"bogus"}"#).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"invalid action \"bogus\""}}"#
        )
    );
}

#[tokio::test]
async fn write_exchanges_match_golden() {
    pebble_daemon::daemonlog::set_silent(true);
    let d = TestDaemon::start().await;
    let dir = fixture(d.dir.path());
    let j = |s: &str| golden(s, &dir);
    let ct = format!("multipart/form-data; boundary={B}");

    let w = format!("{dir}/written.txt");
    let body = push_body(
        &j(
            r#"{"action":"write","files":[{"path":"/srv/golden/files/written.txt","permissions":"600"}]}"#,
        ),
        &[(&w, "written by golden\n")],
    );
    let r = post_multipart(&d, &ct, body.as_bytes(), 100).await;
    assert_eq!((r.status, r.text()), (200, sync_ok(&[&w])));
    let r = d.get(&format!("/v1/files?action=list&path={w}")).await;
    assert!(
        r.text()
            .contains(r#""name":"written.txt","type":"file","size":18,"permissions":"600""#)
    );
    assert_eq!(std::fs::read_to_string(&w).unwrap(), "written by golden\n");

    let body = push_body(
        r#"{"action":"write","files":[{"path":"rel.txt"}]}"#,
        &[("rel.txt", "x\n")],
    );
    let r = post_multipart(&d, &ct, body.as_bytes(), 8192).await;
    assert_eq!(
        r.text(),
        r#"{"type":"sync","status-code":200,"status":"OK","result":[{"path":"rel.txt","error":{"message":"paths must be absolute, got \"rel.txt\"","kind":"generic-file-error"}}]}"#
    );

    let bp = format!("{dir}/badperm.txt");
    let body = push_body(
        &j(
            r#"{"action":"write","files":[{"path":"/srv/golden/files/badperm.txt","permissions":"1000"}]}"#,
        ),
        &[(&bp, "x\n")],
    );
    let r = post_multipart(&d, &ct, body.as_bytes(), 8192).await;
    assert_eq!(
        r.text(),
        j(
            r#"{"type":"sync","status-code":200,"status":"OK","result":[{"path":"/srv/golden/files/badperm.txt","error":{"message":"permissions must be a 3-digit octal string, got \"1000\"","kind":"generic-file-error"}}]}"#
        )
    );
    assert!(!Path::new(&bp).exists());

    let np = format!("{dir}/no/parent/f.txt");
    let body = push_body(
        &format!(r#"{{"action":"write","files":[{{"path":"{np}"}}]}}"#),
        &[(&np, "x\n")],
    );
    let r = post_multipart(&d, &ct, body.as_bytes(), 8192).await;
    let t = r.text();
    let prefix = format!(
        r#"{{"type":"sync","status-code":200,"status":"OK","result":[{{"path":"{np}","error":{{"message":"open {np}."#
    );
    assert!(t.starts_with(&prefix), "{t}");
    assert!(
        t.ends_with(r#"~: no such file or directory","kind":"not-found"}}]}"#),
        "{t}"
    );
    let digits = &t[prefix.len()..t.find("~:").unwrap()];
    assert!(
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
        "{digits}"
    );

    let mp = format!("{dir}/newparent/f.txt");
    let body = push_body(
        &format!(r#"{{"action":"write","files":[{{"path":"{mp}","make-dirs":true}}]}}"#),
        &[(&mp, "x\n")],
    );
    let r = post_multipart(&d, &ct, body.as_bytes(), 8192).await;
    assert_eq!(r.text(), sync_ok(&[&mp]));
    assert_eq!(
        std::fs::metadata(format!("{dir}/newparent"))
            .unwrap()
            .mode()
            & 0o777,
        0o755
    );

    let (w1, sub) = (format!("{dir}/w1.txt"), format!("{dir}/sub"));
    let body = push_body(
        &format!(r#"{{"action":"write","files":[{{"path":"{w1}"}},{{"path":"{sub}"}}]}}"#),
        &[(&w1, "1\n"), (&sub, "2\n")],
    );
    let r = post_multipart(&d, &ct, body.as_bytes(), 8192).await;
    let t = r.text();
    assert!(t.starts_with(&format!(r#"{{"type":"sync","status-code":200,"status":"OK","result":[{{"path":"{w1}"}},{{"path":"{sub}","error":{{"message":"rename {sub}."#)), "{t}");
    assert!(
        t.ends_with(&format!(
            r#"~ {sub}: file exists","kind":"generic-file-error"}}}}]}}"#
        )),
        "{t}"
    );
    assert_eq!(std::fs::read_to_string(&w1).unwrap(), "1\n");
    // No temporary file is left behind by any failed write.
    let leftovers: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with('~'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let r = post_json(
        &d,
        &j(r#"{"action":"write","files":[{"path":"/srv/golden/files/j.txt"}]}"#),
    )
    .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"must use multipart with \"write\" action"}}"#
        )
    );
    let r = post_multipart(
        &d,
        "multipart/form-data; boundary=short",
        b"--short\r\n",
        8192,
    )
    .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"invalid boundary \"short\""}}"#
        )
    );
    let r = post_multipart(&d, "text/plain", b"x", 8192).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"invalid media type \"text/plain\""}}"#
        )
    );
    // ops quotes the boundary.
    let q = format!("{dir}/quoted.txt");
    let body = push_body(
        &format!(r#"{{"action":"write","files":[{{"path":"{q}"}}]}}"#),
        &[(&q, "q")],
    );
    let r = post_multipart(
        &d,
        &format!("multipart/form-data; boundary=\"{B}\""),
        body.as_bytes(),
        8192,
    )
    .await;
    assert_eq!(r.text(), sync_ok(&[&q]));
    // A part for a path not in the metadata aborts the request.
    let body = push_body(
        &format!(r#"{{"action":"write","files":[{{"path":"{q}"}}]}}"#),
        &[(&format!("{dir}/other"), "o")],
    );
    let r = post_multipart(&d, &ct, body.as_bytes(), 8192).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains(&format!(
        r#""message":"no metadata for path \"{dir}/other\"""#
    )));
}

#[tokio::test]
async fn large_files_stream_both_ways_through_the_client() {
    pebble_daemon::daemonlog::set_silent(true);
    let d = TestDaemon::start().await;
    let client = pebble_client::Client::new(&d.socket);
    let dir = d.dir.path().join("big");
    std::fs::create_dir(&dir).unwrap();
    // 40 MiB of a non-repeating-per-chunk pattern.
    let len = 40 << 20;
    let data: Vec<u8> = (0..len)
        .map(|i: usize| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let target = format!("{}/sub/big.bin", dir.display());
    let opts = pebble_client::PushOptions {
        path: target.clone(),
        make_dirs: true,
        permissions: "640".into(),
        ..Default::default()
    };
    client
        .push(&opts, std::io::Cursor::new(data.clone()))
        .await
        .unwrap();
    let md = std::fs::metadata(&target).unwrap();
    assert_eq!(md.len(), len as u64);
    assert_eq!(md.mode() & 0o777, 0o640);
    assert!(std::fs::read(&target).unwrap() == data);

    let mut out = Vec::new();
    let n = client.pull(&target, &mut out).await.unwrap();
    assert_eq!(n, len as u64);
    assert!(out == data);

    // Per-path errors come back as API errors with the path error's kind and message.
    let e = client
        .pull(&format!("{}/missing", dir.display()), &mut Vec::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some("not-found"));
    let e = client
        .pull(&dir.display().to_string(), &mut Vec::new())
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("can only read a regular file: \"{}\"", dir.display())
    );
    let e = client
        .make_dir(&pebble_client::MakeDirOptions {
            path: format!("{}/sub", dir.display()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("mkdir {}/sub: file exists", dir.display())
    );
    let list = client
        .list_files(&pebble_client::ListFilesOptions {
            path: format!("{}/sub", dir.display()),
            pattern: "*.bin".into(),
            itself: false,
        })
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].size, Some(len as i64));
    client
        .remove_path(&dir.display().to_string(), true)
        .await
        .unwrap();
    assert!(!dir.exists());
}

/// Bytes after the closing boundary (an epilogue) are read before the answer, so the client is
/// never reset while still sending and the kept-alive connection serves the next request.
#[tokio::test]
async fn write_reads_the_whole_body_before_answering() {
    let d = TestDaemon::start().await;
    let dir = tempfile::tempdir().unwrap();
    let rel = "relative/path.txt";
    let meta = format!(r#"{{"action":"write","files":[{{"path":"{rel}"}}]}}"#);
    let mut body = push_body(&meta, &[(rel, "x")]).into_bytes();
    body.extend_from_slice(&vec![b'e'; 300 * 1024]);
    let mut c: Conn = d.connect().await;
    let head = format!(
        "POST /v1/files HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary={B}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    c.write_raw(head.as_bytes()).await.unwrap();
    c.write_raw(&body).await.unwrap();
    let r = c.read().await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("paths must be absolute"), "{}", r.text());
    // The same connection still works.
    let path = dir.path().display().to_string();
    c.send(
        "GET",
        &format!("/v1/files?action=list&path={path}&itself=true"),
        None,
        &[],
    )
    .await;
    let r = c.read().await;
    assert_eq!(r.status, 200, "{}", r.text());
}
