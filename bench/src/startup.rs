//! Startup latency: spawn `pebble run` and poll its socket until `GET /v1/system-info` is
//! served; the reference spawns `true` and waits for it, timed the same way.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::bail;

use crate::httpraw::{Conn, get_request};
use crate::stats::median;

/// Time one start of `pebble run` in a fresh directory under `workdir` (milliseconds).
fn one_start(pebble: &Path, dir: &Path) -> anyhow::Result<f64> {
    std::fs::create_dir_all(dir)?;
    let sock = dir.join(".pebble.socket");
    let request = get_request("/v1/system-info");
    // Analysis knob: sleep between connection attempts instead of spinning.
    let poll_sleep = std::env::var("PEBBLE_BENCH_POLL_US")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(std::time::Duration::from_micros);
    let t0 = Instant::now();
    let mut child = Command::new(pebble)
        .arg("run")
        .env("PEBBLE", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let result = loop {
        if let Ok(mut conn) = Conn::connect(&sock) {
            match conn.round_trip(&request) {
                Ok((200, _)) => break Ok(t0.elapsed().as_secs_f64() * 1e3),
                Ok((status, _)) => break Err(anyhow::anyhow!("system-info: status {status}")),
                Err(_) => continue,
            }
        }
        if let Some(status) = child.try_wait()? {
            break Err(anyhow::anyhow!("pebble run exited early: {status}"));
        }
        match poll_sleep {
            Some(d) => std::thread::sleep(d),
            None => std::hint::spin_loop(),
        }
    };
    let pid = libc::pid_t::try_from(child.id())?;
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    child.wait()?;
    let _ = std::fs::remove_dir_all(dir);
    result
}

/// Time one fork+exec of `true` until it has exited (milliseconds).
fn one_true() -> anyhow::Result<f64> {
    let t0 = Instant::now();
    let status = Command::new("true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("true failed: {status}");
    }
    Ok(t0.elapsed().as_secs_f64() * 1e3)
}

/// Median startup time of `pebble` and of `true` over `n` alternating runs; prints JSON.
pub fn run(pebble: &Path, workdir: &Path, n: usize) -> anyhow::Result<()> {
    let (mut p, mut t) = (Vec::new(), Vec::new());
    for i in 0..n + 2 {
        let ms = one_start(pebble, &workdir.join(format!("start{i}")))?;
        let tms = one_true()?;
        if i >= 2 {
            // The first two runs warm the page cache.
            p.push(ms);
            t.push(tms);
        }
    }
    println!(
        "{{\"pebble_ms\":{:.3},\"true_ms\":{:.3},\"n\":{n}}}",
        median(&mut p),
        median(&mut t)
    );
    Ok(())
}
