//! `/v1/notices` and `/v1/notices/{id}`: list (with long-polling), add custom notices, get one.

use crate::http::envelope::{self, Resp};
use crate::http::router::{Req, UserAccess};
use crate::state::notices::{self, AddNoticeOptions, NoticeFilter, NoticeType};
use jiff::{SignedDuration, Timestamp};
use pebble_plan::quote::go_quote;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Maximum size of the JSON `data` of a custom notice.
const MAX_DATA_SIZE: usize = 4 * 1024;

fn forbidden(msg: impl Into<String>) -> Resp {
    envelope::error(403, msg)
}

fn is_admin(req: &Req) -> bool {
    req.user
        .as_ref()
        .is_some_and(|u| u.access == UserAccess::Admin)
}

/// Every value of a list parameter (repeated and/or comma-separated).
fn list_param(req: &Req, key: &str) -> Vec<String> {
    req.query_list(key)
}

/// `GET /v1/notices` (read).
pub async fn list(req: Req) -> Resp {
    let Some(uid) = req.uid() else {
        return forbidden("cannot determine UID of request, so cannot retrieve notices");
    };
    let admin = is_admin(&req);
    let mut user_id = Some(uid);
    if req.has_query("user-id") {
        if !admin {
            return forbidden("only admins may use the \"user-id\" filter");
        }
        let ids = list_param(&req, "user-id");
        if ids.len() != 1 {
            return envelope::bad_request(
                "invalid \"user-id\" filter: must only include one \"user-id\"",
            );
        }
        match parse_uid(&ids[0]) {
            Ok(u) => user_id = Some(u),
            Err(e) => return envelope::bad_request(format!("invalid \"user-id\" filter: {e}")),
        }
    }
    if req.has_query("users") {
        if !admin {
            return forbidden("only admins may use the \"users\" filter");
        }
        if req.has_query("user-id") {
            return envelope::bad_request("cannot use both \"users\" and \"user-id\" parameters");
        }
        if req.query("users") != "all" {
            return envelope::bad_request("invalid \"users\" filter: must be \"all\"");
        }
        user_id = None;
    }
    let type_strs = list_param(&req, "types");
    let types: Vec<NoticeType> = type_strs
        .iter()
        .filter_map(|t| NoticeType::parse(t))
        .collect();
    if types.is_empty() && !type_strs.is_empty() {
        return envelope::sync(&Vec::<pebble_api::Notice>::new());
    }
    let keys = list_param(&req, "keys");
    let after = match req.query("after") {
        "" => None,
        s => match parse_rfc3339(s) {
            Ok(t) => Some(t),
            Err(e) => return envelope::bad_request(format!("invalid \"after\" timestamp: {e}")),
        },
    };
    let filter = NoticeFilter {
        user_id,
        types,
        keys,
        after,
    };
    let timeout = match req.query("timeout") {
        "" => 0,
        s => match pebble_plan::go_duration::parse_nanos(s) {
            Ok(n) => n,
            Err(e) => return envelope::bad_request(format!("invalid timeout: {e}")),
        },
    };
    let state = req.daemon.state().clone();
    let found = if timeout > 0 {
        let d = Duration::from_nanos(u64::try_from(timeout).unwrap_or(u64::MAX));
        tokio::time::timeout(d, state.wait_notices(&filter))
            .await
            .unwrap_or_default()
    } else {
        state.notices(&filter)
    };
    envelope::sync(&found)
}

fn parse_uid(s: &str) -> Result<u32, String> {
    let n: i64 = s
        .parse()
        .map_err(|_| format!("strconv.ParseInt: parsing {}: invalid syntax", go_quote(s)))?;
    u32::try_from(n).map_err(|_| format!("user ID is not a valid uint32: {n}"))
}

/// `GET /v1/notices/{id}` (read).
pub async fn get(req: Req) -> Resp {
    let Some(uid) = req.uid() else {
        return forbidden("cannot determine UID of request, so cannot retrieve notice");
    };
    let id = req.var("id").to_string();
    let notice = id
        .parse::<u64>()
        .ok()
        .filter(|_| !(id.starts_with('+') || (id.len() > 1 && id.starts_with('0'))))
        .and_then(|n| req.daemon.state().notice(n));
    let Some(notice) = notice else {
        return envelope::not_found(format!("cannot find notice with ID {}", go_quote(&id)));
    };
    if !notice.visible_to(uid, is_admin(&req)) {
        return forbidden(format!(
            "not allowed to access notice with id {}",
            go_quote(&id)
        ));
    }
    envelope::sync(&notice.info())
}

#[derive(Deserialize, Default)]
struct AddBody {
    #[serde(default, deserialize_with = "pebble_api::null_default")]
    action: String,
    #[serde(
        rename = "type",
        default,
        deserialize_with = "pebble_api::null_default"
    )]
    type_: String,
    #[serde(default, deserialize_with = "pebble_api::null_default")]
    key: String,
    #[serde(
        rename = "repeat-after",
        default,
        deserialize_with = "pebble_api::null_default"
    )]
    repeat_after: String,
    #[serde(default)]
    data: Option<Value>,
}

/// Go's name of a JSON value's kind in unmarshal type errors.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `POST /v1/notices` (read): add a custom notice owned by the caller's uid.
pub async fn add(mut req: Req) -> Resp {
    let Some(uid) = req.uid() else {
        return forbidden("cannot determine UID of request, so cannot create notice");
    };
    let body: AddBody = match req.decode_json("cannot decode request body").await {
        Ok(b) => b,
        Err(r) => return r,
    };
    if body.action != "add" {
        return envelope::bad_request(format!("invalid action {}", go_quote(&body.action)));
    }
    if body.type_ != "custom" {
        return envelope::bad_request(format!(
            "invalid type {} (can only add \"custom\" notices)",
            go_quote(&body.type_)
        ));
    }
    if !notices::valid_custom_key(&body.key) {
        return envelope::bad_request(format!(
            "invalid key {} (must be in \"example.com/path\" format)",
            go_quote(&body.key)
        ));
    }
    if body.key.len() > notices::MAX_KEY_LEN {
        return envelope::bad_request(format!(
            "key must be {} bytes or less",
            notices::MAX_KEY_LEN
        ));
    }
    let repeat_after = if body.repeat_after.is_empty() {
        SignedDuration::ZERO
    } else {
        match pebble_plan::go_duration::parse_nanos(&body.repeat_after) {
            Ok(n) => SignedDuration::from_nanos(n),
            Err(e) => return envelope::bad_request(format!("invalid repeat-after: {e}")),
        }
    };
    let mut data = BTreeMap::new();
    match &body.data {
        None | Some(Value::Null) => {}
        Some(v) => {
            if serde_json::to_vec(v).map_or(0, |b| b.len()) > MAX_DATA_SIZE {
                return envelope::bad_request(format!(
                    "total size of data must be {MAX_DATA_SIZE} bytes or less"
                ));
            }
            let Value::Object(m) = v else {
                return envelope::bad_request(format!(
                    "cannot decode notice data: json: cannot unmarshal {} into Go value of type map[string]string",
                    json_kind(v)
                ));
            };
            for (k, v) in m {
                match v {
                    Value::String(s) => {
                        data.insert(k.clone(), s.clone());
                    }
                    Value::Null => {
                        data.insert(k.clone(), String::new());
                    }
                    other => {
                        return envelope::bad_request(format!(
                            "cannot decode notice data: json: cannot unmarshal {} into Go value of type string",
                            json_kind(other)
                        ));
                    }
                }
            }
        }
    }
    let id = req.daemon.state().add_notice(
        Some(uid),
        NoticeType::Custom,
        &body.key,
        AddNoticeOptions { data, repeat_after },
    );
    envelope::sync(&pebble_api::NoticeIdResult { id: id.to_string() })
}

/// Parse Go's `time.RFC3339` layout, with Go's error texts for malformed input
/// (`parsing time "x" as "2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006"`).
pub fn parse_rfc3339(s: &str) -> Result<Timestamp, String> {
    const LAYOUT: &str = "2006-01-02T15:04:05Z07:00";
    let err = |rest: &str, elem: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            go_quote(s),
            go_quote(LAYOUT),
            go_quote(rest),
            go_quote(elem)
        )
    };
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize, n: usize, elem: &str| -> Result<(), String> {
        if b.len() < *i + n || !b[*i..*i + n].iter().all(u8::is_ascii_digit) {
            return Err(err(&s[*i..], elem));
        }
        *i += n;
        Ok(())
    };
    let lit = |i: &mut usize, c: u8, elem: &str| -> Result<(), String> {
        if b.get(*i) != Some(&c) {
            return Err(err(&s[*i..], elem));
        }
        *i += 1;
        Ok(())
    };
    digits(&mut i, 4, "2006")?;
    lit(&mut i, b'-', "-")?;
    digits(&mut i, 2, "01")?;
    lit(&mut i, b'-', "-")?;
    digits(&mut i, 2, "02")?;
    lit(&mut i, b'T', "T")?;
    digits(&mut i, 2, "15")?;
    lit(&mut i, b':', ":")?;
    digits(&mut i, 2, "04")?;
    lit(&mut i, b':', ":")?;
    digits(&mut i, 2, "05")?;
    if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    match b.get(i) {
        Some(b'Z') => i += 1,
        Some(b'+') | Some(b'-') => {
            i += 1;
            digits(&mut i, 2, "Z07:00").map_err(|_| err(&s[i - 1..], "Z07:00"))?;
            lit(&mut i, b':', "Z07:00").map_err(|_| err(&s[i - 3..], "Z07:00"))?;
            digits(&mut i, 2, "Z07:00").map_err(|_| err(&s[i - 4..], "Z07:00"))?;
        }
        _ => return Err(err(&s[i..], "Z07:00")),
    }
    if i != b.len() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            go_quote(s),
            go_quote(&s[i..])
        ));
    }
    s.replace(',', ".")
        .parse::<Timestamp>()
        .map_err(|_| format!("parsing time {}: value out of range", go_quote(s)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rfc3339_errors_read_as_go() {
        assert_eq!(
            parse_rfc3339("bogus").unwrap_err(),
            "parsing time \"bogus\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"bogus\" as \"2006\""
        );
        assert_eq!(
            parse_rfc3339("2024-01-02X").unwrap_err(),
            "parsing time \"2024-01-02X\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"X\" as \"T\""
        );
        let t = parse_rfc3339("2024-01-02T03:04:05.123456789Z").unwrap();
        assert_eq!(t.to_string(), "2024-01-02T03:04:05.123456789Z");
        let t = parse_rfc3339("2024-01-02T03:04:05+02:00").unwrap();
        assert_eq!(t.to_string(), "2024-01-02T01:04:05Z");
    }
}
