//! `pebble notify`, `notices`, `notice`, `okay` and `warnings`, and the CLI state file that
//! remembers what was last listed and acknowledged.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use pebble_api::Notice;
use pebble_client::Query;
use serde::{Deserialize, Serialize};

use crate::ctx::{self, Ctx};
use crate::error::CliError;
use crate::format::tabwriter;
use crate::format::times::TimeFmt;
use crate::format::yaml::Yaml;

/// Arguments of `pebble notify`.
#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// Prevent notice with same type and key from reoccurring within this duration.
    #[arg(long = "repeat-after", value_name = "duration")]
    pub repeat_after: Option<String>,
    /// Notice key (`example.com/path` form).
    #[arg(value_name = "key")]
    pub key: String,
    /// Data as `name=value` pairs.
    #[arg(value_name = "name=value")]
    pub data: Vec<String>,
}

/// Arguments of `pebble notices`.
#[derive(Debug, Args)]
pub struct NoticesArgs {
    /// The notice owners to list: `all` (admin only).
    #[arg(long, value_name = "users")]
    pub users: Option<String>,
    /// Only list notices of this user (admin only).
    #[arg(long, value_name = "uid")]
    pub uid: Option<u32>,
    /// Only list notices of this type (multiple allowed).
    #[arg(long = "type", value_name = "type")]
    pub types: Vec<String>,
    /// Only list notices with this key (multiple allowed).
    #[arg(long = "key", value_name = "key")]
    pub keys: Vec<String>,
    /// Wait up to this duration for matching notices to arrive.
    #[arg(long, value_name = "duration")]
    pub timeout: Option<String>,
    /// Display absolute times (in RFC 3339 format).
    #[arg(long = "abs-time")]
    pub abs_time: bool,
}

/// Arguments of `pebble notice`.
#[derive(Debug, Args)]
pub struct NoticeArgs {
    /// Look up a notice of the user with this UID (admin only; type and key variant only).
    #[arg(long, value_name = "uid")]
    pub uid: Option<u32>,
    /// Notice id, or notice type when a key follows.
    #[arg(value_name = "id-or-type")]
    pub id_or_type: String,
    /// Notice key.
    #[arg(value_name = "key")]
    pub key: Option<String>,
}

/// Arguments of `pebble okay`.
#[derive(Debug, Args)]
pub struct OkayArgs {
    /// Only acknowledge warnings, not other notices.
    #[arg(long)]
    pub warnings: bool,
}

/// Arguments of `pebble warnings`.
#[derive(Debug, Args)]
pub struct WarningsArgs {
    /// Show all warnings, including acknowledged ones.
    #[arg(long)]
    pub all: bool,
    /// Display absolute times (in RFC 3339 format).
    #[arg(long = "abs-time")]
    pub abs_time: bool,
    /// Show more information.
    #[arg(long)]
    pub verbose: bool,
}

/// What the CLI remembers per socket (`$XDG_CONFIG_HOME/pebble/cli.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SocketState {
    /// Last-repeated time of the last notice listed.
    #[serde(
        rename = "notices-last-listed",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub notices_last_listed: String,
    /// What `okay` acknowledged.
    #[serde(
        rename = "notices-last-okayed",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub notices_last_okayed: String,
    /// Last-repeated time of the last warning listed.
    #[serde(
        rename = "warnings-last-listed",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub warnings_last_listed: String,
    /// What `okay` acknowledged for warnings.
    #[serde(
        rename = "warnings-last-okayed",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub warnings_last_okayed: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CliStateFile {
    #[serde(default)]
    pebble: BTreeMap<String, SocketState>,
}

/// `$XDG_CONFIG_HOME/pebble/cli.json` (or `$HOME/.config/...`), as Go's `os.UserConfigDir`.
fn state_path() -> Result<PathBuf, String> {
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => match std::env::var_os("HOME") {
            Some(h) if !h.is_empty() => PathBuf::from(h).join(".config"),
            _ => return Err("neither $XDG_CONFIG_HOME nor $HOME are defined".into()),
        },
    };
    Ok(base.join("pebble").join("cli.json"))
}

fn load_file() -> Result<CliStateFile, CliError> {
    let path = state_path().map_err(|e| CliError::msg(format!("cannot load CLI state: {e}")))?;
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| CliError::msg(format!("cannot load CLI state: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CliStateFile::default()),
        Err(e) => Err(CliError::msg(format!(
            "cannot load CLI state: {}",
            pebble_client::errno_text(&e)
        ))),
    }
}

/// Load the CLI state of this socket.
pub fn load_state(ctx: &Ctx) -> Result<SocketState, CliError> {
    let key = ctx.client.socket_path().to_string_lossy().into_owned();
    Ok(load_file()?.pebble.remove(&key).unwrap_or_default())
}

/// Save the CLI state of this socket (directory 0700, file 0600).
pub fn save_state(ctx: &Ctx, state: &SocketState) -> Result<(), CliError> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let mut file = load_file()?;
    let key = ctx.client.socket_path().to_string_lossy().into_owned();
    file.pebble.insert(key, state.clone());
    let path = state_path().map_err(|e| CliError::msg(format!("cannot save CLI state: {e}")))?;
    let err = |e: std::io::Error| {
        CliError::msg(format!(
            "cannot save CLI state: {}",
            pebble_client::errno_text(&e)
        ))
    };
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(err)?;
    }
    let bytes = serde_json::to_vec(&file).map_err(|e| CliError::msg(e.to_string()))?;
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(err)?;
    f.write_all(&bytes).map_err(err)?;
    std::fs::rename(&tmp, &path).map_err(err)?;
    Ok(())
}

/// `pebble notify`.
pub async fn run_notify(ctx: &Ctx, a: NotifyArgs) -> Result<(), CliError> {
    let mut data = serde_json::Map::new();
    for kv in &a.data {
        match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                data.insert(k.to_string(), serde_json::Value::String(v.to_string()));
            }
            _ => {
                return Err(CliError::msg(format!(
                    "data args must be in \"name=value\" format, not {}",
                    pebble_plan::quote::go_quote(kv)
                )));
            }
        }
    }
    let mut body = serde_json::Map::new();
    body.insert("action".into(), "add".into());
    body.insert("type".into(), "custom".into());
    body.insert("key".into(), a.key.clone().into());
    if let Some(r) = &a.repeat_after {
        let n = pebble_plan::go_duration::parse_nanos(r).map_err(|e| {
            CliError::msg(format!("invalid argument for flag `--repeat-after': {e}"))
        })?;
        if n != 0 {
            body.insert(
                "repeat-after".into(),
                pebble_plan::go_duration::format_nanos(n).into(),
            );
        }
    }
    if !data.is_empty() {
        body.insert("data".into(), serde_json::Value::Object(data));
    }
    let res: pebble_api::NoticeIdResult = ctx.client.post("/v1/notices", &body).await?;
    ctx::out(&format!("Recorded notice {}\n", res.id));
    Ok(())
}

/// Middle-elide keys longer than 32 bytes.
fn short_key(key: &str) -> String {
    if key.len() <= 32 {
        return key.to_string();
    }
    let head = key.get(..14);
    let tail = key.get(key.len() - 15..);
    match (head, tail) {
        (Some(h), Some(t)) => format!("{h}...{t}"),
        _ => key.to_string(),
    }
}

/// `pebble notices`.
pub async fn run_notices(ctx: &Ctx, a: NoticesArgs) -> Result<(), CliError> {
    let mut state = load_state(ctx)?;
    let mut q = Query::new();
    if let Some(u) = &a.users {
        q.push("users", u);
    }
    if let Some(uid) = a.uid {
        q.push("user-id", &uid.to_string());
    }
    if !a.types.is_empty() {
        q.push("types", &a.types.join(","));
    }
    if !a.keys.is_empty() {
        q.push("keys", &a.keys.join(","));
    }
    if !state.notices_last_okayed.is_empty() {
        q.push("after", &state.notices_last_okayed);
    }
    let timeout = match &a.timeout {
        Some(t) => {
            let n = pebble_plan::go_duration::parse_nanos(t).map_err(|e| {
                CliError::msg(format!("invalid argument for flag `--timeout': {e}"))
            })?;
            if n != 0 {
                q.push("timeout", &pebble_plan::go_duration::format_nanos(n));
            }
            n
        }
        None => 0,
    };
    let notices: Vec<Notice> = ctx.client.get("/v1/notices", &q).await?;
    if notices.is_empty() {
        if timeout != 0 {
            ctx::err(&format!(
                "No matching notices after waiting {}.\n",
                pebble_plan::go_duration::format_nanos(timeout)
            ));
        } else {
            ctx::err("No matching notices.\n");
        }
        return Ok(());
    }
    ctx::out(&notices_table(&notices, &TimeFmt::new(a.abs_time)));
    if let Some(last) = notices.last() {
        state.notices_last_listed = last.last_repeated.clone();
        save_state(ctx, &state)?;
    }
    Ok(())
}

/// The `pebble notices` table.
pub fn notices_table(notices: &[Notice], tf: &TimeFmt) -> String {
    let mut rows = vec![
        [
            "ID",
            "User",
            "Type",
            "Key",
            "First",
            "Repeated",
            "Occurrences",
        ]
        .map(String::from),
    ];
    for n in notices {
        rows.push([
            n.id.clone(),
            n.user_id
                .map_or_else(|| "public".to_string(), |u| u.to_string()),
            n.type_.clone(),
            short_key(&n.key),
            tf.fmt(&n.first_occurred),
            tf.fmt(&n.last_repeated),
            n.occurrences.to_string(),
        ]);
    }
    tabwriter::table(rows)
}

/// `pebble notice` YAML.
pub fn notice_yaml(n: &Notice) -> String {
    let mut m = vec![
        ("id".to_string(), Yaml::Str(n.id.clone())),
        (
            "user-id".to_string(),
            n.user_id
                .map_or_else(|| Yaml::Raw("null".into()), |u| Yaml::Int(i64::from(u))),
        ),
        ("type".to_string(), Yaml::Str(n.type_.clone())),
        ("key".to_string(), Yaml::Str(n.key.clone())),
        (
            "first-occurred".to_string(),
            Yaml::Raw(n.first_occurred.clone()),
        ),
        (
            "last-occurred".to_string(),
            Yaml::Raw(n.last_occurred.clone()),
        ),
        (
            "last-repeated".to_string(),
            Yaml::Raw(n.last_repeated.clone()),
        ),
        ("occurrences".to_string(), Yaml::Int(n.occurrences)),
    ];
    if !n.last_data.is_empty() {
        m.push((
            "last-data".to_string(),
            Yaml::Map(
                n.last_data
                    .iter()
                    .map(|(k, v)| (k.clone(), Yaml::Str(v.clone())))
                    .collect(),
            ),
        ));
    }
    if !n.repeat_after.is_empty() {
        m.push((
            "repeat-after".to_string(),
            Yaml::Raw(n.repeat_after.clone()),
        ));
    }
    if !n.expire_after.is_empty() {
        m.push((
            "expire-after".to_string(),
            Yaml::Raw(n.expire_after.clone()),
        ));
    }
    Yaml::Map(m).render()
}

/// `pebble notice`.
pub async fn run_notice(ctx: &Ctx, a: NoticeArgs) -> Result<(), CliError> {
    let notice: Notice = match &a.key {
        Some(key) => {
            let mut q = Query::new();
            if let Some(uid) = a.uid {
                q.push("user-id", &uid.to_string());
            }
            q.push("types", &a.id_or_type);
            q.push("keys", key);
            let list: Vec<Notice> = ctx.client.get("/v1/notices", &q).await?;
            let pick = list
                .iter()
                .skip(1)
                .find(|n| n.user_id.is_some())
                .or_else(|| list.first())
                .cloned();
            pick.ok_or_else(|| {
                CliError::msg(format!(
                    "cannot find {} notice with key {}",
                    a.id_or_type,
                    pebble_plan::quote::go_quote(key)
                ))
            })?
        }
        None => {
            if a.uid.is_some() {
                return Err(CliError::msg(
                    "cannot use --uid option when looking up notice by key",
                ));
            }
            let path = format!(
                "/v1/notices/{}",
                pebble_client::percent_encode(&a.id_or_type)
            );
            ctx.client.get(&path, &Query::new()).await?
        }
    };
    ctx::out(&notice_yaml(&notice));
    Ok(())
}

/// `pebble okay`.
pub async fn run_okay(ctx: &Ctx, a: OkayArgs) -> Result<(), CliError> {
    let mut state = load_state(ctx)?;
    let mut okayed_notices = false;
    if !a.warnings && !state.notices_last_listed.is_empty() {
        okayed_notices = true;
        state.notices_last_okayed = state.notices_last_listed.clone();
    }
    let mut okayed_warnings = false;
    if !state.warnings_last_listed.is_empty() {
        okayed_warnings = true;
        state.warnings_last_okayed = state.warnings_last_listed.clone();
    }
    if a.warnings && !okayed_warnings {
        return Err(CliError::msg(
            "no warnings have been listed; try 'pebble warnings'",
        ));
    }
    if !a.warnings && !okayed_notices && !okayed_warnings {
        return Err(CliError::msg(
            "no notices or warnings have been listed; try 'pebble notices' or 'pebble warnings'",
        ));
    }
    save_state(ctx, &state)
}

/// `pebble warnings`.
pub async fn run_warnings(ctx: &Ctx, a: WarningsArgs) -> Result<(), CliError> {
    let mut state = load_state(ctx)?;
    let mut q = Query::new();
    q.push("types", "warning");
    if !a.all && !state.warnings_last_okayed.is_empty() {
        q.push("after", &state.warnings_last_okayed);
    }
    let warnings: Vec<Notice> = ctx.client.get("/v1/notices", &q).await?;
    if warnings.is_empty() {
        if !a.all && !state.warnings_last_okayed.is_empty() {
            ctx::err("No further warnings.\n");
        } else {
            ctx::err("No warnings.\n");
        }
        return Ok(());
    }
    let tf = TimeFmt::new(a.abs_time);
    let mut out = String::new();
    for (i, w) in warnings.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        if a.verbose {
            out.push_str(&format!(
                "first-occurrence:  {}\n",
                tf.fmt(&w.first_occurred)
            ));
        }
        out.push_str(&format!(
            "last-occurrence:   {}\n",
            tf.fmt(&w.last_occurred)
        ));
        if a.verbose {
            out.push_str(&format!(
                "last-repeated:     {}\n",
                tf.fmt(&w.last_repeated)
            ));
            out.push_str(&format!("repeats-after:     {}\n", w.repeat_after));
            out.push_str(&format!("expires-after:     {}\n", w.expire_after));
        }
        out.push_str("warning: |\n");
        for line in crate::format::fill::fill(&w.key, 2).lines() {
            out.push_str("  ");
            out.push_str(line.trim_start());
            out.push('\n');
        }
    }
    ctx::out(&out);
    if let Some(last) = warnings.last() {
        state.warnings_last_listed = last.last_repeated.clone();
        save_state(ctx, &state)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn notice(id: &str, uid: Option<u32>, key: &str) -> Notice {
        Notice {
            id: id.into(),
            user_id: uid,
            type_: "custom".into(),
            key: key.into(),
            first_occurred: "2026-11-26T22:23:53.53486397Z".into(),
            last_occurred: "2026-11-26T22:23:53.552238035Z".into(),
            last_repeated: "2026-11-26T22:23:53.552238035Z".into(),
            occurrences: 2,
            last_data: BTreeMap::from([("k".to_string(), "v2".to_string())]),
            repeat_after: String::new(),
            expire_after: "168h0m0s".into(),
        }
    }

    #[test]
    fn notice_yaml_matches_golden() {
        assert_eq!(
            notice_yaml(&notice("19", Some(0), "example.com/cli")),
            "id: \"19\"\nuser-id: 0\ntype: custom\nkey: example.com/cli\nfirst-occurred: 2026-11-26T22:23:53.53486397Z\nlast-occurred: 2026-11-26T22:23:53.552238035Z\nlast-repeated: 2026-11-26T22:23:53.552238035Z\noccurrences: 2\nlast-data:\n    k: v2\nexpire-after: 168h0m0s\n"
        );
    }

    #[test]
    fn table_matches_golden() {
        let tf = TimeFmt {
            abs: true,
            now: jiff::Timestamp::now(),
            tz: jiff::tz::TimeZone::UTC,
        };
        assert_eq!(
            notices_table(&[notice("19", Some(0), "example.com/cli")], &tf),
            "ID   User  Type    Key              First                 Repeated              Occurrences\n\
             19   0     custom  example.com/cli  2026-11-26T22:23:53Z  2026-11-26T22:23:53Z  2\n"
        );
        let t = notices_table(
            &[notice(
                "1",
                None,
                "example.com/a-very-long-key-that-goes-on",
            )],
            &tf,
        );
        assert!(
            t.contains("public  custom  example.com/a-...ey-that-goes-on  "),
            "{t}"
        );
    }
}
