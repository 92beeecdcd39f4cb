//! The request body type handlers see: bytes the connection driver read whole, or hyper's
//! streaming body on a connection that was handed over to hyper.

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A request body.
#[derive(Debug)]
pub enum ReqBody {
    /// The whole body, read by the connection driver (`None` once taken, or when empty).
    Bytes(Option<Bytes>),
    /// A body hyper streams (connections served by hyper).
    Incoming(Incoming),
}

impl ReqBody {
    /// A body of these bytes.
    pub fn bytes(bytes: Bytes) -> ReqBody {
        ReqBody::Bytes(if bytes.is_empty() { None } else { Some(bytes) })
    }
}

impl HttpBody for ReqBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            ReqBody::Bytes(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            ReqBody::Incoming(b) => Pin::new(b).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ReqBody::Bytes(b) => b.is_none(),
            ReqBody::Incoming(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ReqBody::Bytes(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            ReqBody::Incoming(b) => b.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn bytes_body_yields_its_bytes_once() {
        let body = ReqBody::bytes(Bytes::from_static(b"hello"));
        assert_eq!(body.size_hint().exact(), Some(5));
        assert!(!body.is_end_stream());
        assert_eq!(body.collect().await.unwrap().to_bytes(), "hello");
        let empty = ReqBody::bytes(Bytes::new());
        assert!(empty.is_end_stream());
        assert_eq!(empty.size_hint().exact(), Some(0));
    }
}
