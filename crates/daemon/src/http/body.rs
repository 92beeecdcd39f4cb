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

enum Kind {
    /// Known length (`Content-Length`).
    Full(Option<Bytes>),
    /// One chunk of unknown length (`Transfer-Encoding: chunked`).
    Chunked(Option<Bytes>),
    /// Any other body (streams).
    Boxed(UnsyncBoxBody<Bytes, std::io::Error>),
}

/// A response body: fixed bytes, or a stream.
pub struct Body {
    kind: Kind,
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Body").finish_non_exhaustive()
    }
}

impl Body {
    /// An empty body (`Content-Length: 0`).
    pub fn empty() -> Body {
        Body {
            kind: Kind::Full(None),
        }
    }

    /// Fixed bytes, framed as Go frames a buffered handler's output: `Content-Length` up to
    /// 2048 bytes, a single chunk beyond.
    pub fn go_framed(bytes: impl Into<Bytes>) -> Body {
        let bytes = bytes.into();
        if bytes.len() > CHUNKING_THRESHOLD {
            Body {
                kind: Kind::Chunked(Some(bytes)),
            }
        } else {
            Body::full(bytes)
        }
    }

    /// Fixed bytes with `Content-Length`.
    pub fn full(bytes: impl Into<Bytes>) -> Body {
        let bytes = bytes.into();
        Body {
            kind: Kind::Full(if bytes.is_empty() { None } else { Some(bytes) }),
        }
    }

    /// Fixed bytes always sent chunked (a flushed stream that ended).
    pub fn one_chunk(bytes: impl Into<Bytes>) -> Body {
        Body {
            kind: Kind::Chunked(Some(bytes.into())),
        }
    }

    /// A stream of data chunks (each sent as its own chunk).
    pub fn stream<S>(stream: S) -> Body
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        let body = StreamBody::new(stream.map(|r| r.map(Frame::data)));
        Body {
            kind: Kind::Boxed(BodyExt::boxed_unsync(body)),
        }
    }

    /// Any body.
    pub fn new<B>(body: B) -> Body
    where
        B: HttpBody<Data = Bytes, Error = std::io::Error> + Send + 'static,
    {
        Body {
            kind: Kind::Boxed(BodyExt::boxed_unsync(body)),
        }
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
            Kind::Full(b) | Kind::Chunked(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
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
            Kind::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Chunked(_) => SizeHint::default(),
            Kind::Boxed(b) => b.size_hint(),
        }
    }
}
