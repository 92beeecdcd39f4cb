//! A minimal blocking HTTP/1.1 client and a fixed-bytes server over Unix sockets.
//!
//! The client reuses one buffer and never allocates per request, so that its own cost is small
//! next to the server's: the same client measures the daemon and the fixed-bytes floor server.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use anyhow::{Context, bail};

const BUF: usize = 256 * 1024;

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the connection closes.
    Close,
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Status code.
    pub status: u16,
    /// Body framing.
    pub framing: Framing,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
}

/// One HTTP connection (either side) with a reusable read buffer.
pub struct Conn {
    s: UnixStream,
    buf: Box<[u8]>,
    lo: usize,
    hi: usize,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl Conn {
    /// Connect to the socket at `path`.
    pub fn connect(path: &Path) -> anyhow::Result<Conn> {
        let s = UnixStream::connect(path).with_context(|| format!("connect {}", path.display()))?;
        Ok(Conn::new(s))
    }

    /// Wrap a connected stream.
    pub fn new(s: UnixStream) -> Conn {
        Conn {
            s,
            buf: vec![0u8; BUF].into_boxed_slice(),
            lo: 0,
            hi: 0,
        }
    }

    /// Write all of `data`.
    pub fn write_all(&mut self, data: &[u8]) -> anyhow::Result<()> {
        self.s.write_all(data)?;
        Ok(())
    }

    /// Read more bytes into the buffer; 0 at end of stream.
    fn fill(&mut self) -> anyhow::Result<usize> {
        if self.lo == self.hi {
            self.lo = 0;
            self.hi = 0;
        } else if self.hi == self.buf.len() {
            self.buf.copy_within(self.lo..self.hi, 0);
            self.hi -= self.lo;
            self.lo = 0;
            if self.hi == self.buf.len() {
                bail!("line or header too long");
            }
        }
        let n = self.s.read(&mut self.buf[self.hi..])?;
        self.hi += n;
        Ok(n)
    }

    /// Consume through the next `delim`, returning the bytes before it (owned, short).
    fn take_until(&mut self, delim: &[u8]) -> anyhow::Result<Vec<u8>> {
        loop {
            if let Some(i) = find(&self.buf[self.lo..self.hi], delim) {
                let out = self.buf[self.lo..self.lo + i].to_vec();
                self.lo += i + delim.len();
                return Ok(out);
            }
            if self.fill()? == 0 {
                bail!("connection closed mid-message");
            }
        }
    }

    /// Skip through the next `delim` without copying (for request heads on the server side).
    /// Returns false at a clean end of stream.
    pub fn skip_through(&mut self, delim: &[u8]) -> anyhow::Result<bool> {
        loop {
            if let Some(i) = find(&self.buf[self.lo..self.hi], delim) {
                self.lo += i + delim.len();
                return Ok(true);
            }
            if self.fill()? == 0 {
                return Ok(false);
            }
        }
    }

    /// Read a response head.
    pub fn read_head(&mut self) -> anyhow::Result<Head> {
        let raw = self.take_until(b"\r\n\r\n")?;
        let text = String::from_utf8_lossy(&raw);
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line {status_line:?}"))?;
        let mut framing = Framing::Close;
        let mut content_type = None;
        for line in lines {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = v.trim();
            if k.eq_ignore_ascii_case("content-length") {
                framing = Framing::Length(v.parse().context("bad content-length")?);
            } else if k.eq_ignore_ascii_case("transfer-encoding")
                && v.eq_ignore_ascii_case("chunked")
            {
                framing = Framing::Chunked;
            } else if k.eq_ignore_ascii_case("content-type") {
                content_type = Some(v.to_string());
            }
        }
        if status == 204 || status == 304 || status / 100 == 1 {
            framing = Framing::Length(0);
        }
        Ok(Head {
            status,
            framing,
            content_type,
        })
    }

    /// Pass exactly `n` body bytes to `sink`.
    fn take_exact(&mut self, mut n: u64, sink: &mut dyn FnMut(&[u8])) -> anyhow::Result<()> {
        while n > 0 {
            if self.lo == self.hi && self.fill()? == 0 {
                bail!("connection closed mid-body");
            }
            let k = ((self.hi - self.lo) as u64).min(n) as usize;
            sink(&self.buf[self.lo..self.lo + k]);
            self.lo += k;
            n -= k as u64;
        }
        Ok(())
    }

    /// Read the body of a response with `head`, passing its bytes to `sink`; returns its length.
    pub fn read_body(&mut self, head: &Head, sink: &mut dyn FnMut(&[u8])) -> anyhow::Result<u64> {
        match head.framing {
            Framing::Length(n) => {
                self.take_exact(n, sink)?;
                Ok(n)
            }
            Framing::Chunked => {
                let mut total = 0;
                loop {
                    let line = self.take_until(b"\r\n")?;
                    let line = String::from_utf8_lossy(&line);
                    let size = line.split(';').next().unwrap_or_default().trim();
                    let size = u64::from_str_radix(size, 16)
                        .with_context(|| format!("bad chunk size {size:?}"))?;
                    if size == 0 {
                        // Trailers, then the empty line.
                        while !self.take_until(b"\r\n")?.is_empty() {}
                        return Ok(total);
                    }
                    self.take_exact(size, sink)?;
                    total += size;
                    if !self.take_until(b"\r\n")?.is_empty() {
                        bail!("missing CRLF after chunk");
                    }
                }
            }
            Framing::Close => {
                let mut total = 0;
                loop {
                    if self.lo == self.hi && self.fill()? == 0 {
                        return Ok(total);
                    }
                    sink(&self.buf[self.lo..self.hi]);
                    total += (self.hi - self.lo) as u64;
                    self.lo = self.hi;
                }
            }
        }
    }

    /// Send `request` and read the whole response; returns the status and body length.
    pub fn round_trip(&mut self, request: &[u8]) -> anyhow::Result<(u16, u64)> {
        self.write_all(request)?;
        let head = self.read_head()?;
        let n = self.read_body(&head, &mut |_| {})?;
        Ok((head.status, n))
    }
}

/// A `GET path` request with keep-alive.
pub fn get_request(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").into_bytes()
}

/// Read one complete raw response (head and body bytes as sent) to `GET path` on `sock`.
pub fn capture(sock: &Path, path: &str) -> anyhow::Result<Vec<u8>> {
    let mut s = UnixStream::connect(sock)?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    // Present it as a keep-alive answer.
    let text = String::from_utf8_lossy(&raw).replace("Connection: close\r\n", "");
    Ok(text.into_bytes())
}

/// Serve `response` to every request on `sock`, one thread per connection, forever.
pub fn serve_fixed(sock: &Path, response: Vec<u8>) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(sock);
    let listener = UnixListener::bind(sock)?;
    println!("ready");
    std::io::stdout().flush()?;
    let response: &'static [u8] = Vec::leak(response);
    for stream in listener.incoming() {
        let stream = stream?;
        std::thread::spawn(move || {
            let mut conn = Conn::new(stream);
            while let Ok(true) = conn.skip_through(b"\r\n\r\n") {
                if conn.write_all(response).is_err() {
                    break;
                }
            }
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn pair(server_bytes: &'static [u8]) -> Conn {
        let (a, mut b) = UnixStream::pair().unwrap();
        std::thread::spawn(move || {
            let _ = b.write_all(server_bytes);
        });
        Conn::new(a)
    }

    #[test]
    fn reads_length_and_chunked_bodies() {
        let mut c = pair(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n1;ext\r\nz\r\n0\r\n\r\n",
        );
        let h = c.read_head().unwrap();
        assert_eq!((h.status, h.framing), (200, Framing::Length(3)));
        let mut got = Vec::new();
        assert_eq!(
            c.read_body(&h, &mut |d| got.extend_from_slice(d)).unwrap(),
            3
        );
        let h = c.read_head().unwrap();
        assert_eq!((h.status, h.framing), (404, Framing::Chunked));
        assert_eq!(
            c.read_body(&h, &mut |d| got.extend_from_slice(d)).unwrap(),
            3
        );
        assert_eq!(got, b"abcxyz");
    }

    #[test]
    fn fixed_server_answers_keep_alive_requests() {
        let dir = std::env::temp_dir().join(format!("pebble-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("s");
        let s2 = sock.clone();
        std::thread::spawn(move || {
            serve_fixed(
                &s2,
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            )
        });
        let mut c = loop {
            if let Ok(c) = Conn::connect(&sock) {
                break c;
            }
            std::thread::yield_now();
        };
        for _ in 0..3 {
            assert_eq!(c.round_trip(&get_request("/x")).unwrap(), (200, 2));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
