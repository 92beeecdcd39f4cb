//! The daemon's own HTTP/1.1 connection driver.
//!
//! Every API request of Pebble's clients is small: a head, at most a short JSON body, and a
//! response the handler builds in memory or streams. This driver serves those requests on a
//! kept-alive connection itself: it reads into one reused buffer, parses the head with
//! `httparse`, runs the request pipeline ([`super::server::start`]) and writes the response
//! head and body with one `send` where the body is ready at once. It writes the same bytes
//! hyper wrote for the daemon before (title-case header names, `Content-Length` for bodies of
//! known length, `Transfer-Encoding: chunked` otherwise, `Connection: close` when the client
//! asked for it), and a test compares the two on every kind of response.
//!
//! Whatever is not such a request goes to hyper, with the bytes read so far: upgrades
//! (websockets), `Transfer-Encoding` and `Expect` requests, bodies over 64 KiB, `HEAD`,
//! `CONNECT` and other methods, HTTP/1.0, absolute-form targets, heads over 64 KiB and anything
//! `httparse` or `http` refuses (hyper then answers with its own error). The connection stays
//! with hyper from then on.
//!
//! As hyper did, the driver notices a client that hangs up while a handler runs or while a
//! streamed body waits for its next chunk (a long-poll, `pebble logs -f`) and drops the
//! handler or the body; bytes of a next (pipelined) request are kept for later instead.

use super::reqbody::ReqBody;
use super::server::{
    Arrived, Peer, ServerCtx, Shutdown, Started, push_date_line, start, wants_date,
};
use super::sockio::{SockIo, Socket};
use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Body as _;
use std::future::Future;
use std::io::IoSlice;
use std::pin::{Pin, pin};
use std::sync::Arc;
use tokio::sync::watch;

/// Heads up to this size are parsed here; larger ones go to hyper.
const MAX_HEAD: usize = 64 * 1024;
/// Request bodies up to this size are read whole here; larger ones go to hyper.
const MAX_BODY: usize = 64 * 1024;
/// Header fields parsed here at most; more go to hyper (which takes 100).
const MAX_HEADERS: usize = 64;
/// Spare room made in the read buffer before each read.
const READ_SPARE: usize = 4096;
/// Body chunks up to this size are copied behind the head (one write); larger ones are
/// written from where they are.
const COPY_LIMIT: usize = 16 * 1024;
/// Copied chunks that are ready one after the other are written once they reach this size.
const FLUSH_AT: usize = 64 * 1024;

/// How a connection left the driver.
pub enum Outcome<S: Socket> {
    /// Closed (by either side, on an error, or at shutdown).
    Closed,
    /// To be served by hyper from here on: the socket and the bytes read but not used.
    Handoff(SockIo<S>, Bytes),
}

/// A parsed request. Its target is the connection's [`LastTarget`], and its header fields
/// are in the connection's [`RawFields`].
struct Parsed {
    method: Method,
    body: ReqBody,
    keep_alive: bool,
}

/// Where the header fields of the last request parsed on a connection lie in its bytes.
///
/// Most requests are answered without a look at their header fields (the driver has read the
/// few it acts on as bytes), so the header map is only built for a request that goes to a
/// handler that may read it, or whose caller may need resolving from it
/// ([`RawFields::header_map`], called by [`super::server::start`]).
pub struct RawFields {
    /// Name and value of each field, as `[name start, name end, value start, value end]` in
    /// `raw`.
    table: [[u32; 4]; MAX_HEADERS],
    /// How many fields `table` holds.
    count: usize,
    /// The request's bytes (head and body), shared with its body.
    raw: Bytes,
    /// Whether an `Authorization` field is among them.
    auth: bool,
}

impl RawFields {
    fn new() -> RawFields {
        RawFields {
            table: [[0; 4]; MAX_HEADERS],
            count: 0,
            raw: Bytes::new(),
            auth: false,
        }
    }

    /// Whether the request has an `Authorization` field (which the caller's identity may come
    /// from).
    pub fn has_authorization(&self) -> bool {
        self.auth
    }

    /// The request's header map, sharing the request's bytes. `None` for a field that `http`
    /// refuses, which `httparse` never lets through (a test checks every byte value): the
    /// caller answers such a request with an error.
    pub fn header_map(&self) -> Option<HeaderMap> {
        let raw = &self.raw;
        let mut map = HeaderMap::with_capacity(self.count);
        for &[ns, ne, vs, ve] in &self.table[..self.count] {
            let name = HeaderName::from_bytes(raw.get(ns as usize..ne as usize)?).ok()?;
            let value = HeaderValue::from_maybe_shared(raw.slice(vs as usize..ve as usize)).ok()?;
            map.append(name, value);
        }
        Some(map)
    }

    /// Let go of the request's bytes (so that the read buffer can be reused in place).
    fn release(&mut self) {
        self.raw = Bytes::new();
        self.count = 0;
        self.auth = false;
    }
}

// Returned once per request and consumed at once: boxing `Ready` would cost an allocation.
#[allow(clippy::large_enum_variant)]
enum Parse {
    /// More bytes are needed.
    Partial,
    Ready(Parsed),
    /// Not one for this driver.
    Handoff,
    /// Not one for this driver, found out after its bytes were split off the buffer: they
    /// come first.
    HandoffTaken(Bytes),
}

/// The framing of a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body and no length (`204`, `304`, `1xx`).
    None,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// The target of the last request parsed on a connection: a client polling one endpoint
/// sends the same target again and again, and the parsed one is kept (and lent to the
/// request pipeline) rather than parsed again.
#[derive(Default)]
struct LastTarget(http::Uri);

impl LastTarget {
    /// Make `raw` the current target; false if `http` refuses it.
    fn set(&mut self, raw: &[u8]) -> bool {
        if self
            .0
            .path_and_query()
            .is_some_and(|pq| pq.as_str().as_bytes() == raw)
        {
            return true;
        }
        // A copy of its own, so that the request's bytes are not kept with it.
        match http::Uri::from_maybe_shared(Bytes::copy_from_slice(raw)) {
            Ok(uri) => {
                self.0 = uri;
                true
            }
            Err(_) => false,
        }
    }

    fn uri(&self) -> &http::Uri {
        &self.0
    }
}

/// Parse the request at the start of `buf`. A request that is ready is split off `buf`; its
/// body shares those bytes (no copies), and `fields` tells where its header fields lie in
/// them.
fn parse(buf: &mut BytesMut, last: &mut LastTarget, fields: &mut RawFields) -> Parse {
    let mut headers =
        [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let head_len = match req.parse_with_uninit_headers(buf, &mut headers) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() <= MAX_HEAD => return Parse::Partial,
        _ => return Parse::Handoff,
    };
    // The limit holds for complete heads too (a read may bring a large one at once): it keeps
    // every offset, and every field name, within what `http` takes.
    if req.version != Some(1) || head_len > MAX_HEAD {
        return Parse::Handoff;
    }
    let (Some(method), Some(path)) = (req.method, req.path) else {
        return Parse::Handoff;
    };
    let method = match method {
        "GET" => Method::GET,
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "DELETE" => Method::DELETE,
        "PATCH" => Method::PATCH,
        _ => return Parse::Handoff,
    };
    if !path.starts_with('/') {
        return Parse::Handoff;
    }
    let base = buf.as_ptr() as usize;
    // Where a slice of the head lies in `buf`.
    let span = |s: &[u8]| {
        let at = s.as_ptr() as usize - base;
        at..at + s.len()
    };
    let path = span(path.as_bytes());
    // Where each field's name and value lie in `buf`, to build the header map from the
    // request's own bytes if it is needed.
    let mut length: Option<usize> = None;
    let mut keep_alive = true;
    let mut auth = false;
    for (h, field) in req.headers.iter().zip(fields.table.iter_mut()) {
        // The names this driver looks at, compared as bytes: a header map is only built for
        // the requests that need one (see `RawFields`).
        let name = h.name.as_bytes();
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        if is("transfer-encoding") || is("expect") || is("upgrade") {
            return Parse::Handoff;
        } else if is("content-length") {
            let v = h.value;
            if length.is_some() || v.is_empty() || v.len() > 9 {
                return Parse::Handoff;
            }
            if !v.iter().all(u8::is_ascii_digit) {
                return Parse::Handoff;
            }
            let n = v.iter().fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
            length = Some(n);
        } else if is("connection") {
            if has_token(h.value, "upgrade") {
                return Parse::Handoff;
            }
            // As hyper reads an HTTP/1.1 request's `Connection` fields, one by one.
            keep_alive = if keep_alive {
                !has_token(h.value, "close")
            } else {
                has_token(h.value, "keep-alive")
            };
        } else if is("authorization") {
            auth = true;
        }
        let (n, v) = (span(h.name.as_bytes()), span(h.value));
        // The head is at most 64 KiB and comes first: the offsets fit.
        *field = [n.start, n.end, v.start, v.end].map(|x| x as u32);
    }
    let count = req.headers.len();
    let length = length.unwrap_or(0);
    if length > MAX_BODY {
        return Parse::Handoff;
    }
    if buf.len() < head_len + length {
        return Parse::Partial;
    }
    // From here on the request's bytes are taken from `buf`; what `http` refuses goes to hyper
    // with them.
    let raw = buf.split_to(head_len + length).freeze();
    if !last.set(&raw[path]) {
        return Parse::HandoffTaken(raw);
    }
    let body = ReqBody::bytes(raw.slice(head_len..));
    fields.count = count;
    fields.auth = auth;
    fields.raw = raw;
    Parse::Ready(Parsed {
        method,
        body,
        keep_alive,
    })
}

/// Whether a comma-separated header value holds `token` (any case).
fn has_token(value: &[u8], token: &str) -> bool {
    // As `HeaderValue::to_str`: a value with other than visible ASCII holds no token.
    let visible = value
        .iter()
        .all(|&c| c == b'\t' || (b' '..0x7f).contains(&c));
    visible
        && value
            .split(|&c| c == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Append `name` in title case (`content-type` -> `Content-Type`), as hyper writes names.
fn title_case(out: &mut Vec<u8>, name: &str) {
    let mut prev = b'-';
    for &c in name.as_bytes() {
        out.push(if prev == b'-' {
            c.to_ascii_uppercase()
        } else {
            c
        });
        prev = c;
    }
}

/// Append a response head: a JSON body's `Content-Type` (`json`), the response's headers,
/// `Date`, then the framing. Framing headers set by a handler are ignored: the driver frames
/// the body. Returns whether the connection may be kept alive after this response.
fn encode_head(
    out: &mut Vec<u8>,
    parts: &http::response::Parts,
    json: bool,
    framing: Framing,
    mut keep_alive: bool,
) -> bool {
    let status = parts.status;
    if status == StatusCode::OK {
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(status.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if json && !parts.headers.contains_key(header::CONTENT_TYPE) {
        out.extend_from_slice(b"Content-Type: application/json\r\n");
    }
    let mut says_close = false;
    for (name, value) in &parts.headers {
        match *name {
            header::CONTENT_LENGTH | header::TRANSFER_ENCODING => continue,
            header::CONNECTION if has_token(value.as_bytes(), "close") => says_close = true,
            _ => {}
        }
        title_case(out, name.as_str());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if wants_date(parts) {
        push_date_line(out);
    }
    if says_close {
        keep_alive = false;
    } else if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    match framing {
        Framing::None => {}
        Framing::Length(n) => {
            out.extend_from_slice(b"Content-Length: ");
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Framing::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
    }
    out.extend_from_slice(b"\r\n");
    keep_alive && !status.is_informational()
}

/// Append a chunk-size line (`{len:X}\r\n`).
fn chunk_size(out: &mut Vec<u8>, len: usize) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut n = len;
    loop {
        i -= 1;
        digits[i] = HEX[n & 15];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

/// Run `fut`, reading from the socket meanwhile while nothing is buffered: `None` when the
/// client hung up (or the socket failed) first. Bytes that arrive are kept in `buf`.
async fn until_hangup<S: Socket, F: Future + ?Sized>(
    io: &mut SockIo<S>,
    buf: &mut BytesMut,
    mut fut: Pin<&mut F>,
) -> Option<F::Output> {
    loop {
        let watching = buf.is_empty();
        tokio::select! {
            biased;
            out = &mut fut => return Some(out),
            r = io.recv(buf, READ_SPARE), if watching => match r {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            },
        }
    }
}

/// Write `out`, then clear it.
async fn flush<S: Socket>(io: &mut SockIo<S>, out: &mut Vec<u8>) -> std::io::Result<()> {
    if !out.is_empty() {
        io.write_all_vectored(&mut [IoSlice::new(out)]).await?;
        out.clear();
    }
    Ok(())
}

/// Write the body after the head in `out`. `Err(())`: the connection must close (a write
/// failed, the body failed or ended short, or the client hung up).
async fn write_body<S: Socket>(
    io: &mut SockIo<S>,
    buf: &mut BytesMut,
    out: &mut Vec<u8>,
    body: super::Body,
    framing: Framing,
) -> Result<(), ()> {
    let mut remaining = match framing {
        Framing::None | Framing::Length(0) => return flush(io, out).await.map_err(drop),
        Framing::Length(n) => n,
        Framing::Chunked => u64::MAX,
    };
    if let Some(data) = body.ready_bytes() {
        // The whole body is here: copy it behind the head when small, as a ready frame would be.
        return write_ready(io, out, data, framing, remaining).await;
    }
    let mut body = pin!(body);
    loop {
        // A frame that is ready goes out with what is pending; otherwise flush and wait.
        let next = match body.frame().now_or_never() {
            Some(next) => next,
            None => {
                flush(io, out).await.map_err(drop)?;
                until_hangup(io, buf, pin!(body.frame())).await.ok_or(())?
            }
        };
        let data = match next {
            None => break,
            Some(Err(_)) => return Err(()),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) if !data.is_empty() => data,
                _ => continue,
            },
        };
        let data = match framing {
            Framing::Chunked => {
                chunk_size(out, data.len());
                data
            }
            _ => {
                let take = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                remaining -= take as u64;
                data.slice(..take)
            }
        };
        let trailer: &[u8] = if framing == Framing::Chunked {
            b"\r\n"
        } else {
            b""
        };
        if data.len() <= COPY_LIMIT {
            out.extend_from_slice(&data);
            out.extend_from_slice(trailer);
            if out.len() >= FLUSH_AT {
                flush(io, out).await.map_err(drop)?;
            }
        } else {
            io.write_all_vectored(&mut [
                IoSlice::new(out),
                IoSlice::new(&data),
                IoSlice::new(trailer),
            ])
            .await
            .map_err(drop)?;
            out.clear();
        }
        if remaining == 0 {
            return flush(io, out).await.map_err(drop);
        }
    }
    match framing {
        Framing::Chunked => {
            out.extend_from_slice(b"0\r\n\r\n");
            flush(io, out).await.map_err(drop)
        }
        // The body ended short of its length.
        _ => Err(()),
    }
}

/// Append a body that needs no writing of its own to the head in `out`, framed as
/// [`write_body`] frames it: no body (`framing` none or a zero length), or one held whole in
/// memory and small enough to copy. `Ok(false)` for any other body (nothing appended);
/// `Err(())` for a body shorter than its length (the connection must close).
fn append_ready(out: &mut Vec<u8>, body: &super::Body, framing: Framing) -> Result<bool, ()> {
    let remaining = match framing {
        Framing::None | Framing::Length(0) => return Ok(true),
        Framing::Length(n) => n,
        Framing::Chunked => u64::MAX,
    };
    match body.ready_bytes() {
        Some(data) if data.len() <= COPY_LIMIT => {
            let (data, trailer) = frame_ready(out, data, framing, remaining)?;
            out.extend_from_slice(data);
            out.extend_from_slice(trailer);
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// The bytes of a body held whole in memory, and the trailer after them (a chunk-size line
/// goes into `out` first). `Err(())` when the body is shorter than its length.
fn frame_ready<'a>(
    out: &mut Vec<u8>,
    data: &'a [u8],
    framing: Framing,
    remaining: u64,
) -> Result<(&'a [u8], &'static [u8]), ()> {
    Ok(match framing {
        Framing::Chunked if data.is_empty() => (b"", b"0\r\n\r\n"),
        Framing::Chunked => {
            chunk_size(out, data.len());
            (data, b"\r\n0\r\n\r\n")
        }
        _ => {
            let take = usize::try_from(remaining)
                .unwrap_or(usize::MAX)
                .min(data.len());
            if (take as u64) < remaining {
                // Shorter than its length: as a body that ends short.
                return Err(());
            }
            (&data[..take], b"")
        }
    })
}

/// Write a body held whole in memory after the head in `out` (framed as [`write_body`]
/// frames one ready frame), then clear `out`.
async fn write_ready<S: Socket>(
    io: &mut SockIo<S>,
    out: &mut Vec<u8>,
    data: &[u8],
    framing: Framing,
    remaining: u64,
) -> Result<(), ()> {
    let (data, trailer) = frame_ready(out, data, framing, remaining)?;
    if data.len() <= COPY_LIMIT {
        out.extend_from_slice(data);
        out.extend_from_slice(trailer);
        flush(io, out).await.map_err(drop)
    } else {
        let r = io
            .write_all_vectored(&mut [IoSlice::new(out), IoSlice::new(data), IoSlice::new(trailer)])
            .await;
        out.clear();
        r.map_err(drop)
    }
}

/// Serve requests on `io` until the connection closes, shutdown is asked for between two
/// requests, or a request is one for hyper.
pub async fn drive<S: Socket>(
    mut io: SockIo<S>,
    peer: Arc<Peer>,
    ctx: Arc<ServerCtx>,
    shutdown: watch::Receiver<bool>,
) -> Outcome<S> {
    let mut buf = BytesMut::with_capacity(READ_SPARE);
    let mut out: Vec<u8> = Vec::with_capacity(1024);
    let mut line: Vec<u8> = Vec::with_capacity(128);
    let mut last = LastTarget::default();
    let mut fields = RawFields::new();
    // One wait for shutdown for the whole connection (see `Shutdown`: after its first poll it
    // takes no lock).
    let mut stop = Shutdown::new(&shutdown);
    // Whether shutdown was asked for: it only ever turns true, so any change of the value
    // since this receiver was made means it (an atomic load, where reading the value locks).
    let already = *shutdown.borrow();
    let stopping = || already || shutdown.has_changed().unwrap_or(true);
    loop {
        let parsed = loop {
            if !buf.is_empty() {
                match parse(&mut buf, &mut last, &mut fields) {
                    Parse::Ready(p) => break p,
                    Parse::Handoff => return Outcome::Handoff(io, buf.freeze()),
                    Parse::HandoffTaken(raw) => {
                        let mut pre = BytesMut::from(raw);
                        pre.extend_from_slice(&buf);
                        return Outcome::Handoff(io, pre.freeze());
                    }
                    Parse::Partial => {}
                }
            }
            let idle = buf.is_empty();
            if idle && stopping() {
                return close(io).await;
            }
            let read = tokio::select! {
                biased;
                r = io.recv(&mut buf, READ_SPARE) => Some(r),
                () = &mut stop, if idle => None,
            };
            match read {
                None => return close(io).await,
                Some(Ok(0) | Err(_)) => return Outcome::Closed,
                Some(Ok(_)) => {}
            }
        };

        let arrived = Arrived::Parsed {
            method: parsed.method,
            uri: last.uri(),
            fields: &fields,
            body: parsed.body,
        };
        let started = start(&ctx, &peer, arrived, &mut line);
        fields.release();
        let resp = match started {
            Started::Done(resp) => resp,
            Started::Waiting(mut w) => {
                let Some(resp) = until_hangup(&mut io, &mut buf, w.handler.as_mut()).await else {
                    return Outcome::Closed;
                };
                w.finish(resp, &peer, &line)
            }
        };

        let (parts, body) = resp.into_parts();
        let status = parts.status;
        let framing = if status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
        {
            Framing::None
        } else if body.is_end_stream() {
            Framing::Length(0)
        } else {
            match body.size_hint().exact() {
                Some(n) => Framing::Length(n),
                None => Framing::Chunked,
            }
        };
        let keep_alive = parsed.keep_alive && !stopping();
        let keep_alive = encode_head(&mut out, &parts, body.is_json(), framing, keep_alive);
        match append_ready(&mut out, &body, framing) {
            // The whole response is in `out`: one `send`, tried in place (no future), and the
            // runtime only for what the socket does not take at once.
            Ok(true) => {
                drop(body);
                let sent = match io.send_now(&out) {
                    Ok(n) => n,
                    Err(_) => return Outcome::Closed,
                };
                if sent < out.len()
                    && io
                        .write_all_vectored(&mut [IoSlice::new(&out[sent..])])
                        .await
                        .is_err()
                {
                    return Outcome::Closed;
                }
                out.clear();
            }
            Ok(false) => {
                if write_body(&mut io, &mut buf, &mut out, body, framing)
                    .await
                    .is_err()
                {
                    return Outcome::Closed;
                }
            }
            Err(()) => return Outcome::Closed,
        }
        if !keep_alive {
            return close(io).await;
        }
        if out.capacity() > 64 * 1024 {
            out = Vec::with_capacity(1024);
        }
        if buf.is_empty() && buf.capacity() > 64 * 1024 {
            buf = BytesMut::with_capacity(READ_SPARE);
        }
    }
}

/// Close the writing side (as hyper does before dropping a connection), then the socket.
async fn close<S: Socket>(io: SockIo<S>) -> Outcome<S> {
    let mut io = io;
    let _ = std::future::poll_fn(|cx| hyper::rt::Write::poll_shutdown(Pin::new(&mut io), cx)).await;
    Outcome::Closed
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A parsed request as a whole request, with its header map.
    struct Got {
        request: http::Request<ReqBody>,
        keep_alive: bool,
    }

    fn got(p: Parsed, last: &LastTarget, fields: &RawFields) -> Got {
        let mut request = http::Request::new(p.body);
        *request.method_mut() = p.method;
        *request.uri_mut() = last.uri().clone();
        *request.headers_mut() = fields.header_map().unwrap();
        Got {
            request,
            keep_alive: p.keep_alive,
        }
    }

    /// The request at the start of `raw`, and the bytes left after it.
    fn ready_rest(raw: &[u8]) -> (Got, BytesMut) {
        let mut buf = BytesMut::from(raw);
        let mut fields = RawFields::new();
        let mut last = LastTarget::default();
        match parse(&mut buf, &mut last, &mut fields) {
            Parse::Ready(p) => (got(p, &last, &fields), buf),
            Parse::Partial => panic!("partial: {:?}", String::from_utf8_lossy(raw)),
            Parse::Handoff | Parse::HandoffTaken(_) => {
                panic!("handoff: {:?}", String::from_utf8_lossy(raw))
            }
        }
    }

    fn ready(raw: &[u8]) -> Got {
        ready_rest(raw).0
    }

    fn partial(raw: &[u8]) -> bool {
        let mut buf = BytesMut::from(raw);
        matches!(
            parse(&mut buf, &mut LastTarget::default(), &mut RawFields::new()),
            Parse::Partial
        ) && buf == raw
    }

    /// Whether `raw` goes to hyper, and with every byte.
    fn handoff(raw: &[u8]) -> bool {
        let mut buf = BytesMut::from(raw);
        match parse(&mut buf, &mut LastTarget::default(), &mut RawFields::new()) {
            Parse::Handoff => buf == raw,
            Parse::HandoffTaken(taken) => [&taken[..], &buf[..]].concat() == raw,
            _ => false,
        }
    }

    #[test]
    fn parses_heads_and_small_bodies() {
        let p = ready(b"GET /v1/services?names=a HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(p.request.method(), Method::GET);
        assert_eq!(p.request.uri().path(), "/v1/services");
        assert_eq!(p.request.uri().query(), Some("names=a"));
        assert_eq!(p.request.headers()["host"], "x");
        assert!(p.keep_alive);
        assert!(p.request.body().is_end_stream());

        let raw =
            b"POST /v1/layers HTTP/1.1\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcdGET";
        let (p, rest) = ready_rest(raw);
        assert_eq!(rest, &b"GET"[..]);
        assert!(!p.keep_alive);
        assert_eq!(p.request.body().size_hint().exact(), Some(4));
    }

    /// A connection's repeated target is the parsed one again (the same bytes), a new one is
    /// parsed.
    #[test]
    fn a_repeated_target_is_parsed_once() {
        let mut last = LastTarget::default();
        let mut buf = BytesMut::from(
            &b"GET /v1/services?names=a HTTP/1.1\r\n\r\nGET /v1/services?names=a HTTP/1.1\r\n\r\nGET /v1/plan HTTP/1.1\r\n\r\n"[..],
        );
        let uris: Vec<http::Uri> = (0..3)
            .map(
                |_| match parse(&mut buf, &mut last, &mut RawFields::new()) {
                    Parse::Ready(_) => last.uri().clone(),
                    _ => panic!("not ready"),
                },
            )
            .collect();
        assert_eq!(uris[0], uris[1]);
        assert_eq!(uris[1].query(), Some("names=a"));
        assert_eq!(uris[0].path().as_ptr(), uris[1].path().as_ptr());
        assert_eq!(uris[2].path(), "/v1/plan");
        assert!(buf.is_empty());
    }

    /// The header map is built after the request was taken on (see [`RawFields`]): every field
    /// `httparse` lets through must be one `http` takes. Each byte value is tried in a name and
    /// in a value; the ones `httparse` refuses go to hyper.
    #[test]
    fn every_field_httparse_takes_makes_a_header_map() {
        let mut built = 0;
        for b in 0..=255u8 {
            for raw in [
                [&b"GET / HTTP/1.1\r\nX-"[..], &[b], b"a: v\r\n\r\n"].concat(),
                [&b"GET / HTTP/1.1\r\nX: a"[..], &[b], b"b\r\n\r\n"].concat(),
            ] {
                let mut fields = RawFields::new();
                match parse(
                    &mut BytesMut::from(&raw[..]),
                    &mut LastTarget::default(),
                    &mut fields,
                ) {
                    Parse::Ready(_) => {
                        let map = fields.header_map();
                        assert!(map.is_some(), "{:?}", String::from_utf8_lossy(&raw));
                        built += 1;
                    }
                    Parse::Handoff | Parse::HandoffTaken(_) => assert!(handoff(&raw)),
                    Parse::Partial => {}
                }
            }
        }
        // Every visible ASCII byte, and more, was tried in a value.
        assert!(built > 200, "{built}");
        // And which fields a request has is told without a map.
        let mut fields = RawFields::new();
        let raw = b"GET / HTTP/1.1\r\nauthorization: Basic eDp5\r\n\r\n";
        assert!(matches!(
            parse(
                &mut BytesMut::from(&raw[..]),
                &mut LastTarget::default(),
                &mut fields
            ),
            Parse::Ready(_)
        ));
        assert!(fields.has_authorization());
        fields.release();
        assert!(!fields.has_authorization());
        assert!(fields.header_map().unwrap().is_empty());
    }

    #[test]
    fn waits_for_the_whole_head_and_body() {
        assert!(partial(b"GET / HTTP/1.1\r\nHost"));
        assert!(partial(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"));
    }

    #[test]
    fn hands_over_what_it_does_not_serve() {
        assert!(handoff(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(handoff(b"HEAD / HTTP/1.1\r\n\r\n"));
        assert!(handoff(b"OPTIONS / HTTP/1.1\r\n\r\n"));
        assert!(handoff(b"GET http://x/ HTTP/1.1\r\n\r\n"));
        assert!(handoff(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        ));
        assert!(handoff(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"));
        assert!(handoff(
            b"GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        ));
        assert!(handoff(
            b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"
        ));
        assert!(handoff(
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n"
        ));
        assert!(handoff(b"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n"));
        assert!(handoff(b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"));
        assert!(handoff(b"\x01\x02 garbage\r\n\r\n"));
        // `httparse` takes this target, `http` refuses it: the request's bytes, already split
        // off, still go first.
        let raw = b"GET /a<b HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        assert!(matches!(
            parse(
                &mut BytesMut::from(&raw[..]),
                &mut LastTarget::default(),
                &mut RawFields::new()
            ),
            Parse::HandoffTaken(_)
        ));
        assert!(handoff(raw));
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.resize(MAX_HEAD + 10, b'a');
        assert!(handoff(&big));
    }

    #[test]
    fn keep_alive_follows_connection_fields_as_hyper_reads_them() {
        let ka = |h: &str| ready(format!("GET / HTTP/1.1\r\n{h}\r\n").as_bytes()).keep_alive;
        assert!(ka(""));
        assert!(ka("Connection: keep-alive\r\n"));
        assert!(!ka("Connection: Close\r\n"));
        assert!(!ka("Connection: foo, close\r\n"));
        assert!(ka("Connection: close\r\nConnection: keep-alive\r\n"));
    }

    fn head(
        status: u16,
        headers: &[(&str, &str)],
        json: bool,
        framing: Framing,
        ka: bool,
    ) -> (String, bool) {
        let mut r = http::Response::new(());
        *r.status_mut() = StatusCode::from_u16(status).unwrap();
        for (k, v) in headers {
            r.headers_mut().append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let (parts, ()) = r.into_parts();
        let mut out = Vec::new();
        let ka = encode_head(&mut out, &parts, json, framing, ka);
        (String::from_utf8(out).unwrap(), ka)
    }

    #[test]
    fn heads_are_written_as_hyper_writes_them() {
        assert_eq!(
            head(200, &[("content-type", "application/json"), ("date", "D")], false, Framing::Length(12), true),
            ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: D\r\nContent-Length: 12\r\n\r\n".into(), true)
        );
        assert_eq!(
            head(404, &[("x-a-b", "1"), ("date", "D")], false, Framing::Chunked, false),
            ("HTTP/1.1 404 Not Found\r\nX-A-B: 1\r\nDate: D\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n".into(), false)
        );
        assert_eq!(
            head(
                599,
                &[("content-length", "3"), ("date", "D")],
                false,
                Framing::Length(0),
                true
            ),
            (
                "HTTP/1.1 599 <none>\r\nDate: D\r\nContent-Length: 0\r\n\r\n".into(),
                true
            )
        );
        assert_eq!(
            head(
                204,
                &[("connection", "close"), ("date", "D")],
                false,
                Framing::None,
                true
            ),
            (
                "HTTP/1.1 204 No Content\r\nConnection: close\r\nDate: D\r\n\r\n".into(),
                false
            )
        );
    }

    /// What the driver writes from elsewhere than the header map: a JSON body's
    /// `Content-Type` first (unless the handler set one) and `Date` after the other headers
    /// (unless set, and never on a `101`).
    #[test]
    fn json_type_and_date_are_written_around_the_headers() {
        let (h, _) = head(200, &[("x-a", "1")], true, Framing::Length(2), true);
        let date = h
            .lines()
            .find_map(|l| l.strip_prefix("Date: "))
            .unwrap()
            .to_string();
        assert!(date.ends_with(" GMT"), "{date}");
        assert_eq!(
            h,
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-A: 1\r\nDate: {date}\r\nContent-Length: 2\r\n\r\n"
            )
        );
        let (h, _) = head(
            200,
            &[("content-type", "text/plain"), ("date", "D")],
            true,
            Framing::Length(2),
            true,
        );
        assert_eq!(
            h,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: D\r\nContent-Length: 2\r\n\r\n"
        );
        let (h, _) = head(101, &[("upgrade", "websocket")], false, Framing::None, true);
        assert_eq!(
            h,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
        );
    }

    /// A stream of many small ready chunks goes out whole and well framed (written in
    /// batches of `FLUSH_AT`, not held until the end).
    #[tokio::test]
    async fn streams_many_small_chunks() {
        use tokio::io::AsyncReadExt;
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        let mut io = SockIo::new(a).unwrap();
        let mut peer = tokio::net::UnixStream::from_std(b).unwrap();
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            peer.read_to_end(&mut all).await.unwrap();
            all
        });
        let chunks: Vec<Result<Bytes, std::io::Error>> = (0..300)
            .map(|i| Ok(Bytes::from(vec![b'a' + (i % 26) as u8; 1000])))
            .collect();
        let body = super::super::Body::stream(futures_util::stream::iter(chunks));
        let (mut buf, mut out) = (BytesMut::new(), b"HEAD\r\n\r\n".to_vec());
        write_body(&mut io, &mut buf, &mut out, body, Framing::Chunked)
            .await
            .unwrap();
        drop(io);
        let all = reader.await.unwrap();
        let mut want = b"HEAD\r\n\r\n".to_vec();
        for i in 0..300 {
            want.extend_from_slice(b"3E8\r\n");
            want.extend_from_slice(&[b'a' + (i % 26) as u8; 1000]);
            want.extend_from_slice(b"\r\n");
        }
        want.extend_from_slice(b"0\r\n\r\n");
        assert_eq!(all.len(), want.len());
        assert!(all == want);
    }

    #[test]
    fn chunk_sizes_are_upper_hex() {
        for (n, want) in [
            (0usize, "0\r\n"),
            (10, "A\r\n"),
            (4096, "1000\r\n"),
            (0xabcdef, "ABCDEF\r\n"),
        ] {
            let mut out = Vec::new();
            chunk_size(&mut out, n);
            assert_eq!(out, want.as_bytes());
        }
    }
}
