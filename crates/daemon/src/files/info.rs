//! File information and `GET /v1/files?action=list`.

use super::error::FileError;
use super::glob::Pattern;
use super::gopath;
use super::owner;
use pebble_api::files::FileInfo;
use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

/// Caches of user and group names for one request.
#[derive(Default)]
pub struct NameCache {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

impl NameCache {
    fn user(&mut self, uid: u32) -> String {
        self.users
            .entry(uid)
            .or_insert_with(|| owner::user_name(uid).unwrap_or_default())
            .clone()
    }

    fn group(&mut self, gid: u32) -> String {
        self.groups
            .entry(gid)
            .or_insert_with(|| owner::group_name(gid).unwrap_or_default())
            .clone()
    }
}

/// The wire name of a file type.
pub fn type_name(ft: fs::FileType) -> &'static str {
    if ft.is_file() {
        "file"
    } else if ft.is_dir() {
        "directory"
    } else if ft.is_symlink() {
        "symlink"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_fifo() {
        "named-pipe"
    } else if ft.is_block_device() || ft.is_char_device() {
        "device"
    } else {
        "unknown"
    }
}

/// Go `time.RFC3339` (seconds, local zone, `Z` for a zero offset) of a Unix time.
pub fn rfc3339_secs(secs: i64) -> String {
    static LOCAL: std::sync::OnceLock<jiff::tz::TimeZone> = std::sync::OnceLock::new();
    let Ok(ts) = jiff::Timestamp::from_second(secs) else {
        return String::new();
    };
    let off = LOCAL.get_or_init(jiff::tz::TimeZone::system).to_offset(ts);
    if off.seconds() == 0 {
        ts.to_string()
    } else {
        ts.display_with_offset(off).to_string()
    }
}

/// Build the file-info object of `full_path` from its metadata.
pub fn file_info(full_path: String, md: &fs::Metadata, cache: &mut NameCache) -> FileInfo {
    let ft = md.file_type();
    let name = gopath::base(&full_path);
    let last_modified = rfc3339_secs(md.mtime());
    FileInfo {
        name,
        type_: type_name(ft).to_string(),
        size: ft.is_file().then(|| md.size() as i64),
        permissions: format!("{:03o}", md.mode() & 0o777),
        last_modified,
        user_id: Some(md.uid()),
        user: cache.user(md.uid()),
        group_id: Some(md.gid()),
        group: cache.group(md.gid()),
        path: full_path,
    }
}

/// List `path` (its entries, or itself when it is not a directory or `itself` is set), keeping
/// the names matching `pattern` (Go `path.Match`; empty means all).
///
/// The caller has already checked that `path` is absolute.
pub fn list(path: &str, pattern: &str, itself: bool) -> Result<Vec<FileInfo>, FileError> {
    let md = fs::metadata(path).map_err(|e| FileError::path("stat", path, &e))?;
    // Go compiles the pattern per entry, so a bad pattern is only reported when there is one.
    let compile = || -> Result<Option<Pattern>, FileError> {
        if pattern.is_empty() {
            return Ok(None);
        }
        Pattern::new(pattern)
            .map(Some)
            .map_err(|e| FileError::generic(e.to_string()))
    };
    let mut cache = NameCache::default();
    let mut out = Vec::new();
    if !md.is_dir() || itself {
        let name = gopath::base(path);
        let pattern = compile()?;
        if pattern.as_ref().is_none_or(|p| p.matches(&name)) {
            let full = gopath::join(&gopath::dir(path), &name);
            out.push(file_info(full, &md, &mut cache));
        }
        return Ok(out);
    }
    let rd = fs::read_dir(path).map_err(|e| FileError::path("open", path, &e))?;
    let mut names = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| FileError::path("readdirent", path, &e))?;
        match entry.file_name().into_string() {
            Ok(n) => names.push(n),
            Err(os) => names.push(os.to_string_lossy().into_owned()),
        }
    }
    names.sort_unstable();
    let pattern = if names.is_empty() { None } else { compile()? };
    for name in names {
        if pattern.as_ref().is_some_and(|p| !p.matches(&name)) {
            continue;
        }
        let full = gopath::join(path, &name);
        let child = format!("{}/{}", path.trim_end_matches('/'), name);
        let md = fs::symlink_metadata(&child).map_err(|e| FileError::path("lstat", &child, &e))?;
        out.push(file_info(full, &md, &mut cache));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::files::error::FileErrorKind;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn rfc3339_seconds_only() {
        let s = rfc3339_secs(1_767_225_600);
        assert!(
            s.starts_with("2026-01-01T") || s.starts_with("2025-12-31T"),
            "{s}"
        );
        assert!(!s.contains('.'), "{s}");
    }

    #[test]
    fn lists_sorted_entries_with_lstat_and_pattern() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().to_str().unwrap();
        fs::write(d.path().join("b.txt"), "bb").unwrap();
        fs::write(d.path().join("a.log"), "a").unwrap();
        fs::set_permissions(d.path().join("a.log"), fs::Permissions::from_mode(0o600)).unwrap();
        fs::create_dir(d.path().join("sub")).unwrap();
        std::os::unix::fs::symlink("b.txt", d.path().join("link")).unwrap();

        let all = list(root, "", false).unwrap();
        let names: Vec<_> = all.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a.log", "b.txt", "link", "sub"]);
        assert_eq!(all[0].permissions, "600");
        assert_eq!(all[1].size, Some(2));
        assert_eq!(all[1].path, format!("{root}/b.txt"));
        assert_eq!(all[2].type_, "symlink");
        assert_eq!(all[2].size, None);
        assert_eq!(all[3].type_, "directory");
        assert!(all[0].user_id.is_some());

        let txt = list(root, "*.txt", false).unwrap();
        assert_eq!(txt.len(), 1);

        // A file (through a symlink, stat follows it) is listed as itself.
        let one = list(&format!("{root}/link"), "", false).unwrap();
        assert_eq!(one[0].type_, "file");
        assert_eq!(one[0].name, "link");
        // A single non-matching entry gives an empty list.
        assert!(
            list(&format!("{root}/link"), "*.x", false)
                .unwrap()
                .is_empty()
        );

        let me = list(&format!("{root}/"), "", true).unwrap();
        assert_eq!(me[0].type_, "directory");

        let root_itself = list("/", "", true).unwrap();
        assert_eq!(root_itself[0].name, "/");
        assert_eq!(root_itself[0].path, "/");
    }

    #[test]
    fn list_errors_like_go() {
        let e = list("/not/existing/file/", "", false).unwrap_err();
        assert_eq!(
            e.message,
            "stat /not/existing/file/: no such file or directory"
        );
        assert_eq!(e.kind, FileErrorKind::NotFound);
        let e = list("/", "[bad", false).unwrap_err();
        assert_eq!(e.message, "syntax error in pattern");
        assert_eq!(e.kind, FileErrorKind::Generic);
    }
}
