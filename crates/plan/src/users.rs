//! A pure user/group database parsed from `/etc/passwd` and `/etc/group` text (no NSS), and
//! Pebble's uid/gid normalisation rules with its messages.

use crate::error::PlanError;
use crate::quote::go_quote;

/// One `/etc/passwd` entry.
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

/// One `/etc/group` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    /// Group name.
    pub name: String,
    /// Group id.
    pub gid: u32,
}

/// Users and groups, looked up the way Go's pure-Go `os/user` does (first match wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserDb {
    /// Users in file order.
    pub users: Vec<UserEntry>,
    /// Groups in file order.
    pub groups: Vec<GroupEntry>,
}

impl UserDb {
    /// Parses the text of `/etc/passwd` and `/etc/group`; malformed lines are skipped.
    pub fn parse(passwd: &str, group: &str) -> UserDb {
        let mut db = UserDb::default();
        for line in passwd.lines() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 {
                continue;
            }
            let (Ok(uid), Ok(gid)) = (f[2].parse::<u32>(), f[3].parse::<u32>()) else {
                continue;
            };
            db.users.push(UserEntry {
                name: f[0].to_string(),
                uid,
                gid,
                home: f[5].to_string(),
            });
        }
        for line in group.lines() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 4 {
                continue;
            }
            let Ok(gid) = f[2].parse::<u32>() else {
                continue;
            };
            db.groups.push(GroupEntry {
                name: f[0].to_string(),
                gid,
            });
        }
        db
    }

    /// The user with this name.
    pub fn user_by_name(&self, name: &str) -> Option<&UserEntry> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The user with this uid.
    pub fn user_by_uid(&self, uid: u32) -> Option<&UserEntry> {
        self.users.iter().find(|u| u.uid == uid)
    }

    /// The group with this name.
    pub fn group_by_name(&self, name: &str) -> Option<&GroupEntry> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The group with this gid.
    pub fn group_by_gid(&self, gid: u32) -> Option<&GroupEntry> {
        self.groups.iter().find(|g| g.gid == gid)
    }
}

/// Resolves the user/group fields of a service or exec check to `(uid, gid)`, or `None` when
/// none is set (run as the daemon's user). Errors are Pebble's (`user: unknown user u`,
/// `user "u" UID (n) does not match user-id (m)`, `must specify user, not just group`, ...).
pub fn normalize_uid_gid(
    user_id: Option<u32>,
    user: &str,
    group_id: Option<u32>,
    group: &str,
    db: &UserDb,
) -> Result<Option<(u32, u32)>, PlanError> {
    if user_id.is_none() && user.is_empty() && group_id.is_none() && group.is_empty() {
        return Ok(None);
    }
    let mut uid = user_id;
    let mut gid = group_id;
    if !user.is_empty() {
        let u = db
            .user_by_name(user)
            .ok_or_else(|| PlanError::Other(format!("user: unknown user {user}")))?;
        if let Some(want) = uid
            && want != u.uid
        {
            return Err(PlanError::Other(format!(
                "user {} UID ({}) does not match user-id ({want})",
                go_quote(user),
                u.uid
            )));
        }
        uid = Some(u.uid);
    }
    if !group.is_empty() {
        let g = db
            .group_by_name(group)
            .ok_or_else(|| PlanError::Other(format!("group: unknown group {group}")))?;
        if let Some(want) = gid
            && want != g.gid
        {
            return Err(PlanError::Other(format!(
                "group {} GID ({}) does not match group-id ({want})",
                go_quote(group),
                g.gid
            )));
        }
        gid = Some(g.gid);
    }
    match (uid, gid) {
        (None, Some(_)) => Err(PlanError::Other("must specify user, not just group".into())),
        (Some(u), None) => {
            let entry = db
                .user_by_uid(u)
                .ok_or_else(|| PlanError::Other(format!("user: unknown userid {u}")))?;
            Ok(Some((u, entry.gid)))
        }
        (Some(u), Some(g)) => Ok(Some((u, g))),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n# comment\nalice:x:1000:1001:Alice:/home/alice:/bin/sh\nbad line\n";
    const GROUP: &str = "root:x:0:\nstaff:x:50:alice\nalice:x:1001:\n";

    #[test]
    fn normalises_like_pebble() {
        let db = UserDb::parse(PASSWD, GROUP);
        assert_eq!(db.users.len(), 2);
        assert_eq!(db.user_by_name("alice").unwrap().home, "/home/alice");
        let n = |uid, user, gid, group| normalize_uid_gid(uid, user, gid, group, &db);
        assert_eq!(n(None, "", None, "").unwrap(), None);
        assert_eq!(n(None, "alice", None, "").unwrap(), Some((1000, 1001)));
        assert_eq!(n(Some(1000), "", None, "").unwrap(), Some((1000, 1001)));
        assert_eq!(n(None, "alice", None, "staff").unwrap(), Some((1000, 50)));
        assert_eq!(n(Some(0), "", Some(50), "").unwrap(), Some((0, 50)));
        let err = |r: Result<_, PlanError>| r.unwrap_err().to_string();
        assert_eq!(
            err(n(Some(5), "alice", None, "")),
            "user \"alice\" UID (1000) does not match user-id (5)"
        );
        assert_eq!(
            err(n(None, "alice", Some(7), "staff")),
            "group \"staff\" GID (50) does not match group-id (7)"
        );
        assert_eq!(
            err(n(None, "", None, "staff")),
            "must specify user, not just group"
        );
        assert_eq!(
            err(n(None, "", Some(1), "")),
            "must specify user, not just group"
        );
        assert_eq!(err(n(None, "bob", None, "")), "user: unknown user bob");
        assert_eq!(
            err(n(None, "alice", None, "nope")),
            "group: unknown group nope"
        );
        assert_eq!(err(n(Some(42), "", None, "")), "user: unknown userid 42");
    }
}
