//! Service output capture: a 100 KiB ring buffer per service (Pebble's `internals/servicelog`).
//!
//! A service's stdout and stderr share one pipe. A [`LogWriter`] (one per process) takes raw
//! bytes from it and stores them in the service's [`LogRing`], prefixing each line, at the
//! moment its first byte arrives, with `YYYY-MM-DDTHH:MM:SS.mmmZ [<service>] `. The ring belongs
//! to the service (not the process), so it survives restarts. Readers get parsed
//! [`LogEntry`]s: the last *n*, or everything after a position (for following), with a
//! [`tokio::sync::watch`] channel announcing new data.
//!
//! Hot path: one timestamp per write call (cached per millisecond), `memchr` for newlines, one
//! reusable scratch buffer, no per-line allocation.

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// Capacity of one service's ring buffer in bytes (Pebble's `maxLogBytes`).
pub const MAX_LOG_BYTES: usize = 102_400;

/// Length of the `2006-01-02T15:04:05.000Z` timestamp.
const TS_LEN: usize = 24;

/// One parsed log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// When the line's first byte was written (millisecond precision).
    pub time: SystemTime,
    /// The service name.
    pub service: String,
    /// The line without prefix and trailing newline.
    pub message: String,
}

#[derive(Debug)]
struct Ring {
    /// Physical storage of `cap + 1` bytes: one byte more than the logical capacity, so the
    /// byte just before the oldest kept byte is still readable (tells whether the oldest byte
    /// starts a line). It is filled lazily: allocated (not zeroed) on the first write and
    /// grown as bytes arrive, so a quiet service costs no resident memory.
    buf: Vec<u8>,
    /// Logical capacity (bytes kept).
    cap: usize,
    /// Absolute offset of the oldest kept byte.
    start: u64,
    /// Absolute offset one past the newest byte.
    end: u64,
}

impl Ring {
    fn new(cap: usize) -> Self {
        Ring {
            buf: Vec::new(),
            cap,
            start: 0,
            end: 0,
        }
    }

    /// Physical length of `buf` once full.
    fn plen(&self) -> usize {
        self.cap + 1
    }

    fn phys(&self, pos: u64) -> usize {
        (pos % self.plen() as u64) as usize
    }

    fn append(&mut self, mut data: &[u8]) {
        let plen = self.plen();
        if data.is_empty() {
            return;
        }
        if self.buf.capacity() < plen {
            // One allocation of the final size; pages become resident only when written.
            self.buf.reserve_exact(plen - self.buf.len());
        }
        if data.len() > plen {
            // Only the last `cap + 1` bytes can matter (see `buf`).
            self.end += (data.len() - plen) as u64;
            data = &data[data.len() - plen..];
        }
        let mut at = self.phys(self.end);
        while !data.is_empty() {
            let n = data.len().min(plen - at);
            let upto = at + n;
            if upto <= self.buf.len() {
                self.buf[at..upto].copy_from_slice(&data[..n]);
            } else {
                // Growing: bytes skipped above were never stored (they are not kept anyway).
                if at > self.buf.len() {
                    self.buf.resize(at, 0);
                }
                let overlap = self.buf.len() - at;
                self.buf[at..].copy_from_slice(&data[..overlap]);
                self.buf.extend_from_slice(&data[overlap..n]);
            }
            data = &data[n..];
            self.end += n as u64;
            at = 0;
        }
        if self.end - self.start > self.cap as u64 {
            self.start = self.end - self.cap as u64;
        }
    }

    fn byte_at(&self, pos: u64) -> u8 {
        self.buf[self.phys(pos)]
    }

    /// Copy bytes `[from, to)` (which must be within the kept window).
    fn copy(&self, from: u64, to: u64, out: &mut Vec<u8>) {
        let mut pos = from;
        while pos < to {
            let at = self.phys(pos);
            let n = ((to - pos) as usize).min(self.plen() - at);
            out.extend_from_slice(&self.buf[at..at + n]);
            pos += n as u64;
        }
    }

    /// The first line start at or after `pos` (clamped to the kept window).
    fn line_start_from(&self, pos: u64) -> u64 {
        if pos > self.start || self.start == 0 {
            return pos.max(self.start);
        }
        if self.byte_at(self.start - 1) == b'\n' {
            return self.start;
        }
        let mut p = self.start;
        while p < self.end {
            if self.byte_at(p) == b'\n' {
                return p + 1;
            }
            p += 1;
        }
        self.end
    }

    fn line_open(&self) -> bool {
        self.end > 0 && self.byte_at(self.end - 1) != b'\n'
    }
}

/// The output ring buffer of one service.
#[derive(Debug)]
pub struct LogRing {
    service: String,
    ring: Mutex<Ring>,
    end_tx: watch::Sender<u64>,
}

impl LogRing {
    /// A new, empty ring of [`MAX_LOG_BYTES`] for `service`.
    pub fn new(service: &str) -> Arc<Self> {
        Self::with_capacity(service, MAX_LOG_BYTES)
    }

    /// A new, empty ring with a custom capacity (tests).
    pub fn with_capacity(service: &str, cap: usize) -> Arc<Self> {
        let (end_tx, _) = watch::channel(0);
        Arc::new(LogRing {
            service: service.to_string(),
            ring: Mutex::new(Ring::new(cap.max(1))),
            end_tx,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The service this ring belongs to.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Append already-formatted bytes (prefixed lines) and notify followers.
    pub fn append_raw(&self, data: &[u8]) {
        let end = {
            let mut r = self.lock();
            r.append(data);
            r.end
        };
        self.end_tx.send_replace(end);
    }

    /// A receiver of the ring's end position, changed on every write (for following).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.end_tx.subscribe()
    }

    /// Absolute position one past the newest byte.
    pub fn end_position(&self) -> u64 {
        self.lock().end
    }

    /// The raw kept bytes (prefixed lines), oldest first.
    pub fn raw_bytes(&self) -> Vec<u8> {
        let r = self.lock();
        let mut out = Vec::with_capacity((r.end - r.start) as usize);
        r.copy(r.start, r.end, &mut out);
        out
    }

    /// The last `n` entries (`None` = all kept), oldest first. A trailing line without newline
    /// is included.
    pub fn last_entries(&self, n: Option<usize>) -> Vec<LogEntry> {
        let raw = {
            let r = self.lock();
            let from = r.line_start_from(r.start);
            let mut out = Vec::with_capacity((r.end - from) as usize);
            r.copy(from, r.end, &mut out);
            out
        };
        let mut entries = parse_lines(&self.service, &raw, true);
        if let Some(n) = n
            && entries.len() > n
        {
            entries.drain(..entries.len() - n);
        }
        entries
    }

    /// For following: the last `n` complete entries and the position just after them.
    pub fn tail(&self, n: usize) -> (Vec<LogEntry>, u64) {
        let (raw, end) = {
            let r = self.lock();
            let from = r.line_start_from(r.start);
            let mut end = r.end;
            if r.line_open() {
                // Stop at the last complete line.
                let mut p = r.end;
                while p > from && r.byte_at(p - 1) != b'\n' {
                    p -= 1;
                }
                end = p;
            }
            let mut out = Vec::with_capacity((end - from) as usize);
            r.copy(from, end, &mut out);
            (out, end)
        };
        let mut entries = parse_lines(&self.service, &raw, false);
        if entries.len() > n {
            entries.drain(..entries.len() - n);
        }
        (entries, end)
    }

    /// For following: complete entries written at or after `pos`; returns them and the new
    /// position. If `pos` was overwritten, reading resumes at the oldest kept line.
    pub fn read_from(&self, pos: u64) -> (Vec<LogEntry>, u64) {
        let (raw, new_pos) = {
            let r = self.lock();
            let from = r.line_start_from(pos);
            let mut out = Vec::new();
            r.copy(from, r.end, &mut out);
            let complete = memchr::memrchr(b'\n', &out).map_or(0, |i| i + 1);
            out.truncate(complete);
            (out, from + complete as u64)
        };
        (parse_lines(&self.service, &raw, false), new_pos)
    }
}

/// Merge entries of several rings by time (stable, so each ring keeps its order) and keep the
/// last `n` (`None` = all).
pub fn merge_last(rings: &[Arc<LogRing>], n: Option<usize>) -> Vec<LogEntry> {
    let mut all: Vec<LogEntry> = rings.iter().flat_map(|r| r.last_entries(n)).collect();
    all.sort_by_key(|e| e.time);
    if let Some(n) = n
        && all.len() > n
    {
        all.drain(..all.len() - n);
    }
    all
}

/// Parse prefixed lines. `include_partial`: also return a final line without newline.
fn parse_lines(service: &str, raw: &[u8], include_partial: bool) -> Vec<LogEntry> {
    let mut entries = Vec::new();
    let mut last_time = UNIX_EPOCH;
    let mut rest = raw;
    while !rest.is_empty() {
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None if include_partial => (rest, &rest[rest.len()..]),
            None => break,
        };
        rest = next;
        let (time, msg) = split_prefix(service, line).unwrap_or((last_time, line));
        last_time = time;
        entries.push(LogEntry {
            time,
            service: service.to_string(),
            message: String::from_utf8_lossy(msg).into_owned(),
        });
    }
    entries
}

/// Split `TS [service] message` into the time and the message.
fn split_prefix<'a>(service: &str, line: &'a [u8]) -> Option<(SystemTime, &'a [u8])> {
    let ts = line.get(..TS_LEN)?;
    let time = parse_timestamp(ts)?;
    let rest = &line[TS_LEN..];
    let rest = rest.strip_prefix(b" [")?;
    let rest = rest.strip_prefix(service.as_bytes())?;
    let rest = rest.strip_prefix(b"] ")?;
    Some((time, rest))
}

/// Parse `2006-01-02T15:04:05.000Z`.
pub fn parse_timestamp(ts: &[u8]) -> Option<SystemTime> {
    if ts.len() != TS_LEN || ts[4] != b'-' || ts[10] != b'T' || ts[19] != b'.' || ts[23] != b'Z' {
        return None;
    }
    let num = |a: usize, b: usize| -> Option<i64> {
        let mut v = 0i64;
        for &c in &ts[a..b] {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, s, ms) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?);
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + s;
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(ms as u64))
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats one process's raw output into its service's [`LogRing`] (see the module docs).
#[derive(Debug)]
pub struct LogWriter {
    ring: Arc<LogRing>,
    /// `" [<service>] "`.
    tag: Vec<u8>,
    line_open: bool,
    verbose: bool,
    scratch: Vec<u8>,
    ts_millis: u128,
    ts: [u8; TS_LEN],
}

impl LogWriter {
    /// A writer for a newly started process. If the ring's last line was left open by a
    /// previous process, it is terminated so the new output starts on its own line.
    /// `verbose`: also copy every prefixed line to the daemon's stdout.
    pub fn new(ring: Arc<LogRing>, verbose: bool) -> Self {
        if ring.lock().line_open() {
            ring.append_raw(b"\n");
        }
        let tag = format!(" [{}] ", ring.service).into_bytes();
        LogWriter {
            ring,
            tag,
            line_open: false,
            verbose,
            scratch: Vec::new(),
            ts_millis: u128::MAX,
            ts: [0; TS_LEN],
        }
    }

    fn refresh_timestamp(&mut self, now: SystemTime) {
        let millis = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        if millis != self.ts_millis {
            let s = crate::timefmt::timestamp_millis(now);
            if s.len() == TS_LEN {
                self.ts.copy_from_slice(s.as_bytes());
            }
            self.ts_millis = millis;
        }
    }

    /// Take one chunk of raw output, stamped with the current time.
    pub fn write(&mut self, data: &[u8]) {
        self.write_at(data, SystemTime::now());
    }

    /// Take one chunk of raw output, stamped with `now`.
    pub fn write_at(&mut self, data: &[u8], now: SystemTime) {
        if data.is_empty() {
            return;
        }
        self.refresh_timestamp(now);
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        // When the output is not copied to stdout, only the tail that fits in the ring matters.
        let mut rest = data;
        let prefix_len = TS_LEN + self.tag.len();
        let cap = self.ring.lock().cap;
        if !self.verbose && data.len() > cap {
            // Skip whole lines that would be overwritten anyway: keep from a line start such
            // that the kept raw bytes are at most `cap` (prefixes only make the output longer).
            let cut = data.len() - cap;
            if let Some(i) = memchr::memchr(b'\n', &data[cut - 1..]) {
                rest = &data[cut - 1 + i + 1..];
                if self.line_open {
                    scratch.push(b'\n');
                }
                self.line_open = false;
                if rest.is_empty() {
                    self.ring.append_raw(&scratch);
                    self.scratch = scratch;
                    return;
                }
            }
        }
        scratch.reserve(rest.len() + prefix_len * 2);
        while !rest.is_empty() {
            if !self.line_open {
                scratch.extend_from_slice(&self.ts);
                scratch.extend_from_slice(&self.tag);
                self.line_open = true;
            }
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    scratch.extend_from_slice(&rest[..=i]);
                    rest = &rest[i + 1..];
                    self.line_open = false;
                }
                None => {
                    scratch.extend_from_slice(rest);
                    rest = &[];
                }
            }
        }
        self.ring.append_raw(&scratch);
        if self.verbose {
            // A failed write to stdout cannot be reported anywhere useful.
            let _ = std::io::stdout().lock().write_all(&scratch);
        }
        self.scratch = scratch;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn t(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_666_747_106_000 + ms)
    }

    #[test]
    fn prefixes_lines_at_first_byte() {
        let ring = LogRing::new("svc");
        let mut w = LogWriter::new(ring.clone(), false);
        w.write_at(b"hello\nwor", t(1));
        w.write_at(b"ld\nbye\n", t(2));
        let raw = String::from_utf8(ring.raw_bytes()).unwrap();
        assert_eq!(
            raw,
            "2022-10-26T01:18:26.001Z [svc] hello\n\
             2022-10-26T01:18:26.001Z [svc] world\n\
             2022-10-26T01:18:26.002Z [svc] bye\n"
        );
        let e = ring.last_entries(None);
        assert_eq!(e.len(), 3);
        assert_eq!(e[1].message, "world");
        assert_eq!(e[1].time, t(1));
        assert_eq!(e[2].time, t(2));
        assert_eq!(ring.last_entries(Some(1))[0].message, "bye");
    }

    #[test]
    fn wraps_around_keeping_whole_recent_lines() {
        let ring = LogRing::with_capacity("s", 200);
        let mut w = LogWriter::new(ring.clone(), false);
        for i in 0..100 {
            w.write_at(format!("line {i}\n").as_bytes(), t(i));
        }
        let raw = ring.raw_bytes();
        assert_eq!(raw.len(), 200);
        let e = ring.last_entries(None);
        // Each line is 24 + 5 + len("line NN\n") bytes = 37 bytes: 5 whole lines fit in 200.
        assert_eq!(e.len(), 5);
        assert_eq!(e.last().unwrap().message, "line 99");
        assert_eq!(e[0].message, "line 95");
        assert_eq!(e[0].time, t(95));
    }

    #[test]
    fn keeps_line_starting_exactly_at_window_start() {
        // 3 lines of exactly 37 bytes; capacity 74 keeps exactly the last two.
        let ring = LogRing::with_capacity("s", 74);
        let mut w = LogWriter::new(ring.clone(), false);
        for i in 10..13 {
            w.write_at(format!("line {i}\n").as_bytes(), t(0));
        }
        let e = ring.last_entries(None);
        assert_eq!(
            e.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
            ["line 11", "line 12"]
        );
    }

    #[test]
    fn huge_single_write_keeps_the_tail() {
        let ring = LogRing::with_capacity("s", 1000);
        let mut w = LogWriter::new(ring.clone(), false);
        let mut data = Vec::new();
        for i in 0..1000 {
            data.extend_from_slice(format!("{i:05}\n").as_bytes());
        }
        w.write_at(&data, t(0));
        let e = ring.last_entries(None);
        assert_eq!(e.last().unwrap().message, "00999");
        assert!(e.len() >= 25, "{}", e.len());
        for pair in e.windows(2) {
            let a: u32 = pair[0].message.parse().unwrap();
            let b: u32 = pair[1].message.parse().unwrap();
            assert_eq!(a + 1, b);
        }
    }

    #[test]
    fn storage_grows_only_as_bytes_arrive() {
        let ring = LogRing::with_capacity("s", 1000);
        assert_eq!(ring.lock().buf.capacity(), 0, "no allocation before output");
        ring.append_raw(b"abc\n");
        {
            let r = ring.lock();
            assert_eq!(r.buf.len(), 4);
            assert!(r.buf.capacity() >= 1001);
        }
        // Fill past the physical length: wraps, keeps the last `cap` bytes.
        let mut all = b"abc\n".to_vec();
        for i in 0..300u32 {
            let chunk = format!("{i:04}\n");
            ring.append_raw(chunk.as_bytes());
            all.extend_from_slice(chunk.as_bytes());
        }
        assert_eq!(ring.lock().buf.len(), 1001);
        assert_eq!(ring.raw_bytes(), &all[all.len() - 1000..]);
    }

    #[test]
    fn first_write_larger_than_the_ring() {
        for (cap, first) in [(10usize, 25usize), (10, 11), (10, 10), (7, 100)] {
            let ring = LogRing::with_capacity("s", cap);
            let data: Vec<u8> = (0..first).map(|i| b'a' + (i % 26) as u8).collect();
            ring.append_raw(&data);
            let keep = first.min(cap);
            assert_eq!(
                ring.raw_bytes(),
                &data[first - keep..],
                "cap {cap} first {first}"
            );
            ring.append_raw(b"XYZ");
            let mut all = data.clone();
            all.extend_from_slice(b"XYZ");
            assert_eq!(ring.raw_bytes(), &all[all.len() - cap.min(all.len())..]);
        }
    }

    #[test]
    fn random_appends_keep_the_last_cap_bytes() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..200 {
            let cap = rng.usize(1..64);
            let ring = LogRing::with_capacity("s", cap);
            let mut all = Vec::new();
            for _ in 0..rng.usize(1..20) {
                let len = rng.usize(0..3 * cap);
                let chunk: Vec<u8> = (0..len).map(|_| rng.u8(b'a'..=b'z')).collect();
                ring.append_raw(&chunk);
                all.extend_from_slice(&chunk);
                let keep = all.len().min(cap);
                assert_eq!(ring.raw_bytes(), &all[all.len() - keep..]);
                assert_eq!(ring.end_position(), all.len() as u64);
            }
        }
    }

    #[test]
    fn follow_reads_complete_lines_only() {
        let ring = LogRing::new("s");
        let mut w = LogWriter::new(ring.clone(), false);
        w.write_at(b"a\nb\npart", t(0));
        let (tail, pos) = ring.tail(1);
        assert_eq!(tail.len(), 1);
        assert_eq!(tail[0].message, "b");
        let (more, pos2) = ring.read_from(pos);
        assert!(more.is_empty());
        assert_eq!(pos, pos2);
        w.write_at(b"ial\nc\n", t(1));
        let (more, _) = ring.read_from(pos2);
        let msgs: Vec<_> = more.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(msgs, ["partial", "c"]);
        assert_eq!(more[0].time, t(0));
    }

    #[test]
    fn new_writer_closes_open_line() {
        let ring = LogRing::new("s");
        LogWriter::new(ring.clone(), false).write_at(b"no newline", t(0));
        LogWriter::new(ring.clone(), false).write_at(b"next\n", t(1));
        let e = ring.last_entries(None);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].message, "no newline");
        assert_eq!(e[1].message, "next");
    }

    #[test]
    fn merges_by_time() {
        let a = LogRing::new("a");
        let b = LogRing::new("b");
        LogWriter::new(a.clone(), false).write_at(b"a1\n", t(1));
        LogWriter::new(b.clone(), false).write_at(b"b2\n", t(2));
        LogWriter::new(a.clone(), false).write_at(b"a3\n", t(3));
        let e = merge_last(&[a, b], Some(2));
        let msgs: Vec<_> = e.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(msgs, ["b2", "a3"]);
    }

    #[test]
    fn parses_timestamps() {
        let ts = crate::timefmt::timestamp_millis(t(904));
        assert_eq!(parse_timestamp(ts.as_bytes()), Some(t(904)));
        assert_eq!(parse_timestamp(b"not a timestamp at all!!"), None);
    }
}
