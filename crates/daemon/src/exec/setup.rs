//! Validation of a `POST /v1/exec` request into an [`ExecSetup`]: command lookup, timeout,
//! service-context merging, user and group resolution, environment and working directory.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pebble_api::ExecRequest;
use pebble_plan::Plan;

use pebble_plan::go_duration::parse_nanos;
use pebble_plan::quote::go_quote;

use crate::users::UserDb;

/// Pebble's default `PATH` for exec'd commands.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A request error: the HTTP status (400 or 500) and Pebble's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecRequestError {
    /// 400 Bad Request.
    #[error("{0}")]
    BadRequest(String),
    /// 500 Internal Server Error (`cannot call exec: ...`).
    #[error("{0}")]
    Internal(String),
}

impl ExecRequestError {
    /// The HTTP status code of this error.
    pub fn status(&self) -> u16 {
        match self {
            ExecRequestError::BadRequest(_) => 400,
            ExecRequestError::Internal(_) => 500,
        }
    }

    /// The error message.
    pub fn message(&self) -> &str {
        match self {
            ExecRequestError::BadRequest(m) | ExecRequestError::Internal(m) => m,
        }
    }
}

/// Everything needed to run one exec command, resolved at request time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSetup {
    /// The command as requested (`command[0]` becomes `argv[0]`).
    pub command: Vec<String>,
    /// The executable found for `command[0]` with the daemon's `PATH`.
    pub program: PathBuf,
    /// The complete environment of the command (nothing else is inherited).
    pub environment: BTreeMap<String, String>,
    /// The working directory (checked to exist).
    pub working_dir: String,
    /// Timeout in nanoseconds (0 = none; negative fires at once, as in Go).
    pub timeout_nanos: i64,
    /// Target uid and gid, set only when a user was requested.
    pub uid: Option<u32>,
    /// Target gid (set together with `uid`).
    pub gid: Option<u32>,
    /// Allocate a PTY.
    pub terminal: bool,
    /// Feed stdin through the PTY.
    pub interactive: bool,
    /// Separate `stderr` websocket.
    pub split_stderr: bool,
    /// Initial PTY width.
    pub width: u32,
    /// Initial PTY height.
    pub height: u32,
}

impl ExecSetup {
    /// The change and task summary: `Execute command "<argv0>"`.
    pub fn summary(&self) -> String {
        summary_for(&self.command)
    }
}

/// `Execute command "<argv0>"`.
pub fn summary_for(command: &[String]) -> String {
    let first = command.first().map(String::as_str).unwrap_or("");
    format!("Execute command {}", go_quote(first))
}

/// Is `path` an executable regular file (Go's `findExecutable`)?
fn is_executable(path: &Path) -> bool {
    match std::fs::metadata(path) {
        Ok(m) => !m.is_dir() && m.permissions().mode() & 0o111 != 0,
        Err(_) => false,
    }
}

/// Go's `exec.LookPath` with the daemon's `PATH`: names with a slash are checked as they are;
/// others are searched in `PATH`, and relative results are refused (Go's `ErrDot`).
pub fn look_path(name: &str, path_var: Option<&str>) -> Option<PathBuf> {
    if name.is_empty() {
        return None;
    }
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_executable(&p).then_some(p);
    }
    for dir in path_var.unwrap_or("").split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(name);
        if is_executable(&candidate) {
            return candidate.is_absolute().then_some(candidate);
        }
    }
    None
}

/// The daemon-side facts a request is resolved against.
pub struct ExecContext<'a> {
    /// The current plan (for `service-context`).
    pub plan: &'a Plan,
    /// The daemon's environment, in order.
    pub daemon_env: Vec<(String, String)>,
    /// The daemon's uid.
    pub daemon_uid: u32,
    /// User and group database: the daemon's (`/etc/passwd` and `/etc/group` read directly, no
    /// NSS, as Pebble's static Go binary does).
    pub users: &'a dyn UserDb,
}

impl ExecContext<'_> {
    /// The daemon's own environment as a list of `(key, value)` (lossy UTF-8).
    pub fn current_env() -> Vec<(String, String)> {
        std::env::vars_os()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect()
    }
}

/// Validate `req` and resolve it into an [`ExecSetup`], with Pebble's errors.
pub fn prepare(req: &ExecRequest, ctx: &ExecContext<'_>) -> Result<ExecSetup, ExecRequestError> {
    use ExecRequestError::{BadRequest, Internal};
    if req.command.is_empty() {
        return Err(BadRequest("must specify command".into()));
    }
    let timeout_nanos = if req.timeout.is_empty() {
        0
    } else {
        parse_nanos(&req.timeout).map_err(|e| BadRequest(format!("invalid timeout: {e}")))?
    };
    let daemon_path = ctx
        .daemon_env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str());
    let program = look_path(&req.command[0], daemon_path).ok_or_else(|| {
        BadRequest(format!(
            "cannot find executable {}",
            go_quote(&req.command[0])
        ))
    })?;

    // Service context: the service's settings, overridden by the request's.
    let mut env_overlay: BTreeMap<String, String> = BTreeMap::new();
    let (mut uid, mut gid, mut user, mut group, mut working_dir) = (
        req.user_id,
        req.group_id,
        req.user.clone(),
        req.group.clone(),
        req.working_dir.clone(),
    );
    if !req.service_context.is_empty() {
        // The service as it runs: its workload's environment and identity included.
        let svc = ctx
            .plan
            .resolved_service(&req.service_context)
            .ok_or_else(|| {
                BadRequest(format!(
                    "context service {} not found",
                    go_quote(&req.service_context)
                ))
            })?;
        env_overlay.extend(svc.environment.iter().map(|(k, v)| (k.clone(), v.clone())));
        if uid.is_none() {
            uid = svc.user_id;
        }
        if user.is_empty() {
            user = svc.user.clone();
        }
        if gid.is_none() {
            gid = svc.group_id;
        }
        if group.is_empty() {
            group = svc.group.clone();
        }
        if working_dir.is_empty() {
            working_dir = svc.working_dir.clone();
        }
    }
    env_overlay.extend(req.environment.iter().map(|(k, v)| (k.clone(), v.clone())));

    let ids = ctx
        .users
        .normalize_uid_gid(uid, gid, &user, &group)
        .map_err(BadRequest)?;
    let (uid, gid) = (ids.map(|(u, _)| u), ids.map(|(_, g)| g));

    if req.interactive && !req.terminal {
        return Err(Internal(
            "cannot call exec: cannot use interactive mode without a terminal".into(),
        ));
    }

    // Environment: daemon env (minus HOME/USER when switching user), request overlay, defaults.
    let mut environment: BTreeMap<String, String> = ctx.daemon_env.iter().cloned().collect();
    if let Some(u) = uid
        && u != ctx.daemon_uid
    {
        environment.remove("HOME");
        environment.remove("USER");
    }
    environment.extend(env_overlay);
    environment
        .entry("PATH".into())
        .or_insert_with(|| DEFAULT_PATH.into());
    let home_empty = environment.get("HOME").is_none_or(String::is_empty);
    let user_empty = environment.get("USER").is_none_or(String::is_empty);
    if home_empty || user_empty {
        let target = uid.unwrap_or(ctx.daemon_uid);
        match ctx.users.lookup_uid(target) {
            Ok(u) => {
                if home_empty {
                    environment.insert("HOME".into(), u.home);
                }
                if user_empty {
                    environment.insert("USER".into(), u.name);
                }
            }
            Err(e) => crate::pebble_log!("Cannot look up user {target}: {e}"),
        }
    }
    environment
        .entry("LANG".into())
        .or_insert_with(|| "C.UTF-8".into());

    let working_dir =
        resolve_working_dir(&working_dir, environment.get("HOME").map(String::as_str))
            .map_err(|e| Internal(format!("cannot call exec: {e}")))?;

    Ok(ExecSetup {
        command: req.command.clone(),
        program,
        environment,
        working_dir,
        timeout_nanos,
        uid,
        gid,
        terminal: req.terminal,
        interactive: req.interactive,
        split_stderr: req.split_stderr,
        width: req.width,
        height: req.height,
    })
}

/// The working directory: `working-dir`, else `$HOME`, else `/`; it must be an existing directory.
pub fn resolve_working_dir(working_dir: &str, home: Option<&str>) -> Result<String, String> {
    let (dir, what) = if !working_dir.is_empty() {
        (working_dir, "working directory")
    } else {
        match home {
            Some(h) if !h.is_empty() => (h, "home directory"),
            _ => return Ok("/".into()),
        }
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("{what} {} does not exist", go_quote(dir)))
        }
        Err(e) => Err(format!(
            "cannot stat {what} {}: stat {dir}: {}",
            go_quote(dir),
            super::errno_text(&e)
        )),
        Ok(m) if !m.is_dir() => Err(format!("{what} {} not a directory", go_quote(dir))),
        Ok(_) => Ok(dir.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::users::FileUserDb;
    use pebble_plan::Service;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000:Bob:/tmp:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nstaff:x:50:bob\nbob:x:1000:\n";

    /// The daemon's file-backed database over test passwd and group files.
    fn fake_db() -> (tempfile::TempDir, FileUserDb) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("passwd"), PASSWD).unwrap();
        std::fs::write(dir.path().join("group"), GROUP).unwrap();
        let db = FileUserDb::new(dir.path().join("passwd"), dir.path().join("group"));
        (dir, db)
    }

    fn ctx<'a>(plan: &'a Plan, users: &'a FileUserDb) -> ExecContext<'a> {
        ExecContext {
            plan,
            daemon_env: vec![
                ("PATH".into(), "/usr/bin:/bin".into()),
                ("HOME".into(), "/".into()),
                ("PEBBLE".into(), "/var/lib/pebble/default".into()),
            ],
            daemon_uid: 0,
            users,
        }
    }

    fn req(json: &str) -> ExecRequest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn errors_match_pebble() {
        let plan = Plan::default();
        let (_dir, db) = fake_db();
        let c = ctx(&plan, &db);
        let err = |j: &str| prepare(&req(j), &c).unwrap_err();
        assert_eq!(
            err(r#"{"command":[]}"#),
            ExecRequestError::BadRequest("must specify command".into())
        );
        assert_eq!(err(r#"{"command":null}"#).message(), "must specify command");
        assert_eq!(
            err(r#"{"command":["true"],"timeout":"soon"}"#).message(),
            "invalid timeout: time: invalid duration \"soon\""
        );
        assert_eq!(
            err(r#"{"command":["nosuchbinary"]}"#).message(),
            "cannot find executable \"nosuchbinary\""
        );
        // Quoted as Go's strconv.Quote does (`\a`, `\u00ad`).
        assert_eq!(
            err(r#"{"command":["no\u0007such\u00ad"]}"#).message(),
            r#"cannot find executable "no\asuch\u00ad""#
        );
        assert_eq!(
            err(r#"{"command":["/nonexistent/bin/x"]}"#).message(),
            "cannot find executable \"/nonexistent/bin/x\""
        );
        let e = err(r#"{"command":["true"],"working-dir":"/nonexistent/nope"}"#);
        assert_eq!(e.status(), 500);
        assert_eq!(
            e.message(),
            "cannot call exec: working directory \"/nonexistent/nope\" does not exist"
        );
        let e = err(r#"{"command":["true"],"working-dir":"/bin/sh"}"#);
        assert_eq!(
            e.message(),
            "cannot call exec: working directory \"/bin/sh\" not a directory"
        );
        assert_eq!(
            err(r#"{"command":["true"],"user":"nosuchuser"}"#).message(),
            "user: unknown user nosuchuser"
        );
        assert_eq!(
            err(r#"{"command":["true"],"group":"staff"}"#).message(),
            "must specify user, not just group"
        );
        assert_eq!(
            err(r#"{"command":["true"],"user":"bob","user-id":0}"#).message(),
            "user \"bob\" UID (1000) does not match user-id (0)"
        );
        assert_eq!(
            err(r#"{"command":["true"],"service-context":"nosuch"}"#).message(),
            "context service \"nosuch\" not found"
        );
        let e = err(r#"{"command":["true"],"interactive":true}"#);
        assert_eq!(e.status(), 500);
        assert_eq!(
            e.message(),
            "cannot call exec: cannot use interactive mode without a terminal"
        );
    }

    #[test]
    fn environment_defaults_and_nulls() {
        let plan = Plan::default();
        let (_dir, db) = fake_db();
        let c = ctx(&plan, &db);
        let s = prepare(
            &req(
                r#"{"command":["true"],"service-context":null,"environment":{"FOO":"bar"},
                "working-dir":null,"timeout":null,"user-id":null,"user":null,"group-id":null,
                "group":null,"split-stderr":true}"#,
            ),
            &c,
        )
        .unwrap();
        assert_eq!(s.environment["FOO"], "bar");
        assert_eq!(s.environment["PATH"], "/usr/bin:/bin");
        assert_eq!(s.environment["LANG"], "C.UTF-8");
        assert_eq!(s.environment["HOME"], "/");
        assert_eq!(s.environment["USER"], "root");
        assert_eq!(s.environment.len(), 6);
        assert_eq!(s.working_dir, "/");
        assert!(s.split_stderr);
        assert_eq!(s.uid, None);
        assert_eq!(s.summary(), "Execute command \"true\"");
        assert!(s.program.is_absolute());
    }

    #[test]
    fn other_user_gets_its_home_and_name() {
        let plan = Plan::default();
        let (_dir, db) = fake_db();
        let c = ctx(&plan, &db);
        let s = prepare(
            &req(r#"{"command":["true"],"user":"bob","group":"staff"}"#),
            &c,
        )
        .unwrap();
        assert_eq!((s.uid, s.gid), (Some(1000), Some(50)));
        assert_eq!(s.environment["HOME"], "/tmp");
        assert_eq!(s.environment["USER"], "bob");
        assert_eq!(s.working_dir, "/tmp");
        let s = prepare(&req(r#"{"command":["true"],"user-id":1000}"#), &c).unwrap();
        assert_eq!((s.uid, s.gid), (Some(1000), Some(1000)));
    }

    #[test]
    fn service_context_is_merged_under_the_request() {
        let mut plan = Plan::default();
        let mut svc = Service {
            name: "beta".into(),
            working_dir: "/tmp".into(),
            user: "bob".into(),
            ..Default::default()
        };
        svc.environment.insert("GREETING".into(), "bonjour".into());
        svc.environment.insert("EXTRA".into(), "svc".into());
        plan.services.insert("beta".into(), svc);
        let (_dir, db) = fake_db();
        let c = ctx(&plan, &db);
        let s = prepare(
            &req(r#"{"command":["env"],"service-context":"beta","environment":{"EXTRA":"1"}}"#),
            &c,
        )
        .unwrap();
        assert_eq!(s.environment["GREETING"], "bonjour");
        assert_eq!(s.environment["EXTRA"], "1");
        assert_eq!(s.working_dir, "/tmp");
        assert_eq!(s.uid, Some(1000));
        let s = prepare(
            &req(r#"{"command":["env"],"service-context":"beta","user":"root","working-dir":"/"}"#),
            &c,
        )
        .unwrap();
        assert_eq!(s.uid, Some(0));
        assert_eq!(s.working_dir, "/");
    }

    #[test]
    fn service_context_includes_the_services_workload() {
        let mut plan = Plan::default();
        let mut svc = Service {
            name: "beta".into(),
            workload: "w".into(),
            ..Default::default()
        };
        svc.environment.insert("SHARED".into(), "svc".into());
        plan.services.insert("beta".into(), svc);
        let mut w = pebble_plan::Workload {
            name: "w".into(),
            user: "bob".into(),
            group: "staff".into(),
            ..Default::default()
        };
        w.environment.insert("SHARED".into(), "w".into());
        w.environment.insert("FROM_W".into(), "yes".into());
        plan.workloads.insert("w".into(), w);
        let (_dir, db) = fake_db();
        let c = ctx(&plan, &db);
        let s = prepare(&req(r#"{"command":["env"],"service-context":"beta"}"#), &c).unwrap();
        assert_eq!(s.environment["SHARED"], "svc");
        assert_eq!(s.environment["FROM_W"], "yes");
        assert_eq!((s.uid, s.gid), (Some(1000), Some(50)));
    }

    #[test]
    fn look_path_refuses_relative_results() {
        assert!(look_path("sh", Some("/usr/bin:/bin")).is_some());
        assert!(look_path("sh", Some("")).is_none());
        assert!(look_path("/bin", Some("/usr/bin")).is_none());
        assert!(look_path("", Some("/usr/bin")).is_none());
    }
}
