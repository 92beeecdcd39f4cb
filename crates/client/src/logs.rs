//! Reading the newline-delimited JSON stream of `GET /v1/logs`.

use bytes::{Buf, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use pebble_api::LogEntry;

use crate::Error;

/// A stream of log entries read from a `GET /v1/logs` response.
#[derive(Debug)]
pub struct LogStream {
    body: Incoming,
    buf: BytesMut,
    done: bool,
}

impl LogStream {
    pub(crate) fn new(body: Incoming) -> Self {
        LogStream {
            body,
            buf: BytesMut::new(),
            done: false,
        }
    }

    /// The next entry, or `None` at the end of the stream.
    pub async fn next(&mut self) -> Option<Result<LogEntry, Error>> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line = self.buf.split_to(pos + 1);
                let line = &line[..pos];
                if line.iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                return Some(parse_line(line));
            }
            if self.done {
                if self.buf.iter().all(|b| b.is_ascii_whitespace()) {
                    return None;
                }
                let rest = self.buf.split();
                return Some(parse_line(&rest));
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(mut data) = frame.into_data() {
                        while data.has_remaining() {
                            let chunk = data.chunk();
                            self.buf.extend_from_slice(chunk);
                            let n = chunk.len();
                            data.advance(n);
                        }
                    }
                }
                Some(Err(e)) => {
                    self.done = true;
                    self.buf.clear();
                    return Some(Err(Error::Connection(format!("cannot read logs: {e}"))));
                }
                None => self.done = true,
            }
        }
    }
}

fn parse_line(line: &[u8]) -> Result<LogEntry, Error> {
    serde_json::from_slice(line).map_err(|e| {
        Error::Protocol(format!(
            "cannot decode log entry {:?}: {e}",
            String::from_utf8_lossy(line)
        ))
    })
}
