//! The HTTP/1.1 server: accept loops for the Unix socket and the `--http` TCP listener, peer
//! credentials, Pebble's request pipeline (404/405, access check, handler), the `Date` header and
//! request log lines.

use super::conn::{self, Outcome};
use super::envelope::{self, Resp};
use super::reqbody::ReqBody;
use super::router::{Handler, Lookup, Query, Req, Router, SyncReq, Transport};
use super::sockio::{Rewind, SockIo, Socket};
use crate::overlord::Daemon;
use crate::timefmt;
use http::{HeaderValue, StatusCode, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;

/// In-flight requests get this long to finish after a shutdown (Pebble's `shutdownTimeout`).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Who is on the other end of a connection.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The listener.
    pub transport: Transport,
    /// `SO_PEERCRED` uid (Unix socket only).
    pub uid: Option<u32>,
    /// Remote address (TCP only).
    pub remote: Option<String>,
}

/// What every connection shares.
pub struct ServerCtx {
    /// The daemon.
    pub daemon: Daemon,
    /// The routes.
    pub router: Arc<Router>,
    /// Serve every connection with hyper alone (tests compare the two servers' bytes).
    pub hyper_only: bool,
}

/// The `Date` header value for now, as bytes (cached per second, per thread), passed to `f`.
fn with_date<R>(f: impl FnOnce(&HeaderValue) -> R) -> R {
    thread_local! {
        static CACHE: std::cell::RefCell<Option<(u64, HeaderValue)>> =
            const { std::cell::RefCell::new(None) };
    }
    // The coarse clock (the time of the last tick, a few ms behind at most) is enough for a
    // one-second field, and cheaper to read than the precise one.
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to write.
    let secs = if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) } == 0 {
        u64::try_from(ts.tv_sec).unwrap_or(0)
    } else {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        match c.as_ref() {
            Some((s, v)) if *s == secs => f(v),
            _ => {
                let ts = i64::try_from(secs)
                    .ok()
                    .and_then(|s| jiff::Timestamp::from_second(s).ok())
                    .unwrap_or_else(jiff::Timestamp::now);
                let v = HeaderValue::from_str(&timefmt::http_date(ts))
                    .unwrap_or_else(|_| HeaderValue::from_static(""));
                f(&c.insert((secs, v)).1)
            }
        }
    })
}

/// The `Date` header value for now. Handlers that must place `Date` before another header (Go
/// writes a sniffed `Content-Type` after it) insert it themselves; otherwise the server adds it
/// after the response's other headers.
pub(crate) fn date_value() -> HeaderValue {
    with_date(HeaderValue::clone)
}

/// Append `Date: <now>\r\n`.
pub(crate) fn push_date_line(out: &mut Vec<u8>) {
    with_date(|v| {
        out.extend_from_slice(b"Date: ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    });
}

/// Whether the server adds `Date` to `resp` (gorilla/websocket writes its 101 response itself,
/// without one).
pub(crate) fn wants_date(resp: &http::response::Parts) -> bool {
    resp.status != StatusCode::SWITCHING_PROTOCOLS && !resp.headers.contains_key(header::DATE)
}

/// Put into the header map what the driver writes from elsewhere, for hyper: a JSON body's
/// `Content-Type` before the other headers, and `Date` after them.
fn complete_headers(resp: Resp) -> Resp {
    let (mut parts, body) = resp.into_parts();
    if body.is_json() && !parts.headers.contains_key(header::CONTENT_TYPE) {
        let mut headers = http::HeaderMap::with_capacity(parts.headers.len() + 2);
        headers.insert(header::CONTENT_TYPE, envelope::JSON);
        let mut last = None;
        for (name, value) in std::mem::take(&mut parts.headers) {
            // `None`: another value of the last name.
            if let Some(n) = name {
                last = Some(n);
            }
            if let Some(n) = &last {
                headers.append(n.clone(), value);
            }
        }
        parts.headers = headers;
    }
    if wants_date(&parts) {
        parts.headers.insert(header::DATE, date_value());
    }
    http::Response::from_parts(parts, body)
}

/// Go's `path.Clean` for URL paths, keeping a trailing slash (gorilla/mux `cleanPath`).
fn clean_path(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut s = format!("/{}", out.join("/"));
    if p.ends_with('/') && s != "/" {
        s.push('/');
    }
    s
}

/// Whether `clean_path(p) == p`, without building the cleaned path: `p` is absolute, has no
/// `.` or `..` segment, and no empty segment except a trailing one.
fn is_clean(p: &str) -> bool {
    let b = p.as_bytes();
    if b.first() != Some(&b'/') {
        return false;
    }
    let mut seg_start = 1;
    for i in 1..=b.len() {
        if i == b.len() || b[i] == b'/' {
            let seg = &b[seg_start..i];
            if (seg.is_empty() && i != b.len()) || seg == b"." || seg == b".." {
                return false;
            }
            seg_start = i + 1;
        }
    }
    true
}

/// Start the request log line in `line`: `GET /v1/services`, or `<remote> GET /v1/services`
/// on the TCP listener (what is known before the handler runs).
fn log_prefix(line: &mut Vec<u8>, peer: &Peer, method: &http::Method, uri: &http::Uri) {
    line.clear();
    if peer.transport == Transport::Http {
        line.extend_from_slice(peer.remote.as_deref().unwrap_or("").as_bytes());
        line.push(b' ');
    }
    line.extend_from_slice(method.as_str().as_bytes());
    line.push(b' ');
    match uri.path_and_query() {
        Some(pq) => line.extend_from_slice(pq.as_str().as_bytes()),
        None => line.extend_from_slice(uri.to_string().as_bytes()),
    }
}

/// Write the request log line begun by [`log_prefix`]: `GET /v1/services 1.2ms 200
/// (http+unix)`, or `<remote> GET /v1/services 1.2ms 200 (http)` on the TCP listener.
fn log_request(line: &[u8], peer: &Peer, start: Instant, status: u16) {
    let status = match status {
        101 => 200,
        s => s,
    };
    let end = Instant::now();
    let nanos = i64::try_from(end.duration_since(start).as_nanos()).unwrap_or(i64::MAX);
    crate::daemonlog::log_deferred_with(end, |buf| {
        buf.extend_from_slice(line);
        buf.push(b' ');
        pebble_plan::go_duration::push_nanos(buf, nanos);
        buf.push(b' ');
        envelope::push_decimal(buf, status);
        buf.extend_from_slice(match peer.transport {
            Transport::Unix => b" (http+unix)",
            Transport::Http => b" (http)",
        });
    });
}

/// Handle one request: routing, access, handler, request log. `line` is scratch space for the
/// request log line (a connection reuses one). The response lacks what the server writes
/// itself: `Date`, and the `Content-Type` of a JSON body ([`super::Body::is_json`]).
///
/// The request log line is written when the handler has returned, before the response goes
/// out (as Pebble, whose buffered responses are flushed after its logging middleware returns),
/// so it is ordered with the log lines of everything the handler did.
pub async fn handle(
    ctx: &ServerCtx,
    peer: &Peer,
    req: http::Request<ReqBody>,
    line: &mut Vec<u8>,
) -> Resp {
    match start(ctx, peer, Arrived::Request(req), line) {
        Started::Done(resp) => resp,
        Started::Waiting(mut w) => {
            let resp = w.handler.as_mut().await;
            w.finish(resp, peer, line)
        }
    }
}

/// How [`start`] left a request.
pub enum Started {
    /// Answered (and logged).
    Done(Resp),
    /// Its handler waits: poll it, then [`Waiting::finish`].
    Waiting(Waiting),
}

/// A request whose handler waits.
pub struct Waiting {
    /// The handler's future.
    pub handler: super::router::HandlerFuture,
    start: Instant,
    log: bool,
}

impl Waiting {
    /// Log the request (see [`handle`]) and give back its response.
    pub fn finish(self, resp: Resp, peer: &Peer, line: &[u8]) -> Resp {
        if self.log {
            log_request(line, peer, self.start, resp.status().as_u16());
        }
        resp
    }
}

/// A request as [`start`] takes it.
pub enum Arrived<'a> {
    /// As hyper read it: with its header map (and, for an upgrade, its extensions).
    Request(http::Request<ReqBody>),
    /// As the connection driver read it: the target is the one the connection keeps, and the
    /// header fields stay raw until something needs them as a map.
    Parsed {
        /// The method.
        method: http::Method,
        /// The target.
        uri: &'a http::Uri,
        /// The header fields.
        fields: &'a super::conn::RawFields,
        /// The body.
        body: ReqBody,
    },
}

impl Arrived<'_> {
    fn method(&self) -> &http::Method {
        match self {
            Arrived::Request(r) => r.method(),
            Arrived::Parsed { method, .. } => method,
        }
    }

    fn uri(&self) -> &http::Uri {
        match self {
            Arrived::Request(r) => r.uri(),
            Arrived::Parsed { uri, .. } => uri,
        }
    }

    /// The request, with `map` as its header map when it came raw.
    fn into_request(self, map: Option<http::HeaderMap>) -> http::Request<ReqBody> {
        match self {
            Arrived::Request(r) => r,
            Arrived::Parsed {
                method, uri, body, ..
            } => {
                let mut r = http::Request::new(body);
                *r.method_mut() = method;
                *r.uri_mut() = uri.clone();
                *r.headers_mut() = map.unwrap_or_default();
                r
            }
        }
    }
}

/// [`handle`] up to the handler: the answer when there is one at once (no handler, or one
/// that answers in place), else the handler's future. No future of its own: the requests
/// clients poll are answered without one.
///
/// A request that came raw ([`Arrived::Parsed`]) gets a header map only when a handler that
/// waits takes it (it may read any field), or when the caller may be resolved from an
/// `Authorization` field; a handler that answers in place ([`SyncReq`]) is shown no header
/// fields, so it needs no request at all.
pub fn start(ctx: &ServerCtx, peer: &Peer, arrived: Arrived<'_>, line: &mut Vec<u8>) -> Started {
    let start = Instant::now();
    let uri = arrived.uri();
    log_prefix(line, peer, arrived.method(), uri);
    let path = uri.path();

    let (resp, log) = if path != "/" && !is_clean(path) {
        let mut r = http::Response::new(super::Body::empty());
        *r.status_mut() = StatusCode::MOVED_PERMANENTLY;
        let mut loc = clean_path(path);
        if let Some(q) = uri.query() {
            loc.push('?');
            loc.push_str(q);
        }
        if let Ok(v) = HeaderValue::from_str(&loc) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        (r, true)
    } else {
        match ctx.router.lookup(arrived.method(), path) {
            Lookup::NotFound => (envelope::invalid_endpoint(), true),
            Lookup::MethodNotAllowed { log } => {
                (envelope::method_not_allowed(arrived.method().as_str()), log)
            }
            Lookup::Found {
                access,
                log,
                vars,
                handler,
            } => 'found: {
                let mut built = None;
                if let Arrived::Parsed { fields, .. } = &arrived
                    && (matches!(handler, Handler::Async(_)) || fields.has_authorization())
                {
                    let Some(map) = fields.header_map() else {
                        break 'found (envelope::bad_request("invalid header field"), log);
                    };
                    built = Some(map);
                }
                let none;
                let headers = match (&arrived, &built) {
                    (Arrived::Request(r), _) => r.headers(),
                    (_, Some(map)) => map,
                    _ => {
                        none = http::HeaderMap::new();
                        &none
                    }
                };
                let user = ctx.daemon.user_for(peer.transport, peer.uid, headers);
                if !access.allows(peer.transport, user.as_ref()) {
                    break 'found (envelope::unauthorized(), log);
                }
                match handler {
                    Handler::Sync(h) => {
                        let resp = h(&SyncReq {
                            daemon: &ctx.daemon,
                            user: user.as_ref(),
                            transport: peer.transport,
                            vars: &vars,
                            query: Query::parse(arrived.uri().query()),
                        });
                        (resp, log)
                    }
                    Handler::Async(h) => {
                        let request = arrived.into_request(built);
                        let r = Req::new(ctx.daemon.clone(), request, user, peer.transport, vars);
                        return Started::Waiting(Waiting {
                            handler: h(r),
                            start,
                            log,
                        });
                    }
                }
            }
        }
    };

    if log {
        log_request(line, peer, start, resp.status().as_u16());
    }
    Started::Done(resp)
}

/// Completes once shutdown is asked for (`true` in the watch, or its sender gone).
///
/// A connection's task polls this on every wake-up, and tokio's notification takes a lock on
/// every poll. After the first poll (and whenever the task's waker changes) this one only
/// looks whether the value changed, an atomic load, until it has: the notification keeps the
/// waker it was given.
pub(crate) struct Shutdown {
    wait: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
    probe: watch::Receiver<bool>,
    waker: Option<std::task::Waker>,
}

impl Shutdown {
    pub(crate) fn new(rx: &watch::Receiver<bool>) -> Shutdown {
        let mut wait = rx.clone();
        Shutdown {
            wait: Box::pin(async move {
                let _ = wait.wait_for(|v| *v).await;
            }),
            probe: rx.clone(),
            waker: None,
        }
    }
}

impl Future for Shutdown {
    type Output = ();

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        let this = self.get_mut();
        let fresh = this.waker.as_ref().is_none_or(|w| !w.will_wake(cx.waker()));
        if fresh {
            this.waker = Some(cx.waker().clone());
        } else if !this.probe.has_changed().unwrap_or(true) {
            return std::task::Poll::Pending;
        }
        this.wait.as_mut().poll(cx)
    }
}

async fn wait_true(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}

/// Serve HTTP/1.1 on one connection until it closes or `shutdown` turns true: the daemon's own
/// driver ([`conn`]) first, hyper for a connection the driver hands over.
pub async fn serve_connection<S: Socket>(
    io: SockIo<S>,
    peer: Peer,
    ctx: Arc<ServerCtx>,
    shutdown: watch::Receiver<bool>,
) {
    let peer = Arc::new(peer);
    let (io, pre) = if ctx.hyper_only {
        (io, bytes::Bytes::new())
    } else {
        let drive = conn::drive(io, peer.clone(), ctx.clone(), shutdown.clone());
        tokio::pin!(drive);
        let mut stop = Shutdown::new(&shutdown);
        let outcome = tokio::select! {
            biased;
            o = drive.as_mut() => o,
            () = &mut stop => {
                // The driver closes an idle connection itself; a request in flight gets the
                // grace period.
                match tokio::time::timeout(SHUTDOWN_GRACE, drive).await {
                    Ok(o) => o,
                    Err(_) => return,
                }
            }
        };
        match outcome {
            Outcome::Closed => return,
            Outcome::Handoff(io, pre) => (io, pre),
        }
    };
    serve_hyper(Rewind::new(pre, io), peer, ctx, shutdown).await;
}

/// Serve HTTP/1.1 with hyper until the connection closes or `shutdown` turns true.
async fn serve_hyper<I>(
    io: I,
    peer: Arc<Peer>,
    ctx: Arc<ServerCtx>,
    mut shutdown: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc = service_fn(move |req: http::Request<Incoming>| {
        let ctx = ctx.clone();
        let peer = peer.clone();
        async move {
            let mut line = Vec::new();
            let resp = handle(&ctx, &peer, req.map(ReqBody::Incoming), &mut line).await;
            Ok::<_, Infallible>(complete_headers(resp))
        }
    });
    let conn = http1::Builder::new()
        .title_case_headers(true)
        .auto_date_header(false)
        .keep_alive(true)
        .serve_connection(io, svc)
        .with_upgrades();
    tokio::pin!(conn);
    if *shutdown.borrow() {
        conn.as_mut().graceful_shutdown();
    }
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = wait_true(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
        }
    }
}

/// Register an accepted socket with the runtime and serve it on a task of its own.
fn spawn_connection<S: Socket>(
    sock: std::io::Result<S>,
    peer: Peer,
    ctx: &Arc<ServerCtx>,
    shutdown: &watch::Receiver<bool>,
) {
    match sock.and_then(SockIo::new) {
        Ok(io) => {
            tokio::spawn(serve_connection(io, peer, ctx.clone(), shutdown.clone()));
        }
        Err(e) => crate::pebble_log!("Cannot accept connection: {}", e),
    }
}

/// Accept connections on the Unix socket until `shutdown` turns true.
pub async fn serve_unix(
    listener: UnixListener,
    ctx: Arc<ServerCtx>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = wait_true(&mut shutdown) => return,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(e) => {
                crate::pebble_log!("Cannot accept connection: {}", e);
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // "No credentials" when the uid is nobody or the pid is missing, as Pebble.
        let uid = stream
            .peer_cred()
            .ok()
            .filter(|c| c.uid() != u32::MAX && c.pid().is_some_and(|p| p > 0))
            .map(|c| c.uid());
        let peer = Peer {
            transport: Transport::Unix,
            uid,
            remote: None,
        };
        spawn_connection(stream.into_std(), peer, &ctx, &shutdown);
    }
}

/// Accept connections on the plain HTTP listener until `shutdown` turns true.
pub async fn serve_tcp(
    listener: TcpListener,
    ctx: Arc<ServerCtx>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = wait_true(&mut shutdown) => return,
        };
        let (stream, addr) = match accepted {
            Ok(x) => x,
            Err(e) => {
                crate::pebble_log!("Cannot accept connection: {}", e);
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let peer = Peer {
            transport: Transport::Http,
            uid: None,
            remote: Some(addr.to_string()),
        };
        spawn_connection(stream.into_std(), peer, &ctx, &shutdown);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Shutdown` completes once `true` is sent (however often it was polled before), at
    /// once when it already is, and when the sender is gone.
    #[tokio::test]
    async fn shutdown_wait_completes_on_true_or_a_dropped_sender() {
        use futures_util::FutureExt;
        let (tx, rx) = watch::channel(false);
        let mut stop = Shutdown::new(&rx);
        for _ in 0..3 {
            assert!((&mut stop).now_or_never().is_none());
        }
        let waiter = tokio::spawn(stop);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("not woken")
            .unwrap();

        assert!(Shutdown::new(&rx).now_or_never().is_some());

        let (tx, rx) = watch::channel(false);
        let waiter = tokio::spawn(Shutdown::new(&rx));
        tokio::task::yield_now().await;
        drop(tx);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("not woken")
            .unwrap();
    }

    #[test]
    fn clean_paths() {
        assert_eq!(clean_path("/v1//services"), "/v1/services");
        assert_eq!(clean_path("/v1/services/"), "/v1/services/");
        assert_eq!(clean_path("/v1/../v1/services"), "/v1/services");
        assert_eq!(clean_path("/v1/services"), "/v1/services");
    }

    /// `is_clean` agrees with `clean_path(p) == p` on every path of up to 7 characters over
    /// `/`, `.` and `a`.
    #[test]
    fn is_clean_agrees_with_clean_path() {
        let alphabet = ['/', '.', 'a'];
        let mut paths = vec![String::new()];
        let mut checked = 0;
        for _ in 0..7 {
            let mut next = Vec::new();
            for p in &paths {
                for c in alphabet {
                    let mut q = p.clone();
                    q.push(c);
                    assert_eq!(is_clean(&q), clean_path(&q) == q, "{q:?}");
                    checked += 1;
                    next.push(q);
                }
            }
            paths = next;
        }
        assert!(checked > 3000);
        assert!(!is_clean(""));
        assert!(is_clean("/"));
        assert!(is_clean("/v1/services"));
        assert!(!is_clean("/v1//services"));
    }
}
