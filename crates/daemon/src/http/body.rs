//! The response body type of every handler.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Bodies up to this size get `Content-Length`; larger ones are sent chunked, as Go does.
pub const CHUNKING_THRESHOLD: usize = 2048;

/// A JSON body: a handler's buffer, or shared bytes (a kept rendering).
pub struct JsonBytes(Data);

impl From<Vec<u8>> for JsonBytes {
    fn from(v: Vec<u8>) -> JsonBytes {
        JsonBytes(Data::Vec(v))
    }
}

impl From<Bytes> for JsonBytes {
    fn from(b: Bytes) -> JsonBytes {
        JsonBytes(Data::Bytes(b))
    }
}

/// Bytes a body holds from the start.
enum Data {
    Bytes(Bytes),
    /// A handler's buffer, kept as it is: turning it into `Bytes` would allocate again when
    /// it has spare capacity, and the driver only copies it.
    Vec(Vec<u8>),
}

impl Data {
    fn as_slice(&self) -> &[u8] {
        match self {
            Data::Bytes(b) => b,
            Data::Vec(v) => v,
        }
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Data::Bytes(b) => b,
            Data::Vec(v) => Bytes::from(v),
        }
    }
}

enum Kind {
    /// Known length (`Content-Length`); `None` when empty or taken.
    Full(Option<Data>),
    /// One chunk of unknown length (`Transfer-Encoding: chunked`).
    Chunked(Option<Data>),
    /// Any other body (streams).
    Boxed(UnsyncBoxBody<Bytes, std::io::Error>),
}

impl Kind {
    /// `Content-Length` (no data when empty).
    fn full(data: Data) -> Kind {
        Kind::Full((!data.as_slice().is_empty()).then_some(data))
    }

    /// Go's framing of a buffered handler's output: `Content-Length` up to
    /// [`CHUNKING_THRESHOLD`] bytes, a single chunk beyond.
    fn go_framed(data: Data) -> Kind {
        if data.as_slice().len() > CHUNKING_THRESHOLD {
            Kind::Chunked(Some(data))
        } else {
            Kind::full(data)
        }
    }
}

/// A response body: fixed bytes, or a stream. A body may also carry its `Content-Type:
/// application/json`, written by the server ahead of the response's other headers (see
/// [`Body::json`]).
pub struct Body {
    kind: Kind,
    json: bool,
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Body").finish_non_exhaustive()
    }
}

impl Body {
    /// An empty body (`Content-Length: 0`).
    pub fn empty() -> Body {
        Body::of(Kind::Full(None))
    }

    fn of(kind: Kind) -> Body {
        Body { kind, json: false }
    }

    /// A JSON body (a handler's buffer or kept bytes), framed as [`Body::go_framed`], with
    /// `Content-Type: application/json`.
    pub fn json(bytes: JsonBytes) -> Body {
        Body {
            kind: Kind::go_framed(bytes.0),
            json: true,
        }
    }

    /// Whether the response's `Content-Type` is `application/json` without it being in the
    /// response's headers (the server writes it first, as Go's JSON responses have it).
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// The whole body, when it is held in memory and not taken yet (the driver copies it
    /// without polling).
    pub(crate) fn ready_bytes(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Full(Some(d)) | Kind::Chunked(Some(d)) => Some(d.as_slice()),
            _ => None,
        }
    }

    /// Fixed bytes, framed as Go frames a buffered handler's output: `Content-Length` up to
    /// 2048 bytes, a single chunk beyond.
    pub fn go_framed(bytes: impl Into<Bytes>) -> Body {
        Body::of(Kind::go_framed(Data::Bytes(bytes.into())))
    }

    /// Fixed bytes with `Content-Length`.
    pub fn full(bytes: impl Into<Bytes>) -> Body {
        Body::of(Kind::full(Data::Bytes(bytes.into())))
    }

    /// Fixed bytes always sent chunked (a flushed stream that ended).
    pub fn one_chunk(bytes: impl Into<Bytes>) -> Body {
        Body::of(Kind::Chunked(Some(Data::Bytes(bytes.into()))))
    }

    /// A stream of data chunks (each sent as its own chunk).
    pub fn stream<S>(stream: S) -> Body
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        let body = StreamBody::new(stream.map(|r| r.map(Frame::data)));
        Body::of(Kind::Boxed(BodyExt::boxed_unsync(body)))
    }

    /// Any body.
    pub fn new<B>(body: B) -> Body
    where
        B: HttpBody<Data = Bytes, Error = std::io::Error> + Send + 'static,
    {
        Body::of(Kind::Boxed(BodyExt::boxed_unsync(body)))
    }
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        match &mut this.kind {
            Kind::Full(b) | Kind::Chunked(b) => {
                Poll::Ready(b.take().map(|d| Ok(Frame::data(d.into_bytes()))))
            }
            Kind::Boxed(b) => Pin::new(b).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(b) => b.is_none(),
            Kind::Chunked(_) => false,
            Kind::Boxed(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(b) => {
                SizeHint::with_exact(b.as_ref().map_or(0, |d| d.as_slice().len() as u64))
            }
            Kind::Chunked(_) => SizeHint::default(),
            Kind::Boxed(b) => b.size_hint(),
        }
    }
}
