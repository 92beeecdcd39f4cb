//! `GET`/`POST /v1/checks` and `POST /v1/checks/refresh`. (`GET /v1/health` is served by
//! `http::handlers::system` through the daemon's health source, installed by the manager.)

use std::sync::Arc;

use pebble_api::{CheckRefreshRequest, CheckRefreshResult, ChecksRequest, ChecksResult};

use super::{CheckManager, RefreshError};
use crate::http::envelope::{self, Resp};
use crate::http::router::Req;

fn manager(req: &Req) -> Result<Arc<CheckManager>, Box<Resp>> {
    req.daemon
        .extension::<CheckManager>()
        .ok_or_else(|| Box::new(envelope::internal_error("check manager not running")))
}

/// `GET /v1/checks?level=&names=` (read): checks sorted by name; `level` is an exact filter.
pub async fn get_checks(req: Req) -> Resp {
    let level = req.query("level");
    if !matches!(level, "" | "alive" | "ready") {
        return envelope::bad_request("level must be \"alive\" or \"ready\"");
    }
    let names = req.query_list("names");
    let mgr = match manager(&req) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let infos: Vec<_> = mgr
        .checks()
        .into_iter()
        .filter(|c| level.is_empty() || c.level == level)
        .filter(|c| names.is_empty() || names.contains(&c.name))
        .collect();
    envelope::sync(&infos)
}

/// `POST /v1/checks` (admin): `{"action":"start"|"stop","checks":[...]}`.
pub async fn post_checks(mut req: Req) -> Resp {
    let body: ChecksRequest = match req
        .decode_json("cannot decode data from request body")
        .await
    {
        Ok(b) => b,
        Err(r) => return r,
    };
    if body.checks.is_empty() {
        return envelope::bad_request(format!("must specify checks for {} action", body.action));
    }
    let mgr = match manager(&req) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let result = match body.action.as_str() {
        "start" => mgr.start_checks(&body.checks),
        "stop" => mgr.stop_checks(&body.checks),
        other => {
            return envelope::bad_request(format!(
                "invalid action {}",
                pebble_plan::quote::go_quote(other)
            ));
        }
    };
    match result {
        Ok(changed) => {
            if body.action == "stop" {
                // One line per requested check, stopped now or not (as Go).
                let uid = req
                    .uid()
                    .map_or_else(|| "<unknown>".to_string(), |u| u.to_string());
                for name in &body.checks {
                    crate::overlord::security_event(
                        &format!("sys_monitor_disabled:{uid},{name}"),
                        &format!("Stopping check {name}"),
                    );
                }
            }
            envelope::sync(&ChecksResult { changed })
        }
        Err(e) => envelope::bad_request(format!("cannot {} checks: {e}", body.action)),
    }
}

/// `POST /v1/checks/refresh` (admin): `{"name": "<check>"}`; runs the check now.
pub async fn refresh_check(mut req: Req) -> Resp {
    let body: CheckRefreshRequest = match req
        .decode_json("cannot decode data from request body")
        .await
    {
        Ok(b) => b,
        Err(r) => return r,
    };
    if body.name.is_empty() {
        return envelope::bad_request("must specify check name");
    }
    let mgr = match manager(&req) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    match mgr.refresh(&body.name).await {
        Ok((info, err)) => envelope::sync(&CheckRefreshResult {
            info,
            error: err.map(|e| e.full()).unwrap_or_default(),
        }),
        Err(e @ RefreshError::NotFound(_)) => envelope::not_found(e.to_string()),
    }
}
