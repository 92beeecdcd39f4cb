//! `GET`/`POST /v1/services` and the `/v1/services/{name}` stub.

use crate::http::envelope::{self, Resp};
use crate::http::router::{Req, SyncReq};
use crate::overlord::ActionError;
#[cfg(test)]
use crate::servstate::ServiceStatus;
use crate::servstate::{ServiceStatusIter, ServiceStatusRef};
#[cfg(test)]
use pebble_api::ServiceInfo;
use pebble_api::ServicesRequest;
use pebble_api::gojson::write_go_str;

/// `GET /v1/services?names=` (read).
pub fn list(req: &SyncReq<'_>) -> Resp {
    let names = req.query_list("names");
    let manager = req.daemon.services();
    let render = |services: ServiceStatusIter<'_>| {
        let hint = 96 * services.size_hint().1.unwrap_or(0);
        envelope::sync_body_with(hint, |out| write_service_infos(out, services))
    };
    if names.is_empty() {
        // Polled: the same bytes until a service or the plan changes.
        let body = manager.full_list_rendered(|services| bytes::Bytes::from(render(services)));
        return envelope::json_response(200, body);
    }
    manager.services_with(&names, |services| {
        envelope::json_response(200, render(services))
    })
}

/// The `current-since` text of a service, if it was ever started.
#[cfg(test)]
fn current_since(since: Option<std::time::SystemTime>) -> Option<String> {
    since.and_then(|t| {
        jiff::Timestamp::try_from(t)
            .ok()
            .map(crate::timefmt::rfc3339_nano)
    })
}

/// Append `services` as the JSON array of [`ServiceInfo`](pebble_api::ServiceInfo) objects, byte for byte what serde
/// writes for them (checked by the tests), without building them: this is the hottest endpoint
/// (clients poll it).
fn write_service_infos<'a>(
    out: &mut Vec<u8>,
    services: impl Iterator<Item = ServiceStatusRef<'a>>,
) {
    out.push(b'[');
    for (i, s) in services.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        write_go_str(out, s.name, true);
        out.extend_from_slice(b",\"startup\":");
        write_go_str(out, s.startup, true);
        out.extend_from_slice(b",\"current\":");
        write_go_str(out, s.current, true);
        if let Some(since) = s.current_since_text {
            out.extend_from_slice(b",\"current-since\":");
            write_go_str(out, since, true);
        }
        out.push(b'}');
    }
    out.push(b']');
}

/// The same list through [`ServiceInfo`] and serde (the reference for the tests).
#[cfg(test)]
fn service_infos(services: Vec<ServiceStatus>) -> Vec<ServiceInfo> {
    services
        .into_iter()
        .map(|s| ServiceInfo {
            current_since: current_since(s.current_since),
            name: s.name,
            startup: s.startup,
            current: s.current.to_string(),
        })
        .collect()
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn direct_json_matches_serde() {
        let st =
            |name: &str, startup: &str, current: &'static str, since: Option<u64>| ServiceStatus {
                name: name.to_string(),
                startup: startup.to_string(),
                current,
                current_since: since.map(|ns| UNIX_EPOCH + Duration::from_nanos(ns)),
            };
        let cases = vec![
            vec![],
            vec![st("svc1", "disabled", "inactive", None)],
            vec![
                st("a", "enabled", "active", Some(1_764_206_158_123_456_789)),
                st(
                    "b<&>\"\\é",
                    "disabled",
                    "backoff",
                    Some(1_764_206_158_000_000_000),
                ),
                st("c", "enabled", "error", Some(1_000)),
            ],
        ];
        for services in cases {
            let mut fast = Vec::new();
            let texts: Vec<_> = services
                .iter()
                .map(|s| current_since(s.current_since))
                .collect();
            let refs = services
                .iter()
                .zip(&texts)
                .map(|(s, text)| ServiceStatusRef {
                    name: &s.name,
                    startup: if s.startup == "enabled" {
                        "enabled"
                    } else {
                        "disabled"
                    },
                    current: s.current,
                    current_since: s.current_since,
                    current_since_text: text.as_deref(),
                });
            write_service_infos(&mut fast, refs);
            let slow = pebble_api::to_go_json(&service_infos(services));
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(slow).unwrap()
            );
        }
    }
}
