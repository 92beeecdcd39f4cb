//! Starting `pebble run` on a temp directory and running CLI commands against it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Output of one CLI run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// `exit=<code>`, stdout and stderr in one text for snapshots.
    pub fn render(&self) -> String {
        format!(
            "exit={}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Path of the binary under test.
pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("pebble")
}

/// Runs `pebble <args>` with `$PEBBLE` set to `dir` (stdin closed, pipes for output).
pub fn pebble_in(dir: &Path, args: &[&str]) -> Out {
    let out = Command::new(bin())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PEBBLE", dir)
        .env("TZ", "UTC")
        .env("LANG", "C.UTF-8")
        .env("HOME", dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A `pebble run` daemon on a temp `$PEBBLE`, killed (SIGTERM) on drop.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    /// Holds `daemon.log` (outside `$PEBBLE`, which `PEBBLE_COPY_ONCE` needs empty).
    _log_dir: tempfile::TempDir,
    child: Option<Child>,
}

/// Polls `cond` every 20 ms until it holds (panics after `timeout`).
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Daemon {
    /// Starts `pebble run --create-dirs` with the given extra flags, after writing `layers`
    /// into `$PEBBLE/layers`, and waits until the API answers.
    pub fn start(layers: &[(&str, &str)], flags: &[&str]) -> Daemon {
        Daemon::start_env(layers, flags, &[])
    }

    /// [`Daemon::start`] with extra environment variables for the daemon.
    pub fn start_env(layers: &[(&str, &str)], flags: &[&str], env: &[(&str, &str)]) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        if !layers.is_empty() {
            let ld = dir.path().join("layers");
            std::fs::create_dir_all(&ld).unwrap();
            for (name, yaml) in layers {
                std::fs::write(ld.join(name), yaml).unwrap();
            }
        }
        let log_dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(log_dir.path().join("daemon.log")).unwrap();
        let child = Command::new(bin())
            .arg("run")
            .arg("--create-dirs")
            .args(flags)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PEBBLE", dir.path())
            .env("TZ", "UTC")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let d = Daemon {
            dir,
            _log_dir: log_dir,
            child: Some(child),
        };
        let socket = d.dir.path().join(".pebble.socket");
        wait_for("the daemon's socket", Duration::from_secs(20), || {
            socket.exists() && d.pebble(&["version"]).stdout.lines().nth(1) != Some("server  -")
        });
        d
    }

    /// Runs a CLI command against this daemon.
    pub fn pebble(&self, args: &[&str]) -> Out {
        pebble_in(self.dir.path(), args)
    }

    /// What the daemon wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._log_dir.path().join("daemon.log")).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the daemon to exit; returns its exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        // SAFETY: plain kill(2) of our own child.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        child.wait().ok().and_then(|s| s.code())
    }

    /// Writes a file under `$PEBBLE` and returns its path.
    pub fn write_file(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: plain kill(2) of our own child.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM);
            }
            let _ = child.wait();
        }
    }
}

/// Masks run-dependent text: the temp directory (`[PEBBLE]`), RFC 3339 times (`[TIME]`) and
/// relative times (`[TODAY]`).
pub fn mask(dir: &Path, s: &str) -> String {
    let s = s.replace(&*dir.to_string_lossy(), "[PEBBLE]");
    let s = replace_times(&s, "[TIME]");
    replace_today(&s, "[TODAY]")
}

fn replace_times(s: &str, rep: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if let Some(n) = time_len(&b[i..]) {
            out.push_str(rep);
            i += n;
        } else {
            let ch = s[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn time_len(b: &[u8]) -> Option<usize> {
    let d = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let is = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(d(0) && d(1) && d(2) && d(3) && is(4, b'-') && d(5) && d(6) && is(7, b'-') && d(8) && d(9))
    {
        return None;
    }
    if !(is(10, b'T')
        && d(11)
        && d(12)
        && is(13, b':')
        && d(14)
        && d(15)
        && is(16, b':')
        && d(17)
        && d(18))
    {
        return None;
    }
    let mut i = 19;
    if is(i, b'.') {
        i += 1;
        while d(i) {
            i += 1;
        }
    }
    if is(i, b'Z') {
        return Some(i + 1);
    }
    if (is(i, b'+') || is(i, b'-'))
        && d(i + 1)
        && d(i + 2)
        && is(i + 3, b':')
        && d(i + 4)
        && d(i + 5)
    {
        return Some(i + 6);
    }
    None
}

fn replace_today(s: &str, rep: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(p) = rest.find("today at ") {
        let cand = &rest[p..];
        let b = cand.as_bytes();
        let ok = b.len() >= 18
            && b[9].is_ascii_digit()
            && b[10].is_ascii_digit()
            && b[11] == b':'
            && b[12].is_ascii_digit()
            && b[13].is_ascii_digit()
            && &cand[14..18] == " UTC";
        out.push_str(&rest[..p]);
        if ok {
            out.push_str(rep);
            rest = &cand[18..];
        } else {
            out.push_str("today at ");
            rest = &cand[9..];
        }
    }
    out.push_str(rest);
    out
}
