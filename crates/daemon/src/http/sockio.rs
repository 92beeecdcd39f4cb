//! The IO of a server connection: a socket registered with the runtime for readability only,
//! and for writability only once a write would block.
//!
//! tokio registers its sockets for both, edge-triggered. A response written on a kept-alive
//! connection then wakes the daemon a second time when the client reads it (the freed send
//! buffer is an `EPOLLOUT` edge) although nobody waits to write: on one CPU that is two more
//! context switches per request, about 2 µs of an 18 µs round trip (bench figure `e`).
//!
//! Here writes are tried directly; the first one that would block registers a duplicate of the
//! descriptor for writability, and later blocked writes wait on it. The readability
//! registration, and any task waiting on it (an upgraded connection may read and write from
//! different tasks), is never touched. Reads go into hyper's buffer without zeroing it first,
//! and a short read clears the readiness as tokio's own streams do, so that the next read
//! waits for the runtime instead of returning `EAGAIN`.

use bytes::BytesMut;
use hyper::rt::{Read, ReadBufCursor, Write};
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// A connected, non-blocking stream socket (implemented for std's Unix and TCP streams).
pub trait Socket: sealed::OwnsFd + AsRawFd + AsFd + Send + Sync + Unpin + 'static {
    /// `write(2)`.
    fn write(&self, buf: &[u8]) -> io::Result<usize>;
    /// `writev(2)`.
    fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// `shutdown(SHUT_WR)`.
    fn shutdown_write(&self) -> io::Result<()>;
}

impl Socket for UnixStream {
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        io::Write::write(&mut &*self, buf)
    }
    fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        io::Write::write_vectored(&mut &*self, bufs)
    }
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

impl Socket for TcpStream {
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        io::Write::write(&mut &*self, buf)
    }
    fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        io::Write::write_vectored(&mut &*self, bufs)
    }
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

/// A server connection's socket (see the module documentation).
pub struct SockIo<S: Socket> {
    /// The socket, registered for readability.
    io: AsyncFd<S>,
    /// A duplicate of its descriptor registered for writability, once a write would block.
    write: Option<AsyncFd<OwnedFd>>,
}

impl<S: Socket> std::fmt::Debug for SockIo<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SockIo")
            .field("fd", &self.io.as_raw_fd())
            .field("write_registered", &self.write.is_some())
            .finish()
    }
}

impl<S: Socket> SockIo<S> {
    /// Register `sock` (non-blocking) with the current runtime for readability.
    pub fn new(sock: S) -> io::Result<SockIo<S>> {
        Ok(SockIo {
            io: register(sock, Interest::READABLE)?,
            write: None,
        })
    }

    fn poll_write_with(
        &mut self,
        cx: &mut Context<'_>,
        mut f: impl FnMut(&S) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            let Some(w) = &self.write else {
                match f(self.io.get_ref()) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        let dup = self.io.get_ref().as_fd().try_clone_to_owned()?;
                        self.write = Some(register(dup, Interest::WRITABLE)?);
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => return Poll::Ready(r),
                }
            };
            let mut guard = ready!(w.poll_write_ready(cx))?;
            match guard.try_io(|_| f(self.io.get_ref())) {
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(r) => return Poll::Ready(r),
                Err(_would_block) => continue,
            }
        }
    }
}

impl<S: Socket> SockIo<S> {
    /// Read into the spare capacity of `buf` (at least `min_spare` bytes of it), waiting for
    /// the runtime when nothing is there. `Ok(0)` is the end of the stream.
    pub fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        min_spare: usize,
    ) -> Poll<io::Result<usize>> {
        buf.reserve(min_spare);
        let n = ready!(self.poll_recv_uninit(cx, buf.spare_capacity_mut()))?;
        // SAFETY: recv initialized the first `n` spare bytes.
        unsafe { buf.set_len(buf.len() + n) };
        Poll::Ready(Ok(n))
    }

    /// Read into `dst`, waiting for the runtime when nothing is there; returns how many bytes
    /// were written at its start. A short read clears the readiness, so that the next read
    /// waits for the runtime instead of returning `EAGAIN`.
    fn poll_recv_uninit(
        &mut self,
        cx: &mut Context<'_>,
        dst: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        let len = dst.len();
        loop {
            let mut guard = ready!(self.io.poll_read_ready(cx))?;
            match guard.try_io(|s| recv_uninit(s.as_raw_fd(), dst)) {
                Ok(Ok(n)) => {
                    if n > 0 && n < len {
                        guard.clear_ready();
                    }
                    return Poll::Ready(Ok(n));
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }

    /// Read into `buf` (see [`SockIo::poll_recv`]).
    pub async fn recv(&mut self, buf: &mut BytesMut, min_spare: usize) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_recv(cx, buf, min_spare)).await
    }

    /// Write what the socket takes of `buf` now, without the runtime: how many bytes went out
    /// (0 when the socket is full). The rest is for [`SockIo::write_all_vectored`].
    pub fn send_now(&self, buf: &[u8]) -> io::Result<usize> {
        loop {
            match send(self.io.as_raw_fd(), buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    }

    /// Write every byte of `parts`, in order (`writev`, or `send` for one part), waiting
    /// while the socket is full.
    pub async fn write_all_vectored(&mut self, parts: &mut [IoSlice<'_>]) -> io::Result<()> {
        let mut parts = parts;
        IoSlice::advance_slices(&mut parts, 0);
        while !parts.is_empty() {
            let n = std::future::poll_fn(|cx| {
                let bufs: &[IoSlice<'_>] = parts;
                match bufs {
                    // One buffer (a whole small response): `send`, the socket call, rather than
                    // `writev`, the file one.
                    [one] => self.poll_write_with(cx, |s| send(s.as_raw_fd(), one)),
                    _ => self.poll_write_with(cx, |s| s.write_vectored(bufs)),
                }
            })
            .await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut parts, n);
        }
        Ok(())
    }
}

/// A connection handed over to hyper: the bytes the driver had read and not used come first.
pub struct Rewind<S: Socket> {
    pre: bytes::Bytes,
    io: SockIo<S>,
}

impl<S: Socket> std::fmt::Debug for Rewind<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rewind")
            .field("pre", &self.pre.len())
            .field("io", &self.io)
            .finish()
    }
}

impl<S: Socket> Rewind<S> {
    /// `io`, reading `pre` first.
    pub fn new(pre: bytes::Bytes, io: SockIo<S>) -> Rewind<S> {
        Rewind { pre, io }
    }
}

impl<S: Socket> Read for Rewind<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pre.is_empty() {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        let n = this.pre.len().min(buf.remaining());
        buf.put_slice(&this.pre.split_to(n));
        Poll::Ready(Ok(()))
    }
}

impl<S: Socket> Write for Rewind<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

fn register<T: sealed::OwnsFd>(fd: T, interest: Interest) -> io::Result<AsyncFd<T>> {
    // SAFETY: `T` owns its descriptor (a std socket or an `OwnedFd`), which stays open and the
    // same until the `AsyncFd` drops it.
    Ok(unsafe { AsyncFd::register_with_interest(fd, interest) }?)
}

mod sealed {
    /// Types that own one descriptor for their whole life (and only those implement
    /// [`super::Socket`]).
    pub trait OwnsFd: std::os::fd::AsRawFd {}
    impl OwnsFd for std::os::unix::net::UnixStream {}
    impl OwnsFd for std::net::TcpStream {}
    impl OwnsFd for std::os::fd::OwnedFd {}
}

/// `send(2)` without `SIGPIPE`.
fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
    let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

fn recv_uninit(fd: RawFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes; recv writes at most that many
    // and never reads them.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

impl<S: Socket> Read for SockIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: only bytes that recv reports as written are marked filled below; nothing is
        // de-initialized.
        let dst = unsafe { buf.as_mut() };
        let n = ready!(self.get_mut().poll_recv_uninit(cx, dst))?;
        // SAFETY: recv initialized the first `n` bytes of the cursor.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<S: Socket> Write for SockIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_with(cx, |s| s.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_with(cx, |s| s.write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.io.get_ref().shutdown_write())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn pair() -> (SockIo<UnixStream>, tokio::net::UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        (
            SockIo::new(a).unwrap(),
            tokio::net::UnixStream::from_std(b).unwrap(),
        )
    }

    /// Reads and writes both ways, including a write far larger than the socket buffer (so
    /// that it blocks and the writability registration is made) while the peer reads slowly.
    #[tokio::test]
    async fn reads_writes_and_blocks_on_a_full_buffer() {
        let (io, mut peer) = pair();
        let mut io = TokioIo::new(io);
        peer.write_all(b"hello").await.unwrap();
        let mut got = [0u8; 5];
        io.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello");

        let big = vec![7u8; 8 << 20];
        let reader = tokio::spawn(async move {
            let mut n = 0usize;
            let mut buf = vec![0u8; 4096];
            loop {
                let k = peer.read(&mut buf).await.unwrap();
                if k == 0 {
                    return n;
                }
                assert!(buf[..k].iter().all(|b| *b == 7));
                n += k;
                tokio::task::yield_now().await;
            }
        });
        io.write_all(&big).await.unwrap();
        assert!(
            io.inner().write.is_some(),
            "an 8 MiB write should have blocked"
        );
        io.shutdown().await.unwrap();
        assert_eq!(reader.await.unwrap(), big.len());
    }

    /// A task reading an upgraded connection keeps being woken after another task's write
    /// blocked (the readability registration is not replaced).
    #[tokio::test]
    async fn split_reader_still_woken_after_a_blocked_write() {
        let (io, peer) = pair();
        let (mut rd, mut wr) = tokio::io::split(TokioIo::new(io));
        let (mut peer_rd, mut peer_wr) = peer.into_split();
        let reading = tokio::spawn(async move {
            let mut buf = [0u8; 3];
            rd.read_exact(&mut buf).await.unwrap();
            buf
        });
        tokio::task::yield_now().await;
        let writing = tokio::spawn(async move {
            wr.write_all(&vec![1u8; 4 << 20]).await.unwrap();
        });
        tokio::task::yield_now().await;
        peer_wr.write_all(b"abc").await.unwrap();
        assert_eq!(&reading.await.unwrap(), b"abc");
        let drain = tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            let mut n = 0;
            while n < 4 << 20 {
                n += peer_rd.read(&mut buf).await.unwrap();
            }
            n
        });
        writing.await.unwrap();
        assert_eq!(drain.await.unwrap(), 4 << 20);
    }

    /// The end of the stream is a zero-length read, again and again.
    #[tokio::test]
    async fn eof_reads_zero() {
        let (io, peer) = pair();
        drop(peer);
        let mut io = TokioIo::new(io);
        let mut buf = [0u8; 8];
        assert_eq!(io.read(&mut buf).await.unwrap(), 0);
        assert_eq!(io.read(&mut buf).await.unwrap(), 0);
    }
}
