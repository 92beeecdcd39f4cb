//! The blocking wrappers, against the fake and the real daemon.

use std::io::{BufRead, BufReader, Write};

use pebble_client::container::blocking::BlockingContainer;
use pebble_client::container::{ContainerError, ExecOptions, PushOptions, Workload};
use pebble_testing::{DaemonFixture, FakeContainer, MockResult};

fn stream_lines<W: Workload>(c: &BlockingContainer<W>) -> Vec<String> {
    let mut process = c.exec(&["cat"], ExecOptions::new()).unwrap();
    let mut stdin = process.stdin.take().unwrap();
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        for line in ["one\n", "2\n", "THREE\n"] {
            stdin.write_all(line.as_bytes())?;
            stdin.flush()?;
        }
        stdin.close()
    });
    let out: Vec<String> = BufReader::new(process.stdout.take().unwrap())
        .lines()
        .map(|l| l.unwrap())
        .collect();
    writer.join().unwrap().unwrap();
    process.wait().unwrap();
    out
}

fn basics<W: Workload>(c: &BlockingContainer<W>, base: &str) {
    assert!(c.can_connect());
    c.add_layer(
        "l",
        "services:\n  s: {override: replace, command: sleep 1000, startup: enabled}\n",
        false,
    )
    .unwrap();
    c.replan().unwrap();
    assert!(c.get_service("s").unwrap().is_running());
    c.stop(&["s"]).unwrap();
    let f = format!("{base}/f.txt");
    c.push(&f, "data", PushOptions::new().make_dirs(true))
        .unwrap();
    assert_eq!(c.pull_text(&f).unwrap(), "data");
    let mut s = String::new();
    std::io::Read::read_to_string(&mut c.pull(&f).unwrap(), &mut s).unwrap();
    assert_eq!(s, "data");
    let e = c
        .exec(&["/bin/sh", "-c", "exit 4"], ExecOptions::new())
        .unwrap()
        .wait()
        .unwrap_err();
    assert!(
        matches!(&e, ContainerError::Exec(x) if x.exit_code == 4),
        "{e:?}"
    );
}

#[test]
fn blocking_fake() {
    let fake = FakeContainer::new();
    fake.exec_handler(&["cat"], |r| MockResult::ok().stdout(r.stdin.clone()));
    fake.exec_mock(&["/bin/sh"], MockResult::exit(4));
    let c = BlockingContainer::new(fake).unwrap();
    assert_eq!(stream_lines(&c), ["one", "2", "THREE"]);
    basics(&c, "/srv");
}

#[test]
fn blocking_real() {
    let fixture = DaemonFixture::start().unwrap();
    let c = BlockingContainer::new(fixture.container()).unwrap();
    assert_eq!(stream_lines(&c), ["one", "2", "THREE"]);
    basics(&c, &fixture.dir().join("b").display().to_string());
}
