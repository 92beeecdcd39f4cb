//! The `/v1/files` route handlers on top of the daemon's HTTP router.
//!
//! `POST` takes the raw streaming request body (no body limit applies: pushed files are streamed
//! straight to disk). Read answers are streamed; like Go's `net/http`, an answer that fits in
//! 2048 bytes gets a `Content-Length`, a longer one is sent chunked.

use super::{FilesReply, ReadBody};
use crate::http::body::CHUNKING_THRESHOLD;
use crate::http::{Body, Req, Resp, envelope};
use bytes::Bytes;
use http::header;
use http_body_util::BodyExt;

/// `GET /v1/files` (`action=list` or `action=read`).
pub async fn get_files(req: Req) -> Resp {
    let query = req.request.uri().query().unwrap_or("").to_string();
    let accept = req
        .request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    to_resp(super::handle_get(&query, accept.as_deref())).await
}

/// `POST /v1/files` (JSON `make-dirs`/`remove`, multipart `write`).
pub async fn post_files(req: Req) -> Resp {
    let request = req.into_request();
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let body = request.into_body().into_data_stream();
    to_resp(super::handle_post(content_type.as_deref(), body).await).await
}

async fn to_resp(reply: FilesReply) -> Resp {
    match reply {
        FilesReply::Json { status, body } => envelope::json_response(status, body),
        FilesReply::Multipart { content_type, body } => {
            let mut resp = http::Response::new(multipart_body(body).await);
            if let Ok(v) = header::HeaderValue::from_str(&content_type) {
                resp.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            resp
        }
    }
}

/// Buffer up to the chunking threshold; a body that ends within it gets `Content-Length`.
async fn multipart_body(mut body: ReadBody) -> Body {
    let mut head: Vec<Bytes> = Vec::new();
    let mut total = 0usize;
    loop {
        match body.next_chunk().await {
            None => {
                let mut all = Vec::with_capacity(total);
                for b in &head {
                    all.extend_from_slice(b);
                }
                return Body::go_framed(all);
            }
            Some(Err(e)) => {
                head.clear();
                return Body::stream(futures_util::stream::once(async move { Err(e) }));
            }
            Some(Ok(b)) => {
                total += b.len();
                head.push(b);
                if total > CHUNKING_THRESHOLD {
                    break;
                }
            }
        }
    }
    let prefix = futures_util::stream::iter(head.into_iter().map(Ok));
    let rest = futures_util::stream::unfold(body, |mut body| async move {
        body.next_chunk().await.map(|chunk| (chunk, body))
    });
    Body::stream(futures_util::StreamExt::chain(prefix, rest))
}
