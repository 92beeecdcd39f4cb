//! Push and pull over raw HTTP (one multipart request each), and the in-process pipe
//! reference.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::httpraw::Conn;

/// Bytes per write when streaming a body.
const CHUNK: usize = 1 << 20;

/// A 1 MiB pattern block.
fn block() -> Vec<u8> {
    (0..CHUNK).map(|i| (i % 251) as u8).collect()
}

/// Push `size` bytes to `path` in one streamed multipart request; returns seconds.
pub fn push_raw(sock: &Path, path: &str, size: u64) -> anyhow::Result<f64> {
    let boundary = "7f3a9c0e5b2d4f6a8c1e3b5d7f9a0c2e4b6d8f1a3c5e7b9d0f2a4c6e8b1d";
    let meta = format!(r#"{{"action":"write","files":[{{"path":"{path}"}}]}}"#);
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"request\"\r\nContent-Type: application/json\r\n\r\n{meta}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{path}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let len = head.len() as u64 + size + tail.len() as u64;
    let request = format!(
        "POST /v1/files HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n{head}"
    );
    let data = block();
    let t0 = Instant::now();
    let mut conn = Conn::connect(sock)?;
    conn.write_all(request.as_bytes())?;
    let mut left = size;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        conn.write_all(&data[..n])?;
        left -= n as u64;
    }
    conn.write_all(tail.as_bytes())?;
    let h = conn.read_head()?;
    let mut body = Vec::new();
    conn.read_body(&h, &mut |d| body.extend_from_slice(d))?;
    let secs = t0.elapsed().as_secs_f64();
    let body = String::from_utf8_lossy(&body);
    if h.status != 200 || body.contains("\"error\"") {
        bail!("push failed: {} {body}", h.status);
    }
    Ok(secs)
}

/// Pull `path` with one raw request, counting the multipart body; returns (body bytes, seconds).
pub fn pull_raw(sock: &Path, path: &str) -> anyhow::Result<(u64, f64)> {
    let request = format!(
        "GET /v1/files?action=read&path={path} HTTP/1.1\r\nHost: localhost\r\nAccept: multipart/form-data\r\nConnection: close\r\n\r\n"
    );
    let t0 = Instant::now();
    let mut conn = Conn::connect(sock)?;
    conn.write_all(request.as_bytes())?;
    let h = conn.read_head()?;
    let mut tail = Vec::new();
    let n = conn.read_body(&h, &mut |d| {
        // Keep the last bytes to check the closing response part.
        tail.extend_from_slice(&d[d.len().saturating_sub(512)..]);
        if tail.len() > 4096 {
            tail.drain(..tail.len() - 1024);
        }
    })?;
    let secs = t0.elapsed().as_secs_f64();
    let ok = h
        .content_type
        .as_deref()
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    let tail = String::from_utf8_lossy(&tail);
    if h.status != 200 || !ok || tail.contains("\"error\"") {
        bail!(
            "pull failed: status {} {:?}: {tail}",
            h.status,
            h.content_type
        );
    }
    Ok((n, secs))
}

/// Write `size` bytes to `path` as the daemon's push does (temporary file in the same
/// directory, 1 MiB writes, fsync, rename, fsync of the directory); returns seconds.
pub fn disk_write(path: &Path, size: u64) -> anyhow::Result<f64> {
    let data = block();
    let tmp = path.with_extension("bench-tmp");
    let t0 = Instant::now();
    let mut f = std::fs::File::create(&tmp)?;
    let mut left = size;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        f.write_all(&data[..n])?;
        left -= n as u64;
    }
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(t0.elapsed().as_secs_f64())
}

/// Stream `size` bytes through an in-process pipe (writer thread, 1 MiB writes and reads);
/// returns seconds.
pub fn pipe(size: u64) -> anyhow::Result<f64> {
    let (r, w) = std::io::pipe()?;
    let data = block();
    let t0 = Instant::now();
    pump(size, data, w, r, "pipe")?;
    Ok(t0.elapsed().as_secs_f64())
}

/// Write `size` bytes (repeating `data`) into `w` from a thread while counting what `r` yields until EOF; fails
/// unless exactly `size` bytes came back.
fn pump(
    size: u64,
    data: Vec<u8>,
    mut w: impl Write + Send + 'static,
    mut r: impl Read,
    what: &str,
) -> anyhow::Result<()> {
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let mut left = size;
        while left > 0 {
            let n = left.min(CHUNK as u64) as usize;
            w.write_all(&data[..n])?;
            left -= n as u64;
        }
        Ok(())
    });
    let mut buf = vec![0u8; CHUNK];
    let mut got = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        got += n as u64;
    }
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("writer panicked"))?
        .with_context(|| format!("{what} write"))?;
    if got != size {
        bail!("{what}: got {got} of {size} bytes");
    }
    Ok(())
}

/// Stream `size` bytes through a local `cat` child (stdin and stdout pipes); returns seconds.
pub fn cat_local(size: u64) -> anyhow::Result<f64> {
    use std::process::{Command, Stdio};
    let data = block();
    let t0 = Instant::now();
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdin = child.stdin.take().context("stdin")?;
    let stdout = child.stdout.take().context("stdout")?;
    pump(size, data, stdin, stdout, "cat")?;
    child.wait()?;
    Ok(t0.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn disk_write_writes_the_file() {
        let dir = std::env::temp_dir().join(format!("pebble-bench-disk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        assert!(disk_write(&path, 3 * CHUNK as u64 + 1).unwrap() > 0.0);
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            3 * CHUNK as u64 + 1
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pipe_and_cat_move_every_byte() {
        assert!(pipe(3 * CHUNK as u64 + 5).unwrap() > 0.0);
        assert!(cat_local(CHUNK as u64 + 7).unwrap() > 0.0);
    }
}
