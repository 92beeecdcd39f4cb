//! Blocking wrappers, for synchronous code (as `ops` charms are written).
//!
//! [`BlockingContainer`] owns a small background runtime thread and runs each call of the
//! wrapped [`Workload`] to completion. [`BlockingProcess`] exposes the process streams as
//! `std::io::Read`/`Write`, usable from several threads at once (one writing stdin while another
//! reads stdout).
//!
//! ```no_run
//! use pebble_client::container::{Container, ExecOptions};
//! use pebble_client::container::blocking::BlockingContainer;
//! use std::io::{BufRead, BufReader, Write};
//!
//! let container = BlockingContainer::new(Container::from_socket("/charm/containers/app/pebble.socket"))?;
//! let mut process = container.exec(&["cat"], ExecOptions::new())?;
//! let mut stdin = process.stdin.take().expect("stdin");
//! let writer = std::thread::spawn(move || -> std::io::Result<()> {
//!     for line in ["one\n", "2\n", "THREE\n"] {
//!         stdin.write_all(line.as_bytes())?;
//!     }
//!     stdin.close()
//! });
//! for line in BufReader::new(process.stdout.take().expect("stdout")).lines() {
//!     println!("Output: {}", line?);
//! }
//! writer.join().expect("writer thread")?;
//! process.wait()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::thread::JoinHandle;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Handle;

use super::{
    CheckInfo, ContainerError, ExecOptions, ExecProcess, ExecReader, ExecWriter, FileInfo,
    LayerInput, ListFilesOptions, MakeDirOptions, Notice, Plan, PushOptions, PushSource,
    ServiceInfo, Workload,
};

/// A current-thread runtime driven by a background thread until dropped.
#[derive(Debug)]
struct Background {
    handle: Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    fn start() -> io::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = rt.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("pebble-blocking".to_string())
            .spawn(move || {
                rt.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        Ok(Background {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A [`Workload`] with blocking methods. Must not be used from inside an async runtime.
#[derive(Debug)]
pub struct BlockingContainer<W> {
    inner: W,
    // Dropped after `inner`, so that nothing of it outlives the runtime.
    bg: Background,
}

impl<W: Workload> BlockingContainer<W> {
    /// Wraps `inner`, starting a background runtime thread.
    pub fn new(inner: W) -> io::Result<Self> {
        Ok(BlockingContainer {
            inner,
            bg: Background::start()?,
        })
    }

    /// The wrapped async container.
    pub fn inner(&self) -> &W {
        &self.inner
    }

    fn run<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.bg.handle.block_on(f)
    }

    /// See [`Workload::can_connect`].
    pub fn can_connect(&self) -> bool {
        self.run(self.inner.can_connect())
    }

    /// See [`Workload::add_layer`].
    pub fn add_layer(
        &self,
        label: &str,
        layer: impl Into<LayerInput> + Send,
        combine: bool,
    ) -> Result<(), ContainerError> {
        self.run(self.inner.add_layer(label, layer, combine))
    }

    /// See [`Workload::get_plan`].
    pub fn get_plan(&self) -> Result<Plan, ContainerError> {
        self.run(self.inner.get_plan())
    }

    /// See [`Workload::autostart`].
    pub fn autostart(&self) -> Result<(), ContainerError> {
        self.run(self.inner.autostart())
    }

    /// See [`Workload::replan`].
    pub fn replan(&self) -> Result<(), ContainerError> {
        self.run(self.inner.replan())
    }

    /// See [`Workload::start`].
    pub fn start(&self, services: &[&str]) -> Result<(), ContainerError> {
        self.run(self.inner.start(services))
    }

    /// See [`Workload::stop`].
    pub fn stop(&self, services: &[&str]) -> Result<(), ContainerError> {
        self.run(self.inner.stop(services))
    }

    /// See [`Workload::restart`].
    pub fn restart(&self, services: &[&str]) -> Result<(), ContainerError> {
        self.run(self.inner.restart(services))
    }

    /// See [`Workload::get_services`].
    pub fn get_services(&self, names: &[&str]) -> Result<Vec<ServiceInfo>, ContainerError> {
        self.run(self.inner.get_services(names))
    }

    /// See [`Workload::get_service`].
    pub fn get_service(&self, name: &str) -> Result<ServiceInfo, ContainerError> {
        self.run(self.inner.get_service(name))
    }

    /// See [`Workload::send_signal`].
    pub fn send_signal(&self, signal: &str, services: &[&str]) -> Result<(), ContainerError> {
        self.run(self.inner.send_signal(signal, services))
    }

    /// See [`Workload::get_checks`].
    pub fn get_checks(
        &self,
        level: Option<&str>,
        names: &[&str],
    ) -> Result<Vec<CheckInfo>, ContainerError> {
        self.run(self.inner.get_checks(level, names))
    }

    /// See [`Workload::notify`].
    pub fn notify(
        &self,
        key: &str,
        data: BTreeMap<String, String>,
    ) -> Result<String, ContainerError> {
        self.run(self.inner.notify(key, data))
    }

    /// See [`Workload::get_notices`].
    pub fn get_notices(&self) -> Result<Vec<Notice>, ContainerError> {
        self.run(self.inner.get_notices())
    }

    /// See [`Workload::exec`]; the process streams are blocking.
    pub fn exec(
        &self,
        command: &[&str],
        options: ExecOptions,
    ) -> Result<BlockingProcess, ContainerError> {
        // Spawned exec tasks must live on the background runtime.
        let handle = self.bg.handle.clone();
        let mut process = self.run(async {
            let _guard = handle.enter();
            self.inner.exec(command, options).await
        })?;
        Ok(BlockingProcess {
            stdin: process.stdin.take().map(|w| BlockingWriter {
                inner: w,
                handle: handle.clone(),
            }),
            stdout: process.stdout.take().map(|r| BlockingReader {
                inner: r,
                handle: handle.clone(),
            }),
            stderr: process.stderr.take().map(|r| BlockingReader {
                inner: r,
                handle: handle.clone(),
            }),
            process,
            handle,
        })
    }

    /// See [`Workload::push`].
    pub fn push(
        &self,
        path: &str,
        source: impl Into<PushSource> + Send,
        options: PushOptions,
    ) -> Result<(), ContainerError> {
        self.run(self.inner.push(path, source, options))
    }

    /// See [`Workload::pull`]: the file as a blocking reader.
    pub fn pull(&self, path: &str) -> Result<BlockingReader, ContainerError> {
        let handle = self.bg.handle.clone();
        let inner = self.run(async {
            let _guard = handle.enter();
            self.inner.pull(path).await
        })?;
        Ok(BlockingReader { inner, handle })
    }

    /// See [`Workload::pull_text`].
    pub fn pull_text(&self, path: &str) -> Result<String, ContainerError> {
        let handle = self.bg.handle.clone();
        self.run(async {
            let _guard = handle.enter();
            self.inner.pull_text(path).await
        })
    }

    /// See [`Workload::list_files`].
    pub fn list_files(
        &self,
        path: &str,
        options: ListFilesOptions,
    ) -> Result<Vec<FileInfo>, ContainerError> {
        self.run(self.inner.list_files(path, options))
    }

    /// See [`Workload::make_dir`].
    pub fn make_dir(&self, path: &str, options: MakeDirOptions) -> Result<(), ContainerError> {
        self.run(self.inner.make_dir(path, options))
    }

    /// See [`Workload::remove_path`].
    pub fn remove_path(&self, path: &str, recursive: bool) -> Result<(), ContainerError> {
        self.run(self.inner.remove_path(path, recursive))
    }

    /// See [`Workload::exists`].
    pub fn exists(&self, path: &str) -> Result<bool, ContainerError> {
        self.run(self.inner.exists(path))
    }

    /// See [`Workload::isdir`].
    pub fn isdir(&self, path: &str) -> Result<bool, ContainerError> {
        self.run(self.inner.isdir(path))
    }

    /// See [`Workload::push_path`].
    pub fn push_path(&self, sources: &[&Path], dest_dir: &str) -> Result<(), ContainerError> {
        let handle = self.bg.handle.clone();
        self.run(async {
            let _guard = handle.enter();
            self.inner.push_path(sources, dest_dir).await
        })
    }

    /// See [`Workload::pull_path`].
    pub fn pull_path(&self, sources: &[&str], dest_dir: &Path) -> Result<(), ContainerError> {
        let handle = self.bg.handle.clone();
        self.run(async {
            let _guard = handle.enter();
            self.inner.pull_path(sources, dest_dir).await
        })
    }
}

/// A process started by [`BlockingContainer::exec`], with blocking streams.
#[derive(Debug)]
pub struct BlockingProcess {
    /// Standard input (`None` when [`ExecOptions::stdin`] was given).
    pub stdin: Option<BlockingWriter>,
    /// Standard output.
    pub stdout: Option<BlockingReader>,
    /// Standard error (`None` with `combine_stderr`).
    pub stderr: Option<BlockingReader>,
    process: ExecProcess,
    handle: Handle,
}

impl BlockingProcess {
    fn reassemble(mut self) -> (ExecProcess, Handle) {
        self.process.stdin = self.stdin.take().map(|w| w.inner);
        self.process.stdout = self.stdout.take().map(|r| r.inner);
        self.process.stderr = self.stderr.take().map(|r| r.inner);
        (self.process, self.handle)
    }

    /// See [`ExecProcess::send_signal`].
    pub fn send_signal(&mut self, signal: &str) -> Result<(), ContainerError> {
        self.handle.block_on(self.process.send_signal(signal))
    }

    /// See [`ExecProcess::wait`].
    pub fn wait(self) -> Result<(), ContainerError> {
        let (p, h) = self.reassemble();
        h.block_on(p.wait())
    }

    /// See [`ExecProcess::wait_output`].
    pub fn wait_output(self) -> Result<(String, String), ContainerError> {
        let (p, h) = self.reassemble();
        h.block_on(p.wait_output())
    }

    /// See [`ExecProcess::wait_output_bytes`].
    pub fn wait_output_bytes(self) -> Result<(Vec<u8>, Vec<u8>), ContainerError> {
        let (p, h) = self.reassemble();
        h.block_on(p.wait_output_bytes())
    }
}

/// A blocking reader over an async stream.
pub struct BlockingReader {
    inner: ExecReader,
    handle: Handle,
}

impl std::fmt::Debug for BlockingReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlockingReader")
    }
}

impl io::Read for BlockingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.handle.block_on(self.inner.read(buf))
    }
}

/// A blocking writer over an async stream; [`BlockingWriter::close`] (or dropping it) ends
/// the input.
pub struct BlockingWriter {
    inner: ExecWriter,
    handle: Handle,
}

impl std::fmt::Debug for BlockingWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlockingWriter")
    }
}

impl BlockingWriter {
    /// Ends the input (end-of-file for the process).
    pub fn close(mut self) -> io::Result<()> {
        self.handle.block_on(self.inner.shutdown())
    }
}

impl io::Write for BlockingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.handle.block_on(self.inner.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.handle.block_on(self.inner.flush())
    }
}
