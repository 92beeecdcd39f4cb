//! The fake container's filesystem: a temporary directory standing for the container's `/`.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use pebble_api::files::FileInfo;
use pebble_client::container::{ContainerError, ListFilesOptions, MakeDirOptions, PushOptions};
use pebble_plan::quote::go_quote;

const GENERIC: &str = "generic-file-error";
const NOT_FOUND: &str = "not-found";
const PERMISSION_DENIED: &str = "permission-denied";

/// Ownership and mode that a push or make-dir asked for (the fake does not `chown`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileMeta {
    /// Permission bits applied.
    pub permissions: u32,
    /// Requested owner uid.
    pub user_id: Option<u32>,
    /// Requested owner name.
    pub user: Option<String>,
    /// Requested group id.
    pub group_id: Option<u32>,
    /// Requested group name.
    pub group: Option<String>,
}

/// Maps a container path onto the host directory `root`, refusing relative paths and `..`
/// escapes.
pub(crate) fn host_path(root: &Path, path: &str) -> Option<PathBuf> {
    if !path.starts_with('/') {
        return None;
    }
    let mut out = root.to_path_buf();
    let mut depth = 0usize;
    for c in Path::new(path).components() {
        match c {
            Component::Normal(p) => {
                out.push(p);
                depth += 1;
            }
            Component::ParentDir if depth > 0 => {
                out.pop();
                depth -= 1;
            }
            _ => {}
        }
    }
    Some(out)
}

fn relative(path: &str) -> ContainerError {
    ContainerError::path(
        GENERIC,
        format!("paths must be absolute, got {}", go_quote(path)),
    )
}

fn io_kind(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => NOT_FOUND,
        std::io::ErrorKind::PermissionDenied => PERMISSION_DENIED,
        _ => GENERIC,
    }
}

fn io_text(e: &std::io::Error) -> String {
    pebble_client::errno_text(e)
}

fn path_err(op: &str, path: &str, e: &std::io::Error) -> ContainerError {
    ContainerError::path(io_kind(e), format!("{op} {path}: {}", io_text(e)))
}

fn check_perms(p: Option<u32>) -> Result<(), ContainerError> {
    match p {
        Some(p) if p > 0o777 => Err(ContainerError::path(
            GENERIC,
            format!("permissions must be a 3-digit octal string, got \"{p:03o}\""),
        )),
        _ => Ok(()),
    }
}

/// The fake filesystem.
#[derive(Debug)]
pub(crate) struct FakeFs {
    pub(crate) root: tempfile::TempDir,
    pub(crate) meta: std::sync::Mutex<BTreeMap<String, FileMeta>>,
}

fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            o => parts.push(o),
        }
    }
    format!("/{}", parts.join("/"))
}

impl FakeFs {
    pub(crate) fn new() -> std::io::Result<Self> {
        Ok(FakeFs {
            root: tempfile::Builder::new().prefix("pebble-fake-").tempdir()?,
            meta: std::sync::Mutex::new(BTreeMap::new()),
        })
    }

    pub(crate) fn host(&self, path: &str) -> Option<PathBuf> {
        host_path(self.root.path(), path)
    }

    fn remember(&self, path: &str, meta: FileMeta) {
        if let Ok(mut m) = self.meta.lock() {
            m.insert(clean(path), meta);
        }
    }

    pub(crate) fn meta_of(&self, path: &str) -> Option<FileMeta> {
        self.meta.lock().ok()?.get(&clean(path)).cloned()
    }

    fn forget(&self, path: &str) {
        let p = clean(path);
        if let Ok(mut m) = self.meta.lock() {
            let prefix = format!("{}/", p.trim_end_matches('/'));
            m.retain(|k, _| k != &p && !k.starts_with(&prefix));
        }
    }

    pub(crate) async fn push(
        &self,
        path: &str,
        mut source: pebble_client::container::ByteStream,
        opts: &PushOptions,
    ) -> Result<(), ContainerError> {
        let host = self.host(path).ok_or_else(|| relative(path))?;
        check_perms(opts.permissions)?;
        let mode = opts.permissions.unwrap_or(0o644);
        if let Some(parent) = host.parent() {
            match tokio::fs::metadata(parent).await {
                Ok(m) if !m.is_dir() => {
                    return Err(ContainerError::path(
                        GENERIC,
                        format!("open {path}: not a directory"),
                    ));
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && opts.make_dirs => {
                    self.make_parents(path, &host, 0o755).await?;
                }
                Err(e) => return Err(path_err("open", path, &e)),
            }
        }
        if tokio::fs::metadata(&host).await.is_ok_and(|m| m.is_dir()) {
            return Err(ContainerError::path(
                GENERIC,
                format!("open {path}: is a directory"),
            ));
        }
        let mut file = tokio::fs::File::create(&host)
            .await
            .map_err(|e| path_err("open", path, &e))?;
        tokio::io::copy(&mut source, &mut file).await?;
        drop(file);
        tokio::fs::set_permissions(&host, std::fs::Permissions::from_mode(mode))
            .await
            .map_err(|e| path_err("chmod", path, &e))?;
        self.remember(
            path,
            FileMeta {
                permissions: mode,
                user_id: opts.user_id,
                user: opts.user.clone(),
                group_id: opts.group_id,
                group: opts.group.clone(),
            },
        );
        Ok(())
    }

    async fn make_parents(&self, path: &str, host: &Path, mode: u32) -> Result<(), ContainerError> {
        let Some(parent) = host.parent() else {
            return Ok(());
        };
        // Create each missing ancestor with `mode`.
        let mut missing = Vec::new();
        let mut p = parent.to_path_buf();
        while !p.exists() && p.starts_with(self.root.path()) {
            missing.push(p.clone());
            if !p.pop() {
                break;
            }
        }
        for d in missing.into_iter().rev() {
            tokio::fs::create_dir(&d)
                .await
                .map_err(|e| path_err("mkdir", path, &e))?;
            tokio::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode))
                .await
                .map_err(|e| path_err("chmod", path, &e))?;
        }
        Ok(())
    }

    pub(crate) async fn pull(
        &self,
        path: &str,
    ) -> Result<pebble_client::container::ByteStream, ContainerError> {
        let host = self.host(path).ok_or_else(|| relative(path))?;
        let meta = tokio::fs::metadata(&host)
            .await
            .map_err(|e| path_err("stat", path, &e))?;
        if !meta.is_file() {
            return Err(ContainerError::path(
                GENERIC,
                format!("can only read a regular file: {}", go_quote(path)),
            ));
        }
        let f = tokio::fs::File::open(&host)
            .await
            .map_err(|e| path_err("open", path, &e))?;
        Ok(Box::pin(f))
    }

    pub(crate) async fn make_dir(
        &self,
        path: &str,
        opts: &MakeDirOptions,
    ) -> Result<(), ContainerError> {
        let host = self.host(path).ok_or_else(|| relative(path))?;
        check_perms(opts.permissions)?;
        let mode = opts.permissions.unwrap_or(0o755);
        match tokio::fs::metadata(&host).await {
            Ok(m) if m.is_dir() => {
                if opts.make_parents {
                    return Ok(());
                }
                return Err(ContainerError::path(
                    GENERIC,
                    format!("mkdir {path}: file exists"),
                ));
            }
            Ok(_) => {
                return Err(ContainerError::path(
                    GENERIC,
                    format!("mkdir {path}: not a directory"),
                ));
            }
            Err(_) => {}
        }
        if opts.make_parents {
            self.make_parents(path, &host, mode).await?;
        }
        tokio::fs::create_dir(&host)
            .await
            .map_err(|e| path_err("mkdir", path, &e))?;
        tokio::fs::set_permissions(&host, std::fs::Permissions::from_mode(mode))
            .await
            .map_err(|e| path_err("chmod", path, &e))?;
        self.remember(
            path,
            FileMeta {
                permissions: mode,
                user_id: opts.user_id,
                user: opts.user.clone(),
                group_id: opts.group_id,
                group: opts.group.clone(),
            },
        );
        Ok(())
    }

    pub(crate) async fn remove(&self, path: &str, recursive: bool) -> Result<(), ContainerError> {
        let host = self.host(path).ok_or_else(|| relative(path))?;
        let meta = match tokio::fs::symlink_metadata(&host).await {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && recursive => return Ok(()),
            Err(e) => return Err(path_err("remove", path, &e)),
        };
        let r = if meta.is_dir() {
            if recursive {
                tokio::fs::remove_dir_all(&host).await
            } else {
                tokio::fs::remove_dir(&host).await
            }
        } else {
            tokio::fs::remove_file(&host).await
        };
        r.map_err(|e| path_err("remove", path, &e))?;
        self.forget(path);
        Ok(())
    }

    pub(crate) async fn list(
        &self,
        path: &str,
        opts: &ListFilesOptions,
    ) -> Result<Vec<FileInfo>, ContainerError> {
        let Some(host) = self.host(path) else {
            return Err(ContainerError::api(
                400,
                "",
                format!("path must be absolute, got {}", go_quote(path)),
            ));
        };
        if let Some(p) = &opts.pattern {
            crate::glob::validate(p).map_err(|m| ContainerError::api(400, GENERIC, m))?;
        }
        let meta = match tokio::fs::symlink_metadata(&host).await {
            Ok(m) => m,
            Err(e) => {
                let code = if e.kind() == std::io::ErrorKind::NotFound {
                    404
                } else {
                    500
                };
                return Err(ContainerError::api(
                    code,
                    io_kind(&e),
                    format!("stat {path}: {}", io_text(&e)),
                ));
            }
        };
        let matches = |name: &str| match &opts.pattern {
            Some(p) => crate::glob::matches(p, name),
            None => true,
        };
        if opts.itself || !meta.is_dir() {
            let cleaned = clean(path);
            let name = if cleaned == "/" {
                "/".to_string()
            } else {
                cleaned.rsplit('/').next().unwrap_or("").to_string()
            };
            if !matches(&name) {
                return Ok(Vec::new());
            }
            return Ok(vec![self.info(path.to_string(), name, &meta)]);
        }
        let mut rd = tokio::fs::read_dir(&host).await.map_err(|e| {
            ContainerError::api(500, io_kind(&e), format!("open {path}: {}", io_text(&e)))
        })?;
        let mut out = Vec::new();
        while let Some(ent) = rd.next_entry().await? {
            let name = ent.file_name().to_string_lossy().into_owned();
            if !matches(&name) {
                continue;
            }
            let m = match tokio::fs::symlink_metadata(ent.path()).await {
                Ok(m) => m,
                Err(_) => continue,
            };
            let full = format!("{}/{}", path.trim_end_matches('/'), name);
            out.push(self.info(full, name, &m));
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn info(&self, path: String, name: String, m: &std::fs::Metadata) -> FileInfo {
        let ft = m.file_type();
        let type_ = if ft.is_dir() {
            "directory"
        } else if ft.is_file() {
            "file"
        } else if ft.is_symlink() {
            "symlink"
        } else {
            "unknown"
        };
        let asked = self.meta_of(&path).unwrap_or_default();
        let modified = m
            .modified()
            .ok()
            .and_then(|t| jiff::Timestamp::try_from(t).ok())
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default();
        FileInfo {
            path,
            name,
            type_: type_.to_string(),
            size: ft.is_file().then_some(m.len() as i64),
            permissions: format!("{:03o}", m.mode() & 0o777),
            last_modified: modified,
            user_id: Some(asked.user_id.unwrap_or(m.uid())),
            user: asked.user.unwrap_or_default(),
            group_id: Some(asked.group_id.unwrap_or(m.gid())),
            group: asked.group.unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_path_stays_inside_root() {
        let root = Path::new("/r");
        assert_eq!(host_path(root, "/a/../../b"), Some(PathBuf::from("/r/b")));
        assert_eq!(host_path(root, "/"), Some(PathBuf::from("/r")));
        assert_eq!(host_path(root, "rel"), None);
        assert_eq!(clean("/a//b/./c/"), "/a/b/c");
    }
}
