//! Routing: exact path patterns with `{var}` segments, one handler per method, Pebble's access
//! levels, and the request wrapper [`Req`] handed to handlers.

use super::envelope::{self, Resp};
use super::reqbody::ReqBody;
use crate::overlord::Daemon;
use bytes::Bytes;
use http::Method;
use http_body_util::{BodyExt, Limited};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

/// Default limit of a JSON request body read with [`Req::decode_json`].
pub const MAX_JSON_BODY: usize = 32 * 1024 * 1024;

/// Access level required by a route (Pebble's access checkers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, on any listener.
    Open,
    /// `read` or `admin` users on the Unix socket (or HTTPS).
    Read,
    /// `admin` users on the Unix socket (or HTTPS).
    Admin,
    /// `metrics` users (also over plain HTTP), or read/admin users on the socket.
    Metrics,
}

/// Which listener a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The Unix socket (peer credentials known).
    Unix,
    /// The plain `--http` TCP listener.
    Http,
}

/// Access level of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAccess {
    /// Everything.
    Admin,
    /// Read-only endpoints.
    Read,
    /// Metrics only.
    Metrics,
    /// Nothing but open endpoints.
    Untrusted,
}

/// The caller, as worked out from the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserState {
    /// Access level.
    pub access: UserAccess,
    /// Peer uid (Unix socket) when known.
    pub uid: Option<u32>,
    /// Identity name, if a named identity matched.
    pub username: Option<String>,
}

impl Access {
    /// Whether `user` on `transport` passes this check.
    pub fn allows(self, transport: Transport, user: Option<&UserState>) -> bool {
        let concealed = transport == Transport::Unix;
        match self {
            Access::Open => true,
            Access::Read => user.is_some_and(|u| {
                concealed && matches!(u.access, UserAccess::Read | UserAccess::Admin)
            }),
            Access::Admin => user.is_some_and(|u| concealed && u.access == UserAccess::Admin),
            Access::Metrics => user.is_some_and(|u| match transport {
                Transport::Http => u.access == UserAccess::Metrics,
                Transport::Unix => matches!(
                    u.access,
                    UserAccess::Metrics | UserAccess::Read | UserAccess::Admin
                ),
            }),
        }
    }
}

/// The future of a boxed handler.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Resp> + Send>>;

/// A route's handler.
pub enum Handler {
    /// A handler that may wait (for a body, a change, a process): its future is boxed.
    Async(Box<dyn Fn(Req) -> HandlerFuture + Send + Sync>),
    /// A handler that answers at once from what it is shown ([`SyncReq`]): called in place,
    /// with no future to allocate and no request to build (the endpoints clients poll).
    Sync(Box<dyn for<'a> Fn(&SyncReq<'a>) -> Resp + Send + Sync>),
}

#[derive(Clone)]
enum Seg {
    Lit(String),
    Var(String),
}

struct MethodRoute {
    method: Method,
    access: Access,
    handler: Handler,
}

struct Route {
    pattern: String,
    /// No `{var}` segment: the path must equal `pattern`.
    literal: bool,
    segs: Vec<Seg>,
    methods: Vec<MethodRoute>,
    no_log_get: bool,
}

/// The route table.
#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.routes.iter().map(|r| &r.pattern))
            .finish()
    }
}

/// What [`Router::lookup`] found for a request.
pub enum Lookup<'a> {
    /// No route matches the path.
    NotFound,
    /// The path matches but not the method.
    MethodNotAllowed {
        /// Whether requests to this route are logged.
        log: bool,
    },
    /// A handler.
    Found {
        /// The required access.
        access: Access,
        /// Whether requests to this route are logged.
        log: bool,
        /// Path variables.
        vars: Vec<(String, String)>,
        /// The handler.
        handler: &'a Handler,
    },
}

impl Router {
    /// An empty router.
    pub fn new() -> Router {
        Router::default()
    }

    fn route_mut(&mut self, pattern: &str) -> &mut Route {
        if let Some(i) = self.routes.iter().position(|r| r.pattern == pattern) {
            return &mut self.routes[i];
        }
        let segs: Vec<Seg> = pattern
            .trim_start_matches('/')
            .split('/')
            .map(|s| {
                if s.starts_with('{') && s.ends_with('}') && s.len() > 2 {
                    Seg::Var(s[1..s.len() - 1].to_string())
                } else {
                    Seg::Lit(s.to_string())
                }
            })
            .collect();
        self.routes.push(Route {
            pattern: pattern.to_string(),
            literal: pattern.starts_with('/') && segs.iter().all(|s| matches!(s, Seg::Lit(_))),
            segs,
            methods: Vec::new(),
            no_log_get: false,
        });
        let last = self.routes.len() - 1;
        &mut self.routes[last]
    }

    /// Add a handler for `method` on `pattern` (e.g. `/v1/changes/{id}`).
    pub fn add<F, Fut>(
        &mut self,
        method: Method,
        pattern: &str,
        access: Access,
        handler: F,
    ) -> &mut Self
    where
        F: Fn(Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Resp> + Send + 'static,
    {
        let handler = Handler::Async(Box::new(move |req| Box::pin(handler(req)) as HandlerFuture));
        self.add_handler(method, pattern, access, handler)
    }

    /// Add a `GET` handler that answers without waiting. It is shown the caller, the path
    /// variables and the query ([`SyncReq`]), not the header fields or the body.
    pub fn get_sync<F>(&mut self, pattern: &str, access: Access, handler: F) -> &mut Self
    where
        F: for<'a> Fn(&SyncReq<'a>) -> Resp + Send + Sync + 'static,
    {
        self.add_handler(
            Method::GET,
            pattern,
            access,
            Handler::Sync(Box::new(handler)),
        )
    }

    fn add_handler(
        &mut self,
        method: Method,
        pattern: &str,
        access: Access,
        handler: Handler,
    ) -> &mut Self {
        let route = self.route_mut(pattern);
        route.methods.retain(|m| m.method != method);
        route.methods.push(MethodRoute {
            method,
            access,
            handler,
        });
        self
    }

    /// Add a `GET` handler.
    pub fn get<F, Fut>(&mut self, pattern: &str, access: Access, handler: F) -> &mut Self
    where
        F: Fn(Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Resp> + Send + 'static,
    {
        self.add(Method::GET, pattern, access, handler)
    }

    /// Add a `POST` handler.
    pub fn post<F, Fut>(&mut self, pattern: &str, access: Access, handler: F) -> &mut Self
    where
        F: Fn(Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Resp> + Send + 'static,
    {
        self.add(Method::POST, pattern, access, handler)
    }

    /// Do not write request log lines for `GET` on this route (Pebble skips
    /// `GET /v1/changes/{id}`, `/v1/system-info` and `/v1/health`).
    pub fn no_log(&mut self, pattern: &str) -> &mut Self {
        self.route_mut(pattern).no_log_get = true;
        self
    }

    /// Find the handler of a request.
    pub fn lookup(&self, method: &Method, path: &str) -> Lookup<'_> {
        let rest = match path.strip_prefix('/') {
            Some(r) => r,
            None => return Lookup::NotFound,
        };
        let mut n = None;
        for route in &self.routes {
            // A literal route matches exactly its own text (segment by segment is the same).
            if route.literal {
                if route.pattern != path {
                    continue;
                }
            } else if route.segs.len()
                != *n.get_or_insert_with(|| rest.bytes().filter(|&b| b == b'/').count() + 1)
            {
                continue;
            }
            let mut vars = Vec::new();
            let ok = route
                .segs
                .iter()
                .zip(rest.split('/'))
                .all(|(seg, part)| match seg {
                    Seg::Lit(l) => l == part,
                    Seg::Var(name) => {
                        if part.is_empty() {
                            false
                        } else {
                            vars.push((name.clone(), percent_decode(part)));
                            true
                        }
                    }
                });
            if !ok {
                continue;
            }
            return match route.methods.iter().find(|m| m.method == *method) {
                Some(m) => Lookup::Found {
                    access: m.access,
                    log: !(route.no_log_get && m.method == Method::GET),
                    vars,
                    handler: &m.handler,
                },
                None => Lookup::MethodNotAllowed { log: true },
            };
        }
        Lookup::NotFound
    }
}

/// Decode `%XX` escapes (as Go's URL path decoding does).
pub fn percent_decode(s: &str) -> String {
    if !s.contains('%') && !s.contains('+') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decode a query component (`+` is a space).
fn query_decode(s: &str) -> String {
    percent_decode(&s.replace('+', " "))
}

/// A request's query parameters, decoded, in order (Go's `URL.Query`).
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parse a query string (`a=1&b=x%20y`); `None` has no parameters.
    pub fn parse(query: Option<&str>) -> Query {
        Query(
            query
                .map(|q| {
                    q.split('&')
                        .filter(|kv| !kv.is_empty())
                        .map(|kv| match kv.split_once('=') {
                            Some((k, v)) => (query_decode(k), query_decode(v)),
                            None => (query_decode(kv), String::new()),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    /// The first value of a parameter (Go's `Query().Get`; `""` when absent).
    pub fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Whether a parameter is present.
    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// Every value of a parameter.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A list parameter: every value split on `,`, trimmed, empties dropped.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.all(key)
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// What a handler that answers in place is shown ([`Router::get_sync`]): everything borrowed
/// from the server, so that no request needs building for it.
pub struct SyncReq<'a> {
    /// The daemon.
    pub daemon: &'a Daemon,
    /// The caller (None over HTTP without credentials).
    pub user: Option<&'a UserState>,
    /// The listener the request came in on.
    pub transport: Transport,
    /// The path variables.
    pub vars: &'a [(String, String)],
    /// The query parameters.
    pub query: Query,
}

impl SyncReq<'_> {
    /// A list parameter (see [`Query::list`]).
    pub fn query_list(&self, key: &str) -> Vec<String> {
        self.query.list(key)
    }
}

/// A request as handlers see it.
pub struct Req {
    /// The daemon.
    pub daemon: Daemon,
    /// The raw request (headers, URI, body).
    pub request: http::Request<ReqBody>,
    /// The caller (None over HTTP without credentials).
    pub user: Option<UserState>,
    /// The listener the request came in on.
    pub transport: Transport,
    vars: Vec<(String, String)>,
    query: Query,
}

impl std::fmt::Debug for Req {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Req")
            .field("uri", self.request.uri())
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Req {
    /// Build a request wrapper (used by the server).
    pub fn new(
        daemon: Daemon,
        request: http::Request<ReqBody>,
        user: Option<UserState>,
        transport: Transport,
        vars: Vec<(String, String)>,
    ) -> Req {
        let query = Query::parse(request.uri().query());
        Req {
            daemon,
            request,
            user,
            transport,
            vars,
            query,
        }
    }

    /// A path variable (`""` if absent).
    pub fn var(&self, name: &str) -> &str {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The first value of a query parameter (Go's `Query().Get`; `""` when absent).
    pub fn query(&self, key: &str) -> &str {
        self.query.get(key)
    }

    /// Whether a query parameter is present.
    pub fn has_query(&self, key: &str) -> bool {
        self.query.has(key)
    }

    /// Every value of a query parameter.
    pub fn query_all(&self, key: &str) -> Vec<&str> {
        self.query.all(key)
    }

    /// A list parameter: every value split on `,`, trimmed, empties dropped.
    pub fn query_list(&self, key: &str) -> Vec<String> {
        self.query.list(key)
    }

    /// The peer uid, if known.
    pub fn uid(&self) -> Option<u32> {
        self.user.as_ref().and_then(|u| u.uid)
    }

    /// Read the whole body, up to `limit` bytes. Errors are ready-made 400 responses.
    pub async fn read_body(&mut self, limit: usize) -> Result<Bytes, Resp> {
        let declared = self
            .request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(envelope::bad_request(format!(
                "cannot read request body: body larger than {limit} bytes"
            )));
        }
        let body = self.request.body_mut();
        match Limited::new(body, limit).collect().await {
            Ok(c) => Ok(c.to_bytes()),
            Err(e) => {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    Err(envelope::bad_request(format!(
                        "cannot read request body: body larger than {limit} bytes"
                    )))
                } else {
                    Err(envelope::bad_request(format!(
                        "cannot read request body: {e}"
                    )))
                }
            }
        }
    }

    /// Decode the first JSON value of the body as `T` (null and unknown fields accepted, trailing
    /// data ignored). Errors are 400 `<prefix>: <Go-like error text>`, e.g. prefix
    /// `cannot decode request body`.
    pub async fn decode_json<T: DeserializeOwned>(&mut self, prefix: &str) -> Result<T, Resp> {
        let bytes = self.read_body(MAX_JSON_BODY).await?;
        decode_json_bytes(&bytes).map_err(|msg| envelope::bad_request(format!("{prefix}: {msg}")))
    }

    /// Give up the wrapper for the raw request (streaming bodies, upgrades).
    pub fn into_request(self) -> http::Request<ReqBody> {
        self.request
    }
}

/// Decode the first JSON value of `bytes` with Go-like error texts (`EOF`, `unexpected EOF`,
/// `invalid character ...`).
pub fn decode_json_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("EOF".into());
    }
    if let Some(msg) = crate::http::handlers::gojsonerr::syntax_error(bytes) {
        return Err(msg);
    }
    let mut it = serde_json::Deserializer::from_slice(bytes).into_iter::<T>();
    match it.next() {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(crate::http::handlers::gojsonerr::type_error(&e)),
        None => Err("EOF".into()),
    }
}
