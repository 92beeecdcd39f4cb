//! `POST /v1/files` with a `multipart/form-data` body: a `request` part (JSON metadata), then
//! one `files` part per file, each streamed into an atomic write on a blocking thread.

use super::error::{FileError, go_quote};
use super::ops;
use super::parse_media_type;
use bytes::Bytes;
use futures_util::Stream;
use pebble_api::files::{FileResult, FilesRequest, WriteFilesItem};
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Largest accepted `request` (metadata) part.
const MAX_METADATA: usize = 16 << 20;
/// Chunks buffered between the connection and the writing thread.
const CHANNEL_DEPTH: usize = 4;
/// Bytes the parser may pull from the body before yielding, which bounds its buffer.
const POLL_BUDGET: usize = 256 * 1024;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A body stream that yields after [`POLL_BUDGET`] bytes, so that a parser draining everything
/// that is ready (multer does) never buffers more than about that much.
struct Budgeted<'a, S> {
    inner: Pin<&'a mut S>,
    used: usize,
}

impl<S, E> Stream for Budgeted<'_, S>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    type Item = Result<Bytes, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.used >= POLL_BUDGET {
            self.used = 0;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let r = self.inner.as_mut().poll_next(cx);
        match &r {
            Poll::Ready(Some(Ok(b))) => self.used += b.len(),
            Poll::Pending => self.used = 0,
            _ => {}
        }
        r
    }
}

/// Go's `Part.FormName()`: the `name` parameter of a `form-data` Content-Disposition.
fn disposition_param(field: &multer::Field<'_>, key: &str) -> (bool, String) {
    let Some(cd) = field
        .headers()
        .get(http::header::CONTENT_DISPOSITION)
        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
    else {
        return (false, String::new());
    };
    match parse_media_type(cd) {
        Ok((disp, params)) => (
            disp == "form-data",
            params.get(key).cloned().unwrap_or_default(),
        ),
        Err(_) => (false, String::new()),
    }
}

fn form_name(field: &multer::Field<'_>) -> String {
    match disposition_param(field, "name") {
        (true, name) => name,
        (false, _) => String::new(),
    }
}

fn file_name(field: &multer::Field<'_>) -> String {
    disposition_param(field, "filename").1
}

/// Text of a multipart parsing error, in the spirit of Go's `mime/multipart` messages.
fn multipart_error(e: &multer::Error) -> String {
    match e {
        multer::Error::IncompleteStream | multer::Error::IncompleteFieldData { .. } => {
            "multipart: NextPart: EOF".to_string()
        }
        multer::Error::StreamReadFailed(inner) => inner.to_string(),
        other => format!("multipart: {other}"),
    }
}

/// Handle a multipart write. `Err` is a whole-request 400 message; `Ok` is the per-path
/// result list in metadata order.
pub async fn write_files<S, E>(body: S, boundary: String) -> Result<Vec<FileResult>, String>
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Into<BoxError> + 'static,
{
    let mut body = Box::pin(body);
    let result = {
        let budgeted = Budgeted {
            inner: body.as_mut(),
            used: 0,
        };
        parse_and_write(multer::Multipart::new(budgeted, boundary)).await
    };
    drain(body).await;
    result
}

/// Most request bytes read after the multipart body ended (its epilogue, the chunked
/// terminator) before answering. Reading them lets the connection stay usable and keeps the
/// client from seeing a reset while it is still sending; past this the connection is dropped.
const MAX_DRAIN: usize = 4 * 1024 * 1024;

async fn drain<S, E>(mut body: Pin<Box<S>>)
where
    S: Stream<Item = Result<Bytes, E>>,
{
    use futures_util::StreamExt;
    let mut seen = 0usize;
    while let Some(Ok(chunk)) = body.next().await {
        seen += chunk.len();
        if seen > MAX_DRAIN {
            break;
        }
    }
}

async fn parse_and_write(mut mp: multer::Multipart<'_>) -> Result<Vec<FileResult>, String> {
    let mut part = match mp.next_field().await {
        Ok(Some(p)) => p,
        Ok(None) => return Err("cannot read request metadata: EOF".to_string()),
        Err(e) => {
            return Err(format!(
                "cannot read request metadata: {}",
                multipart_error(&e)
            ));
        }
    };
    let name = form_name(&part);
    if name != "request" {
        return Err(format!(
            "metadata field name must be \"request\", got {}",
            go_quote(&name)
        ));
    }
    let mut meta = Vec::new();
    loop {
        match part.chunk().await {
            Ok(Some(c)) => {
                meta.extend_from_slice(&c);
                if meta.len() > MAX_METADATA {
                    return Err("cannot decode request metadata: too large".to_string());
                }
            }
            Ok(None) => break,
            Err(e) => {
                return Err(format!(
                    "cannot decode request metadata: {}",
                    multipart_error(&e)
                ));
            }
        }
    }
    drop(part);
    let payload: FilesRequest = match crate::http::router::decode_json_bytes(&meta) {
        Ok(p) => p,
        Err(e) => return Err(format!("cannot decode request metadata: {e}")),
    };
    if payload.action != "write" {
        return Err(format!(
            "multipart action must be \"write\", got {}",
            go_quote(&payload.action)
        ));
    }
    if payload.files.is_empty() {
        return Err("must specify one or more files".to_string());
    }
    let infos: HashMap<String, WriteFilesItem> = payload
        .files
        .iter()
        .map(|f| (f.path.clone(), f.clone()))
        .collect();

    let mut outcomes: HashMap<String, Option<FileError>> = HashMap::new();
    let mut i = 0usize;
    loop {
        let mut field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(format!(
                    "cannot read file part {i}: {}",
                    multipart_error(&e)
                ));
            }
        };
        let name = form_name(&field);
        if name != "files" {
            return Err(format!(
                "field name must be \"files\", got {}",
                go_quote(&name)
            ));
        }
        let path = file_name(&field);
        let Some(info) = infos.get(&path) else {
            return Err(format!("no metadata for path {}", go_quote(&path)));
        };
        let outcome = write_one(info.clone(), &mut field)
            .await
            .map_err(|e| format!("cannot read file part {i}: {}", multipart_error(&e)))?;
        outcomes.insert(path, outcome.err());
        i += 1;
    }

    Ok(payload
        .files
        .iter()
        .map(|f| {
            let error = match outcomes.get(&f.path) {
                Some(outcome) => outcome.as_ref().map(FileError::to_result),
                None => Some(
                    FileError::generic(format!("no file content for path {}", go_quote(&f.path)))
                        .to_result(),
                ),
            };
            FileResult {
                path: f.path.clone(),
                error,
            }
        })
        .collect())
}

/// Stream one part into an atomic write. The outer `Err` is a body/parsing failure (the whole
/// request fails); the inner result is this file's outcome.
async fn write_one(
    item: WriteFilesItem,
    field: &mut multer::Field<'_>,
) -> Result<Result<(), FileError>, multer::Error> {
    let (tx, mut rx) = mpsc::channel::<Bytes>(CHANNEL_DEPTH);
    let complete = Arc::new(AtomicBool::new(false));
    let complete_w = complete.clone();
    let writer = tokio::task::spawn_blocking(move || -> Result<(), FileError> {
        let mut file = ops::prepare_write(&item)?;
        while let Some(chunk) = rx.blocking_recv() {
            file.write_all(&chunk)?;
        }
        if !complete_w.load(Ordering::Acquire) {
            // The body broke off: drop the temporary file, keep the old content.
            return Err(FileError::generic("incomplete file content"));
        }
        file.commit()
    });
    let mut sending = true;
    let read = loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                // When the writer failed it dropped its receiver; keep draining the part.
                if sending && tx.send(chunk).await.is_err() {
                    sending = false;
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    if read.is_ok() {
        complete.store(true, Ordering::Release);
    }
    drop(tx);
    let outcome = match writer.await {
        Ok(r) => r,
        Err(e) => Err(FileError::generic(format!("cannot write file: {e}"))),
    };
    read.map(|()| outcome)
}
