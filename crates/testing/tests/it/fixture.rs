//! The real-daemon fixture: in-process and as a child process.

use pebble_testing::Workload;

#[tokio::test]
async fn fixture_stops_cleanly() {
    let fixture = pebble_testing::DaemonFixture::start_with_layers(&[(
        "001-base.yaml",
        "services:\n  s: {override: replace, command: sleep 1000, startup: enabled}\n",
    )])
    .unwrap();
    let c = fixture.container();
    assert_eq!(c.get_plan().await.unwrap().services.len(), 1);
    c.autostart().await.unwrap();
    assert!(c.get_service("s").await.unwrap().is_running());
    let socket = fixture.socket().to_path_buf();
    drop(fixture);
    assert!(!socket.exists());
    assert!(!c.can_connect().await);
}

/// The `pebble` binary: `$PEBBLE_BIN`, or the one next to this test's `deps/` directory.
fn pebble_bin() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("PEBBLE_BIN") {
        return Some(p.into());
    }
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join("pebble");
    p.is_file().then_some(p)
}

#[tokio::test]
async fn fixture_as_child_process() {
    let Some(bin) = pebble_bin() else {
        eprintln!("skipped: no pebble binary (build it or set PEBBLE_BIN)");
        return;
    };
    let fixture = tokio::task::spawn_blocking(move || {
        pebble_testing::DaemonFixture::spawn_binary(
            bin,
            &[(
                "001-base.yaml",
                "services:\n  s: {override: replace, command: sleep 1000, startup: enabled}\n",
            )],
        )
    })
    .await
    .unwrap()
    .unwrap();
    let c = fixture.container();
    c.autostart().await.unwrap();
    assert!(c.get_service("s").await.unwrap().is_running());
    let (out, _) = c
        .exec(&["echo", "child"], Default::default())
        .await
        .unwrap()
        .wait_output()
        .await
        .unwrap();
    assert_eq!(out, "child\n");
    let socket = fixture.socket().to_path_buf();
    tokio::task::spawn_blocking(move || drop(fixture))
        .await
        .unwrap();
    assert!(!socket.exists());
    assert!(!c.can_connect().await);
}
