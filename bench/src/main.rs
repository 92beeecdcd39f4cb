//! `pebble-bench`: the measuring programs behind `bench/run.sh` (see bench/README.md).
//!
//! Each subcommand prints one JSON object on stdout:
//!
//! | subcommand | measures |
//! |---|---|
//! | `gen BYTES` | (writes BYTES of 100-byte lines to stdout: the log generator) |
//! | `serve-fixed SOCK FILE` | (serves FILE's bytes to every request: the HTTP floor) |
//! | `capture SOCK PATH FILE` | (saves the raw response to `GET PATH` for `serve-fixed`) |
//! | `serve-hyper SOCK FILE` | the same response from tokio + hyper (figure e's framework floor) |
//! | `serve-tokio SOCK FILE` | the same bytes from a bare tokio runtime (figure e's runtime floor) |
//! | `http-rtt SOCK PATH N` | keep-alive round trips: p50/p99 µs |
//! | `startup PEBBLE WORKDIR N` | start to a served system-info, and fork+exec of `true`: ms |
//! | `exec-rtt SOCK N` | `exec(["true"]).wait()` via the Rust client, and spawning `true`: ms |
//! | `exec-phases SOCK N` | the same, split: POST, websockets, wait: ms |
//! | `exec-cat SOCK BYTES RUNS` | `cat` through exec, and through a local `cat`: MB/s |
//! | `push-raw SOCK PATH BYTES RUNS` | one multipart push over raw HTTP: MB/s |
//! | `pull-raw SOCK PATH BYTES RUNS` | one pull over raw HTTP: MB/s |
//! | `pull-client SOCK PATH BYTES RUNS` | pull via the Rust client: MB/s |
//! | `pipe BYTES RUNS` | in-process pipe throughput: MB/s |
//! | `disk PATH BYTES RUNS` | write + fsync + rename of a file, as a push does: MB/s |

mod client;
mod files;
mod httpraw;
mod loggen;
mod servehyper;
mod servetokio;
mod startup;
mod stats;

use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::stats::{median, percentile};

fn arg<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> anyhow::Result<T> {
    args.get(i)
        .with_context(|| format!("missing argument {what}"))?
        .parse()
        .map_err(|_| anyhow::anyhow!("invalid {what}: {:?}", args[i]))
}

/// Median MB/s (1e6 bytes) of `runs` timings of `f` moving `bytes` each.
fn rate(
    bytes: u64,
    runs: usize,
    mut f: impl FnMut() -> anyhow::Result<f64>,
) -> anyhow::Result<f64> {
    let mut rates = Vec::new();
    for _ in 0..runs.max(1) {
        rates.push(bytes as f64 / f()? / 1e6);
    }
    Ok(median(&mut rates))
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let cmd = args.get(1).map(String::as_str).unwrap_or("");
    match cmd {
        "gen" => loggen::run(arg(&args, 2, "BYTES")?),
        "serve-fixed" => {
            let sock: PathBuf = arg(&args, 2, "SOCK")?;
            let file: PathBuf = arg(&args, 3, "FILE")?;
            httpraw::serve_fixed(&sock, std::fs::read(file)?)
        }
        "serve-hyper" => {
            let sock: PathBuf = arg(&args, 2, "SOCK")?;
            let file: PathBuf = arg(&args, 3, "FILE")?;
            servehyper::serve(&sock, servehyper::parse_recorded(&std::fs::read(file)?)?)
        }
        "serve-tokio" => {
            let sock: PathBuf = arg(&args, 2, "SOCK")?;
            let file: PathBuf = arg(&args, 3, "FILE")?;
            servetokio::serve(&sock, std::fs::read(file)?)
        }
        "capture" => {
            let sock: PathBuf = arg(&args, 2, "SOCK")?;
            let path: String = arg(&args, 3, "PATH")?;
            let file: PathBuf = arg(&args, 4, "FILE")?;
            std::fs::write(file, httpraw::capture(&sock, &path)?)?;
            Ok(())
        }
        "http-rtt" => {
            let sock: PathBuf = arg(&args, 2, "SOCK")?;
            let path: String = arg(&args, 3, "PATH")?;
            let n: usize = arg(&args, 4, "N")?;
            let req = httpraw::get_request(&path);
            let mut conn = httpraw::Conn::connect(&sock)?;
            let mut us = Vec::with_capacity(n);
            for i in 0..n + n / 10 {
                let t0 = std::time::Instant::now();
                let (status, _) = conn.round_trip(&req)?;
                let t = t0.elapsed().as_secs_f64() * 1e6;
                if status != 200 {
                    bail!("GET {path}: status {status}");
                }
                if i >= n / 10 {
                    us.push(t);
                }
            }
            let p99 = percentile(&mut us, 99.0);
            println!(
                "{{\"p50_us\":{:.2},\"p99_us\":{p99:.2},\"n\":{n}}}",
                median(&mut us)
            );
            Ok(())
        }
        "startup" => startup::run(
            &arg::<PathBuf>(&args, 2, "PEBBLE")?,
            &arg::<PathBuf>(&args, 3, "WORKDIR")?,
            arg(&args, 4, "N")?,
        ),
        "exec-rtt" => client::exec_rtt(&arg::<PathBuf>(&args, 2, "SOCK")?, arg(&args, 3, "N")?),
        "exec-phases" => {
            client::exec_phases(&arg::<PathBuf>(&args, 2, "SOCK")?, arg(&args, 3, "N")?)
        }
        "exec-cat" => {
            let sock: PathBuf = arg(&args, 2, "SOCK")?;
            let bytes: u64 = arg(&args, 3, "BYTES")?;
            let runs: usize = arg(&args, 4, "RUNS")?;
            let exec = rate(bytes, runs, || client::exec_cat(&sock, bytes as usize))?;
            let cat = rate(bytes, runs, || files::cat_local(bytes))?;
            println!("{{\"exec_mbps\":{exec:.1},\"cat_mbps\":{cat:.1}}}");
            Ok(())
        }
        "push-raw" | "pull-raw" | "pull-client" => {
            let sock: PathBuf = arg(&args, 2, "SOCK")?;
            let path: String = arg(&args, 3, "PATH")?;
            let bytes: u64 = arg(&args, 4, "BYTES")?;
            let runs: usize = arg(&args, 5, "RUNS")?;
            let mbps = rate(bytes, runs, || match cmd {
                "push-raw" => files::push_raw(&sock, &path, bytes),
                "pull-raw" => {
                    let (n, secs) = files::pull_raw(&sock, &path)?;
                    if n < bytes {
                        bail!("pull-raw: body of {n} bytes for a {bytes}-byte file");
                    }
                    Ok(secs)
                }
                _ => client::pull(&sock, &path, bytes),
            })?;
            println!("{{\"mbps\":{mbps:.1}}}");
            Ok(())
        }
        "disk" => {
            let path: PathBuf = arg(&args, 2, "PATH")?;
            let bytes: u64 = arg(&args, 3, "BYTES")?;
            let runs: usize = arg(&args, 4, "RUNS")?;
            let mbps = rate(bytes, runs, || files::disk_write(&path, bytes))?;
            let _ = std::fs::remove_file(&path);
            println!("{{\"mbps\":{mbps:.1}}}");
            Ok(())
        }
        "pipe" => {
            let bytes: u64 = arg(&args, 2, "BYTES")?;
            let runs: usize = arg(&args, 3, "RUNS")?;
            let mbps = rate(bytes, runs, || files::pipe(bytes))?;
            println!("{{\"mbps\":{mbps:.1}}}");
            Ok(())
        }
        _ => bail!("usage: pebble-bench <subcommand> ... (see bench/README.md)"),
    }
}
