//! One attempt of a health check: the `http`, `tcp` and `exec` checkers.
//!
//! Error texts follow Go Pebble's (`non-2xx status code 500`, `exit status 1`,
//! `dial tcp 127.0.0.1:80: connect: connection refused`); output or body excerpts go in
//! [`CheckError::details`] and are shown as `<message>; <details>` in task logs and the API.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use nix::sys::signal::Signal;
use pebble_plan::{Check, GoDuration};
use tokio::io::AsyncReadExt;

use crate::sys::{SpawnSpec, Spawner};
use crate::users::UserDb;

/// At most this many bytes of a failing check's output or body are kept.
pub const MAX_ERROR_BYTES: usize = 512;
/// At most this many lines of it are shown.
pub const MAX_ERROR_LINES: usize = 5;
/// How long an exec check's output is still read after the command exited (Go's WaitDelay).
const EXEC_WAIT_DELAY: Duration = Duration::from_secs(1);
/// Redirects an HTTP check follows (Go's default client).
const MAX_REDIRECTS: usize = 10;

/// Why a check attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CheckError {
    /// The error (`exit status 1`).
    pub message: String,
    /// Output lines or body excerpt (may be empty).
    pub details: String,
}

impl CheckError {
    /// An error without details.
    pub fn new(message: impl Into<String>) -> CheckError {
        CheckError {
            message: message.into(),
            details: String::new(),
        }
    }

    /// `<message>; <details>` (or just the message): the text of task logs and the API.
    pub fn full(&self) -> String {
        if self.details.is_empty() {
            self.message.clone()
        } else {
            format!("{}; {}", self.message, self.details)
        }
    }
}

/// The future of one check attempt.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<(), CheckError>> + Send + 'a>>;

/// Performs one attempt of a check. Dropping the future cancels the attempt.
pub trait Checker: Send + Sync {
    /// Run the check once.
    fn check(&self) -> CheckFuture<'_>;
}

/// Builds the checker of a (service-context merged) check configuration.
pub type CheckerFactory = Arc<dyn Fn(&Check) -> Arc<dyn Checker> + Send + Sync>;

/// Run `checker` once, giving up after `timeout` (`check timed out after <timeout>`).
pub async fn run_check(checker: &dyn Checker, timeout: Duration) -> Result<(), CheckError> {
    match tokio::time::timeout(timeout, checker.check()).await {
        Ok(r) => r,
        Err(_) => Err(CheckError::new(format!(
            "check timed out after {}",
            GoDuration::from(timeout)
        ))),
    }
}

/// The real checkers: exec checks are spawned with `spawner` (through the daemon's reaper).
pub fn real_factory(spawner: Arc<dyn Spawner>, users: Arc<dyn UserDb>) -> CheckerFactory {
    Arc::new(move |config: &Check| -> Arc<dyn Checker> {
        if let Some(h) = &config.http {
            Arc::new(HttpChecker {
                url: h.url.clone(),
                headers: h.headers.clone(),
            })
        } else if let Some(t) = &config.tcp {
            Arc::new(TcpChecker {
                host: t.host.clone(),
                port: t.port,
            })
        } else if let Some(e) = &config.exec {
            Arc::new(ExecChecker {
                config: e.clone(),
                spawner: spawner.clone(),
                users: users.clone(),
            })
        } else {
            Arc::new(InvalidChecker)
        }
    })
}

/// A check without a type (rejected by plan validation; kept total for safety).
struct InvalidChecker;

impl Checker for InvalidChecker {
    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async { Err(CheckError::new("invalid check configuration")) })
    }
}

/// Keep the first `MAX_ERROR_BYTES` of `text`, trimmed, at most `MAX_ERROR_LINES` lines (a
/// sixth line `(...)` marks more).
pub fn body_details(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX_ERROR_BYTES)]);
    let mut lines: Vec<&str> = text.trim().split('\n').collect();
    if lines.len() > MAX_ERROR_LINES {
        lines.truncate(MAX_ERROR_LINES);
        lines.push("(...)");
    }
    lines.join("\n")
}

/// The last `MAX_ERROR_LINES` lines of `output` (its last `MAX_ERROR_BYTES` bytes).
pub fn output_details(output: &[u8]) -> String {
    let start = output.len().saturating_sub(MAX_ERROR_BYTES);
    let text = String::from_utf8_lossy(&output[start..]);
    let text = text.trim_end_matches('\n');
    if text.is_empty() {
        return String::new();
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let from = lines.len().saturating_sub(MAX_ERROR_LINES);
    lines[from..].join("\n")
}

/// Resolve `host:port` and connect, with Go's error texts (`dial tcp <addr>: connect: <err>`).
async fn dial(host: &str, port: u32) -> Result<tokio::net::TcpStream, String> {
    let host_port = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host(host_port.as_str()).await {
        Ok(a) => a.collect(),
        Err(e) => {
            return Err(format!(
                "dial tcp: lookup {host}: {}",
                crate::sys::errno_text(&e)
            ));
        }
    };
    let mut last = format!("dial tcp: lookup {host}: no such host");
    for addr in addrs {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("dial tcp {addr}: connect: {}", crate::sys::errno_text(&e)),
        }
    }
    Err(last)
}

/// `tcp`: the port accepts a connection (closed at once, nothing sent).
#[derive(Debug, Clone)]
pub struct TcpChecker {
    /// Host (`localhost` when empty).
    pub host: String,
    /// Port.
    pub port: u32,
}

impl Checker for TcpChecker {
    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            let host = if self.host.is_empty() {
                "localhost"
            } else {
                &self.host
            };
            dial(host, self.port)
                .await
                .map(drop)
                .map_err(CheckError::new)
        })
    }
}

/// A parsed `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (80 by default).
    pub port: u32,
    /// Path and query (`/` when empty).
    pub path: String,
    /// The `Host` header value.
    pub authority: String,
}

/// Parse an `http://host[:port]/path` URL (`https` is not supported).
pub fn parse_url(url: &str) -> Result<HttpUrl, String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!("unsupported protocol scheme \"\" in {url:?}"));
    };
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(format!("unsupported protocol scheme {scheme:?}"));
    }
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let path = path.split('#').next().unwrap_or("");
    let path = if path.is_empty() {
        "/".to_string()
    } else if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    let hostport = authority.rsplit('@').next().unwrap_or("");
    let (host, port) = if let Some(r) = hostport.strip_prefix('[') {
        let Some((h, after)) = r.split_once(']') else {
            return Err(format!("parse {url:?}: missing ']' in host"));
        };
        (h.to_string(), after.strip_prefix(':').unwrap_or(""))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p),
            None => (hostport.to_string(), ""),
        }
    };
    if host.is_empty() {
        return Err("http: no Host in request URL".into());
    }
    let port = if port.is_empty() {
        80
    } else {
        port.parse::<u32>().map_err(|_| {
            format!(
                "parse {url:?}: invalid port {:?} after host",
                format!(":{port}")
            )
        })?
    };
    Ok(HttpUrl {
        host,
        port,
        path,
        authority: hostport.to_string(),
    })
}

/// `http`: a GET of the URL answers 2xx (redirects are followed).
#[derive(Debug, Clone)]
pub struct HttpChecker {
    /// The URL.
    pub url: String,
    /// Extra request headers.
    pub headers: BTreeMap<String, String>,
}

impl HttpChecker {
    async fn get(&self, url: &str) -> Result<(u16, Option<String>, Bytes), String> {
        let u = parse_url(url).map_err(|e| format!("Get {url:?}: {e}"))?;
        let stream = dial(&u.host, u.port)
            .await
            .map_err(|e| format!("Get {url:?}: {e}"))?;
        // Go sends canonical header names (`X-Token`), not lower-case ones.
        let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
            .title_case_headers(true)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("Get {url:?}: {e}"))?;
        let conn = tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut req = http::Request::get(u.path.as_str())
            .header(http::header::HOST, u.authority.as_str())
            .header(http::header::USER_AGENT, "Go-http-client/1.1");
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("cannot build request: {e}"))?;
        let result = async {
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| format!("Get {url:?}: {e}"))?;
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let mut body = resp.into_body();
            let mut buf = Vec::new();
            if !(200..300).contains(&status) && !(300..400).contains(&status) {
                while buf.len() < MAX_ERROR_BYTES {
                    match body.frame().await {
                        Some(Ok(f)) => {
                            if let Some(d) = f.data_ref() {
                                buf.extend_from_slice(d);
                            }
                        }
                        Some(Err(e)) => return Err(format!("cannot read response: {e}")),
                        None => break,
                    }
                }
            }
            Ok((status, location, Bytes::from(buf)))
        }
        .await;
        conn.abort();
        result
    }
}

/// Resolve a redirect `location` against `base`.
fn join_url(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if let Some(p) = location.strip_prefix("//") {
        return format!("{scheme}://{p}");
    }
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let path = &rest[authority.len()..];
    let path = path.split(['?', '#']).next().unwrap_or("");
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    };
    format!("{scheme}://{authority}{dir}{location}")
}

impl Checker for HttpChecker {
    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            let mut url = self.url.clone();
            for _ in 0..=MAX_REDIRECTS {
                let (status, location, body) = self.get(&url).await.map_err(CheckError::new)?;
                if (300..400).contains(&status) && status != 304 {
                    match location {
                        Some(l) => {
                            url = join_url(&url, &l);
                            continue;
                        }
                        None => return Ok(()),
                    }
                }
                if !(200..300).contains(&status) {
                    return Err(CheckError {
                        message: format!("non-2xx status code {status}"),
                        details: body_details(&body),
                    });
                }
                return Ok(());
            }
            Err(CheckError::new(format!(
                "Get {url:?}: stopped after {MAX_REDIRECTS} redirects"
            )))
        })
    }
}

/// `exec`: the command exits 0. Started through the daemon's spawner (and so its reaper).
pub struct ExecChecker {
    /// The (service-context merged) exec configuration.
    pub config: pebble_plan::ExecCheck,
    /// The daemon's spawner.
    pub spawner: Arc<dyn Spawner>,
    /// User database for `user`/`group`.
    pub users: Arc<dyn UserDb>,
}

/// Kills an exec check's process (the pid only, as Go's CommandContext) if the attempt is
/// dropped (timeout, stop) before it exited.
struct KillOnDrop {
    spawner: Arc<dyn Spawner>,
    pid: i32,
    armed: bool,
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.spawner.kill(self.pid, Signal::SIGKILL);
        }
    }
}

impl ExecChecker {
    fn spec(&self) -> Result<SpawnSpec, CheckError> {
        let c = &self.config;
        let argv = pebble_plan::shlex_split(&c.command)
            .map_err(|e| CheckError::new(format!("cannot parse command: {e}")))?;
        let ids = self
            .users
            .normalize_uid_gid(c.user_id, c.group_id, &c.user, &c.group)
            .map_err(CheckError::new)?;
        let mut env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        for (k, v) in &c.environment {
            match env.iter_mut().find(|(ek, _)| ek == k.as_str()) {
                Some(slot) => slot.1 = v.into(),
                None => env.push((k.into(), v.into())),
            }
        }
        let (mut uid, mut gid) = (None, None);
        if let Some((u, g)) = ids {
            // SAFETY: getuid/getgid cannot fail.
            let (cu, cg) = unsafe { (libc::getuid(), libc::getgid()) };
            if u != cu || g != cg {
                uid = Some(u);
                gid = Some(g);
            }
        }
        Ok(SpawnSpec {
            argv,
            env,
            dir: (!c.working_dir.is_empty()).then(|| c.working_dir.clone().into()),
            uid,
            gid,
        })
    }
}

impl Checker for ExecChecker {
    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            let spec = self.spec()?;
            let spawned = self
                .spawner
                .spawn(&spec)
                .map_err(|e| CheckError::new(e.to_string()))?;
            let mut guard = KillOnDrop {
                spawner: self.spawner.clone(),
                pid: spawned.pid,
                armed: true,
            };
            let mut output = spawned.output;
            let mut exit = spawned.exit;
            let mut ring: Vec<u8> = Vec::new();
            let mut buf = [0u8; 1024];
            let mut eof = false;
            let keep = |ring: &mut Vec<u8>, data: &[u8]| {
                ring.extend_from_slice(data);
                if ring.len() > MAX_ERROR_BYTES {
                    let excess = ring.len() - MAX_ERROR_BYTES;
                    ring.drain(..excess);
                }
            };
            let code = loop {
                tokio::select! {
                    code = &mut exit => break code,
                    n = output.read(&mut buf), if !eof => match n {
                        Ok(0) | Err(_) => eof = true,
                        Ok(n) => keep(&mut ring, &buf[..n]),
                    },
                }
            };
            guard.armed = false;
            if !eof {
                let _ = tokio::time::timeout(EXEC_WAIT_DELAY, async {
                    loop {
                        match output.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => keep(&mut ring, &buf[..n]),
                        }
                    }
                })
                .await;
            }
            if code != 0 {
                return Err(CheckError {
                    message: format!("exit status {code}"),
                    details: output_details(&ring),
                });
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn details() {
        assert_eq!(
            output_details(b"exec check failing\n"),
            "exec check failing"
        );
        assert_eq!(output_details(b"1\n2\n3\n4\n5\n6\n7\n"), "3\n4\n5\n6\n7");
        assert_eq!(output_details(b""), "");
        assert_eq!(body_details(b"  a\nb\n"), "a\nb");
        assert_eq!(body_details(b"1\n2\n3\n4\n5\n6\n7"), "1\n2\n3\n4\n5\n(...)");
        let big = vec![b'x'; 2000];
        assert_eq!(body_details(&big).len(), MAX_ERROR_BYTES);
        assert_eq!(
            CheckError {
                message: "exit status 1".into(),
                details: "out".into()
            }
            .full(),
            "exit status 1; out"
        );
    }

    #[test]
    fn urls() {
        let u = parse_url("http://127.0.0.1:18080/health").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 18080, "/health")
        );
        let u = parse_url("http://localhost").unwrap();
        assert_eq!(
            (u.port, u.path.as_str(), u.authority.as_str()),
            (80, "/", "localhost")
        );
        let u = parse_url("http://[::1]:8080?x=1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("::1", 8080, "/?x=1")
        );
        assert!(parse_url("https://x/").is_err());
        assert!(parse_url("nope").is_err());
        assert_eq!(join_url("http://h:1/a/b?q", "/c"), "http://h:1/c");
        assert_eq!(join_url("http://h:1/a/b", "c"), "http://h:1/a/c");
        assert_eq!(join_url("http://h:1/a", "http://o/"), "http://o/");
    }

    #[tokio::test(start_paused = true)]
    async fn timeout_text() {
        struct Slow;
        impl Checker for Slow {
            fn check(&self) -> CheckFuture<'_> {
                Box::pin(async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Ok(())
                })
            }
        }
        let err = run_check(&Slow, Duration::from_millis(1500))
            .await
            .unwrap_err();
        assert_eq!(err.message, "check timed out after 1.5s");
    }

    fn exec_checker(command: &str) -> (Arc<crate::sys::FakeSpawner>, ExecChecker) {
        let fake = crate::sys::FakeSpawner::new();
        let config = pebble_plan::ExecCheck {
            command: command.into(),
            environment: [("CHECK_VAR".to_string(), "v".to_string())].into(),
            working_dir: "/tmp".into(),
            ..Default::default()
        };
        let checker = ExecChecker {
            config,
            spawner: fake.clone(),
            users: Arc::new(crate::users::FileUserDb::default()),
        };
        (fake, checker)
    }

    #[tokio::test(start_paused = true)]
    async fn exec_spawns_through_the_spawner_and_only_its_pid_is_killed_on_timeout() {
        let (fake, checker) = exec_checker("sleep '10 s'");
        let err = run_check(&checker, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(err.message, "check timed out after 1s");
        let p = fake.last().unwrap();
        assert_eq!(p.spec.argv, vec!["sleep", "10 s"]);
        assert_eq!(p.spec.dir.as_deref(), Some(std::path::Path::new("/tmp")));
        assert!(p.spec.env.iter().any(|(k, v)| k == "CHECK_VAR" && v == "v"));
        assert_eq!(
            fake.signals(),
            vec![crate::sys::SentSignal {
                pid: p.pid,
                signal: Signal::SIGKILL,
                group: false
            }]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn exec_failure_carries_the_last_output_lines() {
        let (fake, checker) = exec_checker("check");
        let f = fake.clone();
        let driver = tokio::spawn(async move {
            let p = f.wait_spawned(1).await;
            p.write_output(b"1\n2\n3\n4\n5\n6\n").await;
            p.exit(2);
        });
        let err = run_check(&checker, Duration::from_secs(5))
            .await
            .unwrap_err();
        driver.await.unwrap();
        assert_eq!(err.full(), "exit status 2; 2\n3\n4\n5\n6");
        assert!(fake.signals().is_empty());
        let (_, bad) = exec_checker("unterminated 'quote");
        assert!(
            run_check(&bad, Duration::from_secs(1))
                .await
                .unwrap_err()
                .message
                .starts_with("cannot parse command: ")
        );
    }

    #[tokio::test]
    async fn tcp_refused_and_ok() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port() as u32;
        let ok = TcpChecker {
            host: "127.0.0.1".into(),
            port,
        };
        ok.check().await.unwrap();
        drop(l);
        let err = ok.check().await.unwrap_err();
        assert_eq!(
            err.message,
            format!("dial tcp 127.0.0.1:{port}: connect: connection refused")
        );
    }
}
