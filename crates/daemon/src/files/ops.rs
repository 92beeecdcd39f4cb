//! Filesystem operations with Go Pebble's semantics and messages: make directories, remove
//! paths, and atomic file writes (temporary file in the same directory, explicit chmod so the
//! umask never decides the mode, optional chown, fsync, rename, directory fsync).

use super::error::{FileError, go_quote};
use super::gopath;
use super::owner;
use pebble_api::files::{MakeDirsItem, Ownership, RemovePathsItem, WriteFilesItem};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::sync::Mutex;

/// Default mode of written files.
pub const DEFAULT_FILE_MODE: u32 = 0o644;
/// Default mode of created directories.
pub const DEFAULT_DIR_MODE: u32 = 0o755;

/// Serialises directory creation, so that two requests creating `/a/b` and `/a/c` with
/// make-parents cannot both decide to create `/a`.
static MKDIR_LOCK: Mutex<()> = Mutex::new(());

/// Parse a permissions string: empty gives `default`, otherwise exactly 3 octal digits.
pub fn parse_permissions(s: &str, default: u32) -> Result<u32, FileError> {
    if s.is_empty() {
        return Ok(default);
    }
    let valid = s.len() == 3 && s.bytes().all(|b| (b'0'..=b'7').contains(&b));
    match u32::from_str_radix(s, 8) {
        Ok(mode) if valid => Ok(mode),
        _ => Err(FileError::generic(format!(
            "permissions must be a 3-digit octal string, got {}",
            go_quote(s)
        ))),
    }
}

/// Resolve the ownership fields of a request item.
pub fn resolve_owner(o: &Ownership) -> Result<Option<(u32, u32)>, FileError> {
    owner::normalize(o.user_id, o.group_id, &o.user, &o.group)
        .map_err(|e| FileError::generic(format!("cannot look up user and group: {e}")))
}

/// Options of [`mkdir`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MkdirOptions {
    /// Create missing parents (with the same mode and owner).
    pub make_parents: bool,
    /// An existing directory is not an error.
    pub exist_ok: bool,
    /// Owner of every directory created.
    pub chown: Option<(u32, u32)>,
}

/// Create directory `path` with mode `perm` (applied with an explicit chmod), Pebble-style.
pub fn mkdir(path: &str, perm: u32, opts: MkdirOptions) -> Result<(), FileError> {
    let _guard = MKDIR_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let path = gopath::clean(path);
    if let Ok(md) = fs::metadata(&path) {
        if !md.is_dir() {
            return Err(FileError::path_errno("mkdir", &path, libc::ENOTDIR));
        }
        if opts.exist_ok {
            return Ok(());
        }
        return Err(FileError::path_errno("mkdir", &path, libc::EEXIST));
    }
    mkdir_all(&path, perm, opts)
}

fn mkdir_all(path: &str, perm: u32, opts: MkdirOptions) -> Result<(), FileError> {
    if let Ok(md) = fs::metadata(path) {
        if md.is_dir() {
            return Ok(());
        }
        return Err(FileError::path_errno("mkdir", path, libc::ENOTDIR));
    }
    if opts.make_parents {
        let parent = gopath::dir(path);
        if parent != "/" {
            mkdir_all(&parent, perm, opts)?;
        }
    }
    mkdir_one(path, perm, opts)
}

/// Create one directory as `<path>.mkdir-new`, chown it, rename it into place, chmod it and
/// sync the parent directory.
fn mkdir_one(path: &str, perm: u32, opts: MkdirOptions) -> Result<(), FileError> {
    let cand = format!("{path}.mkdir-new");
    if let Err(e) = fs::DirBuilder::new().mode(perm).create(&cand)
        && e.kind() != io::ErrorKind::AlreadyExists
    {
        return Err(FileError::path("mkdir", &cand, &e));
    }
    if let Some((uid, gid)) = opts.chown {
        std::os::unix::fs::lchown(&cand, Some(uid), Some(gid))
            .map_err(|e| FileError::path("chown", &cand, &e))?;
    }
    go_rename(&cand, path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(perm))
        .map_err(|e| FileError::path("chmod", path, &e))?;
    sync_dir(&gopath::dir(path))
}

fn sync_dir(dir: &str) -> Result<(), FileError> {
    let d = fs::File::open(dir).map_err(|e| FileError::path("open", dir, &e))?;
    d.sync_all().map_err(|e| FileError::path("sync", dir, &e))
}

/// Go `os.Rename`: renaming onto an existing directory is `EEXIST`.
fn go_rename(old: &str, new: &str) -> Result<(), FileError> {
    if let Ok(md) = fs::symlink_metadata(new)
        && md.is_dir()
    {
        return Err(FileError::link(
            "rename",
            old,
            new,
            &io::Error::from_raw_os_error(libc::EEXIST),
        ));
    }
    fs::rename(old, new).map_err(|e| FileError::link("rename", old, new, &e))
}

/// One item of the `make-dirs` action.
pub fn make_dir(item: &MakeDirsItem) -> Result<(), FileError> {
    if !gopath::is_abs(&item.path) {
        return Err(FileError::not_absolute(&item.path));
    }
    let perm = parse_permissions(&item.permissions, DEFAULT_DIR_MODE)?;
    let chown = resolve_owner(&item.owner)?;
    let opts = MkdirOptions {
        make_parents: item.make_parents,
        exist_ok: item.make_parents,
        chown,
    };
    mkdir(&item.path, perm, opts)
}

/// One item of the `remove` action (`os.Remove`, or `os.RemoveAll` when recursive).
pub fn remove_path(item: &RemovePathsItem) -> Result<(), FileError> {
    let path = item.path.as_str();
    if !gopath::is_abs(path) {
        return Err(FileError::not_absolute(path));
    }
    if item.recursive {
        return remove_all(path);
    }
    // Go's os.Remove tries unlink, then rmdir, and reports the more meaningful error.
    let e1 = match fs::remove_file(path) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    let e2 = match fs::remove_dir(path) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    let err = if e2.raw_os_error() == Some(libc::ENOTDIR) {
        e1
    } else {
        e2
    };
    Err(FileError::path("remove", path, &err))
}

/// Go `os.RemoveAll`: a missing path is not an error.
fn remove_all(path: &str) -> Result<(), FileError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(FileError::path("lstat", path, &e)),
        Ok(md) if md.is_dir() => match fs::remove_dir_all(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(FileError::path("unlinkat", path, &e)),
        },
        Ok(_) => match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(FileError::path("unlinkat", path, &e)),
        },
    }
}

/// A file being written atomically: data goes to `<dir>/<base>.<random>~`, which is renamed
/// over the target on [`AtomicFile::commit`]. Dropping it uncommitted removes the temporary file.
#[derive(Debug)]
pub struct AtomicFile {
    file: Option<fs::File>,
    written: u64,
    writeback_from: u64,
    tmpname: String,
    target: String,
    chown: Option<(u32, u32)>,
}

impl AtomicFile {
    /// Create the temporary file next to `target` with mode `perm` (explicit fchmod).
    pub fn create(target: &str, perm: u32, chown: Option<(u32, u32)>) -> Result<Self, FileError> {
        let base = gopath::base(target);
        let dir = gopath::dir(target);
        if base.contains('*') {
            return Err(FileError::generic(format!(
                "cannot create tempfile for filename containing '*': {}",
                go_quote(&base)
            )));
        }
        let prefix = if dir.ends_with('/') {
            format!("{dir}{base}.")
        } else {
            format!("{dir}/{base}.")
        };
        let mut tries = 0;
        let (file, tmpname) = loop {
            let name = format!("{prefix}{}~", fastrand::u32(..));
            match fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&name)
            {
                Ok(f) => break (f, name),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 10_000 => {
                    tries += 1;
                }
                Err(e) => return Err(FileError::path("open", &name, &e)),
            }
        };
        let af = AtomicFile {
            file: Some(file),
            written: 0,
            writeback_from: 0,
            tmpname,
            target: target.to_string(),
            chown,
        };
        if let Some(f) = &af.file {
            f.set_permissions(fs::Permissions::from_mode(perm))
                .map_err(|e| FileError::path("chmod", &af.tmpname, &e))?;
        }
        Ok(af)
    }

    /// Append `data`. Every [`WRITEBACK_STEP`] bytes, writeback of what was written so far is
    /// started, so that disk writes overlap with receiving and the final fsync is short.
    pub fn write_all(&mut self, data: &[u8]) -> Result<(), FileError> {
        let Some(f) = &mut self.file else {
            return Err(FileError::path_errno("write", &self.tmpname, libc::EBADF));
        };
        f.write_all(data)
            .map_err(|e| FileError::path("write", &self.tmpname, &e))?;
        self.written += data.len() as u64;
        if self.written - self.writeback_from >= WRITEBACK_STEP {
            start_writeback(f, self.writeback_from, self.written - self.writeback_from);
            self.writeback_from = self.written;
        }
        Ok(())
    }

    /// Chown, fsync, close and rename over the target, then fsync the directory.
    pub fn commit(mut self) -> Result<(), FileError> {
        let Some(file) = self.file.take() else {
            return Err(FileError::path_errno("sync", &self.tmpname, libc::EBADF));
        };
        if let Some((uid, gid)) = self.chown {
            std::os::unix::fs::fchown(&file, Some(uid), Some(gid))
                .map_err(|e| FileError::path("chown", &self.tmpname, &e))?;
        }
        let dir = gopath::dir(&self.target);
        let d = fs::File::open(&dir).map_err(|e| FileError::path("open", &dir, &e))?;
        file.sync_all()
            .map_err(|e| FileError::path("sync", &self.tmpname, &e))?;
        drop(file);
        go_rename(&self.tmpname, &self.target)?;
        self.tmpname.clear();
        d.sync_all().map_err(|e| FileError::path("sync", &dir, &e))
    }
}

/// How much written data accumulates before its writeback is started.
pub const WRITEBACK_STEP: u64 = 8 << 20;

/// Start asynchronous writeback of a range (`sync_file_range` with `SYNC_FILE_RANGE_WRITE`).
/// Only a hint: errors are ignored, and durability still comes from the fsync in `commit`.
fn start_writeback(f: &fs::File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(off), Ok(n)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: the descriptor is open for the duration of the call, and sync_file_range only
    // reads its integer arguments.
    unsafe {
        libc::sync_file_range(f.as_raw_fd(), off, n, libc::SYNC_FILE_RANGE_WRITE);
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.tmpname.is_empty() {
            let _ = fs::remove_file(&self.tmpname);
        }
    }
}

/// Everything done for a `write` item before its content arrives: path and ownership checks,
/// parent directories (make-dirs), permissions, and the temporary file.
pub fn prepare_write(item: &WriteFilesItem) -> Result<AtomicFile, FileError> {
    if !gopath::is_abs(&item.path) {
        return Err(FileError::not_absolute(&item.path));
    }
    let chown = resolve_owner(&item.owner)?;
    if item.make_dirs {
        let opts = MkdirOptions {
            make_parents: true,
            exist_ok: true,
            chown,
        };
        mkdir(&gopath::dir(&item.path), DEFAULT_DIR_MODE, opts)
            .map_err(|e| e.wrap("cannot create directory"))?;
    }
    let perm = parse_permissions(&item.permissions, DEFAULT_FILE_MODE)?;
    AtomicFile::create(&item.path, perm, chown)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::files::error::FileErrorKind;
    use std::os::unix::fs::MetadataExt;

    fn mode(p: &std::path::Path) -> u32 {
        fs::metadata(p).unwrap().mode() & 0o7777
    }

    #[test]
    fn permissions_strings() {
        assert_eq!(parse_permissions("", 0o644), Ok(0o644));
        assert_eq!(parse_permissions("600", 0o644), Ok(0o600));
        assert_eq!(parse_permissions("007", 0o644), Ok(0o007));
        for bad in ["1000", "-01", "64", "888", "+64", "0o7", "6_4"] {
            let e = parse_permissions(bad, 0o644).unwrap_err();
            assert_eq!(
                e.message,
                format!("permissions must be a 3-digit octal string, got \"{bad}\"")
            );
            assert_eq!(e.kind, FileErrorKind::Generic);
        }
    }

    #[test]
    fn mkdir_like_pebble() {
        let d = tempfile::tempdir().unwrap();
        let p = |s: &str| format!("{}/{s}", d.path().display());
        let item = |path: String, parents: bool, perm: &str| MakeDirsItem {
            path,
            make_parents: parents,
            permissions: perm.into(),
            owner: Ownership::default(),
        };
        // Umask never decides the mode.
        let old = unsafe_umask(0o077);
        make_dir(&item(p("a"), false, "")).unwrap();
        unsafe_umask(old);
        assert_eq!(mode(&d.path().join("a")), 0o755);
        let e = make_dir(&item(p("a"), false, "")).unwrap_err();
        assert_eq!(e.message, format!("mkdir {}: file exists", p("a")));
        make_dir(&item(p("a"), true, "")).unwrap();
        let e = make_dir(&item(p("x/y"), false, "")).unwrap_err();
        assert_eq!(
            e.message,
            format!("mkdir {}.mkdir-new: no such file or directory", p("x/y"))
        );
        assert_eq!(e.kind, FileErrorKind::NotFound);
        make_dir(&item(p("p1/p2"), true, "700")).unwrap();
        assert_eq!(mode(&d.path().join("p1")), 0o700);
        assert_eq!(mode(&d.path().join("p1/p2")), 0o700);
        fs::write(d.path().join("f"), "").unwrap();
        let e = make_dir(&item(p("f"), false, "")).unwrap_err();
        assert_eq!(e.message, format!("mkdir {}: not a directory", p("f")));
        let e = make_dir(&item("rel/dir".into(), false, "")).unwrap_err();
        assert_eq!(e.message, "paths must be absolute, got \"rel/dir\"");
        let e = make_dir(&item(p("bp"), false, "1000")).unwrap_err();
        assert_eq!(e.kind, FileErrorKind::Generic);
    }

    fn unsafe_umask(m: u32) -> u32 {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(m)).bits()
    }

    #[test]
    fn remove_like_pebble() {
        let d = tempfile::tempdir().unwrap();
        let p = |s: &str| format!("{}/{s}", d.path().display());
        let item = |path: String, recursive: bool| RemovePathsItem { path, recursive };
        fs::create_dir_all(d.path().join("ne/inner")).unwrap();
        fs::write(d.path().join("f"), "x").unwrap();
        remove_path(&item(p("f"), false)).unwrap();
        let e = remove_path(&item(p("ne"), false)).unwrap_err();
        assert_eq!(
            e.message,
            format!("remove {}: directory not empty", p("ne"))
        );
        let e = remove_path(&item(p("missing"), false)).unwrap_err();
        assert_eq!(
            e.message,
            format!("remove {}: no such file or directory", p("missing"))
        );
        assert_eq!(e.kind, FileErrorKind::NotFound);
        remove_path(&item(p("ne"), true)).unwrap();
        assert!(!d.path().join("ne").exists());
        remove_path(&item(p("missing"), true)).unwrap();
        let e = remove_path(&item("relative".into(), false)).unwrap_err();
        assert_eq!(e.message, "paths must be absolute, got \"relative\"");
    }

    #[test]
    fn atomic_write_modes_and_errors() {
        let d = tempfile::tempdir().unwrap();
        let p = |s: &str| format!("{}/{s}", d.path().display());
        let item = |path: String, make_dirs: bool, perm: &str| WriteFilesItem {
            path,
            make_dirs,
            permissions: perm.into(),
            owner: Ownership::default(),
        };
        let old = unsafe_umask(0o077);
        let mut f = prepare_write(&item(p("w.txt"), false, "")).unwrap();
        unsafe_umask(old);
        f.write_all(b"hello").unwrap();
        f.commit().unwrap();
        assert_eq!(fs::read(d.path().join("w.txt")).unwrap(), b"hello");
        assert_eq!(mode(&d.path().join("w.txt")), 0o644);

        let e = prepare_write(&item(p("no/parent/f.txt"), false, "")).unwrap_err();
        let prefix = format!("open {}.", p("no/parent/f.txt"));
        assert!(e.message.starts_with(&prefix), "{}", e.message);
        assert!(
            e.message.ends_with("~: no such file or directory"),
            "{}",
            e.message
        );
        assert_eq!(e.kind, FileErrorKind::NotFound);

        let mut f = prepare_write(&item(p("np/q/f.txt"), true, "600")).unwrap();
        f.write_all(b"x").unwrap();
        f.commit().unwrap();
        assert_eq!(mode(&d.path().join("np/q/f.txt")), 0o600);
        assert_eq!(mode(&d.path().join("np/q")), 0o755);

        fs::create_dir(d.path().join("sub")).unwrap();
        let f = prepare_write(&item(p("sub"), false, "")).unwrap();
        let e = f.commit().unwrap_err();
        assert!(e.message.starts_with(&format!("rename {}.", p("sub"))));
        assert!(e.message.ends_with(&format!("~ {}: file exists", p("sub"))));
        // No temporary file is left behind.
        let leftovers: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with('~'))
            .collect();
        assert!(leftovers.is_empty());

        let e = prepare_write(&item(p("a*b"), false, "")).unwrap_err();
        assert_eq!(
            e.message,
            "cannot create tempfile for filename containing '*': \"a*b\""
        );
    }
}
