//! Client for the Pebble HTTP API over its Unix socket.
//!
//! [`Client`] opens one HTTP/1.1 connection per request to the daemon's Unix socket (as the
//! Python `ops` client does). It has typed methods for the API calls of the service manager
//! (system info, health, layers, plan, services, changes, signals, logs) and generic building
//! blocks ([`Client::get`], [`Client::post`], [`Client::post_async`], [`Client::send`]) on
//! which further calls (exec, files, ...) can be built.
//!
//! Errors are reported as [`Error`], whose variants mirror the exceptions of `ops.pebble`.

pub mod container;
mod error;
pub mod exec;
mod files;
mod logs;
mod query;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use pebble_api::{
    ChangeActionRequest, ChangeInfo, CheckInfo, ChecksRequest, ChecksResult, Health, LayersRequest,
    LogEntry, Response, ResponseType, ServiceInfo, ServicesRequest, SignalsRequest, SystemInfo,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use error::{Error, errno_text};
pub use exec::{ExecControl, ExecController, ExecOptions, ExecProcess, exec_output};
pub use files::{ListFilesOptions, MakeDirOptions, PushOptions};
pub use logs::LogStream;
pub use query::{Query, percent_encode};

/// Default Pebble directory when `$PEBBLE` is unset.
pub const DEFAULT_PEBBLE_DIR: &str = "/var/lib/pebble/default";

/// Socket file name inside the Pebble directory.
pub const SOCKET_NAME: &str = ".pebble.socket";

/// The Pebble directory: `$PEBBLE`, or [`DEFAULT_PEBBLE_DIR`].
pub fn pebble_dir_from_env() -> PathBuf {
    match std::env::var_os("PEBBLE") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(DEFAULT_PEBBLE_DIR),
    }
}

/// The socket path: `$PEBBLE_SOCKET`, or `<pebble dir>/.pebble.socket`.
pub fn socket_path_from_env() -> PathBuf {
    match std::env::var_os("PEBBLE_SOCKET") {
        Some(s) if !s.is_empty() => PathBuf::from(s),
        _ => pebble_dir_from_env().join(SOCKET_NAME),
    }
}

/// Which changes `GET /v1/changes` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChangeSelect {
    /// Changes not yet ready (the server's default).
    #[default]
    InProgress,
    /// Ready changes only.
    Ready,
    /// All changes.
    All,
}

impl ChangeSelect {
    /// The `select=` query value.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeSelect::InProgress => "in-progress",
            ChangeSelect::Ready => "ready",
            ChangeSelect::All => "all",
        }
    }
}

/// Options of [`Client::add_layer`].
#[derive(Debug, Clone, Default)]
pub struct AddLayerOptions {
    /// Merge into an existing layer with the same label.
    pub combine: bool,
    /// Allow `sub/label` labels that create a layer inside a sub-directory.
    pub inner: bool,
    /// The layer label.
    pub label: String,
    /// The layer YAML.
    pub layer_yaml: String,
}

/// Options of [`Client::logs`] and [`Client::follow_logs`].
#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    /// Number of lines: `None` for the server default (30, or 0 when following), `Some(-1)`
    /// for all buffered lines.
    pub n: Option<i64>,
    /// Services whose logs to read (empty: all).
    pub services: Vec<String>,
}

/// A decoded envelope answer: its `result` plus the envelope itself.
#[derive(Debug, Clone)]
pub struct SyncAnswer<T> {
    /// The decoded `result`.
    pub result: T,
    /// The full envelope (for `change`, `latest-warning`, `maintenance`).
    pub envelope: Response,
}

/// A plain-HTTP base URL (`http://host[:port][/prefix]`) the client talks to instead of the
/// Unix socket (`$PEBBLE_BASEURL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// `host:port` to connect to (IPv6 hosts in brackets).
    pub authority: String,
    /// The `Host` header value (the URL's host and port as written).
    pub host_header: String,
    /// Path prefix joined before every request path (no trailing slash; may be empty).
    pub prefix: String,
}

impl BaseUrl {
    /// Parse `http://host[:port][/prefix]`. Other schemes (`https`) are not supported.
    pub fn parse(url: &str) -> Result<BaseUrl, Error> {
        let bad = |why: &str| Error::Connection(format!("cannot use base URL {url:?}: {why}"));
        let rest = if let Some(r) = url.strip_prefix("http://") {
            r
        } else if url.starts_with("https://") {
            return Err(bad("https is not supported"));
        } else {
            return Err(bad("want http://host[:port][/path]"));
        };
        let (host_port, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if host_port.is_empty() {
            return Err(bad("missing host"));
        }
        let has_port = match host_port.rfind(':') {
            Some(i) => !host_port[i..].contains(']'),
            None => false,
        };
        let authority = if has_port {
            host_port.to_string()
        } else {
            format!("{host_port}:80")
        };
        Ok(BaseUrl {
            authority,
            host_header: host_port.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

/// HTTP/1.1 handshake on a fresh connection, its driver spawned (with upgrades).
async fn handshake<B, S>(stream: S) -> Result<hyper::client::conn::http1::SendRequest<B>, Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let io = hyper_util::rt::TokioIo::new(stream);
    let (sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| Error::Connection(e.to_string()))?;
    tokio::spawn(async move {
        // Errors surface through `send_request` or the body stream.
        let _ = conn.with_upgrades().await;
    });
    Ok(sender)
}

/// A Pebble API client talking HTTP/1.1 over the daemon's Unix socket (or, with a
/// [`BaseUrl`], over TCP).
#[derive(Debug, Clone)]
pub struct Client {
    socket_path: PathBuf,
    base_url: Option<BaseUrl>,
}

impl Client {
    /// A client for the socket at `socket_path`.
    pub fn new(socket_path: impl Into<PathBuf>) -> Self {
        Client {
            socket_path: socket_path.into(),
            base_url: None,
        }
    }

    /// A client talking plain HTTP to `base_url` instead of a socket; `socket_path` is still
    /// reported by [`Client::socket_path`] (the CLI keys its state by it).
    pub fn with_base_url(socket_path: impl Into<PathBuf>, base_url: BaseUrl) -> Self {
        Client {
            socket_path: socket_path.into(),
            base_url: Some(base_url),
        }
    }

    /// A client for the socket named by the environment (see [`socket_path_from_env`]).
    pub fn from_env() -> Self {
        Client::new(socket_path_from_env())
    }

    /// The base URL this client talks to instead of the socket, if any.
    pub fn base_url(&self) -> Option<&BaseUrl> {
        self.base_url.as_ref()
    }

    /// The socket this client connects to.
    pub fn socket_path(&self) -> &Path {
        &self.socket_path
    }

    // ------------------------------------------------------------------------------------
    // Low-level building blocks.

    /// Sends one request on a fresh connection and returns the response head and body stream.
    ///
    /// The request URI must be a path with an optional query (`/v1/...`); a `Host: localhost`
    /// header is added when missing. The connection supports HTTP upgrades
    /// (`hyper::upgrade::on(&mut response)`), for websockets.
    pub async fn send<B>(&self, mut req: Request<B>) -> Result<http::Response<Incoming>, Error>
    where
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut sender = match &self.base_url {
            None => {
                let stream = tokio::net::UnixStream::connect(&self.socket_path)
                    .await
                    .map_err(|e| Error::dial(&self.socket_path, &e))?;
                handshake(stream).await?
            }
            Some(base) => {
                let stream = tokio::net::TcpStream::connect(&base.authority)
                    .await
                    .map_err(|e| Error::dial_tcp(&base.authority, &e))?;
                let path_and_query = req
                    .uri()
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_string();
                let uri = format!("{}{path_and_query}", base.prefix);
                *req.uri_mut() = uri
                    .parse()
                    .map_err(|e| Error::Protocol(format!("cannot build request: {e}")))?;
                if !req.headers().contains_key(header::HOST) {
                    let host = header::HeaderValue::from_str(&base.host_header)
                        .map_err(|e| Error::Protocol(format!("cannot build request: {e}")))?;
                    req.headers_mut().insert(header::HOST, host);
                }
                handshake(stream).await?
            }
        };
        if !req.headers().contains_key(header::HOST) {
            req.headers_mut()
                .insert(header::HOST, header::HeaderValue::from_static("localhost"));
        }
        let what = format!("{} {}", req.method(), req.uri());
        sender
            .send_request(req)
            .await
            .map_err(|e| Error::Connection(format!("{what}: {e}")))
    }

    /// Sends a request with an optional JSON body and reads the whole response.
    pub async fn request_bytes(
        &self,
        method: Method,
        path: &str,
        query: &Query,
        json_body: Option<Vec<u8>>,
    ) -> Result<(http::response::Parts, Bytes), Error> {
        let uri = format!("{path}{}", query.to_query_string());
        let mut builder = Request::builder().method(method).uri(&uri);
        let body = match json_body {
            Some(b) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(b))
            }
            None => Full::new(Bytes::new()),
        };
        let req = builder
            .body(body)
            .map_err(|e| Error::Protocol(format!("cannot build request: {e}")))?;
        let resp = self.send(req).await?;
        let (parts, body) = resp.into_parts();
        let bytes = body
            .collect()
            .await
            .map_err(|e| Error::Connection(format!("cannot read response: {e}")))?
            .to_bytes();
        Ok((parts, bytes))
    }

    /// Sends a request and decodes the JSON envelope; error envelopes become [`Error::Api`].
    pub async fn request_envelope(
        &self,
        method: Method,
        path: &str,
        query: &Query,
        json_body: Option<Vec<u8>>,
    ) -> Result<Response, Error> {
        let (parts, bytes) = self.request_bytes(method, path, query, json_body).await?;
        decode_envelope(parts.status, &parts.headers, &bytes)
    }

    /// `GET` a sync endpoint and decode its `result`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &Query) -> Result<T, Error> {
        Ok(self.get_answer(path, query).await?.result)
    }

    /// `GET` a sync endpoint, returning the decoded `result` and the envelope.
    pub async fn get_answer<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Query,
    ) -> Result<SyncAnswer<T>, Error> {
        let env = self
            .request_envelope(Method::GET, path, query, None)
            .await?;
        decode_result(env)
    }

    /// `POST` a JSON body to a sync endpoint and decode its `result`.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        let body = serde_json::to_vec(body)
            .map_err(|e| Error::Protocol(format!("cannot encode request: {e}")))?;
        let env = self
            .request_envelope(Method::POST, path, &Query::new(), Some(body))
            .await?;
        Ok(decode_result(env)?.result)
    }

    /// `POST` a JSON body to an async endpoint and return the change id.
    pub async fn post_async<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<String, Error> {
        let body = serde_json::to_vec(body)
            .map_err(|e| Error::Protocol(format!("cannot encode request: {e}")))?;
        let env = self
            .request_envelope(Method::POST, path, &Query::new(), Some(body))
            .await?;
        if env.type_ != ResponseType::Async {
            return Err(Error::Protocol(format!(
                "expected async response for \"POST\" on {path:?}, got {:?}",
                type_name(env.type_)
            )));
        }
        match env.change {
            Some(id) if !id.is_empty() => Ok(id),
            _ => Err(Error::Protocol(
                "async response without change reference".to_string(),
            )),
        }
    }

    // ------------------------------------------------------------------------------------
    // Typed API calls.

    /// `GET /v1/system-info`.
    pub async fn system_info(&self) -> Result<SystemInfo, Error> {
        self.get("/v1/system-info", &Query::new()).await
    }

    /// `GET /v1/health`: a 502 "unhealthy" answer is a normal result (`healthy: false`).
    pub async fn health(&self, level: Option<&str>, names: &[String]) -> Result<Health, Error> {
        let mut q = Query::new();
        if let Some(l) = level {
            q.push("level", l);
        }
        if !names.is_empty() {
            q.push("names", &names.join(","));
        }
        self.get("/v1/health", &q).await
    }

    /// `POST /v1/layers` with action `add`.
    pub async fn add_layer(&self, opts: &AddLayerOptions) -> Result<(), Error> {
        let body = LayersRequest {
            action: "add".to_string(),
            combine: opts.combine,
            inner: opts.inner,
            label: opts.label.clone(),
            format: "yaml".to_string(),
            layer: opts.layer_yaml.clone(),
        };
        let _: serde_json::Value = self.post("/v1/layers", &body).await?;
        Ok(())
    }

    /// `GET /v1/plan?format=yaml`: the combined plan as YAML text.
    pub async fn plan_yaml(&self) -> Result<String, Error> {
        let mut q = Query::new();
        q.push("format", "yaml");
        self.get("/v1/plan", &q).await
    }

    /// `GET /v1/services`, optionally filtered by name.
    pub async fn services(&self, names: &[String]) -> Result<Vec<ServiceInfo>, Error> {
        let mut q = Query::new();
        if !names.is_empty() {
            q.push("names", &names.join(","));
        }
        self.get("/v1/services", &q).await
    }

    /// `POST /v1/services` with any action; returns the change id.
    pub async fn service_action(&self, action: &str, services: &[String]) -> Result<String, Error> {
        let body = ServicesRequest {
            action: action.to_string(),
            services: services.to_vec(),
        };
        self.post_async("/v1/services", &body).await
    }

    /// Starts services (and their dependencies); returns the change id.
    pub async fn start(&self, services: &[String]) -> Result<String, Error> {
        self.service_action("start", services).await
    }

    /// Stops services (and their dependents); returns the change id.
    pub async fn stop(&self, services: &[String]) -> Result<String, Error> {
        self.service_action("stop", services).await
    }

    /// Restarts services; returns the change id.
    pub async fn restart(&self, services: &[String]) -> Result<String, Error> {
        self.service_action("restart", services).await
    }

    /// Replans; returns the change id.
    pub async fn replan(&self) -> Result<String, Error> {
        self.service_action("replan", &[]).await
    }

    /// Starts the default (`startup: enabled`) services; returns the change id.
    pub async fn autostart(&self) -> Result<String, Error> {
        self.service_action("autostart", &[]).await
    }

    /// `GET /v1/changes`.
    pub async fn changes(
        &self,
        select: ChangeSelect,
        for_service: Option<&str>,
    ) -> Result<Vec<ChangeInfo>, Error> {
        let mut q = Query::new();
        q.push("select", select.as_str());
        if let Some(s) = for_service {
            q.push("for", s);
        }
        self.get("/v1/changes", &q).await
    }

    /// `GET /v1/changes/{id}`.
    pub async fn change(&self, id: &str) -> Result<ChangeInfo, Error> {
        check_id(id, "change")?;
        self.get(&format!("/v1/changes/{id}"), &Query::new()).await
    }

    /// `GET /v1/changes/{id}/wait`: one long poll. `None` waits without limit; when the
    /// server's timeout fires (504) the result is [`Error::Timeout`].
    pub async fn wait_change(
        &self,
        id: &str,
        timeout: Option<Duration>,
    ) -> Result<ChangeInfo, Error> {
        check_id(id, "change")?;
        let mut q = Query::new();
        if let Some(t) = timeout {
            q.push("timeout", &go_duration(t));
        }
        match self.get(&format!("/v1/changes/{id}/wait"), &q).await {
            Err(Error::Api {
                code: 504, message, ..
            }) => Err(Error::Timeout(message)),
            other => other,
        }
    }

    /// Waits until the change is ready (using the wait endpoint) and fails with
    /// [`Error::Change`] if it finished with an error, as `ops` does.
    pub async fn wait_change_ok(
        &self,
        id: &str,
        timeout: Option<Duration>,
    ) -> Result<ChangeInfo, Error> {
        let change = self.wait_change(id, timeout).await?;
        if !change.err.is_empty() {
            return Err(Error::Change {
                err: change.err.clone(),
                change: Box::new(change),
            });
        }
        Ok(change)
    }

    /// `POST /v1/changes/{id}` with action `abort`.
    pub async fn abort(&self, id: &str) -> Result<ChangeInfo, Error> {
        check_id(id, "change")?;
        let body = ChangeActionRequest {
            action: "abort".to_string(),
        };
        self.post(&format!("/v1/changes/{id}"), &body).await
    }

    /// `POST /v1/signals`. `signal` is the `SIG`-prefixed name, e.g. `SIGHUP`.
    pub async fn send_signal(&self, signal: &str, services: &[String]) -> Result<(), Error> {
        let body = SignalsRequest {
            signal: signal.to_string(),
            services: services.to_vec(),
        };
        let _: serde_json::Value = self.post("/v1/signals", &body).await?;
        Ok(())
    }

    /// `GET /v1/checks`.
    pub async fn checks(
        &self,
        level: Option<&str>,
        names: &[String],
    ) -> Result<Vec<CheckInfo>, Error> {
        let mut q = Query::new();
        if let Some(l) = level {
            q.push("level", l);
        }
        if !names.is_empty() {
            q.push("names", &names.join(","));
        }
        self.get("/v1/checks", &q).await
    }

    /// `POST /v1/checks` with action `start` or `stop`; returns the names changed.
    pub async fn check_action(
        &self,
        action: &str,
        checks: &[String],
    ) -> Result<Vec<String>, Error> {
        let body = ChecksRequest {
            action: action.to_string(),
            checks: checks.to_vec(),
        };
        let r: ChecksResult = self.post("/v1/checks", &body).await?;
        Ok(r.changed)
    }

    /// `POST /v1/notices`: record a custom notice; returns its id.
    pub async fn notify(
        &self,
        key: &str,
        data: &std::collections::BTreeMap<String, String>,
        repeat_after: Option<Duration>,
    ) -> Result<String, Error> {
        let body = pebble_api::NoticeRequest {
            action: "add".into(),
            type_: "custom".into(),
            key: key.to_string(),
            repeat_after: repeat_after.map(go_duration).unwrap_or_default(),
            data: data.clone(),
        };
        let r: pebble_api::NoticeIdResult = self.post("/v1/notices", &body).await?;
        Ok(r.id)
    }

    /// `GET /v1/notices` with raw query parameters (`types`, `keys`, `after`, `user-id`,
    /// `users`, `timeout`).
    pub async fn notices(&self, query: &Query) -> Result<Vec<pebble_api::Notice>, Error> {
        self.get("/v1/notices", query).await
    }

    /// `GET /v1/notices/{id}`.
    pub async fn notice(&self, id: &str) -> Result<pebble_api::Notice, Error> {
        self.get(
            &format!("/v1/notices/{}", percent_encode(id)),
            &Query::new(),
        )
        .await
    }

    /// `GET /v1/identities`: name → identity (secrets masked).
    pub async fn identities(
        &self,
    ) -> Result<std::collections::BTreeMap<String, serde_json::Value>, Error> {
        self.get("/v1/identities", &Query::new()).await
    }

    /// `POST /v1/identities` with `action` (`add`, `update`, `replace`, `remove`).
    pub async fn identities_action(
        &self,
        action: &str,
        identities: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), Error> {
        let body = serde_json::json!({"action": action, "identities": identities});
        let _: serde_json::Value = self.post("/v1/identities", &body).await?;
        Ok(())
    }

    /// `POST /v1/checks` start: returns the checks started.
    pub async fn start_checks(&self, checks: &[String]) -> Result<Vec<String>, Error> {
        self.check_action("start", checks).await
    }

    /// `POST /v1/checks` stop: returns the checks stopped.
    pub async fn stop_checks(&self, checks: &[String]) -> Result<Vec<String>, Error> {
        self.check_action("stop", checks).await
    }

    /// `POST /v1/checks/refresh`: run a check now; returns its info and the attempt's error.
    pub async fn refresh_check(&self, name: &str) -> Result<pebble_api::CheckRefreshResult, Error> {
        let body = pebble_api::CheckRefreshRequest {
            name: name.to_string(),
        };
        self.post("/v1/checks/refresh", &body).await
    }

    /// `GET /v1/logs` without following: all returned entries.
    pub async fn logs(&self, opts: &LogsOptions) -> Result<Vec<LogEntry>, Error> {
        let mut stream = self.logs_stream(opts, false).await?;
        let mut out = Vec::new();
        while let Some(entry) = stream.next().await {
            out.push(entry?);
        }
        Ok(out)
    }

    /// `GET /v1/logs?follow=true`: a stream of entries that ends only when the connection does.
    pub async fn follow_logs(&self, opts: &LogsOptions) -> Result<LogStream, Error> {
        self.logs_stream(opts, true).await
    }

    async fn logs_stream(&self, opts: &LogsOptions, follow: bool) -> Result<LogStream, Error> {
        let mut q = Query::new();
        if let Some(n) = opts.n {
            q.push("n", &n.to_string());
        }
        if !opts.services.is_empty() {
            q.push("services", &opts.services.join(","));
        }
        if follow {
            q.push("follow", "true");
        }
        let req = Request::builder()
            .method(Method::GET)
            .uri(format!("/v1/logs{}", q.to_query_string()))
            .body(Full::new(Bytes::new()))
            .map_err(|e| Error::Protocol(format!("cannot build request: {e}")))?;
        let resp = self.send(req).await?;
        let is_json = content_type_is(resp.headers(), "application/json");
        if is_json || !resp.status().is_success() {
            let (parts, body) = resp.into_parts();
            let bytes = body
                .collect()
                .await
                .map_err(|e| Error::Connection(format!("cannot read response: {e}")))?
                .to_bytes();
            // Either an error envelope (the usual case) or something unexpected.
            decode_envelope(parts.status, &parts.headers, &bytes)?;
            return Err(Error::Protocol(
                "expected a log stream, got a JSON envelope".to_string(),
            ));
        }
        Ok(LogStream::new(resp.into_body()))
    }
}

fn type_name(t: ResponseType) -> &'static str {
    match t {
        ResponseType::Sync => "sync",
        ResponseType::Async => "async",
        ResponseType::Error => "error",
    }
}

fn content_type_is(headers: &http::HeaderMap, want: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case(want)
        })
        .unwrap_or(false)
}

/// Validates an id before it goes into a URL, as the Go client does (`^[a-z0-9]+$`).
fn check_id(id: &str, what: &str) -> Result<(), Error> {
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(Error::Protocol(format!("invalid {what} ID {id:?}")));
    }
    Ok(())
}

/// Formats a duration in a syntax Go's `time.ParseDuration` accepts (milliseconds).
pub fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 && !d.is_zero() {
        format!("{}ns", d.as_nanos())
    } else {
        format!("{ms}ms")
    }
}

/// Decodes a response body as a Pebble envelope; error envelopes become [`Error::Api`].
pub fn decode_envelope(
    status: StatusCode,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<Response, Error> {
    if !content_type_is(headers, "application/json") {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        return Err(Error::Protocol(format!(
            "expected application/json response, got {ct:?} (status {status})"
        )));
    }
    let env: Response = serde_json::from_slice(body).map_err(|e| {
        Error::Protocol(format!(
            "cannot decode {:?}: {e}",
            String::from_utf8_lossy(body)
        ))
    })?;
    if env.type_ == ResponseType::Error {
        let err = env.error().unwrap_or_default();
        let code = if env.status_code != 0 {
            env.status_code
        } else {
            status.as_u16()
        };
        let status_text = if env.status.is_empty() {
            status.canonical_reason().unwrap_or("").to_string()
        } else {
            env.status.clone()
        };
        let message = if err.message.is_empty() {
            format!("server error: {status_text:?}")
        } else {
            err.message
        };
        return Err(Error::Api {
            code,
            status: status_text,
            kind: err.kind,
            message,
        });
    }
    Ok(env)
}

fn decode_result<T: DeserializeOwned>(env: Response) -> Result<SyncAnswer<T>, Error> {
    let result = env
        .decode_result::<T>()
        .map_err(|e| Error::Protocol(format!("cannot decode result: {e}")))?;
    Ok(SyncAnswer {
        result,
        envelope: env,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn base_url_parsing() {
        let b = BaseUrl::parse("http://127.0.0.1:4000").unwrap();
        assert_eq!(
            (
                b.authority.as_str(),
                b.host_header.as_str(),
                b.prefix.as_str()
            ),
            ("127.0.0.1:4000", "127.0.0.1:4000", "")
        );
        let b = BaseUrl::parse("http://example.com/pebble/").unwrap();
        assert_eq!(
            (
                b.authority.as_str(),
                b.host_header.as_str(),
                b.prefix.as_str()
            ),
            ("example.com:80", "example.com", "/pebble")
        );
        let b = BaseUrl::parse("http://[::1]").unwrap();
        assert_eq!(b.authority, "[::1]:80");
        let b = BaseUrl::parse("http://[::1]:5").unwrap();
        assert_eq!(b.authority, "[::1]:5");
        assert!(BaseUrl::parse("https://x").is_err());
        assert!(BaseUrl::parse("x:1").is_err());
        assert!(BaseUrl::parse("http:///v1").is_err());
    }

    #[tokio::test]
    async fn base_url_requests_go_over_tcp_with_prefix_and_host() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
            }
            let body =
                r#"{"type":"sync","status-code":200,"status":"OK","result":{"healthy":true}}"#;
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            s.write_all(resp.as_bytes()).await.unwrap();
            String::from_utf8(got).unwrap()
        });
        let base = BaseUrl::parse(&format!("http://{addr}/pre")).unwrap();
        let c = Client::with_base_url("/nonexistent/.pebble.socket", base);
        let h: serde_json::Value = c.get("/v1/health", &Query::new()).await.unwrap();
        assert_eq!(h["healthy"], true);
        let req = server.await.unwrap();
        assert!(req.starts_with("GET /pre/v1/health HTTP/1.1\r\n"), "{req}");
        assert!(
            req.to_lowercase().contains(&format!("host: {addr}\r\n")),
            "{req}"
        );
    }

    #[tokio::test]
    async fn base_url_dial_error() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let c = Client::with_base_url("/x", BaseUrl::parse(&format!("http://{addr}")).unwrap());
        let e = c
            .get::<serde_json::Value>("/v1/health", &Query::new())
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("cannot communicate with server: dial tcp {addr}: connect: connection refused")
        );
    }

    fn json_headers() -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        h
    }

    #[test]
    fn error_envelope_becomes_api_error() {
        let body = br#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"no default services","kind":"no-default-services"}}"#;
        let err = decode_envelope(StatusCode::BAD_REQUEST, &json_headers(), body).unwrap_err();
        match err {
            Error::Api {
                code,
                status,
                kind,
                message,
            } => {
                assert_eq!(code, 400);
                assert_eq!(status, "Bad Request");
                assert_eq!(kind, "no-default-services");
                assert_eq!(message, "no default services");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn empty_error_message_is_filled_in() {
        let body = br#"{"type":"error","status-code":500,"status":"Internal Server Error","result":{"message":""}}"#;
        let err =
            decode_envelope(StatusCode::INTERNAL_SERVER_ERROR, &json_headers(), body).unwrap_err();
        assert_eq!(err.to_string(), r#"server error: "Internal Server Error""#);
    }

    #[test]
    fn wrong_content_type_is_protocol_error() {
        let mut h = http::HeaderMap::new();
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        let err = decode_envelope(StatusCode::OK, &h, b"hi").unwrap_err();
        assert!(matches!(err, Error::Protocol(_)), "{err:?}");
    }

    #[test]
    fn unhealthy_502_is_a_result() {
        let body = br#"{"type":"sync","status-code":502,"status":"Bad Gateway","result":{"healthy":false}}"#;
        let env = decode_envelope(StatusCode::BAD_GATEWAY, &json_headers(), body).unwrap();
        let h: SyncAnswer<Health> = decode_result(env).unwrap();
        assert!(!h.result.healthy);
    }

    #[test]
    fn ids_are_validated() {
        assert!(check_id("12", "change").is_ok());
        assert!(check_id("../x", "change").is_err());
        assert!(check_id("", "change").is_err());
    }

    #[test]
    fn durations_are_go_parsable() {
        assert_eq!(go_duration(Duration::from_secs(4)), "4000ms");
        assert_eq!(go_duration(Duration::from_nanos(5)), "5ns");
        assert_eq!(go_duration(Duration::ZERO), "0ms");
    }
}
