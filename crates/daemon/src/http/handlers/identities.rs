//! `/v1/identities`: list (secrets masked) and add/update/replace/remove.

use crate::http::envelope::{self, Resp};
use crate::http::router::Req;
use crate::identities::{self, Action, ApiIdentity, Identities, Identity};
use crate::overlord::security_event;
use pebble_plan::quote::go_quote;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

fn manager(req: &Req) -> Arc<Identities> {
    match req.daemon.extension::<Identities>() {
        Some(m) => m,
        None => identities::install(&req.daemon),
    }
}

/// `GET /v1/identities` (read).
pub async fn list(req: Req) -> Resp {
    let all: BTreeMap<String, Identity> = manager(&req)
        .all()
        .iter()
        .map(|(n, i)| (n.clone(), i.masked()))
        .collect();
    envelope::sync(&all)
}

#[derive(Deserialize, Default)]
struct Body {
    #[serde(default, deserialize_with = "pebble_api::null_default")]
    action: String,
    #[serde(default, deserialize_with = "pebble_api::null_default")]
    identities: BTreeMap<String, Option<ApiIdentity>>,
}

/// `POST /v1/identities` (admin).
pub async fn post(mut req: Req) -> Resp {
    let body: Body = match req.decode_json("cannot decode request body").await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut items: BTreeMap<String, Option<Identity>> = BTreeMap::new();
    for (name, ai) in &body.identities {
        let ident = match ai {
            None => None,
            Some(ai) => match identities::from_api(name, ai) {
                Ok(i) => Some(i),
                Err(e) => {
                    return envelope::bad_request(format!(
                        "invalid identity for {}: {e}",
                        go_quote(name)
                    ));
                }
            },
        };
        items.insert(name.clone(), ident);
    }
    let action = match body.action.as_str() {
        "add" => Action::Add,
        "update" => Action::Update,
        "replace" => Action::Replace,
        "remove" => Action::Remove,
        other => {
            return envelope::bad_request(format!(
                "invalid action {}, must be \"add\", \"update\", \"replace\", or \"remove\"",
                go_quote(other)
            ));
        }
    };
    for (name, ident) in &items {
        match (action, ident) {
            (Action::Add | Action::Update, None) => {
                return envelope::bad_request(format!(
                    "identity value for {} must not be null for {} operation",
                    go_quote(name),
                    body.action
                ));
            }
            (Action::Remove, Some(_)) => {
                return envelope::bad_request(format!(
                    "identity value for {} must be null for {} operation",
                    go_quote(name),
                    body.action
                ));
            }
            _ => {}
        }
    }
    let who = match &req.user {
        Some(u) => match (u.uid, &u.username) {
            (Some(uid), _) => uid.to_string(),
            (None, Some(n)) => n.clone(),
            (None, None) => "<unknown>".into(),
        },
        None => "<unknown>".into(),
    };
    for (name, ident) in &items {
        match (action, ident) {
            (Action::Add, Some(i)) => security_event(
                &format!("user_created:{who},{name},{}", i.access),
                &format!("Creating {} user {name}", i.access),
            ),
            (Action::Update | Action::Replace, Some(i)) => security_event(
                &format!("user_updated:{who},{name},{}", i.access),
                &format!("Updating {} user {name}", i.access),
            ),
            _ => security_event(
                &format!("user_deleted:{who},{name}"),
                &format!("Deleting user {name}"),
            ),
        }
    }
    match manager(&req).change(&req.daemon, action, &items) {
        Ok(()) => envelope::sync_no_result(),
        Err(e) => envelope::bad_request(e),
    }
}
