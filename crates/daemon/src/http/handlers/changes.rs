//! `GET /v1/changes`, `GET`/`POST /v1/changes/{id}`, `GET /v1/changes/{id}/wait`.

use crate::http::envelope::{self, Resp};
use crate::http::router::Req;
use crate::state::Select;
use crate::state::runner::AbortError;
use pebble_api::ChangeActionRequest;
use pebble_plan::quote::go_quote;
use std::time::Duration;

fn not_found(id: &str) -> Resp {
    envelope::not_found(format!("cannot find change with id {}", go_quote(id)))
}

/// `GET /v1/changes?select=&for=` (read).
pub async fn list(req: Req) -> Resp {
    let select = match req.query("select") {
        "" | "in-progress" => Select::InProgress,
        "ready" => Select::Ready,
        "all" => Select::All,
        _ => return envelope::bad_request("select should be one of: all,in-progress,ready"),
    };
    let for_ = req.query("for");
    let for_ = if for_.is_empty() { None } else { Some(for_) };
    let changes = req.daemon.state().changes(select, for_);
    envelope::sync(&changes)
}

fn parse_id(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// `GET /v1/changes/{id}` (read).
pub async fn get(req: Req) -> Resp {
    let id = req.var("id");
    match parse_id(id).and_then(|n| req.daemon.state().change_info(n)) {
        Some(info) => envelope::sync(&info),
        None => not_found(id),
    }
}

/// `POST /v1/changes/{id}` (admin): `{"action":"abort"}`.
pub async fn abort(mut req: Req) -> Resp {
    let id = req.var("id").to_string();
    if parse_id(&id)
        .and_then(|n| req.daemon.state().change_ready(n))
        .is_none()
    {
        return not_found(&id);
    }
    let body: ChangeActionRequest = match req
        .decode_json("cannot decode data from request body")
        .await
    {
        Ok(b) => b,
        Err(r) => return r,
    };
    if body.action != "abort" {
        return envelope::bad_request(format!("invalid action {}", go_quote(&body.action)));
    }
    match req.daemon.runner().abort_change(&id) {
        Ok(info) => envelope::sync(&info),
        Err(AbortError::NotFound(_)) => not_found(&id),
        Err(e @ AbortError::NothingPending(_)) => envelope::bad_request(e.to_string()),
    }
}

/// `GET /v1/changes/{id}/wait?timeout=` (read): 200 when ready, 504 on timeout.
pub async fn wait(req: Req) -> Resp {
    let id = req.var("id").to_string();
    let Some(n) = parse_id(&id).filter(|n| req.daemon.state().change_ready(*n).is_some()) else {
        return not_found(&id);
    };
    let timeout = req.query("timeout");
    let nanos = if timeout.is_empty() {
        0
    } else {
        match pebble_plan::go_duration::parse_nanos(timeout) {
            Ok(n) => n,
            Err(e) => return envelope::bad_request(format!("invalid timeout: {e}")),
        }
    };
    let state = req.daemon.state().clone();
    let waiting = state.wait_change_ready(n);
    let result = if nanos == 0 {
        Some(waiting.await)
    } else if nanos < 0 {
        state.change_info(n).filter(|c| c.ready).map(Some)
    } else {
        let d = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        tokio::time::timeout(d, waiting).await.ok()
    };
    match result {
        Some(Some(info)) => envelope::sync(&info),
        Some(None) => not_found(&id),
        None => envelope::error(
            504,
            format!(
                "timed out waiting for change after {}",
                pebble_plan::go_duration::format_nanos(nanos)
            ),
        ),
    }
}
