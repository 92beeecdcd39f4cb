//! A scripted HTTP/1.1 server on a Unix socket: each request gets the first matching canned
//! answer; requests are recorded.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub body: String,
}

/// A canned answer: status line, content type and body (`chunks` for a chunked body).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub chunked: bool,
}

impl Answer {
    pub fn json(status: u16, body: &str) -> Answer {
        Answer {
            status,
            content_type: "application/json",
            body: body.to_string(),
            chunked: false,
        }
    }
}

pub struct Fake {
    pub dir: tempfile::TempDir,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    pub fn socket(&self) -> std::path::PathBuf {
        self.dir.path().join(".pebble.socket")
    }

    pub fn client(&self) -> pebble_client::Client {
        pebble_client::Client::new(self.socket())
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Starts the fake; `route` maps (method, target) to an answer.
pub fn start(route: fn(&str, &str) -> Answer) -> Fake {
    let dir = tempfile::tempdir().unwrap();
    let listener = UnixListener::bind(dir.path().join(".pebble.socket")).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let seen = seen2.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break p + 4;
                    }
                    let n = conn.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    let n = conn.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                let mut first = head.lines().next().unwrap().split(' ');
                let method = first.next().unwrap().to_string();
                let target = first.next().unwrap().to_string();
                let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).into_owned();
                seen.lock().unwrap().push(Seen {
                    method: method.clone(),
                    target: target.clone(),
                    body,
                });
                let a = route(&method, &target);
                let mut resp = format!(
                    "HTTP/1.1 {} X\r\nContent-Type: {}\r\n",
                    a.status, a.content_type
                );
                if a.chunked {
                    resp.push_str("Transfer-Encoding: chunked\r\n\r\n");
                    for line in a.body.split_inclusive('\n') {
                        resp.push_str(&format!("{:x}\r\n{line}\r\n", line.len()));
                    }
                    resp.push_str("0\r\n\r\n");
                } else {
                    resp.push_str(&format!(
                        "Content-Length: {}\r\n\r\n{}",
                        a.body.len(),
                        a.body
                    ));
                }
                let _ = conn.write_all(resp.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    Fake { dir, seen }
}
