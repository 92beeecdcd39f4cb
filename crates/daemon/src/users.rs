//! File-backed user and group lookup for service credentials.
//!
//! Pebble is a static Go binary, so its `os/user` reads `/etc/passwd` and `/etc/group` directly
//! (no NSS). [`FileUserDb`] does the same, with overridable paths for tests.

use std::path::PathBuf;

pub use pebble_plan::users::UserEntry;

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

impl FileUserDb {
    /// Read and parse both files; a missing or unreadable file counts as empty (lookups in it
    /// then fail with Pebble's "unknown user/group" messages).
    pub fn load(&self) -> pebble_plan::users::UserDb {
        let passwd = std::fs::read_to_string(&self.passwd).unwrap_or_default();
        let group = std::fs::read_to_string(&self.group).unwrap_or_default();
        pebble_plan::users::UserDb::parse(&passwd, &group)
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
        pebble_plan::users::normalize_uid_gid(uid, user, gid, group, &self.load())
            .map_err(|e| e.to_string())
    }

    fn lookup_uid(&self, uid: u32) -> Result<UserEntry, String> {
        self.load()
            .user_by_uid(uid)
            .cloned()
            .ok_or_else(|| format!("user: unknown userid {uid}"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_files_and_normalizes() {
        let dir = tempfile::tempdir().unwrap();
        let passwd = dir.path().join("passwd");
        let group = dir.path().join("group");
        std::fs::write(
            &passwd,
            "root:x:0:0:root:/root:/bin/sh\nbob:x:1234:2345:Bob:/home/bob:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(&group, "root:x:0:\nbobs:x:2345:\nstaff:x:50:bob\n").unwrap();
        let db = FileUserDb::new(&passwd, &group);
        assert_eq!(db.normalize_uid_gid(None, None, "", ""), Ok(None));
        assert_eq!(
            db.normalize_uid_gid(None, None, "bob", ""),
            Ok(Some((1234, 2345)))
        );
        assert_eq!(
            db.normalize_uid_gid(None, None, "bob", "staff"),
            Ok(Some((1234, 50)))
        );
        assert_eq!(
            db.normalize_uid_gid(None, None, "nobody-here", ""),
            Err("user: unknown user nobody-here".to_string())
        );
        assert_eq!(
            db.normalize_uid_gid(None, None, "", "staff"),
            Err("must specify user, not just group".to_string())
        );
        assert_eq!(db.lookup_uid(1234).unwrap().home, "/home/bob");
        assert_eq!(db.lookup_uid(99).unwrap_err(), "user: unknown userid 99");
    }
}
