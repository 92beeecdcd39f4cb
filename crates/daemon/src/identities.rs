//! Identities: named users with an access level, matched to requests by their local uid.
//!
//! Stored in the state under the data key `identities` (name → identity with secrets), cached
//! in an [`Identities`] manager that also resolves the caller of each request (installed with
//! [`install`]). A `local` identity whose `user-id` is the peer uid of a Unix-socket request
//! gives that request the identity's access (it can demote root too); requests without a
//! matching identity get the defaults (root and the daemon's uid admin, other uids read).
//!
//! A request carrying HTTP basic credentials is matched against the `basic` identity of that
//! name instead (password checked against its sha512-crypt hash); a wrong name or password gives
//! no identity, and the uid defaults apply. Cert identities are stored, listed and validated, but
//! never match: pebble-rs has no HTTPS listener.

use crate::http::router::{Transport, UserAccess, UserState};
use crate::overlord::Daemon;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The state data key of the identities.
pub const STATE_KEY: &str = "identities";

/// `local` part of an identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalIdentity {
    /// The uid it matches.
    #[serde(rename = "user-id")]
    pub user_id: u32,
}

/// `basic` part of an identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BasicIdentity {
    /// sha512-crypt hash of the password.
    pub password: String,
}

/// `cert` part of an identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertIdentity {
    /// One PEM `CERTIFICATE` block.
    pub pem: String,
}

/// An identity as stored (with secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `admin`, `read`, `metrics` or `untrusted`.
    pub access: String,
    /// Local (uid) identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalIdentity>,
    /// Basic-auth identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<BasicIdentity>,
    /// Client-certificate identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<CertIdentity>,
}

impl Identity {
    /// The API view: secrets masked as `*****`.
    pub fn masked(&self) -> Identity {
        Identity {
            access: self.access.clone(),
            local: self.local.clone(),
            basic: self.basic.as_ref().map(|_| BasicIdentity {
                password: "*****".into(),
            }),
            cert: self.cert.as_ref().map(|_| CertIdentity {
                pem: "*****".into(),
            }),
        }
    }

    fn user_access(&self) -> UserAccess {
        match self.access.as_str() {
            "admin" => UserAccess::Admin,
            "read" => UserAccess::Read,
            "metrics" => UserAccess::Metrics,
            _ => UserAccess::Untrusted,
        }
    }
}

/// An identity as sent to `POST /v1/identities` (a `local` without `user-id` is an error).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApiIdentity {
    /// Access level.
    #[serde(default, deserialize_with = "pebble_api::null_default")]
    pub access: String,
    /// Local part.
    #[serde(default)]
    pub local: Option<ApiLocal>,
    /// Basic part.
    #[serde(default)]
    pub basic: Option<ApiBasic>,
    /// Cert part.
    #[serde(default)]
    pub cert: Option<ApiCert>,
}

/// `local` as sent by clients.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApiLocal {
    /// The uid (required).
    #[serde(rename = "user-id", default)]
    pub user_id: Option<u32>,
}

/// `basic` as sent by clients.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApiBasic {
    /// Password hash.
    #[serde(default, deserialize_with = "pebble_api::null_default")]
    pub password: String,
}

/// `cert` as sent by clients.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApiCert {
    /// PEM text.
    #[serde(default, deserialize_with = "pebble_api::null_default")]
    pub pem: String,
}

const ACCESS_CHOICES: &str = "\"admin\", \"read\", \"metrics\", or \"untrusted\"";

/// Validate an identity sent by a client and turn it into the stored form. Errors are Pebble's
/// texts (the handler prefixes `invalid identity for "<name>": `).
pub fn from_api(name: &str, ai: &ApiIdentity) -> Result<Identity, String> {
    let local = match &ai.local {
        Some(l) => match l.user_id {
            Some(uid) => Some(LocalIdentity { user_id: uid }),
            None => return Err("local identity must specify user-id".into()),
        },
        None => None,
    };
    let cert = match &ai.cert {
        Some(c) => {
            check_pem(&c.pem)?;
            Some(CertIdentity { pem: c.pem.clone() })
        }
        None => None,
    };
    if !valid_name(name) {
        return Err(format!(
            "identity name {} invalid: must start with an alphabetic character and only contain alphanumeric characters, underscore, and hyphen",
            pebble_plan::quote::go_quote(name)
        ));
    }
    match ai.access.as_str() {
        "admin" | "read" | "metrics" | "untrusted" => {}
        "" => return Err(format!("access value must be specified ({ACCESS_CHOICES})")),
        other => {
            return Err(format!(
                "invalid access value {}, must be {ACCESS_CHOICES}",
                pebble_plan::quote::go_quote(other)
            ));
        }
    }
    let basic = match &ai.basic {
        Some(b) if b.password.is_empty() => {
            return Err("basic identity must specify password (hashed)".into());
        }
        Some(b) => Some(BasicIdentity {
            password: b.password.clone(),
        }),
        None => None,
    };
    if local.is_none() && basic.is_none() && cert.is_none() {
        return Err(
            "identity must have at least one type (\"local\", \"basic\", or \"cert\")".into(),
        );
    }
    Ok(Identity {
        access: ai.access.clone(),
        local,
        basic,
        cert,
    })
}

/// `^[a-zA-Z][a-zA-Z0-9_\-]*$`
fn valid_name(name: &str) -> bool {
    let mut b = name.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// One PEM block with base64 content and nothing after it.
fn check_pem(pem: &str) -> Result<(), String> {
    const NEED: &str = "cert identity must include a PEM-encoded certificate";
    let Some(start) = pem.find("-----BEGIN ") else {
        return Err(NEED.into());
    };
    let rest = &pem[start..];
    let Some(head_end) = rest.find("-----\n").or_else(|| rest.find("-----\r\n")) else {
        return Err(NEED.into());
    };
    let label = &rest["-----BEGIN ".len()..head_end];
    let end_marker = format!("-----END {label}-----");
    let body_start = rest[head_end..]
        .find('\n')
        .map_or(rest.len(), |i| head_end + i + 1);
    let Some(end) = rest[body_start..].find(&end_marker) else {
        return Err(NEED.into());
    };
    let body = &rest[body_start..body_start + end];
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    if b64.is_empty()
        || !b64.len().is_multiple_of(4)
        || !b64
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'=')
    {
        return Err(NEED.into());
    }
    let after = &rest[body_start + end + end_marker.len()..];
    let after = after
        .strip_prefix("\r\n")
        .or_else(|| after.strip_prefix('\n'))
        .unwrap_or(after);
    if !after.is_empty() {
        return Err("cert identity cannot have extra data after the PEM block".into());
    }
    Ok(())
}

/// What `POST /v1/identities` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Add new identities (none may exist).
    Add,
    /// Update existing identities.
    Update,
    /// Upsert, deleting those given as null.
    Replace,
    /// Delete existing identities.
    Remove,
}

/// Apply an action to `current`. Values are `None` for null (replace/remove).
pub fn apply(
    current: &BTreeMap<String, Identity>,
    action: Action,
    items: &BTreeMap<String, Option<Identity>>,
) -> Result<BTreeMap<String, Identity>, String> {
    let mut next = current.clone();
    let missing = || -> Vec<&str> {
        items
            .keys()
            .filter(|n| !current.contains_key(*n))
            .map(String::as_str)
            .collect()
    };
    match action {
        Action::Add => {
            let existing: Vec<&str> = items
                .keys()
                .filter(|n| current.contains_key(*n))
                .map(String::as_str)
                .collect();
            if !existing.is_empty() {
                return Err(format!("identities already exist: {}", existing.join(", ")));
            }
        }
        Action::Update | Action::Remove => {
            let m = missing();
            if !m.is_empty() {
                return Err(format!("identities do not exist: {}", m.join(", ")));
            }
        }
        Action::Replace => {}
    }
    for (name, ident) in items {
        match (action, ident) {
            (Action::Remove, _) | (Action::Replace, None) => {
                next.remove(name);
            }
            (_, Some(i)) => {
                next.insert(name.clone(), i.clone());
            }
            (_, None) => {}
        }
    }
    let mut by_uid: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    for (name, i) in &next {
        if let Some(l) = &i.local {
            by_uid.entry(l.user_id).or_default().push(name);
        }
    }
    if let Some((uid, names)) = by_uid.iter().find(|(_, n)| n.len() > 1) {
        return Err(format!(
            "cannot have multiple identities with user ID {uid} ({})",
            names.join(", ")
        ));
    }
    Ok(next)
}

/// The identities manager: a cache of the state's identities and the request resolver.
#[derive(Debug, Default)]
pub struct Identities {
    current: Mutex<BTreeMap<String, Identity>>,
    /// Whether any identity has a local part: without one a peer uid matches none, and the
    /// resolver answers without taking the lock (it runs for every request).
    any_local: std::sync::atomic::AtomicBool,
}

impl Identities {
    fn new(current: BTreeMap<String, Identity>) -> Identities {
        let ids = Identities::default();
        ids.set(&mut ids.lock(), current);
        ids
    }

    /// Replace the identities (under their lock, `g`).
    fn set(&self, g: &mut BTreeMap<String, Identity>, next: BTreeMap<String, Identity>) {
        let any_local = next.values().any(|i| i.local.is_some());
        *g = next;
        self.any_local
            .store(any_local, std::sync::atomic::Ordering::Release);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Identity>> {
        match self.current.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// A copy of every identity.
    pub fn all(&self) -> BTreeMap<String, Identity> {
        self.lock().clone()
    }

    /// Apply an action and persist the result in the daemon state.
    pub fn change(
        &self,
        daemon: &Daemon,
        action: Action,
        items: &BTreeMap<String, Option<Identity>>,
    ) -> Result<(), String> {
        let mut g = self.lock();
        let next = apply(&g, action, items)?;
        let value = serde_json::to_value(&next).map_err(|e| e.to_string())?;
        daemon.state().set_data(
            STATE_KEY,
            if next.is_empty() {
                serde_json::Value::Null
            } else {
                value
            },
        );
        self.set(&mut g, next);
        Ok(())
    }

    /// The caller of a request: with basic credentials, the basic identity they name and
    /// unlock; otherwise the local identity of the peer uid.
    pub fn resolve(
        &self,
        _transport: Transport,
        uid: Option<u32>,
        basic: Option<(&str, &str)>,
    ) -> Option<UserState> {
        if let Some((user, pass)) = basic.filter(|(u, p)| !u.is_empty() || !p.is_empty()) {
            let ident = {
                let g = self.lock();
                g.get(user).filter(|i| i.basic.is_some()).cloned()?
            };
            let hash = ident.basic.as_ref().map(|b| b.password.as_str())?;
            if !crate::shacrypt::verify(pass.as_bytes(), hash) {
                return None;
            }
            return Some(UserState {
                access: ident.user_access(),
                uid: if ident.local.is_some() { uid } else { None },
                username: Some(user.to_string()),
            });
        }
        let uid = uid?;
        if !self.any_local.load(std::sync::atomic::Ordering::Acquire) {
            return None;
        }
        let g = self.lock();
        let (name, ident) = g
            .iter()
            .find(|(_, i)| i.local.as_ref().is_some_and(|l| l.user_id == uid))?;
        Some(UserState {
            access: ident.user_access(),
            uid: Some(uid),
            username: Some(name.clone()),
        })
    }
}

/// Read an identities file (`identities: {name: identity|null}` YAML, as `pebble
/// add-identities --from` and `pebble run --identities` take) into JSON values. Errors are Go
/// Pebble's texts.
pub fn read_identities_yaml(
    text: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let doc = pebble_plan::parse_yaml_value(text)
        .map_err(|e| format!("cannot unmarshal identities: {e}"))?;
    let ids = match doc {
        Some(pebble_plan::YamlValue::Map(pairs)) => pairs
            .into_iter()
            .find(|(k, _)| k == "identities")
            .map(|(_, v)| yaml_to_json(&v)),
        _ => None,
    };
    match ids {
        Some(serde_json::Value::Object(m)) if !m.is_empty() => Ok(m),
        _ => Err("no identities to add; did you forget the top-level \"identities\" key?".into()),
    }
}

fn yaml_to_json(v: &pebble_plan::YamlValue) -> serde_json::Value {
    use pebble_plan::YamlValue as Y;
    use serde_json::Value;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(*b),
        Y::Int(i) => i64::try_from(*i)
            .map(Value::from)
            .or_else(|_| u64::try_from(*i).map(Value::from))
            .unwrap_or(Value::Null),
        Y::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Y::Str(s) => Value::String(s.clone()),
        Y::Seq(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Y::Map(pairs) => Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.clone(), yaml_to_json(v)))
                .collect(),
        ),
    }
}

/// `pebble run --identities FILE`: replace identities from the file at startup, as Go Pebble
/// does through its API (same security and request log lines). Errors read
/// `cannot read identities: ...` or `cannot replace identities: ...`.
pub fn seed_from_file(daemon: &Daemon, path: &std::path::Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read identities: open {}: {}",
            path.display(),
            crate::sys::errno_text(&e)
        )
    })?;
    let values = read_identities_yaml(&text).map_err(|e| format!("cannot read identities: {e}"))?;
    let start = std::time::Instant::now();
    let mut items: BTreeMap<String, Option<Identity>> = BTreeMap::new();
    for (name, v) in values {
        let ai: Option<ApiIdentity> = serde_json::from_value(v)
            .map_err(|e| format!("cannot replace identities: cannot decode request body: {e}"))?;
        let ident = match ai {
            None => None,
            Some(ai) => Some(from_api(&name, &ai).map_err(|e| {
                format!(
                    "cannot replace identities: invalid identity for {}: {e}",
                    pebble_plan::quote::go_quote(&name)
                )
            })?),
        };
        items.insert(name, ident);
    }
    let who = daemon.uid();
    for (name, ident) in &items {
        match ident {
            Some(i) => crate::overlord::security_event(
                &format!("user_updated:{who},{name},{}", i.access),
                &format!("Updating {} user {name}", i.access),
            ),
            None => crate::overlord::security_event(
                &format!("user_deleted:{who},{name}"),
                &format!("Deleting user {name}"),
            ),
        }
    }
    let mgr = match daemon.extension::<Identities>() {
        Some(m) => m,
        None => install(daemon),
    };
    let res = mgr.change(daemon, Action::Replace, &items);
    crate::pebble_log!(
        "POST /v1/identities {} {} (http+unix)",
        pebble_plan::GoDuration::from(start.elapsed()),
        if res.is_ok() { 200 } else { 400 }
    );
    res.map_err(|e| format!("cannot replace identities: {e}"))
}

/// The credentials of an `Authorization: Basic <base64 user:password>` header (as Go's
/// `Request.BasicAuth`: scheme case-insensitive, standard base64, split at the first `:`).
pub fn basic_auth(headers: &http::HeaderMap) -> Option<(String, String)> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case("basic ") {
        return None;
    }
    let decoded = base64_decode(rest)?;
    let text = String::from_utf8(decoded).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Standard base64 with padding (strict, as Go's `StdEncoding`).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (i, chunk) in b.chunks(4).enumerate() {
        let last = i == b.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|c| **c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut w = 0u32;
        for &c in &chunk[..4 - pad] {
            w = (w << 6) | val(c)?;
        }
        w <<= 6 * pad as u32;
        let bytes = w.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    Some(out)
}

/// Load the identities from the state and install the manager and the request resolver.
pub fn install(daemon: &Daemon) -> Arc<Identities> {
    let loaded: BTreeMap<String, Identity> = daemon
        .state()
        .get_data(STATE_KEY)
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let mgr = Arc::new(Identities::new(loaded));
    daemon.set_extension(mgr.clone());
    let m = mgr.clone();
    daemon.set_user_resolver(Arc::new(move |transport, uid, headers| {
        let creds = basic_auth(headers);
        m.resolve(
            transport,
            uid,
            creds.as_ref().map(|(u, p)| (u.as_str(), p.as_str())),
        )
    }));
    mgr
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn local(access: &str, uid: u32) -> Identity {
        Identity {
            access: access.into(),
            local: Some(LocalIdentity { user_id: uid }),
            basic: None,
            cert: None,
        }
    }

    #[test]
    fn validation_messages() {
        let ai = |json: &str| -> ApiIdentity { serde_json::from_str(json).unwrap() };
        assert_eq!(
            from_api("dave", &ai(r#"{"access":"root","local":{"user-id":1}}"#)).unwrap_err(),
            "invalid access value \"root\", must be \"admin\", \"read\", \"metrics\", or \"untrusted\""
        );
        assert_eq!(
            from_api("erin", &ai(r#"{"access":"read"}"#)).unwrap_err(),
            "identity must have at least one type (\"local\", \"basic\", or \"cert\")"
        );
        assert_eq!(
            from_api("x", &ai(r#"{"access":"read","local":{}}"#)).unwrap_err(),
            "local identity must specify user-id"
        );
        assert_eq!(
            from_api("x", &ai(r#"{"local":{"user-id":1}}"#)).unwrap_err(),
            "access value must be specified (\"admin\", \"read\", \"metrics\", or \"untrusted\")"
        );
        assert_eq!(
            from_api("x", &ai(r#"{"access":"metrics","basic":{}}"#)).unwrap_err(),
            "basic identity must specify password (hashed)"
        );
        assert!(
            from_api("1x", &ai(r#"{"access":"read","local":{"user-id":1}}"#))
                .unwrap_err()
                .starts_with("identity name \"1x\" invalid")
        );
        assert_eq!(
            from_api("x", &ai(r#"{"access":"read","cert":{"pem":"..."}}"#)).unwrap_err(),
            "cert identity must include a PEM-encoded certificate"
        );
        let pem = "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n";
        assert!(
            from_api(
                "x",
                &ai(&serde_json::json!({"access":"read","cert":{"pem":pem}}).to_string())
            )
            .is_ok()
        );
        let extra = format!("{pem}junk");
        assert_eq!(
            from_api(
                "x",
                &ai(&serde_json::json!({"access":"read","cert":{"pem":extra}}).to_string())
            )
            .unwrap_err(),
            "cert identity cannot have extra data after the PEM block"
        );
    }

    #[test]
    fn identities_files() {
        let m = read_identities_yaml(
            "identities:\n    alice:\n        access: admin\n        local:\n            user-id: 1000\n    bob: null\n",
        )
        .unwrap();
        assert_eq!(m["alice"]["local"]["user-id"], 1000);
        assert!(m["bob"].is_null());
        assert_eq!(
            read_identities_yaml("alice: {}\n").unwrap_err(),
            "no identities to add; did you forget the top-level \"identities\" key?"
        );
        assert!(
            read_identities_yaml("identities: [\n")
                .unwrap_err()
                .starts_with("cannot unmarshal identities: yaml: line ")
        );
    }

    #[test]
    fn basic_credentials_pick_the_basic_identity() {
        let golden = "$6$goldensalt$fUbARX.Tx8g7STXAQDwfMcbvDxCzyVO8CNdKFHBi3rSOahAa4nh4fWsGa0tiUBFSgLxAlSojz7MkWg9bSm79R.";
        let m = Identities::new(BTreeMap::from([
            (
                "mon".to_string(),
                Identity {
                    access: "metrics".into(),
                    local: None,
                    basic: Some(BasicIdentity {
                        password: golden.into(),
                    }),
                    cert: None,
                },
            ),
            ("me".to_string(), local("admin", 0)),
        ]));
        let u = m
            .resolve(Transport::Http, None, Some(("mon", "secret")))
            .unwrap();
        assert_eq!(u.access, UserAccess::Metrics);
        assert_eq!(u.uid, None);
        assert_eq!(u.username.as_deref(), Some("mon"));
        // A wrong password or name matches nothing, even with a uid that has a local identity.
        assert!(
            m.resolve(Transport::Unix, Some(0), Some(("mon", "nope")))
                .is_none()
        );
        assert!(
            m.resolve(Transport::Unix, Some(0), Some(("me", "secret")))
                .is_none()
        );
        // Empty credentials are no credentials.
        assert!(
            m.resolve(Transport::Unix, Some(0), Some(("", "")))
                .is_some()
        );
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("basic bW9uOnNlY3JldA=="),
        );
        assert_eq!(basic_auth(&h), Some(("mon".into(), "secret".into())));
        h.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Basic bW9uOnNlY3JldA="),
        );
        assert_eq!(basic_auth(&h), None);
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("YWI=").unwrap(), b"ab");
        assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
    }

    #[test]
    fn actions() {
        let cur = BTreeMap::from([("alice".to_string(), local("admin", 1000))]);
        let add = BTreeMap::from([
            ("alice".to_string(), Some(local("read", 1))),
            ("bob".to_string(), Some(local("read", 2))),
        ]);
        assert_eq!(
            apply(&cur, Action::Add, &add).unwrap_err(),
            "identities already exist: alice"
        );
        let upd = BTreeMap::from([("carol".to_string(), Some(local("read", 3)))]);
        assert_eq!(
            apply(&cur, Action::Update, &upd).unwrap_err(),
            "identities do not exist: carol"
        );
        let dup = BTreeMap::from([("bob".to_string(), Some(local("read", 1000)))]);
        assert_eq!(
            apply(&cur, Action::Add, &dup).unwrap_err(),
            "cannot have multiple identities with user ID 1000 (alice, bob)"
        );
        let rep = BTreeMap::from([
            ("alice".to_string(), None),
            ("bob".to_string(), Some(local("read", 2))),
        ]);
        let next = apply(&cur, Action::Replace, &rep).unwrap();
        assert_eq!(next.keys().collect::<Vec<_>>(), vec!["bob"]);
        let rm = BTreeMap::from([("alice".to_string(), None)]);
        assert!(apply(&cur, Action::Remove, &rm).unwrap().is_empty());
        assert_eq!(
            apply(&next, Action::Remove, &rm).unwrap_err(),
            "identities do not exist: alice"
        );
    }

    #[test]
    fn local_identity_sets_access_for_its_uid() {
        let m = Identities::new(BTreeMap::from([
            ("root-demoted".to_string(), local("untrusted", 0)),
            ("bob".to_string(), local("admin", 1000)),
        ]));
        let u = m.resolve(Transport::Unix, Some(1000), None).unwrap();
        assert_eq!(u.access, UserAccess::Admin);
        assert_eq!(u.username.as_deref(), Some("bob"));
        assert_eq!(
            m.resolve(Transport::Unix, Some(0), None).unwrap().access,
            UserAccess::Untrusted
        );
        assert!(m.resolve(Transport::Unix, Some(5), None).is_none());
        assert!(m.resolve(Transport::Http, None, None).is_none());
    }
}
