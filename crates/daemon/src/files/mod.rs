//! The files API (`GET /v1/files`, `POST /v1/files`): list, read (pull), write (push), make
//! directories and remove paths, with Go Pebble's wire format, messages and error kinds.
//!
//! The handlers here are independent of the HTTP server: [`handle_get`] and [`handle_post`]
//! return a [`FilesReply`] (a complete JSON envelope, or a streamed multipart body), and
//! [`api`] adapts them to the daemon's router. File content streams both ways in
//! large chunks through small bounded channels to blocking threads, so the daemon's memory does
//! not grow with file size.

pub mod api;
pub mod error;
pub mod glob;
pub mod gopath;
pub mod info;
pub mod ops;
pub mod owner;
pub mod read;
pub mod write;

pub use error::{FileError, FileErrorKind};
pub use read::ReadBody;

use bytes::Bytes;
use futures_util::Stream;
use pebble_api::ErrorResult;
use pebble_api::files::{FileResult, FilesRequest};
use serde::Serialize;
use std::collections::HashMap;

/// What a files request answers.
pub enum FilesReply {
    /// A complete JSON envelope with this HTTP status.
    Json {
        /// HTTP status code.
        status: u16,
        /// The envelope bytes (no trailing newline).
        body: Vec<u8>,
    },
    /// A streamed `multipart/form-data` body (HTTP 200).
    Multipart {
        /// The `Content-Type` header value, boundary included.
        content_type: String,
        /// The body chunks.
        body: ReadBody,
    },
}

impl FilesReply {
    fn sync<T: Serialize>(result: &T) -> Self {
        FilesReply::Json {
            status: 200,
            body: sync_envelope_json(result),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::error(400, message.into(), "")
    }

    fn error(status: u16, message: String, kind: &str) -> Self {
        let result = ErrorResult {
            message,
            kind: kind.to_string(),
            value: None,
        };
        FilesReply::Json {
            status,
            body: envelope_json("error", status, &result),
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    #[serde(rename = "type")]
    type_: &'a str,
    #[serde(rename = "status-code")]
    status_code: u16,
    status: &'a str,
    result: &'a T,
}

fn envelope_json<T: Serialize>(type_: &str, status: u16, result: &T) -> Vec<u8> {
    pebble_api::to_go_json(&Envelope {
        type_,
        status_code: status,
        status: pebble_api::status_text(status),
        result,
    })
}

/// `{"type":"sync","status-code":200,"status":"OK","result":...}` with Go's JSON escaping.
pub fn sync_envelope_json<T: Serialize>(result: &T) -> Vec<u8> {
    envelope_json("sync", 200, result)
}

/// Go `mime.ParseMediaType` (without RFC 2231 continuations): the lower-cased media type and
/// its parameters (keys lower-cased, quoted values unescaped).
pub fn parse_media_type(v: &str) -> Result<(String, HashMap<String, String>), String> {
    let (base, mut rest) = match v.find(';') {
        Some(i) => (&v[..i], &v[i..]),
        None => (v, ""),
    };
    let media = base.trim().to_ascii_lowercase();
    let (main, sub) = match media.split_once('/') {
        Some((m, s)) => (m, Some(s)),
        None => (media.as_str(), None),
    };
    if main.is_empty() || !main.bytes().all(is_token_byte) {
        return Err("mime: no media type".to_string());
    }
    if let Some(sub) = sub
        && (sub.is_empty() || !sub.bytes().all(is_token_byte))
    {
        return Err("mime: expected token after slash".to_string());
    }
    let mut params = HashMap::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            break;
        }
        let Some(after) = rest.strip_prefix(';') else {
            return Err("mime: invalid media parameter".to_string());
        };
        let after = after.trim_start_matches([' ', '\t']);
        let klen = after.bytes().take_while(|b| is_token_byte(*b)).count();
        if klen == 0 {
            if after.trim().is_empty() {
                break;
            }
            return Err("mime: invalid media parameter".to_string());
        }
        let key = after[..klen].to_ascii_lowercase();
        let Some(after) = after[klen..]
            .trim_start_matches([' ', '\t'])
            .strip_prefix('=')
        else {
            return Err("mime: invalid media parameter".to_string());
        };
        let after = after.trim_start_matches([' ', '\t']);
        let (value, remaining) =
            consume_value(after).ok_or_else(|| "mime: invalid media parameter".to_string())?;
        if params.insert(key, value).is_some() {
            return Err("mime: duplicate parameter name".to_string());
        }
        rest = remaining;
    }
    Ok((media, params))
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b)
}

fn is_tspecial(c: char) -> bool {
    "()<>@,;:\\\"/[]?=".contains(c)
}

/// A token or a quoted string (backslash escapes only tspecials, as in Go).
fn consume_value(v: &str) -> Option<(String, &str)> {
    if let Some(q) = v.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = q.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Some((out, &q[i + 1..])),
                '\\' if chars.peek().is_some_and(|&(_, n)| is_tspecial(n)) => {
                    if let Some((_, n)) = chars.next() {
                        out.push(n);
                    }
                }
                '\r' | '\n' => return None,
                c => out.push(c),
            }
        }
        None
    } else {
        let n = v.bytes().take_while(|b| is_token_byte(*b)).count();
        if n == 0 {
            return None;
        }
        Some((v[..n].to_string(), &v[n..]))
    }
}

/// Go `url.ParseQuery` (lenient): `key -> values` in order, `+` as space, percent-decoding;
/// pairs that fail to decode are skipped.
pub fn parse_query(q: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for pair in q.split('&') {
        if pair.is_empty() || pair.contains(';') {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if let (Some(k), Some(v)) = (unescape(k), unescape(v)) {
            out.entry(k).or_default().push(v);
        }
    }
    out
}

fn unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Handle `GET /v1/files` given the raw query string and the `Accept` header.
pub fn handle_get(query: &str, accept: Option<&str>) -> FilesReply {
    let q = parse_query(query);
    let first = |k: &str| {
        q.get(k)
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_default()
    };
    let action = first("action");
    match action.as_str() {
        "read" => {
            let paths = q.get("path").cloned().unwrap_or_default();
            if paths.is_empty() {
                return FilesReply::bad_request("must specify one or more paths");
            }
            if accept != Some("multipart/form-data") {
                return FilesReply::bad_request("must accept multipart/form-data");
            }
            let boundary = read::random_boundary();
            FilesReply::Multipart {
                content_type: format!("multipart/form-data; boundary={boundary}"),
                body: read::start_read(paths, boundary),
            }
        }
        "list" => {
            let path = first("path");
            if path.is_empty() {
                return FilesReply::bad_request("must specify path");
            }
            let itself = first("itself");
            if !matches!(itself.as_str(), "" | "true" | "false") {
                return FilesReply::bad_request("itself parameter must be \"true\" or \"false\"");
            }
            if !gopath::is_abs(&path) {
                return FilesReply::bad_request(format!(
                    "path must be absolute, got {}",
                    error::go_quote(&path)
                ));
            }
            match info::list(&path, &first("pattern"), itself == "true") {
                Ok(list) => FilesReply::sync(&list),
                Err(e) => FilesReply::error(e.kind.http_status(), e.message, e.kind.as_str()),
            }
        }
        other => FilesReply::bad_request(format!("invalid action {}", error::go_quote(other))),
    }
}

/// Handle `POST /v1/files` given the `Content-Type` header and the request body stream.
pub async fn handle_post<S, E>(content_type: Option<&str>, body: S) -> FilesReply
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Display + 'static,
{
    let ct = content_type.unwrap_or("");
    let Ok((media, params)) = parse_media_type(ct) else {
        return FilesReply::bad_request(format!("invalid Content-Type {}", error::go_quote(ct)));
    };
    match media.as_str() {
        "multipart/form-data" => {
            let boundary = params.get("boundary").cloned().unwrap_or_default();
            if boundary.len() < 32 {
                return FilesReply::bad_request(format!(
                    "invalid boundary {}",
                    error::go_quote(&boundary)
                ));
            }
            match write::write_files(body, boundary).await {
                Ok(results) => FilesReply::sync(&results),
                Err(message) => FilesReply::bad_request(message),
            }
        }
        "application/json" => {
            let data = match collect_body(body).await {
                Ok(d) => d,
                Err(e) => {
                    return FilesReply::bad_request(format!("cannot decode request body: {e}"));
                }
            };
            let payload: FilesRequest = match crate::http::router::decode_json_bytes(&data) {
                Ok(p) => p,
                Err(e) => {
                    return FilesReply::bad_request(format!("cannot decode request body: {e}"));
                }
            };
            match payload.action.as_str() {
                "make-dirs" => {
                    let dirs = payload.dirs;
                    let results = run_blocking(move || {
                        dirs.iter()
                            .map(|d| FileResult {
                                path: d.path.clone(),
                                error: ops::make_dir(d).err().map(|e| e.to_result()),
                            })
                            .collect::<Vec<_>>()
                    })
                    .await;
                    FilesReply::sync(&results)
                }
                "remove" => {
                    let paths = payload.paths;
                    let results = run_blocking(move || {
                        paths
                            .iter()
                            .map(|p| FileResult {
                                path: p.path.clone(),
                                error: ops::remove_path(p).err().map(|e| e.to_result()),
                            })
                            .collect::<Vec<_>>()
                    })
                    .await;
                    FilesReply::sync(&results)
                }
                "write" => FilesReply::bad_request("must use multipart with \"write\" action"),
                other => {
                    FilesReply::bad_request(format!("invalid action {}", error::go_quote(other)))
                }
            }
        }
        other => FilesReply::bad_request(format!("invalid media type {}", error::go_quote(other))),
    }
}

/// Run blocking filesystem work off the runtime thread.
async fn run_blocking<T: Send + 'static>(f: impl FnOnce() -> Vec<T> + Send + 'static) -> Vec<T> {
    tokio::task::spawn_blocking(f).await.unwrap_or_default()
}

/// Largest JSON body accepted by the JSON form of `POST /v1/files`.
const MAX_JSON_BODY: usize = 64 << 20;

async fn collect_body<S, E>(body: S) -> Result<Vec<u8>, String>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    use futures_util::StreamExt;
    let mut body = std::pin::pin!(body);
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        out.extend_from_slice(&chunk);
        if out.len() > MAX_JSON_BODY {
            return Err("request body too large".to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn media_types_like_go() {
        let (m, p) = parse_media_type("multipart/form-data; boundary=\"abc\"").unwrap();
        assert_eq!(m, "multipart/form-data");
        assert_eq!(p["boundary"], "abc");
        let (m, p) =
            parse_media_type(r#"form-data; name="files"; filename="/a/\"q\"\\b""#).unwrap();
        assert_eq!(m, "form-data");
        assert_eq!(p["filename"], r#"/a/"q"\b"#);
        assert_eq!(p["name"], "files");
        assert!(parse_media_type("").is_err());
        assert!(parse_media_type("text/plain;").is_ok());
        assert!(parse_media_type("a/b; x").is_err());
        assert_eq!(
            parse_media_type("Application/JSON").unwrap().0,
            "application/json"
        );
    }

    #[test]
    fn query_like_go() {
        let q = parse_query("action=read&path=%2Fa+b&path=/c&x");
        assert_eq!(q["action"], ["read"]);
        assert_eq!(q["path"], ["/a b", "/c"]);
        assert_eq!(q["x"], [""]);
    }

    fn json(r: FilesReply) -> (u16, String) {
        match r {
            FilesReply::Json { status, body } => (status, String::from_utf8(body).unwrap()),
            FilesReply::Multipart { .. } => panic!("multipart"),
        }
    }

    #[tokio::test]
    async fn get_errors_match_golden() {
        assert_eq!(
            json(handle_get("action=list&path=/srv/golden/missing", None)),
            (
                404,
                r#"{"type":"error","status-code":404,"status":"Not Found","result":{"message":"stat /srv/golden/missing: no such file or directory","kind":"not-found"}}"#.into()
            )
        );
        assert_eq!(
            json(handle_get("action=list&path=relative/x", None)),
            (
                400,
                r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"path must be absolute, got \"relative/x\""}}"#.into()
            )
        );
        assert_eq!(
            json(handle_get("action=list&path=/&pattern=[bad", None)).1,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"syntax error in pattern","kind":"generic-file-error"}}"#
        );
        assert_eq!(
            json(handle_get("action=list", None)).1,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"must specify path"}}"#
        );
        assert_eq!(
            json(handle_get("action=bogus&path=/", None)).1,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"invalid action \"bogus\""}}"#
        );
        assert_eq!(
            json(handle_get("action=read&path=/etc/hostname", None)).1,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"must accept multipart/form-data"}}"#
        );
    }

    fn body_of(s: &str) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
        // Deliver in small pieces to exercise the streaming parser.
        let chunks: Vec<Result<Bytes, std::io::Error>> = s
            .as_bytes()
            .chunks(7)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        futures_util::stream::iter(chunks)
    }

    const B: &str = "GoldenBoundary0123456789abcdefABCDEF";

    fn push_body(meta: &str, files: &[(&str, &str)]) -> String {
        let mut s = format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"request\"\r\nContent-Type: application/json\r\n\r\n{meta}\r\n"
        );
        for (path, content) in files {
            s.push_str(&format!("--{B}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{path}\"\r\nContent-Type: application/octet-stream\r\n\r\n{content}\r\n"));
        }
        s.push_str(&format!("--{B}--\r\n"));
        s
    }

    async fn post(ct: &str, body: &str) -> (u16, String) {
        json(handle_post(Some(ct), body_of(body)).await)
    }

    #[tokio::test]
    async fn post_writes_and_errors() {
        let d = tempfile::tempdir().unwrap();
        let p = |s: &str| format!("{}/{s}", d.path().display());
        let ct = format!("multipart/form-data; boundary={B}");
        let w = p("written.txt");
        let (st, body) = post(
            &ct,
            &push_body(
                &format!(r#"{{"action":"write","files":[{{"path":"{w}","permissions":"600"}}]}}"#),
                &[(&w, "written by golden\n")],
            ),
        )
        .await;
        assert_eq!(st, 200);
        assert_eq!(
            body,
            format!(
                r#"{{"type":"sync","status-code":200,"status":"OK","result":[{{"path":"{w}"}}]}}"#
            )
        );
        assert_eq!(std::fs::read_to_string(&w).unwrap(), "written by golden\n");

        let (_, body) = post(
            &ct,
            &push_body(
                r#"{"action":"write","files":[{"path":"rel.txt"}]}"#,
                &[("rel.txt", "x\n")],
            ),
        )
        .await;
        assert!(body.contains(
            r#""message":"paths must be absolute, got \"rel.txt\"","kind":"generic-file-error""#
        ));

        let bp = p("badperm.txt");
        let (_, body) = post(
            &ct,
            &push_body(
                &format!(
                    r#"{{"action":"write","files":[{{"path":"{bp}","permissions":"1000"}}]}}"#
                ),
                &[(&bp, "x\n")],
            ),
        )
        .await;
        assert!(body.contains(r#"permissions must be a 3-digit octal string, got \"1000\""#));

        // Second file lands on a directory; the first one is written; a third has no content.
        std::fs::create_dir(p("sub")).unwrap();
        let (w1, sub, w3) = (p("w1.txt"), p("sub"), p("w3.txt"));
        let (_, body) = post(
            &ct,
            &push_body(
                &format!(r#"{{"action":"write","files":[{{"path":"{w1}"}},{{"path":"{sub}"}},{{"path":"{w3}"}}]}}"#),
                &[(&w1, "1\n"), (&sub, "2\n")],
            ),
        )
        .await;
        assert!(body.contains(&format!(r#"{{"path":"{w1}"}}"#)));
        assert!(body.contains(&format!("~ {sub}: file exists")));
        assert!(body.contains(&format!(r#"no file content for path \"{w3}\""#)));

        let (st, body) = post(
            &ct,
            &push_body(
                &format!(r#"{{"action":"write","files":[{{"path":"{w1}"}}]}}"#),
                &[(&p("other"), "1\n")],
            ),
        )
        .await;
        assert_eq!(st, 400);
        assert!(body.contains(&format!(r#"no metadata for path \"{}\""#, p("other"))));

        let (st, body) = post("multipart/form-data; boundary=short", "--short\r\n").await;
        assert_eq!(
            (st, body.as_str()),
            (
                400,
                r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"invalid boundary \"short\""}}"#
            )
        );
        let (st, body) = post("text/plain", "x").await;
        assert_eq!(st, 400);
        assert!(body.contains(r#"invalid media type \"text/plain\""#));
        let (_, body) = post(
            "application/json",
            r#"{"action":"write","files":[{"path":"/x"}]}"#,
        )
        .await;
        assert!(body.contains(r#"must use multipart with \"write\" action"#));
        let (_, body) = post("application/json", r#"{"action":"bogus"}"#).await;
        assert!(body.contains(r#"invalid action \"bogus\""#));
    }

    #[tokio::test]
    async fn broken_body_keeps_old_content_and_leaves_no_temp_file() {
        let d = tempfile::tempdir().unwrap();
        let target = format!("{}/keep.txt", d.path().display());
        std::fs::write(&target, "old").unwrap();
        let full = push_body(
            &format!(r#"{{"action":"write","files":[{{"path":"{target}"}}]}}"#),
            &[(&target, &"new content ".repeat(100_000))],
        );
        // The body breaks off in the middle of the file part.
        let cut = full.len() / 2;
        let mut chunks: Vec<Result<Bytes, std::io::Error>> = full.as_bytes()[..cut]
            .chunks(64 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        chunks.push(Err(std::io::Error::other("connection reset")));
        let ct = format!("multipart/form-data; boundary={B}");
        let (st, body) = json(handle_post(Some(&ct), futures_util::stream::iter(chunks)).await);
        assert_eq!(st, 400, "{body}");
        assert!(body.contains("cannot read file part 0"), "{body}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        let names: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["keep.txt"]);
    }

    #[tokio::test]
    async fn post_json_make_dirs_and_remove() {
        let d = tempfile::tempdir().unwrap();
        let p = |s: &str| format!("{}/{s}", d.path().display());
        let nd = p("newdir");
        let req = format!(r#"{{"action":"make-dirs","dirs":[{{"path":"{nd}"}}]}}"#);
        let (st, body) = post("application/json", &req).await;
        assert_eq!(st, 200);
        assert_eq!(
            body,
            format!(
                r#"{{"type":"sync","status-code":200,"status":"OK","result":[{{"path":"{nd}"}}]}}"#
            )
        );
        let (_, body) = post("application/json", &req).await;
        assert!(body.contains(&format!(
            r#""error":{{"message":"mkdir {nd}: file exists","kind":"generic-file-error"}}"#
        )));
        let req = format!(r#"{{"action":"remove","paths":[{{"path":"{nd}"}},{{"path":"{nd}"}}]}}"#);
        let (_, body) = post("application/json", &req).await;
        assert_eq!(
            body,
            format!(
                r#"{{"type":"sync","status-code":200,"status":"OK","result":[{{"path":"{nd}"}},{{"path":"{nd}","error":{{"message":"remove {nd}: no such file or directory","kind":"not-found"}}}}]}}"#
            )
        );
    }
}
