//! `GET /v1/system-info` and `GET /v1/health`.

use crate::http::envelope::{self, Resp};
use crate::http::router::Req;
use pebble_api::{Health, SystemInfo};

/// `GET /v1/system-info` (open).
pub async fn system_info(req: Req) -> Resp {
    let d = &req.daemon;
    envelope::sync(&SystemInfo {
        boot_id: d.boot_id().to_string(),
        http_address: d.http_address().to_string(),
        https_address: String::new(),
        version: crate::overlord::VERSION.to_string(),
    })
}

/// `GET /v1/health` (open): 200 healthy, 502 (type sync) unhealthy.
pub async fn health(req: Req) -> Resp {
    let level = req.query("level");
    if !matches!(level, "" | "alive" | "ready") {
        return envelope::bad_request("level must be \"alive\" or \"ready\"");
    }
    let names = req.query_list("names");
    match req.daemon.health(level, &names) {
        Ok(true) => envelope::sync(&Health { healthy: true }),
        Ok(false) => envelope::sync_status(502, &Health { healthy: false }),
        Err(_) => envelope::internal_error("internal server error"),
    }
}
