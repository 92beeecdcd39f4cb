//! Environment variables of `pebble run` and of the CLI: `PEBBLE_COPY_ONCE`, `PEBBLE_BASEURL`.

use crate::harness::Daemon;

const LAYER: &str = "services:\n  srv:\n    override: replace\n    command: /bin/sleep 1000\n";

#[test]
fn copy_once_fills_an_empty_pebble_dir_before_loading_layers() {
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir(src.path().join("layers")).unwrap();
    std::fs::write(src.path().join("layers/001-base.yaml"), LAYER).unwrap();
    let src_path = src.path().to_string_lossy().into_owned();
    let d = Daemon::start_env(&[], &["--hold"], &[("PEBBLE_COPY_ONCE", &src_path)]);
    let out = d.pebble(&["services"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "Service  Startup   Current   Since\nsrv      disabled  inactive  -\n"
    );
    assert_eq!(
        std::fs::read_to_string(d.dir.path().join("layers/001-base.yaml")).unwrap(),
        LAYER
    );
}

#[test]
fn copy_once_leaves_a_non_empty_pebble_dir_alone() {
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir(src.path().join("layers")).unwrap();
    std::fs::write(src.path().join("layers/001-base.yaml"), LAYER).unwrap();
    let src_path = src.path().to_string_lossy().into_owned();
    // The daemon's own layer makes $PEBBLE non-empty.
    let own = "services:\n  mine:\n    override: replace\n    command: /bin/sleep 1000\n";
    let d = Daemon::start_env(
        &[("001-own.yaml", own)],
        &["--hold"],
        &[("PEBBLE_COPY_ONCE", &src_path)],
    );
    let out = d.pebble(&["services"]);
    assert_eq!(
        out.stdout,
        "Service  Startup   Current   Since\nmine     disabled  inactive  -\n"
    );
    assert!(!d.dir.path().join("layers/001-base.yaml").exists());
}

/// A free TCP port on 127.0.0.1 (bound then released).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Runs `pebble <args>` with `$PEBBLE_BASEURL` set (and `$PEBBLE` pointing nowhere useful).
fn pebble_baseurl(url: &str, args: &[&str]) -> crate::harness::Out {
    let out = std::process::Command::new(crate::harness::bin())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PEBBLE", "/nonexistent-pebble-dir")
        .env("PEBBLE_BASEURL", url)
        .env("HOME", "/nonexistent-pebble-dir")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    crate::harness::Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn baseurl_talks_http_to_the_http_listener() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let _d = Daemon::start(&[("001-base.yaml", LAYER)], &["--hold", "--http", &addr]);
    let url = format!("http://{addr}");
    // An open endpoint answers over HTTP.
    let out = pebble_baseurl(&url, &["health"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "healthy\n"), "{out:?}");
    // Over plain HTTP without an identity, a read endpoint is refused by the daemon itself
    // (so the request did reach it).
    let out = pebble_baseurl(&url, &["services"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "error: access denied\n"),
        "{out:?}"
    );
    // A bad scheme is refused before any request.
    let out = pebble_baseurl("ftp://x", &["health"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.starts_with("error: "), "{out:?}");
}

#[test]
fn baseurl_connection_error_names_the_tcp_address() {
    let port = free_port();
    let out = pebble_baseurl(&format!("http://127.0.0.1:{port}"), &["services"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!(
            "error: cannot communicate with server: dial tcp 127.0.0.1:{port}: connect: \
             connection refused\n"
        )
    );
}
