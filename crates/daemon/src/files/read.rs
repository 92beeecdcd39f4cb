//! `GET /v1/files?action=read`: a streamed `multipart/form-data` body with one `files` part per
//! readable regular file, then a `response` part holding the per-path results.
//!
//! Files are read on a blocking thread in large chunks and handed to the body through a small
//! bounded channel, so memory use does not depend on file size.

use super::error::{FileError, go_quote};
use super::gopath;
use bytes::Bytes;
use pebble_api::files::FileResult;
use std::fs;
use std::io::Read;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Size of each chunk read from disk.
pub const READ_CHUNK: usize = 512 * 1024;
/// Chunks buffered between the reading thread and the connection.
const CHANNEL_DEPTH: usize = 4;

/// A random multipart boundary like Go's: 60 lower-case hex characters.
pub fn random_boundary() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    (0..60)
        .map(|_| HEX[fastrand::usize(..16)] as char)
        .collect()
}

/// Escape `\` and `"` as Go's multipart writer does in `filename="..."`.
fn escape_quotes(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The stream of body chunks of a read response.
pub struct ReadBody {
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

impl ReadBody {
    /// Receive the next chunk (`None` at the end of the body).
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        self.rx.recv().await
    }

    /// Poll for the next chunk.
    pub fn poll_chunk(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Bytes, std::io::Error>>> {
        self.rx.poll_recv(cx)
    }
}

/// Start streaming the multipart answer for `paths` with `boundary`. Must be called inside a
/// tokio runtime; the files are read on a blocking thread.
pub fn start_read(paths: Vec<String>, boundary: String) -> ReadBody {
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    tokio::task::spawn_blocking(move || produce(paths, &boundary, &tx));
    ReadBody { rx }
}

fn produce(paths: Vec<String>, boundary: &str, tx: &mpsc::Sender<Result<Bytes, std::io::Error>>) {
    let mut first = true;
    let mut results = Vec::with_capacity(paths.len());
    let delimiter = |first: &mut bool| -> String {
        let d = if *first {
            format!("--{boundary}\r\n")
        } else {
            format!("\r\n--{boundary}\r\n")
        };
        *first = false;
        d
    };
    for path in paths {
        let error = match open_regular(&path) {
            Err(e) => Some(e.to_result()),
            Ok(file) => {
                let header = format!(
                    "{}Content-Disposition: form-data; name=\"files\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                    delimiter(&mut first),
                    escape_quotes(&path)
                );
                if tx.blocking_send(Ok(Bytes::from(header))).is_err() {
                    return;
                }
                match copy_to_channel(file, &path, tx) {
                    Ok(()) => None,
                    Err(None) => return,
                    Err(Some(e)) => Some(e.to_result()),
                }
            }
        };
        results.push(FileResult { path, error });
    }
    let mut json = super::sync_envelope_json(&results);
    json.push(b'\n');
    let mut tail = Vec::with_capacity(json.len() + 3 * boundary.len() + 128);
    tail.extend_from_slice(delimiter(&mut first).as_bytes());
    tail.extend_from_slice(
        b"Content-Disposition: form-data; name=\"response\"\r\nContent-Type: application/json\r\n\r\n",
    );
    tail.extend_from_slice(&json);
    tail.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let _ = tx.blocking_send(Ok(Bytes::from(tail)));
}

fn open_regular(path: &str) -> Result<fs::File, FileError> {
    if !gopath::is_abs(path) {
        return Err(FileError::not_absolute(path));
    }
    let md = fs::metadata(path).map_err(|e| FileError::path("stat", path, &e))?;
    if !md.is_file() {
        return Err(FileError::generic(format!(
            "can only read a regular file: {}",
            go_quote(path)
        )));
    }
    fs::File::open(path).map_err(|e| FileError::path("open", path, &e))
}

/// A reusable read buffer: handed to the connection as [`Bytes`] (via `Bytes::from_owner`) and
/// returned to its pool when the connection has written it, so chunks are neither zeroed nor
/// allocated again for every read.
struct PooledBuf {
    buf: Vec<u8>,
    len: usize,
    pool: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl AsRef<[u8]> for PooledBuf {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for PooledBuf {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        if let Ok(mut pool) = self.pool.lock() {
            pool.push(buf);
        }
    }
}

/// Copy the file into the channel. `Err(None)`: the receiver is gone (client disconnected).
fn copy_to_channel(
    mut file: fs::File,
    path: &str,
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), Option<FileError>> {
    let pool: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    loop {
        let reused = pool.lock().ok().and_then(|mut p| p.pop());
        let mut buf = reused.unwrap_or_else(|| vec![0u8; READ_CHUNK]);
        let n = match file.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // The part is already started; the error goes into the response part.
            Err(e) => return Err(Some(FileError::path("read", path, &e))),
        };
        let chunk = Bytes::from_owner(PooledBuf {
            buf,
            len: n,
            pool: pool.clone(),
        });
        if tx.blocking_send(Ok(chunk)).is_err() {
            return Err(None);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    async fn collect(paths: Vec<String>, boundary: &str) -> Vec<u8> {
        let mut body = start_read(paths, boundary.to_string());
        let mut out = Vec::new();
        while let Some(chunk) = body.next_chunk().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn golden_read_bodies() {
        let d = tempfile::tempdir().unwrap();
        let hello = d.path().join("hello.txt");
        fs::write(&hello, "hello, golden world\n").unwrap();
        let hello = hello.to_str().unwrap().to_string();
        let b = "6ca28f816cde7415bb25eb9e0298ed07f4f23bf3ddb81cafe09daaf161ab";
        let body = collect(vec![hello.clone()], b).await;
        let expected = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{hello}\"\r\nContent-Type: application/octet-stream\r\n\r\nhello, golden world\n\r\n--{b}\r\nContent-Disposition: form-data; name=\"response\"\r\nContent-Type: application/json\r\n\r\n{{\"type\":\"sync\",\"status-code\":200,\"status\":\"OK\",\"result\":[{{\"path\":\"{hello}\"}}]}}\n\r\n--{b}--\r\n"
        );
        assert_eq!(String::from_utf8(body).unwrap(), expected);

        let dir = d.path().to_str().unwrap().to_string();
        let body = collect(vec![dir.clone()], b).await;
        let expected = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"response\"\r\nContent-Type: application/json\r\n\r\n{{\"type\":\"sync\",\"status-code\":200,\"status\":\"OK\",\"result\":[{{\"path\":\"{dir}\",\"error\":{{\"message\":\"can only read a regular file: \\\"{dir}\\\"\",\"kind\":\"generic-file-error\"}}}}]}}\n\r\n--{b}--\r\n"
        );
        assert_eq!(String::from_utf8(body).unwrap(), expected);
    }

    #[tokio::test]
    async fn missing_then_good() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.txt");
        fs::write(&a, "A\n").unwrap();
        let a = a.to_str().unwrap().to_string();
        let missing = format!("{}/missing.txt", d.path().display());
        let body = collect(
            vec![missing.clone(), a.clone(), "rel".into()],
            &random_boundary(),
        )
        .await;
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains(&format!(
            "{{\"path\":\"{missing}\",\"error\":{{\"message\":\"stat {missing}: no such file or directory\",\"kind\":\"not-found\"}}}},{{\"path\":\"{a}\"}},{{\"path\":\"rel\",\"error\":{{\"message\":\"paths must be absolute, got \\\"rel\\\"\",\"kind\":\"generic-file-error\"}}}}"
        )));
        assert!(text.contains("\r\n\r\nA\n\r\n--"));
        assert_eq!(text.matches("name=\"files\"").count(), 1);
    }

    #[test]
    fn boundary_shape() {
        let b = random_boundary();
        assert_eq!(b.len(), 60);
        assert!(b.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
