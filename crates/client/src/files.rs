//! Files API calls: list, make directories, remove, and streaming push and pull.
//!
//! Per-path errors, which the daemon reports inside a 200 answer, are returned as
//! [`Error::Api`] with `code` 200 and the path error's `kind` and `message` (as the Go client
//! does with its `*client.Error`).

use crate::{Client, Error, Query, decode_envelope};
use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use pebble_api::files::{
    FileInfo, FileResult, FilesRequest, MakeDirsItem, Ownership, RemovePathsItem, WriteFilesItem,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Size of each read from a push source.
const PUSH_CHUNK: usize = 256 * 1024;

/// Options of [`Client::list_files`].
#[derive(Debug, Clone, Default)]
pub struct ListFilesOptions {
    /// Absolute path to list.
    pub path: String,
    /// Glob on entry names (empty: all).
    pub pattern: String,
    /// List a directory itself rather than its entries.
    pub itself: bool,
}

/// Options of [`Client::make_dir`].
#[derive(Debug, Clone, Default)]
pub struct MakeDirOptions {
    /// Absolute path of the directory.
    pub path: String,
    /// Create missing parents (an existing directory is then fine).
    pub make_parents: bool,
    /// Mode as 3 octal digits (empty: `755`).
    pub permissions: String,
    /// Owner.
    pub owner: Ownership,
}

/// Options of [`Client::push`].
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// Absolute path of the file to write.
    pub path: String,
    /// Create missing parent directories.
    pub make_dirs: bool,
    /// Mode as 3 octal digits (empty: `644`).
    pub permissions: String,
    /// Owner.
    pub owner: Ownership,
}

/// A random multipart boundary (60 hex characters, like Go's).
fn boundary() -> String {
    let mut s = String::with_capacity(60);
    while s.len() < 60 {
        let n = std::collections::hash_map::RandomState::new();
        use std::hash::{BuildHasher, Hasher};
        let mut h = n.build_hasher();
        h.write_usize(s.len());
        s.push_str(&format!("{:016x}", h.finish()));
    }
    s.truncate(60);
    s
}

fn path_error(r: &FileResult) -> Option<Error> {
    r.error.as_ref().map(|e| Error::Api {
        code: 200,
        status: "OK".to_string(),
        kind: e.kind.clone(),
        message: e.message.clone(),
    })
}

fn first_result(results: Vec<FileResult>) -> Result<(), Error> {
    let Some(r) = results.into_iter().next() else {
        return Err(Error::Protocol("expected exactly one result".to_string()));
    };
    match path_error(&r) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

impl Client {
    /// `GET /v1/files?action=list`.
    pub async fn list_files(&self, opts: &ListFilesOptions) -> Result<Vec<FileInfo>, Error> {
        let mut q = Query::new();
        q.push("action", "list");
        q.push("path", &opts.path);
        if !opts.pattern.is_empty() {
            q.push("pattern", &opts.pattern);
        }
        if opts.itself {
            q.push("itself", "true");
        }
        let list: Option<Vec<FileInfo>> = self.get("/v1/files", &q).await?;
        Ok(list.unwrap_or_default())
    }

    /// `POST /v1/files` `make-dirs` for one directory.
    pub async fn make_dir(&self, opts: &MakeDirOptions) -> Result<(), Error> {
        let req = FilesRequest {
            action: "make-dirs".to_string(),
            dirs: vec![MakeDirsItem {
                path: opts.path.clone(),
                make_parents: opts.make_parents,
                permissions: opts.permissions.clone(),
                owner: opts.owner.clone(),
            }],
            ..Default::default()
        };
        let results: Vec<FileResult> = self.post("/v1/files", &req).await?;
        first_result(results)
    }

    /// `POST /v1/files` `remove` for one path.
    pub async fn remove_path(&self, path: &str, recursive: bool) -> Result<(), Error> {
        let req = FilesRequest {
            action: "remove".to_string(),
            paths: vec![RemovePathsItem {
                path: path.to_string(),
                recursive,
            }],
            ..Default::default()
        };
        let results: Vec<FileResult> = self.post("/v1/files", &req).await?;
        first_result(results)
    }

    /// Push `source` to `opts.path`: one multipart request whose body is streamed (chunked).
    pub async fn push<R>(&self, opts: &PushOptions, source: R) -> Result<(), Error>
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        let boundary = boundary();
        let meta = FilesRequest {
            action: "write".to_string(),
            files: vec![WriteFilesItem {
                path: opts.path.clone(),
                make_dirs: opts.make_dirs,
                permissions: opts.permissions.clone(),
                owner: opts.owner.clone(),
            }],
            ..Default::default()
        };
        let meta = serde_json::to_string(&meta)
            .map_err(|e| Error::Protocol(format!("cannot encode request: {e}")))?;
        let escaped = opts.path.replace('\\', "\\\\").replace('"', "\\\"");
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"request\"\r\nContent-Type: application/json\r\n\r\n{meta}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{escaped}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        );
        let tail = format!("\r\n--{boundary}--\r\n");

        enum State<R> {
            Head(String, String, R),
            Data(String, R),
            Done,
        }
        let stream = futures_util::stream::unfold(State::Head(head, tail, source), |st| async {
            match st {
                State::Head(head, tail, src) => {
                    Some((Ok(Frame::data(Bytes::from(head))), State::Data(tail, src)))
                }
                State::Data(tail, mut src) => {
                    let mut buf = vec![0u8; PUSH_CHUNK];
                    match src.read(&mut buf).await {
                        Ok(0) => Some((Ok(Frame::data(Bytes::from(tail))), State::Done)),
                        Ok(n) => {
                            buf.truncate(n);
                            Some((Ok(Frame::data(Bytes::from(buf))), State::Data(tail, src)))
                        }
                        Err(e) => Some((Err(e), State::Done)),
                    }
                }
                State::Done => None,
            }
        });
        let req = Request::builder()
            .method(Method::POST)
            .uri("/v1/files")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(StreamBody::new(stream))
            .map_err(|e| Error::Protocol(format!("cannot build request: {e}")))?;
        let resp = self.send(req).await?;
        let (parts, body) = resp.into_parts();
        let bytes = body
            .collect()
            .await
            .map_err(|e| Error::Connection(format!("cannot read response: {e}")))?
            .to_bytes();
        let env = decode_envelope(parts.status, &parts.headers, &bytes)?;
        let results: Vec<FileResult> = env
            .decode_result()
            .map_err(|e| Error::Protocol(format!("cannot decode result: {e}")))?;
        first_result(results)
    }

    /// Pull the regular file `path` into `target`, streaming. Returns the number of bytes
    /// written. On a per-path error nothing is written.
    pub async fn pull<W>(&self, path: &str, target: &mut W) -> Result<u64, Error>
    where
        W: AsyncWrite + Unpin,
    {
        let mut q = Query::new();
        q.push("action", "read");
        q.push("path", path);
        let req = Request::builder()
            .method(Method::GET)
            .uri(format!("/v1/files{}", q.to_query_string()))
            .header(header::ACCEPT, "multipart/form-data")
            .body(http_body_util::Empty::<Bytes>::new())
            .map_err(|e| Error::Protocol(format!("cannot build request: {e}")))?;
        let resp = self.send(req).await?;
        let (parts, body) = resp.into_parts();
        let ct = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if !ct.starts_with("multipart/form-data") {
            let bytes = body
                .collect()
                .await
                .map_err(|e| Error::Connection(format!("cannot read response: {e}")))?
                .to_bytes();
            decode_envelope(parts.status, &parts.headers, &bytes)?;
            return Err(Error::Protocol(format!(
                "expected a multipart response, got {ct:?}"
            )));
        }
        let boundary = multer::parse_boundary(&ct)
            .map_err(|e| Error::Protocol(format!("invalid multipart response: {e}")))?;
        let mut mp = multer::Multipart::new(body.into_data_stream(), boundary);
        let mut written = 0u64;
        let mut got_file = false;
        loop {
            let field = mp
                .next_field()
                .await
                .map_err(|e| Error::Protocol(format!("cannot read multipart response: {e}")))?;
            let Some(mut field) = field else {
                return Err(Error::Protocol(
                    "no \"response\" field in multipart response".to_string(),
                ));
            };
            match field.name() {
                Some("files") => {
                    if field.file_name() != Some(path) {
                        return Err(Error::Protocol(format!(
                            "unexpected file name {:?} in multipart response",
                            field.file_name().unwrap_or("")
                        )));
                    }
                    got_file = true;
                    while let Some(chunk) = field
                        .chunk()
                        .await
                        .map_err(|e| Error::Connection(format!("cannot read file content: {e}")))?
                    {
                        target
                            .write_all(&chunk)
                            .await
                            .map_err(|e| Error::Protocol(crate::errno_text(&e)))?;
                        written += chunk.len() as u64;
                    }
                }
                Some("response") => {
                    let bytes = field
                        .bytes()
                        .await
                        .map_err(|e| Error::Protocol(format!("cannot read response: {e}")))?;
                    let mut headers = http::HeaderMap::new();
                    headers.insert(
                        header::CONTENT_TYPE,
                        header::HeaderValue::from_static("application/json"),
                    );
                    let env = decode_envelope(parts.status, &headers, &bytes)?;
                    let results: Vec<FileResult> = env
                        .decode_result()
                        .map_err(|e| Error::Protocol(format!("cannot decode result: {e}")))?;
                    first_result(results)?;
                    if !got_file {
                        return Err(Error::Protocol(
                            "no file content in multipart response".to_string(),
                        ));
                    }
                    target
                        .flush()
                        .await
                        .map_err(|e| Error::Protocol(crate::errno_text(&e)))?;
                    return Ok(written);
                }
                other => {
                    return Err(Error::Protocol(format!(
                        "unexpected field {:?} in multipart response",
                        other.unwrap_or("")
                    )));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_is_long_hex() {
        let b = boundary();
        assert_eq!(b.len(), 60);
        assert!(b.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(b, boundary());
    }
}
