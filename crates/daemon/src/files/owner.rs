//! User and group lookups (from `/etc/passwd` and `/etc/group`, like Go's pure-Go `os/user`)
//! and Pebble's ownership normalisation rules for files and directories.

use std::fs;

const PASSWD: &str = "/etc/passwd";
const GROUP: &str = "/etc/group";

/// Find the first line of a colon-separated database whose field `key_idx` equals `key`, and
/// return its fields.
fn find_entry(db: &str, key_idx: usize, key: &str) -> Option<Vec<String>> {
    let text = fs::read_to_string(db).ok()?;
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('+') && !l.starts_with('-'))
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f.get(key_idx) == Some(&key))
        .map(|f| f.into_iter().map(str::to_string).collect())
}

/// The name of user `uid`.
pub fn user_name(uid: u32) -> Option<String> {
    find_entry(PASSWD, 2, &uid.to_string()).map(|f| f[0].clone())
}

/// The name of group `gid`.
pub fn group_name(gid: u32) -> Option<String> {
    find_entry(GROUP, 2, &gid.to_string()).map(|f| f[0].clone())
}

/// The uid and primary gid of user `name`.
pub fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let f = find_entry(PASSWD, 0, name)?;
    Some((f[2].parse().ok()?, f[3].parse().ok()?))
}

/// The primary gid of user `uid`.
pub fn primary_gid(uid: u32) -> Option<u32> {
    find_entry(PASSWD, 2, &uid.to_string())?[3].parse().ok()
}

/// The gid of group `name`.
pub fn lookup_group(name: &str) -> Option<u32> {
    find_entry(GROUP, 0, name)?[2].parse().ok()
}

/// Pebble's `NormalizeUidGid`: resolve user/group names and ids into a (uid, gid) pair to chown
/// to, or `None` when nothing was given. Errors carry Go Pebble's messages.
pub fn normalize(
    uid: Option<i64>,
    gid: Option<i64>,
    user: &str,
    group: &str,
) -> Result<Option<(u32, u32)>, String> {
    if uid.is_none() && gid.is_none() && user.is_empty() && group.is_empty() {
        return Ok(None);
    }
    let mut uid = uid;
    let mut gid = gid;
    if !user.is_empty() {
        let (n, _) = lookup_user(user).ok_or_else(|| format!("user: unknown user {user}"))?;
        if let Some(u) = uid
            && u != i64::from(n)
        {
            return Err(format!(
                "user {} UID ({n}) does not match user-id ({u})",
                super::error::go_quote(user)
            ));
        }
        uid = Some(i64::from(n));
    }
    if !group.is_empty() {
        let n = lookup_group(group).ok_or_else(|| format!("group: unknown group {group}"))?;
        if let Some(g) = gid
            && g != i64::from(n)
        {
            return Err(format!(
                "group {} GID ({n}) does not match group-id ({g})",
                super::error::go_quote(group)
            ));
        }
        gid = Some(i64::from(n));
    }
    let Some(u) = uid else {
        return Err("must specify user, not just group".to_string());
    };
    let g = match gid {
        Some(g) => g,
        None => {
            let primary = u32::try_from(u)
                .ok()
                .and_then(primary_gid)
                .ok_or_else(|| format!("user: unknown userid {u}"))?;
            i64::from(primary)
        }
    };
    // Ids outside u32 cannot be chowned to; Go would pass them to the syscall and fail there.
    let u = u32::try_from(u).map_err(|_| format!("invalid user id {u}"))?;
    let g = u32::try_from(g).map_err(|_| format!("invalid group id {g}"))?;
    Ok(Some((u, g)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_lookups() {
        assert_eq!(user_name(0).as_deref(), Some("root"));
        assert_eq!(group_name(0).as_deref(), Some("root"));
        assert_eq!(lookup_user("root"), Some((0, 0)));
        assert_eq!(lookup_group("root"), Some(0));
    }

    #[test]
    fn normalize_rules() {
        assert_eq!(normalize(None, None, "", ""), Ok(None));
        assert_eq!(normalize(None, None, "root", ""), Ok(Some((0, 0))));
        assert_eq!(normalize(Some(0), None, "", ""), Ok(Some((0, 0))));
        assert_eq!(normalize(Some(0), Some(5), "", ""), Ok(Some((0, 5))));
        assert_eq!(
            normalize(None, Some(0), "", ""),
            Err("must specify user, not just group".into())
        );
        assert_eq!(
            normalize(None, None, "", "root"),
            Err("must specify user, not just group".into())
        );
        assert_eq!(
            normalize(None, None, "no-such-user-x", ""),
            Err("user: unknown user no-such-user-x".into())
        );
        assert_eq!(
            normalize(None, None, "root", "no-such-group-x"),
            Err("group: unknown group no-such-group-x".into())
        );
        assert_eq!(
            normalize(Some(7), None, "root", ""),
            Err(r#"user "root" UID (0) does not match user-id (7)"#.into())
        );
        assert_eq!(
            normalize(Some(4_000_000), None, "", ""),
            Err("user: unknown userid 4000000".into())
        );
    }
}
