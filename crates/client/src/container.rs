//! The high-level workload-container API, the Rust analogue of `ops.Container`.
//!
//! [`Workload`] is the trait charm-like code is written against. Two implementations exist:
//!
//! * [`Container`], which talks to a real Pebble daemon through the low-level [`Client`];
//! * `pebble_testing::FakeContainer`, an in-memory fake for unit tests (crate `pebble-testing`).
//!
//! Code that takes `&impl Workload` (or a generic `W: Workload`) runs unchanged against both.
//!
//! ```no_run
//! use pebble_client::container::{Container, Workload, ContainerError};
//!
//! async fn configure(c: &impl Workload) -> Result<(), ContainerError> {
//!     c.add_layer("pause", r#"
//! services:
//!   pause:
//!     override: replace
//!     command: /pause
//!     startup: enabled
//! "#, true).await?;
//!     c.autostart().await
//! }
//!
//! # async fn run() -> Result<(), ContainerError> {
//! let container = Container::from_socket("/charm/containers/pause/pebble.socket");
//! configure(&container).await?;
//! # Ok(())
//! # }
//! ```

pub mod blocking;
mod error;
mod exec;
mod pull;
mod real;
mod types;

pub use error::{ContainerError, ExecError, PushPullFailure};
pub use exec::{BoxFuture, ExecBackend, ExecOptions, ExecProcess, ExecReader, ExecWriter};
pub use real::Container;
pub use types::{
    ByteStream, LayerInput, ListFilesOptions, MakeDirOptions, PushOptions, PushSource, ServiceInfo,
    ServiceStartup, ServiceStatus,
};

pub use pebble_api::files::FileInfo;
pub use pebble_api::{CheckInfo, Notice};
pub use pebble_plan::{Layer, Plan};

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use tokio::io::AsyncReadExt;

#[allow(unused_imports)]
use crate::Client;

/// Default time a service action (start, stop, replan, ...) waits for its change.
pub const DEFAULT_CHANGE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The operations of a workload container managed by Pebble (`ops.Container`).
///
/// Implemented by the real [`Container`] and by the testing kit's fake container, so that code
/// under test takes either. Every method returns a `Send` future.
pub trait Workload: Send + Sync {
    /// Whether Pebble answers right now (`GET /v1/system-info` succeeds).
    ///
    /// This is a point-in-time check: later calls may still fail with
    /// [`ContainerError::Connection`], which callers should handle.
    fn can_connect(&self) -> impl Future<Output = bool> + Send;

    /// Adds a layer labelled `label`; with `combine`, merges it into an existing layer with the
    /// same label (or appends it when there is none).
    ///
    /// `layer` is YAML text, a JSON-like map ([`serde_json::Value`]) or a typed [`Layer`].
    fn add_layer(
        &self,
        label: &str,
        layer: impl Into<LayerInput> + Send,
        combine: bool,
    ) -> impl Future<Output = Result<(), ContainerError>> + Send;

    /// The combined plan.
    fn get_plan(&self) -> impl Future<Output = Result<Plan, ContainerError>> + Send;

    /// Starts the services marked `startup: enabled`.
    fn autostart(&self) -> impl Future<Output = Result<(), ContainerError>> + Send;

    /// Restarts changed services and starts `startup: enabled` ones.
    fn replan(&self) -> impl Future<Output = Result<(), ContainerError>> + Send;

    /// Starts services (idempotent).
    fn start(&self, services: &[&str]) -> impl Future<Output = Result<(), ContainerError>> + Send;

    /// Stops services (idempotent).
    fn stop(&self, services: &[&str]) -> impl Future<Output = Result<(), ContainerError>> + Send;

    /// Restarts services (starts them when they are stopped).
    fn restart(&self, services: &[&str])
    -> impl Future<Output = Result<(), ContainerError>> + Send;

    /// Status of the named services (all services when `names` is empty), sorted by name;
    /// unknown names are ignored.
    fn get_services(
        &self,
        names: &[&str],
    ) -> impl Future<Output = Result<Vec<ServiceInfo>, ContainerError>> + Send;

    /// Status of one service; [`ContainerError::Model`] if it is not in the plan.
    fn get_service(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<ServiceInfo, ContainerError>> + Send {
        async move {
            let infos = self.get_services(&[name]).await?;
            infos
                .into_iter()
                .find(|s| s.name == name)
                .ok_or_else(|| ContainerError::Model(format!("service {name:?} not found")))
        }
    }

    /// Sends a signal (`SIGHUP`, ...) to running services.
    fn send_signal(
        &self,
        signal: &str,
        services: &[&str],
    ) -> impl Future<Output = Result<(), ContainerError>> + Send;

    /// Check infos, filtered by `level` (`alive`/`ready`) and names (empty: all).
    fn get_checks(
        &self,
        level: Option<&str>,
        names: &[&str],
    ) -> impl Future<Output = Result<Vec<CheckInfo>, ContainerError>> + Send;

    /// One check; [`ContainerError::Model`] if there is no such check.
    fn get_check(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<CheckInfo, ContainerError>> + Send {
        async move {
            let infos = self.get_checks(None, &[name]).await?;
            infos
                .into_iter()
                .find(|c| c.name == name)
                .ok_or_else(|| ContainerError::Model(format!("check {name:?} not found")))
        }
    }

    /// Starts checks; returns the names that were actually started.
    fn start_checks(
        &self,
        names: &[&str],
    ) -> impl Future<Output = Result<Vec<String>, ContainerError>> + Send;

    /// Stops checks; returns the names that were actually stopped.
    fn stop_checks(
        &self,
        names: &[&str],
    ) -> impl Future<Output = Result<Vec<String>, ContainerError>> + Send;

    /// Records a custom notice; returns its id.
    fn notify(
        &self,
        key: &str,
        data: BTreeMap<String, String>,
    ) -> impl Future<Output = Result<String, ContainerError>> + Send;

    /// Notices visible to the caller, ordered by last repeat.
    fn get_notices(&self) -> impl Future<Output = Result<Vec<Notice>, ContainerError>> + Send;

    /// One notice by id; [`ContainerError::Model`] if it does not exist.
    fn get_notice(&self, id: &str) -> impl Future<Output = Result<Notice, ContainerError>> + Send;

    /// Starts a command. The returned process streams stdin/stdout/stderr; wait for it with
    /// [`ExecProcess::wait`] or [`ExecProcess::wait_output`].
    fn exec(
        &self,
        command: &[&str],
        options: ExecOptions,
    ) -> impl Future<Output = Result<ExecProcess, ContainerError>> + Send;

    /// Writes a file (content streamed from `source`).
    fn push(
        &self,
        path: &str,
        source: impl Into<PushSource> + Send,
        options: PushOptions,
    ) -> impl Future<Output = Result<(), ContainerError>> + Send;

    /// Reads a file as a stream (not buffered in memory).
    fn pull(&self, path: &str) -> impl Future<Output = Result<ByteStream, ContainerError>> + Send;

    /// Reads a whole file into memory.
    fn pull_bytes(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<Vec<u8>, ContainerError>> + Send {
        async move {
            let mut stream = self.pull(path).await?;
            let mut out = Vec::new();
            stream
                .read_to_end(&mut out)
                .await
                .map_err(|e| ContainerError::Connection(format!("cannot read {path}: {e}")))?;
            Ok(out)
        }
    }

    /// Reads a whole UTF-8 file into a string (invalid UTF-8 is replaced, as with `String::from_utf8_lossy`).
    fn pull_text(&self, path: &str) -> impl Future<Output = Result<String, ContainerError>> + Send {
        async move {
            let bytes = self.pull_bytes(path).await?;
            Ok(match String::from_utf8(bytes) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            })
        }
    }

    /// Lists a directory (or, with `itself`, describes the path itself).
    fn list_files(
        &self,
        path: &str,
        options: ListFilesOptions,
    ) -> impl Future<Output = Result<Vec<FileInfo>, ContainerError>> + Send;

    /// Creates a directory.
    fn make_dir(
        &self,
        path: &str,
        options: MakeDirOptions,
    ) -> impl Future<Output = Result<(), ContainerError>> + Send;

    /// Removes a file or directory (`recursive` for non-empty directories).
    fn remove_path(
        &self,
        path: &str,
        recursive: bool,
    ) -> impl Future<Output = Result<(), ContainerError>> + Send;

    /// Whether `path` exists (a 404 from the list call means no).
    fn exists(&self, path: &str) -> impl Future<Output = Result<bool, ContainerError>> + Send {
        async move {
            match self.list_files(path, ListFilesOptions::itself()).await {
                Ok(_) => Ok(true),
                Err(e) if e.api_code() == Some(404) => Ok(false),
                Err(e) => Err(e),
            }
        }
    }

    /// Whether `path` exists and is a directory.
    fn isdir(&self, path: &str) -> impl Future<Output = Result<bool, ContainerError>> + Send {
        async move {
            match self.list_files(path, ListFilesOptions::itself()).await {
                Ok(v) => Ok(v.first().is_some_and(|f| f.type_ == "directory")),
                Err(e) if e.api_code() == Some(404) => Ok(false),
                Err(e) => Err(e),
            }
        }
    }

    /// Copies local files or directories into the container directory `dest_dir` (recursively),
    /// keeping their permission bits. Errors are collected per file in
    /// [`ContainerError::MultiPushPull`].
    fn push_path(
        &self,
        sources: &[&Path],
        dest_dir: &str,
    ) -> impl Future<Output = Result<(), ContainerError>> + Send {
        async move {
            let mut failures = Vec::new();
            for src in sources {
                let src = src.to_path_buf();
                let Some(base) = src.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                    failures.push(PushPullFailure {
                        path: src.display().to_string(),
                        error: "source has no file name".to_string(),
                    });
                    continue;
                };
                let dest = join_container(dest_dir, &base);
                let mut stack = vec![(src, dest)];
                while let Some((local, remote)) = stack.pop() {
                    let meta = match tokio::fs::symlink_metadata(&local).await {
                        Ok(m) => m,
                        Err(e) => {
                            failures.push(PushPullFailure::new(&local, e));
                            continue;
                        }
                    };
                    let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777;
                    if meta.is_dir() {
                        let opts = MakeDirOptions::new().make_parents(true).permissions(mode);
                        if let Err(e) = self.make_dir(&remote, opts).await {
                            failures.push(PushPullFailure::new(&local, e));
                            continue;
                        }
                        let mut rd = match tokio::fs::read_dir(&local).await {
                            Ok(rd) => rd,
                            Err(e) => {
                                failures.push(PushPullFailure::new(&local, e));
                                continue;
                            }
                        };
                        let mut children = Vec::new();
                        loop {
                            match rd.next_entry().await {
                                Ok(Some(ent)) => children.push(ent.file_name()),
                                Ok(None) => break,
                                Err(e) => {
                                    failures.push(PushPullFailure::new(&local, e));
                                    break;
                                }
                            }
                        }
                        children.sort();
                        for c in children.into_iter().rev() {
                            let name = c.to_string_lossy().into_owned();
                            stack.push((local.join(&c), join_container(&remote, &name)));
                        }
                    } else if meta.is_file() {
                        let file = match tokio::fs::File::open(&local).await {
                            Ok(f) => f,
                            Err(e) => {
                                failures.push(PushPullFailure::new(&local, e));
                                continue;
                            }
                        };
                        let opts = PushOptions::new().make_dirs(true).permissions(mode);
                        if let Err(e) = self.push(&remote, PushSource::reader(file), opts).await {
                            failures.push(PushPullFailure::new(&local, e));
                        }
                    }
                }
            }
            if failures.is_empty() {
                Ok(())
            } else {
                Err(ContainerError::MultiPushPull(failures))
            }
        }
    }

    /// Copies container files or directories into the local directory `dest_dir`
    /// (recursively). Errors are collected per file in [`ContainerError::MultiPushPull`].
    fn pull_path(
        &self,
        sources: &[&str],
        dest_dir: &Path,
    ) -> impl Future<Output = Result<(), ContainerError>> + Send {
        async move {
            let mut failures = Vec::new();
            for src in sources {
                let src = src.to_string();
                let infos = match self.list_files(&src, ListFilesOptions::itself()).await {
                    Ok(v) => v,
                    Err(e) => {
                        failures.push(PushPullFailure {
                            path: src.clone(),
                            error: e.to_string(),
                        });
                        continue;
                    }
                };
                let mut stack: Vec<(FileInfo, PathBuf)> = infos
                    .into_iter()
                    .map(|fi| {
                        let dest = dest_dir.join(&fi.name);
                        (fi, dest)
                    })
                    .collect();
                while let Some((info, local)) = stack.pop() {
                    if info.type_ == "directory" {
                        if let Err(e) = tokio::fs::create_dir_all(&local).await {
                            failures.push(PushPullFailure::new(Path::new(&info.path), e));
                            continue;
                        }
                        match self
                            .list_files(&info.path, ListFilesOptions::default())
                            .await
                        {
                            Ok(children) => {
                                for c in children.into_iter().rev() {
                                    let dest = local.join(&c.name);
                                    stack.push((c, dest));
                                }
                            }
                            Err(e) => failures.push(PushPullFailure {
                                path: info.path.clone(),
                                error: e.to_string(),
                            }),
                        }
                    } else if info.type_ == "file"
                        && let Err(e) = pull_one(self, &info.path, &local).await
                    {
                        failures.push(PushPullFailure {
                            path: info.path.clone(),
                            error: e.to_string(),
                        });
                    }
                }
            }
            if failures.is_empty() {
                Ok(())
            } else {
                Err(ContainerError::MultiPushPull(failures))
            }
        }
    }
}

async fn pull_one<W: Workload + ?Sized>(
    w: &W,
    path: &str,
    local: &Path,
) -> Result<(), ContainerError> {
    let mut stream = w.pull(path).await?;
    if let Some(parent) = local.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let mut file = tokio::fs::File::create(local).await?;
    tokio::io::copy(&mut stream, &mut file).await?;
    Ok(())
}

/// Joins a container directory and a name with exactly one `/`.
fn join_container(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}
