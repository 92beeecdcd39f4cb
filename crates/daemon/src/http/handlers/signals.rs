//! `POST /v1/signals`.

use crate::http::envelope::{self, Resp};
use crate::http::router::Req;
use pebble_api::SignalsRequest;

/// `POST /v1/signals` (admin): errors are 500, as Pebble.
pub async fn signals(mut req: Req) -> Resp {
    let body: SignalsRequest = match req.decode_json("cannot decode request body").await {
        Ok(b) => b,
        Err(r) => return r,
    };
    if body.services.is_empty() {
        return envelope::bad_request("must specify one or more services");
    }
    match req
        .daemon
        .services()
        .send_signal(&body.services, &body.signal)
    {
        Ok(()) => envelope::sync(&true),
        Err(e) => envelope::internal_error(e.to_string()),
    }
}
