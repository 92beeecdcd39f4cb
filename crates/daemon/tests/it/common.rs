//! A daemon served in-process on a temp dir, and a raw HTTP/1.1 client over its Unix socket.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use pebble_daemon::overlord::{Daemon, DaemonOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// One parsed response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    /// Header lines in order, as sent (`Name: value`).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Sizes of the chunks read (chunked responses only, final 0 included).
    pub chunks: Vec<usize>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn header_names(&self) -> Vec<&str> {
        self.headers.iter().map(|(k, _)| k.as_str()).collect()
    }
}

pub struct TestDaemon {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub daemon: Daemon,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<i32>>,
}

/// Write layer files into `$PEBBLE/layers`.
pub fn write_layers(dir: &Path, layers: &[(&str, &str)]) {
    let ld = dir.join("layers");
    std::fs::create_dir_all(&ld).unwrap();
    for (name, yaml) in layers {
        std::fs::write(ld.join(name), yaml).unwrap();
    }
}

impl TestDaemon {
    pub async fn start() -> TestDaemon {
        Self::start_in(tempfile::tempdir().unwrap(), true).await
    }

    pub async fn start_with_layers(layers: &[(&str, &str)]) -> TestDaemon {
        let dir = tempfile::tempdir().unwrap();
        write_layers(dir.path(), layers);
        Self::start_in(dir, true).await
    }

    pub async fn start_in(dir: tempfile::TempDir, persist: bool) -> TestDaemon {
        let mut opts = DaemonOptions::new(dir.path());
        opts.persist = persist;
        let daemon = Daemon::new(opts).unwrap();
        Self::serve(dir, daemon)
    }

    pub fn serve(dir: tempfile::TempDir, daemon: Daemon) -> TestDaemon {
        let socket = dir.path().join(".pebble.socket");
        let listener = pebble_daemon::run::bind_socket(&socket).unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let d = daemon.clone();
        let task = tokio::spawn(async move {
            pebble_daemon::serve(d, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap()
        });
        TestDaemon {
            dir,
            socket,
            daemon,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stop (services are stopped) and return the exit code and the temp dir.
    pub async fn stop(mut self) -> (i32, tempfile::TempDir) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let code = self.task.take().unwrap().await.unwrap();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        (code, dir)
    }

    /// The serving task (resolves to the exit code when the daemon exits by itself).
    pub fn take_task(&mut self) -> JoinHandle<i32> {
        self.task.take().unwrap()
    }

    pub async fn connect(&self) -> Conn {
        Conn::new(UnixStream::connect(&self.socket).await.unwrap())
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: &str) -> Resp {
        self.request("POST", path, Some(body.as_bytes())).await
    }

    pub async fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> Resp {
        let mut c = self.connect().await;
        c.send(method, path, body, &[]).await;
        c.read().await
    }

    /// POST /v1/layers with a YAML layer.
    pub async fn add_layer(&self, label: &str, yaml: &str, combine: bool) -> Resp {
        let body = serde_json::json!({
            "action": "add", "label": label, "combine": combine, "format": "yaml", "layer": yaml
        });
        self.post("/v1/layers", &body.to_string()).await
    }

    /// POST /v1/services and wait for the change; returns the change JSON.
    pub async fn service_action(&self, action: &str, services: &[&str]) -> serde_json::Value {
        let body = serde_json::json!({"action": action, "services": services});
        let r = self.post("/v1/services", &body.to_string()).await;
        assert_eq!(r.status, 202, "{}", r.text());
        let id = r.json()["change"].as_str().unwrap().to_string();
        self.wait_change(&id).await
    }

    pub async fn wait_change(&self, id: &str) -> serde_json::Value {
        let r = self
            .get(&format!("/v1/changes/{id}/wait?timeout=20s"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["result"].clone()
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// A daemon served in-process on its Unix socket and on a `--http` listener on 127.0.0.1.
pub struct HttpDaemon {
    _dir: tempfile::TempDir,
    /// The Unix socket.
    pub sock: PathBuf,
    /// The TCP listener's address.
    pub addr: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<i32, pebble_daemon::overlord::DaemonError>>,
}

impl HttpDaemon {
    pub async fn start() -> HttpDaemon {
        let dir = tempfile::tempdir().unwrap();
        let daemon = Daemon::new(DaemonOptions::new(dir.path())).unwrap();
        let sock = dir.path().join(".pebble.socket");
        let unix = pebble_daemon::run::bind_socket(&sock).unwrap();
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let (stop, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(pebble_daemon::run::serve_with(
            daemon,
            unix,
            Some(tcp),
            false,
            async {
                let _ = rx.await;
            },
        ));
        HttpDaemon {
            _dir: dir,
            sock,
            addr,
            stop,
            task,
        }
    }

    /// Send `request` (which should ask for `Connection: close`) over TCP; the whole answer.
    pub async fn tcp_exchange(&self, request: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    /// Ask for shutdown; the exit code.
    pub async fn stop(self) -> i32 {
        self.stop.send(()).unwrap();
        self.task.await.unwrap().unwrap()
    }
}

/// A raw HTTP/1.1 connection.
pub struct Conn {
    r: BufReader<tokio::io::ReadHalf<UnixStream>>,
    w: tokio::io::WriteHalf<UnixStream>,
}

impl Conn {
    pub fn new(s: UnixStream) -> Conn {
        let (r, w) = tokio::io::split(s);
        Conn {
            r: BufReader::new(r),
            w,
        }
    }

    pub async fn send(&mut self, method: &str, path: &str, body: Option<&[u8]>, extra: &[&str]) {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n");
        for h in extra {
            req.push_str(h);
            req.push_str("\r\n");
        }
        if let Some(b) = body {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        req.push_str("\r\n");
        self.w.write_all(req.as_bytes()).await.unwrap();
        if let Some(b) = body {
            self.w.write_all(b).await.unwrap();
        }
        self.w.flush().await.unwrap();
    }

    pub async fn write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.w.write_all(bytes).await?;
        self.w.flush().await
    }

    async fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).await.unwrap();
        l.trim_end_matches(['\r', '\n']).to_string()
    }

    /// Read the head only.
    pub async fn read_head(&mut self) -> (u16, Vec<(String, String)>) {
        let status_line = self.line().await;
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"))
            .parse()
            .unwrap();
        let mut headers = Vec::new();
        loop {
            let l = self.line().await;
            if l.is_empty() {
                break;
            }
            let (k, v) = l.split_once(": ").unwrap();
            headers.push((k.to_string(), v.to_string()));
        }
        (status, headers)
    }

    /// Read one chunk of a chunked body (None at the final chunk).
    pub async fn read_chunk(&mut self) -> Option<Vec<u8>> {
        let size = usize::from_str_radix(&self.line().await, 16).unwrap();
        let mut buf = vec![0; size];
        self.r.read_exact(&mut buf).await.unwrap();
        let _ = self.line().await;
        if size == 0 { None } else { Some(buf) }
    }

    pub async fn read(&mut self) -> Resp {
        let (status, headers) = self.read_head().await;
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        };
        let mut body = Vec::new();
        let mut chunks = Vec::new();
        if get("Transfer-Encoding").as_deref() == Some("chunked") {
            loop {
                match self.read_chunk().await {
                    Some(c) => {
                        chunks.push(c.len());
                        body.extend(c);
                    }
                    None => {
                        chunks.push(0);
                        break;
                    }
                }
            }
        } else if let Some(n) = get("Content-Length") {
            body = vec![0; n.parse().unwrap()];
            self.r.read_exact(&mut body).await.unwrap();
        }
        Resp {
            status,
            headers,
            body,
            chunks,
        }
    }
}

/// Wait until `f` returns true (polling every 10 ms, at most 20 s).
pub async fn wait_until<F, Fut>(mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met in time"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Replace every RFC 3339 timestamp in `s` by `[time]`.
pub fn mask_times(s: &str) -> String {
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let is_ts = b.len() >= i + 20
            && b[i..i + 4].iter().all(u8::is_ascii_digit)
            && b[i + 4] == b'-'
            && b[i + 10] == b'T';
        if is_ts {
            let mut j = i + 19;
            while j < b.len()
                && (b[j].is_ascii_digit() || matches!(b[j], b'.' | b'Z' | b'+' | b':' | b'-'))
            {
                j += 1;
            }
            out.extend_from_slice(b"[time]");
            i = j;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
