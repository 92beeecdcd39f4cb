//! `GET`/`POST /v1/services` and the `/v1/services/{name}` stub.

use crate::http::envelope::{self, Resp};
use crate::http::router::Req;
use crate::overlord::ActionError;
use pebble_api::{ServiceInfo, ServicesRequest};

/// `GET /v1/services?names=` (read).
pub async fn list(req: Req) -> Resp {
    let names = req.query_list("names");
    let infos: Vec<ServiceInfo> = req
        .daemon
        .services()
        .services(&names)
        .into_iter()
        .map(|s| ServiceInfo {
            name: s.name,
            startup: s.startup,
            current: s.current.to_string(),
            current_since: s.current_since.and_then(|t| {
                jiff::Timestamp::try_from(t)
                    .ok()
                    .map(crate::timefmt::rfc3339_nano)
            }),
        })
        .collect();
    envelope::sync(&infos)
}

/// `POST /v1/services` (admin): start, stop, restart, autostart, replan.
pub async fn action(mut req: Req) -> Resp {
    let body: ServicesRequest = match req
        .decode_json("cannot decode data from request body")
        .await
    {
        Ok(b) => b,
        Err(r) => return r,
    };
    match req.daemon.service_action(&body.action, &body.services) {
        Ok(ids) => envelope::async_change(ids.change),
        Err(ActionError::NoDefaultServices) => envelope::error_kind(
            400,
            pebble_api::kinds::NO_DEFAULT_SERVICES,
            "no default services",
        ),
        Err(ActionError::BadRequest(m)) => envelope::bad_request(m),
    }
}

/// `GET`/`POST /v1/services/{name}`: always 400 `not implemented`, as Pebble.
pub async fn not_implemented(_req: Req) -> Resp {
    envelope::bad_request("not implemented")
}
