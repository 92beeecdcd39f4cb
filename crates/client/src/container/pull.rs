//! Streaming pull: the multipart download runs in a task writing into a pipe that the caller
//! reads; per-path errors are reported before the stream is handed out.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::sync::oneshot;

use super::{ByteStream, ContainerError};
use crate::Client;

const PIPE: usize = 256 * 1024;

/// Signals its first write (the file part has started) before forwarding to the pipe.
struct FirstWrite {
    inner: DuplexStream,
    first: Option<oneshot::Sender<()>>,
}

impl AsyncWrite for FirstWrite {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(tx) = self.first.take() {
            let _ = tx.send(());
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The pipe's read end; at end of data it reports the download's failure, if any.
struct PullReader {
    pipe: DuplexStream,
    result: Option<oneshot::Receiver<Result<u64, ContainerError>>>,
}

impl AsyncRead for PullReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.pipe).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() == before => {
                // End of the pipe: did the download finish well?
                let Some(rx) = self.result.as_mut() else {
                    return Poll::Ready(Ok(()));
                };
                match Pin::new(rx).poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(r) => {
                        self.result = None;
                        match r {
                            Ok(Ok(_)) => Poll::Ready(Ok(())),
                            Ok(Err(e)) => Poll::Ready(Err(io::Error::other(e.to_string()))),
                            Err(_) => Poll::Ready(Err(io::Error::other("pull task ended"))),
                        }
                    }
                }
            }
            other => other,
        }
    }
}

use std::future::Future;

/// Starts pulling `path`; returns once the file content starts (or the pull failed).
pub(crate) async fn start(client: Client, path: String) -> Result<ByteStream, ContainerError> {
    let (w, r) = tokio::io::duplex(PIPE);
    let (first_tx, first_rx) = oneshot::channel();
    let (done_tx, mut done_rx) = oneshot::channel();
    tokio::spawn(async move {
        let mut writer = FirstWrite {
            inner: w,
            first: Some(first_tx),
        };
        let r = client
            .pull(&path, &mut writer)
            .await
            .map_err(ContainerError::from);
        drop(writer);
        let _ = done_tx.send(r);
    });
    tokio::select! {
        biased;
        done = &mut done_rx => {
            match done {
                Ok(Ok(_)) => Ok(Box::pin(PullReader { pipe: r, result: None })),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(ContainerError::Connection("pull task ended".to_string())),
            }
        }
        Ok(()) = first_rx => Ok(Box::pin(PullReader { pipe: r, result: Some(done_rx) })),
    }
}
