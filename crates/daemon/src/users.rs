//! File-backed user and group lookup for service credentials.
//!
//! Pebble is a static Go binary, so its `os/user` reads `/etc/passwd` and `/etc/group` directly
//! (no NSS). [`FileUserDb`] does the same, with overridable paths for tests.

use std::path::PathBuf;

/// A passwd entry as far as the service manager needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEntry {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory.
    pub home: String,
}

/// User and group database used when starting services.
pub trait UserDb: Send + Sync {
    /// Pebble's `NormalizeUidGid`: resolve `user`/`user-id`/`group`/`group-id` of a service to
    /// the uid and gid to run as, or `None` to run as the daemon's user. Errors are Pebble's
    /// messages (e.g. `user: unknown user bob`).
    fn normalize_uid_gid(
        &self,
        uid: Option<u32>,
        gid: Option<u32>,
        user: &str,
        group: &str,
    ) -> Result<Option<(u32, u32)>, String>;

    /// Look up the passwd entry of `uid` (for `HOME` and `USER`).
    fn lookup_uid(&self, uid: u32) -> Result<UserEntry, String>;
}

/// Reads `/etc/passwd` and `/etc/group` (or other paths) on every lookup.
#[derive(Debug, Clone)]
pub struct FileUserDb {
    /// Path of the passwd file.
    pub passwd: PathBuf,
    /// Path of the group file.
    pub group: PathBuf,
}

impl Default for FileUserDb {
    fn default() -> Self {
        FileUserDb {
            passwd: "/etc/passwd".into(),
            group: "/etc/group".into(),
        }
    }
}

impl FileUserDb {
    /// A database reading the given files.
    pub fn new(passwd: impl Into<PathBuf>, group: impl Into<PathBuf>) -> Self {
        FileUserDb {
            passwd: passwd.into(),
            group: group.into(),
        }
    }
}

impl UserDb for FileUserDb {
    fn normalize_uid_gid(
        &self,
        uid: Option<u32>,
        gid: Option<u32>,
        user: &str,
        group: &str,
    ) -> Result<Option<(u32, u32)>, String> {
        if uid.is_none() && gid.is_none() && user.is_empty() && group.is_empty() {
            return Ok(None);
        }
        // Pending pebble_plan::users (passwd/group parsing and NormalizeUidGid).
        Err("user and group switching is not supported yet".into())
    }

    fn lookup_uid(&self, uid: u32) -> Result<UserEntry, String> {
        Err(format!("unknown userid {uid}"))
    }
}
