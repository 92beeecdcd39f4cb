//! `serve-tokio`: the runtime floor of figure e. A tokio current-thread runtime with each
//! connection registered for readability only (as the daemon registers its sockets), answering
//! every request head with fixed bytes: no HTTP library and no handler. What a tokio-based
//! server costs per request before parsing, routing or any handler runs.

use std::io::Write as _;
use std::os::unix::net::UnixListener;
use std::path::Path;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// Serve `response` to every request head on `sock` forever (prints `ready` once listening).
pub fn serve(sock: &Path, response: Vec<u8>) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let response: &'static [u8] = Vec::leak(response);
    rt.block_on(async move {
        let _ = std::fs::remove_file(sock);
        let listener = UnixListener::bind(sock)?;
        listener.set_nonblocking(true)?;
        // SAFETY: the listener owns its descriptor, which stays open until the AsyncFd drops it.
        let listener = unsafe { AsyncFd::register(listener) }?;
        println!("ready");
        std::io::stdout().flush()?;
        loop {
            let mut guard = listener.readable().await?;
            let stream = match guard.try_io(|l| l.get_ref().accept()) {
                Ok(Ok((s, _))) => s,
                Ok(Err(e)) => return Err(e.into()),
                Err(_) => continue,
            };
            stream.set_nonblocking(true)?;
            tokio::spawn(async move {
                let _ = conn(stream, response).await;
            });
        }
    })
}

async fn conn(stream: std::os::unix::net::UnixStream, response: &[u8]) -> std::io::Result<()> {
    // SAFETY: the stream owns its descriptor, which stays open until the AsyncFd drops it.
    let fd = unsafe { AsyncFd::register_with_interest(stream, Interest::READABLE) }?;
    let mut buf = vec![0u8; 8192];
    let mut have = 0usize;
    loop {
        let mut guard = fd.readable().await?;
        let n = match guard.try_io(|s| std::io::Read::read(&mut s.get_ref(), &mut buf[have..])) {
            Ok(r) => r?,
            Err(_) => continue,
        };
        if n == 0 {
            return Ok(());
        }
        if have + n < buf.len() {
            guard.clear_ready();
        }
        have += n;
        while let Some(end) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
            std::io::Write::write_all(&mut fd.get_ref(), response)?;
            buf.copy_within(end + 4..have, 0);
            have -= end + 4;
        }
    }
}
