//! Pseudo-terminals for `terminal: true` execs: open, size, and async I/O on the master.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Set `FD_CLOEXEC` so the descriptor never leaks into another child.
pub(crate) fn set_cloexec(fd: BorrowedFd<'_>) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    Ok(())
}

fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

/// Open a PTY pair (both close-on-exec). The slave is handed to the owner `uid`/`gid` when given
/// (so a non-root command can reopen `/dev/tty`), and sized `width`x`height` when both are > 0.
pub fn open_pty(
    owner: Option<(u32, u32)>,
    width: u32,
    height: u32,
) -> io::Result<(OwnedFd, OwnedFd)> {
    let res = nix::pty::openpty(None, None)?;
    let (master, slave) = (res.master, res.slave);
    set_cloexec(master.as_fd())?;
    set_cloexec(slave.as_fd())?;
    if let Some((uid, gid)) = owner {
        nix::unistd::fchown(
            &slave,
            Some(nix::unistd::Uid::from_raw(uid)),
            Some(nix::unistd::Gid::from_raw(gid)),
        )?;
    }
    if width > 0 && height > 0 {
        set_size(master.as_fd(), width, height)?;
    }
    Ok((master, slave))
}

/// Set the window size of the terminal behind `fd` (`TIOCSWINSZ`).
pub fn set_size(fd: BorrowedFd<'_>, width: u32, height: u32) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: height.min(u32::from(u16::MAX)) as u16,
        ws_col: width.min(u32::from(u16::MAX)) as u16,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize struct from a valid pointer.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Read the window size of the terminal behind `fd` (`TIOCGWINSZ`): `(width, height)`.
pub fn get_size(fd: BorrowedFd<'_>) -> io::Result<(u32, u32)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize struct to a valid pointer.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((u32::from(ws.ws_col), u32::from(ws.ws_row)))
}

/// The `VEOF` character of the terminal behind `fd` (Ctrl-D unless changed).
pub fn veof_char(fd: BorrowedFd<'_>) -> u8 {
    nix::sys::termios::tcgetattr(fd)
        .map(|t| t.control_chars[libc::VEOF])
        .unwrap_or(4)
}

/// Async reads and writes on a non-blocking descriptor (a PTY master).
///
/// A read that fails with `EIO` (every slave descriptor closed) is reported as end of file.
#[derive(Debug)]
pub struct FdStream {
    fd: AsyncFd<OwnedFd>,
}

impl FdStream {
    /// Wrap `fd` (made non-blocking) for use on the current tokio runtime.
    pub fn new(fd: OwnedFd) -> io::Result<Self> {
        set_nonblocking(fd.as_fd())?;
        // SAFETY: the OwnedFd is owned by the AsyncFd for its whole life, so the descriptor
        // stays open and unchanged while registered.
        let fd = unsafe { AsyncFd::register(fd) }.map_err(io::Error::from)?;
        Ok(FdStream { fd })
    }
}

impl AsFd for FdStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.get_ref().as_fd()
    }
}

impl AsyncRead for FdStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard
                .try_io(|fd| nix::unistd::read(fd.get_ref(), unfilled).map_err(io::Error::from))
            {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) if e.raw_os_error() == Some(libc::EIO) => return Poll::Ready(Ok(())),
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for FdStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|fd| nix::unistd::write(fd.get_ref(), data).map_err(io::Error::from))
            {
                Ok(r) => return Poll::Ready(r),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn opens_sized_cloexec_pair() {
        let (master, slave) = open_pty(None, 80, 24).unwrap();
        assert_eq!(get_size(slave.as_fd()).unwrap(), (80, 24));
        set_size(master.as_fd(), 100, 40).unwrap();
        assert_eq!(get_size(slave.as_fd()).unwrap(), (100, 40));
        let flags = nix::fcntl::fcntl(master.as_fd(), nix::fcntl::FcntlArg::F_GETFD).unwrap();
        assert_ne!(flags & libc::FD_CLOEXEC, 0);
        assert_eq!(veof_char(master.as_fd()), 4);
    }

    #[tokio::test]
    async fn master_reads_slave_output_then_eof() {
        let (master, slave) = open_pty(None, 0, 0).unwrap();
        let mut m = FdStream::new(master).unwrap();
        nix::unistd::write(&slave, b"hello\n").unwrap();
        drop(slave);
        let mut out = Vec::new();
        m.read_to_end(&mut out).await.unwrap();
        // The line discipline turns "\n" into "\r\n".
        assert_eq!(out, b"hello\r\n");
        // Writing after the slave is gone does not hang.
        let _ = m.write(b"x").await;
    }
}
