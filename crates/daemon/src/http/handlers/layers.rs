//! `POST /v1/layers` and `GET /v1/plan`.

use crate::http::envelope::{self, Resp};
use crate::http::router::Req;
use pebble_api::LayersRequest;
use pebble_plan::quote::go_quote;

/// `POST /v1/layers` (admin): add or combine a layer.
pub async fn add(mut req: Req) -> Resp {
    let body: LayersRequest = match req.decode_json("cannot decode request body").await {
        Ok(b) => b,
        Err(r) => return r,
    };
    if body.action != "add" {
        return envelope::bad_request(format!("invalid action {}", go_quote(&body.action)));
    }
    if body.label.is_empty() {
        return envelope::bad_request("label must be set");
    }
    if body.format != "yaml" {
        return envelope::bad_request(format!("invalid format {}", go_quote(&body.format)));
    }
    let layer = match pebble_plan::parse_layer(0, &body.label, body.layer.as_bytes()) {
        Ok(l) => l,
        Err(e) if e.is_parse() => {
            return envelope::bad_request(format!("cannot parse layer YAML: {e}"));
        }
        Err(e) => return envelope::bad_request(e.to_string()),
    };
    let uid = req
        .uid()
        .map_or_else(|| "<unknown>".to_string(), |u| u.to_string());
    crate::overlord::security_event(
        &format!("authz_admin:{uid},add_layer"),
        &format!("Adding layer {}", body.label),
    );
    match req.daemon.add_layer(layer, body.combine, body.inner) {
        Ok(()) => envelope::sync(&true),
        Err(e) => envelope::bad_request(e.to_string()),
    }
}

/// `GET /v1/plan?format=yaml` (admin).
pub async fn plan(req: Req) -> Resp {
    let format = req.query("format");
    if format != "yaml" {
        return envelope::bad_request(format!("invalid format {}", go_quote(format)));
    }
    let yaml = req.daemon.plan().to_yaml();
    envelope::sync(&yaml)
}
