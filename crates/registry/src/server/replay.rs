//! A connection whose first bytes were already read: they are read again first, so hyper sees
//! the connection whole from where the blob GET path left it.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// `buffered`, then the rest of `stream`; writes go straight to `stream`.
#[derive(Debug)]
pub(super) struct Replay {
    buffered: Vec<u8>,
    /// How much of `buffered` has been read again.
    replayed: usize,
    stream: TcpStream,
}

impl Replay {
    pub(super) fn new(buffered: Vec<u8>, stream: TcpStream) -> Self {
        Self {
            buffered,
            replayed: 0,
            stream,
        }
    }
}

impl AsyncRead for Replay {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let rest = &this.buffered[this.replayed..];
        if rest.is_empty() {
            return Pin::new(&mut this.stream).poll_read(cx, out);
        }
        let taken = rest.len().min(out.remaining());
        out.put_slice(&rest[..taken]);
        this.replayed += taken;
        if this.replayed == this.buffered.len() {
            // Replayed whole: the memory is not needed for the connection's remaining life.
            this.buffered = Vec::new();
            this.replayed = 0;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Replay {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, data)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn buffered_bytes_come_first_then_the_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let mut replay = Replay::new(b"GET / HTTP/1.1\r\n".to_vec(), server);
        client.write_all(b"host: h\r\n\r\n").await.unwrap();
        client.shutdown().await.unwrap();
        // Small reads split the replayed part too.
        let mut seen = Vec::new();
        let mut piece = [0u8; 5];
        loop {
            let n = replay.read(&mut piece).await.unwrap();
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&piece[..n]);
        }
        assert_eq!(seen, b"GET / HTTP/1.1\r\nhost: h\r\n\r\n");
        replay.write_all(b"answer").await.unwrap();
        drop(replay);
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        assert_eq!(answer, b"answer");
    }
}
