//! `pebble push/pull/ls/mkdir/rm` against a real `pebble run` (golden/cli.md 68-91), with the
//! remote fixture under the temp `$PEBBLE` instead of /srv/golden/remote.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::harness::{Daemon, Out};

const JAN1: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn set_mtime(p: &Path) {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(JAN1 as u64);
    let f = std::fs::File::open(p).unwrap();
    f.set_times(std::fs::FileTimes::new().set_modified(t).set_accessed(t))
        .unwrap();
}

/// hello.txt (20 bytes, 644), link -> hello.txt, nonempty/inner, script.sh (18 bytes, 755).
fn fixture(d: &Daemon) -> (String, String) {
    let remote = d.dir.path().join("remote");
    let local = d.dir.path().join("local");
    std::fs::create_dir_all(remote.join("nonempty/inner")).unwrap();
    std::fs::create_dir_all(&local).unwrap();
    std::fs::write(remote.join("hello.txt"), "hello, golden world\n").unwrap();
    std::fs::write(remote.join("script.sh"), "#!/bin/sh\necho hi\n").unwrap();
    std::fs::write(remote.join("nonempty/inner/x"), "x").unwrap();
    std::fs::set_permissions(remote.join("hello.txt"), PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::set_permissions(remote.join("script.sh"), PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::set_permissions(remote.join("nonempty"), PermissionsExt::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("hello.txt", remote.join("link")).unwrap();
    for p in [
        "hello.txt",
        "script.sh",
        "nonempty/inner/x",
        "nonempty/inner",
        "nonempty",
    ] {
        set_mtime(&remote.join(p));
    }
    std::fs::write(local.join("in.txt"), "local file to push\n!!\n").unwrap();
    std::fs::set_permissions(local.join("in.txt"), PermissionsExt::from_mode(0o644)).unwrap();
    (
        remote.to_string_lossy().into_owned(),
        local.to_string_lossy().into_owned(),
    )
}

fn ok(o: &Out, stdout: &str) {
    assert_eq!(
        (o.code, o.stdout.as_str(), o.stderr.as_str()),
        (0, stdout, ""),
        "{o:?}"
    );
}

/// An error exit; the message is compared with the terminal wrapping undone.
fn err(o: &Out, message: &str) {
    assert_eq!((o.code, o.stdout.as_str()), (1, ""), "{o:?}");
    assert!(o.stderr.ends_with('\n'), "{o:?}");
    let unwrapped = o.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(unwrapped, format!("error: {message}"));
}

#[test]
fn golden_file_commands() {
    let d = Daemon::start(&[], &[]);
    let (remote, local) = fixture(&d);

    ok(
        &d.pebble(&["ls", &remote]),
        "hello.txt\nlink\nnonempty\nscript.sh\n",
    );
    let o = d.pebble(&["ls", "-l", "--abs-time", &remote]);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{o:?}");
    assert!(lines[0].starts_with("-rw-r--r--  "), "{o:?}");
    assert!(
        lines[0].ends_with("     20B  2026-01-01T00:00:00Z  hello.txt"),
        "{o:?}"
    );
    assert!(
        lines[1].starts_with("Lrwxrwxrwx  ") && lines[1].contains("       -  "),
        "{o:?}"
    );
    assert!(
        lines[2].starts_with("drwxr-xr-x  ") && lines[2].ends_with("  nonempty"),
        "{o:?}"
    );
    assert!(
        lines[3].ends_with("     18B  2026-01-01T00:00:00Z  script.sh"),
        "{o:?}"
    );
    let o = d.pebble(&["ls", "-l", &remote]);
    assert!(
        o.stdout.contains("  2026-01-01          hello.txt\n"),
        "{o:?}"
    );
    ok(&d.pebble(&["ls", "-d", &remote]), "remote\n");
    ok(
        &d.pebble(&["ls", &format!("{remote}/*.txt")]),
        "hello.txt\n",
    );
    let o = d.pebble(&["ls", "--format", "json", &format!("{remote}/hello.txt")]);
    assert_eq!(o.code, 0);
    assert!(
        o.stdout.starts_with(&format!(
            r#"{{"files":[{{"path":"{remote}/hello.txt","name":"hello.txt","type":"file","size":20,"permissions":"644","last-modified":""#
        )),
        "{o:?}"
    );
    err(
        &d.pebble(&["ls", &format!("{remote}/missing")]),
        &format!("stat {remote}/missing: no such file or directory"),
    );
    err(
        &d.pebble(&["ls", "/s*/x"]),
        "can only use globs on the last path element",
    );

    ok(
        &d.pebble(&[
            "push",
            &format!("{local}/in.txt"),
            &format!("{remote}/in.txt"),
        ]),
        "",
    );
    ok(
        &d.pebble(&[
            "pull",
            &format!("{remote}/in.txt"),
            &format!("{local}/out.txt"),
        ]),
        "",
    );
    assert_eq!(
        std::fs::read(format!("{local}/out.txt")).unwrap(),
        std::fs::read(format!("{local}/in.txt")).unwrap()
    );
    err(
        &d.pebble(&[
            "push",
            &format!("{local}/missing.txt"),
            &format!("{remote}/x.txt"),
        ]),
        &format!("open {local}/missing.txt: no such file or directory"),
    );
    let o = d.pebble(&[
        "push",
        &format!("{local}/in.txt"),
        &format!("{remote}/no/parent/x.txt"),
    ]);
    assert_eq!(o.code, 1);
    let msg = o.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        msg.starts_with(&format!("error: open {remote}/no/parent/x.txt.")),
        "{o:?}"
    );
    assert!(msg.ends_with("~: no such file or directory"), "{o:?}");
    ok(
        &d.pebble(&[
            "push",
            "-p",
            "-m",
            "600",
            &format!("{local}/in.txt"),
            &format!("{remote}/made/parent/x.txt"),
        ]),
        "",
    );
    let o = d.pebble(&["ls", "-l", &format!("{remote}/made/parent/x.txt")]);
    assert_eq!(o.code, 0);
    assert!(o.stdout.starts_with("-rw-------  "), "{o:?}");
    assert!(o.stdout.contains("     22B  today at "), "{o:?}");
    assert!(o.stdout.ends_with(" UTC  x.txt\n"), "{o:?}");
    err(
        &d.pebble(&[
            "pull",
            &format!("{remote}/missing.txt"),
            &format!("{local}/y.txt"),
        ]),
        &format!("stat {remote}/missing.txt: no such file or directory"),
    );
    assert!(!Path::new(&format!("{local}/y.txt")).exists());
    err(
        &d.pebble(&["pull", &format!("{remote}/nonempty"), &format!("{local}/z")]),
        &format!("can only read a regular file: \"{remote}/nonempty\""),
    );

    ok(&d.pebble(&["mkdir", &format!("{remote}/newdir")]), "");
    err(
        &d.pebble(&["mkdir", &format!("{remote}/newdir")]),
        &format!("mkdir {remote}/newdir: file exists"),
    );
    err(
        &d.pebble(&["mkdir", &format!("{remote}/a/b")]),
        &format!("mkdir {remote}/a/b.mkdir-new: no such file or directory"),
    );
    ok(&d.pebble(&["mkdir", "-p", &format!("{remote}/a/b")]), "");
    ok(
        &d.pebble(&["mkdir", "-m", "700", &format!("{remote}/m700")]),
        "",
    );
    assert_eq!(
        std::fs::metadata(format!("{remote}/m700"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    err(
        &d.pebble(&["mkdir", "relative"]),
        "paths must be absolute, got \"relative\"",
    );

    err(
        &d.pebble(&["rm", &format!("{remote}/nonempty")]),
        &format!("remove {remote}/nonempty: directory not empty"),
    );
    err(
        &d.pebble(&["rm", &format!("{remote}/missing")]),
        &format!("remove {remote}/missing: no such file or directory"),
    );
    ok(&d.pebble(&["rm", "-r", &format!("{remote}/nonempty")]), "");
    ok(&d.pebble(&["rm", &format!("{remote}/in.txt")]), "");
    assert!(!Path::new(&format!("{remote}/nonempty")).exists());
    assert!(!Path::new(&format!("{remote}/in.txt")).exists());
}
