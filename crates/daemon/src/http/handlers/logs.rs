//! `GET /v1/logs?services=&n=&follow=`: newline-delimited JSON of service output.

use crate::http::body::Body;
use crate::http::envelope::{self, Resp};
use crate::http::router::Req;
use crate::logs::{LogEntry, LogRing};
use bytes::Bytes;
use http::{HeaderValue, header};
use std::sync::Arc;

/// Default number of lines without `follow`.
pub const DEFAULT_N: i64 = 30;

/// `application/x-ndjson`
const NDJSON: HeaderValue = HeaderValue::from_static("application/x-ndjson");

/// One JSON line (time in UTC, millisecond precision, trailing zeros trimmed; no HTML escaping).
pub fn entry_line(e: &LogEntry, out: &mut Vec<u8>) {
    let ts = jiff::Timestamp::try_from(e.time).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let ms = ts.as_millisecond();
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(ts);
    let entry = pebble_api::LogEntry {
        time: ts.to_string(),
        service: e.service.clone(),
        message: e.message.clone(),
    };
    let _ = pebble_api::gojson::write_go_json(out, &entry, false);
    out.push(b'\n');
}

fn response(body: Body) -> Resp {
    let mut r = http::Response::new(body);
    r.headers_mut().insert(header::CONTENT_TYPE, NDJSON);
    r
}

fn merge(mut entries: Vec<LogEntry>, n: Option<usize>) -> Vec<LogEntry> {
    entries.sort_by_key(|e| e.time);
    if let Some(n) = n
        && entries.len() > n
    {
        entries.drain(..entries.len() - n);
    }
    entries
}

/// `GET /v1/logs` (read).
pub async fn logs(req: Req) -> Resp {
    let follow = match req.query("follow") {
        "" | "false" => false,
        "true" => true,
        _ => return envelope::bad_request("follow parameter must be \"true\" or \"false\""),
    };
    let n_text = req.query("n");
    let n: i64 = if n_text.is_empty() {
        if follow { 0 } else { DEFAULT_N }
    } else {
        match n_text.parse::<i64>() {
            Ok(v) if v >= -1 => v,
            _ => return envelope::bad_request("n must be -1, 0, or a positive integer"),
        }
    };
    let mut names = req.query_list("services");
    if names.is_empty() {
        names = req.daemon.plan().services.keys().cloned().collect();
    }
    names.sort();
    names.dedup();
    let svc = req.daemon.services();
    let rings: Vec<Arc<LogRing>> = names.iter().filter_map(|n| svc.log_ring(n)).collect();
    let limit = if n < 0 { None } else { Some(n as usize) };

    if !follow {
        let entries = if n == 0 {
            Vec::new()
        } else {
            crate::logs::merge_last(&rings, limit)
        };
        let mut out = Vec::with_capacity(entries.len() * 96);
        for e in &entries {
            entry_line(e, &mut out);
        }
        let body = if n == -1 || out.is_empty() {
            Body::full(out)
        } else {
            Body::one_chunk(out)
        };
        return response(body);
    }

    // Follow: the last n complete lines, then everything new, one chunk per line.
    let mut positions = Vec::with_capacity(rings.len());
    let mut initial = Vec::new();
    for r in &rings {
        let (entries, pos) = r.tail(limit.unwrap_or(usize::MAX));
        if n != 0 {
            initial.extend(entries);
        }
        positions.push(pos);
    }
    let initial = merge(initial, limit);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    tokio::spawn(async move {
        for e in &initial {
            let mut out = Vec::with_capacity(128);
            entry_line(e, &mut out);
            if tx.send(Bytes::from(out)).await.is_err() {
                return;
            }
        }
        let mut watchers: Vec<_> = rings.iter().map(|r| r.subscribe()).collect();
        loop {
            let mut fresh = Vec::new();
            for (i, r) in rings.iter().enumerate() {
                watchers[i].borrow_and_update();
                let (entries, pos) = r.read_from(positions[i]);
                positions[i] = pos;
                fresh.extend(entries);
            }
            for e in &merge(fresh, None) {
                let mut out = Vec::with_capacity(128);
                entry_line(e, &mut out);
                if tx.send(Bytes::from(out)).await.is_err() {
                    return;
                }
            }
            if watchers.is_empty() {
                tx.closed().await;
                return;
            }
            let changed = futures_util::future::select_all(
                watchers.iter_mut().map(|w| Box::pin(w.changed())),
            );
            tokio::select! {
                (res, _, _) = changed => {
                    if res.is_err() {
                        tx.closed().await;
                        return;
                    }
                }
                _ = tx.closed() => return,
            }
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|o| o.map(Ok)));
    response(Body::stream(stream))
}
