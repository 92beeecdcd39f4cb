//! Figures measured through `pebble_client::Client` (exec round trip, exec `cat`, pull).

use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use anyhow::bail;
use pebble_client::{Client, ExecOptions};
use tokio::io::AsyncWrite;

use crate::stats::median;

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// An [`AsyncWrite`] that discards and counts.
#[derive(Debug, Default)]
struct Counter(u64);

impl AsyncWrite for Counter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0 += buf.len() as u64;
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Median milliseconds of `exec(["true"]).wait()` through the client, and of spawning `true`
/// directly; prints JSON.
pub fn exec_rtt(sock: &Path, n: usize) -> anyhow::Result<()> {
    let rt = runtime()?;
    let client = Client::new(sock);
    let opts = ExecOptions::new(["true"]);
    let (mut e, mut t, mut s) = (Vec::new(), Vec::new(), Vec::new());
    rt.block_on(async {
        for i in 0..n + 3 {
            let t0 = Instant::now();
            let process = client.exec(&opts).await?;
            let started = t0.elapsed().as_secs_f64() * 1e3;
            let code = process.wait().await?;
            let ms = t0.elapsed().as_secs_f64() * 1e3;
            if code != 0 {
                bail!("true exited with {code}");
            }
            let t0 = Instant::now();
            std::process::Command::new("true").status()?;
            let tms = t0.elapsed().as_secs_f64() * 1e3;
            if i >= 3 {
                e.push(ms);
                t.push(tms);
                s.push(started);
            }
        }
        Ok(())
    })?;
    println!(
        "{{\"exec_ms\":{:.3},\"start_ms\":{:.3},\"spawn_ms\":{:.3},\"n\":{n}}}",
        median(&mut e),
        median(&mut s),
        median(&mut t)
    );
    Ok(())
}

/// Seconds to stream `size` bytes through `cat` run by exec (stdin in, stdout back).
pub fn exec_cat(sock: &Path, size: usize) -> anyhow::Result<f64> {
    let rt = runtime()?;
    let client = Client::new(sock);
    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    rt.block_on(async {
        let t0 = Instant::now();
        let mut p = client.exec(&ExecOptions::new(["cat"])).await?;
        let mut out = Counter::default();
        p.stream(Some(&data[..]), &mut out, None::<tokio::io::Sink>)
            .await?;
        let code = p.wait().await?;
        let secs = t0.elapsed().as_secs_f64();
        if code != 0 || out.0 != size as u64 {
            bail!("exec cat: exit {code}, {} of {size} bytes back", out.0);
        }
        Ok(secs)
    })
}

/// Seconds to pull `path` through the client (into a counting sink); checks the size.
pub fn pull(sock: &Path, path: &str, size: u64) -> anyhow::Result<f64> {
    let rt = runtime()?;
    let client = Client::new(sock);
    rt.block_on(async {
        let t0 = Instant::now();
        let mut out = Counter::default();
        let n = client.pull(path, &mut out).await?;
        let secs = t0.elapsed().as_secs_f64();
        if n != size || out.0 != size {
            bail!("pull: {n} of {size} bytes");
        }
        Ok(secs)
    })
}

/// Phases of `exec(["true"])` (the steps of `Client::exec` and `wait`), median ms each:
/// `POST /v1/exec`, both websockets connected, change ready, control websocket closed; prints
/// JSON.
pub fn exec_phases(sock: &Path, n: usize) -> anyhow::Result<()> {
    let rt = runtime()?;
    let client = Client::new(sock);
    let body = br#"{"command":["true"]}"#.to_vec();
    let (mut post, mut ws, mut wait, mut close) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    rt.block_on(async {
        for i in 0..n + 3 {
            let t0 = Instant::now();
            let env = client
                .request_envelope(
                    http::Method::POST,
                    "/v1/exec",
                    &pebble_client::Query::new(),
                    Some(body.clone()),
                )
                .await?;
            let t1 = Instant::now();
            let change = env.change.clone().unwrap_or_default();
            let task = env
                .result
                .as_ref()
                .and_then(|r| r.get("task-id"))
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            let (control, stdio) = tokio::try_join!(
                client.exec_websocket(&task, "control"),
                client.exec_websocket(&task, "stdio")
            )?;
            let t2 = Instant::now();
            drop(stdio);
            let info = client.wait_change(&change, None).await?;
            let t3 = Instant::now();
            let mut control = control;
            let _ = control.close(None).await;
            let t4 = Instant::now();
            if !info.err.is_empty() {
                bail!("exec change failed: {}", info.err);
            }
            if i >= 3 {
                post.push((t1 - t0).as_secs_f64() * 1e3);
                ws.push((t2 - t1).as_secs_f64() * 1e3);
                wait.push((t3 - t2).as_secs_f64() * 1e3);
                close.push((t4 - t3).as_secs_f64() * 1e3);
            }
        }
        Ok(())
    })?;
    println!(
        "{{\"post_ms\":{:.3},\"websockets_ms\":{:.3},\"wait_ms\":{:.3},\"control_close_ms\":{:.3},\"n\":{n}}}",
        median(&mut post),
        median(&mut ws),
        median(&mut wait),
        median(&mut close)
    );
    Ok(())
}
