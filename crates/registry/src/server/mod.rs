//! The registry's HTTP server: an accept loop like `axum::serve` (connect info, graceful
//! shutdown), with blob GETs sent by `sendfile(2)`.
//!
//! Why a server of its own: a 1 GiB blob GET through a hyper body is read from the file into
//! user space in chunks and written back into the socket, a copy each way that on a busy
//! machine decides the throughput. hyper's bodies cannot hand a file to the kernel, so each
//! connection starts on a small HTTP/1.1 path that serves bodiless blob GETs itself: it parses
//! the head, calls the same router, and when the response carries a [`FileRegion`] (the blob
//! store has a local file) writes the head and sends the region with `sendfile`. The first
//! request that is anything else (a push, a manifest, a HEAD, an upgrade, something malformed)
//! hands the connection, with the bytes already read replayed first, to hyper for the rest of
//! its life. Correctness never rests on this path: every response it sends is the router's,
//! and the streaming body beside each region carries the same bytes.
//!
//! [`serve_tls`] runs the same loop over TLS (see `tls`), where every connection goes to hyper.

mod head;
mod replay;
mod send;
mod tls;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::HeaderValue;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

#[cfg(doc)]
use crate::body::FileRegion;
use crate::service::FORWARDED_PROTO;
use head::Parsed;
pub use tls::{ServerTls, TlsError, TlsFile};

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, lets every
/// request in flight finish (an idle keep-alive connection is closed at once) and returns
/// when the last connection has ended.
///
/// Each request carries the peer's address as [`ConnectInfo<SocketAddr>`], as with axum's
/// `into_make_service_with_connect_info`.
pub async fn serve(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) {
    accept_until(listener, app, None, shutdown).await;
}

/// [`serve`] over TLS with `tls`'s certificate: each connection's handshake, then hyper.
pub async fn serve_tls(
    listener: TcpListener,
    app: Router,
    tls: ServerTls,
    shutdown: impl Future<Output = ()>,
) {
    accept_until(listener, app, Some(tls), shutdown).await;
}

async fn accept_until(
    listener: TcpListener,
    app: Router,
    tls: Option<ServerTls>,
    shutdown: impl Future<Output = ()>,
) {
    let stopping = CancellationToken::new();
    // Every connection task holds a sender; `recv` yields `None` once all of them are gone.
    let (alive, mut all_ended) = mpsc::channel::<()>(1);
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(connection) => connection,
            Err(error) => {
                wait_after_accept_error(error).await;
                continue;
            }
        };
        let (app, tls, stopping, alive) =
            (app.clone(), tls.clone(), stopping.clone(), alive.clone());
        tokio::spawn(async move {
            match tls {
                Some(tls) => tls::serve_connection(stream, peer, app, &tls, &stopping).await,
                None => serve_connection(stream, peer, app, &stopping).await,
            }
            drop(alive);
        });
    }
    drop(listener);
    stopping.cancel();
    drop(alive);
    let _ = all_ended.recv().await;
}

/// How the blob GET path reads `bytes` as the start of a connection: `Some((head length,
/// keep-alive))` for a blob GET it serves itself, `None` for a head that has not fully arrived
/// or that it leaves to hyper. Public for the fuzz target: request heads are untrusted input.
pub fn read_blob_get_head(bytes: &[u8]) -> Option<(usize, bool)> {
    match head::parse(bytes) {
        Parsed::BlobGet {
            head_len,
            keep_alive,
            ..
        } => Some((head_len, keep_alive)),
        Parsed::Partial | Parsed::HandOver => None,
    }
}

/// A failed `accept`: a connection reset before it was taken costs nothing, but running out
/// of file descriptors would fail again at once, so the loop waits a second for some to close.
async fn wait_after_accept_error(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!("accepting a connection failed: {error}; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// What the blob GET path leaves a connection to.
enum Next {
    Close,
    /// hyper takes over, reading these bytes first.
    HandOver(Vec<u8>),
}

async fn serve_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    stopping: &CancellationToken,
) {
    // Heads and small answers are single writes; nothing waits for more to coalesce with.
    let _ = stream.set_nodelay(true);
    match serve_blob_gets(&mut stream, peer, &app, stopping).await {
        Ok(Next::HandOver(buffered)) => {
            let stream = replay::Replay::new(buffered, stream);
            hand_over(stream, peer, app, Scheme::Http, stopping).await;
        }
        Ok(Next::Close) => {
            let _ = stream.shutdown().await;
        }
        Err(error) => tracing::debug!(%peer, "connection ended: {error}"),
    }
}

/// Serves requests while each is a blob GET; returns when the connection should close or
/// another kind of request arrives.
async fn serve_blob_gets(
    stream: &mut TcpStream,
    peer: SocketAddr,
    app: &Router,
    stopping: &CancellationToken,
) -> io::Result<Next> {
    let mut buffer = Vec::with_capacity(4096);
    loop {
        let (mut request, head_len, keep_alive) = match head::parse(&buffer) {
            Parsed::BlobGet {
                request,
                head_len,
                keep_alive,
            } => (request, head_len, keep_alive),
            Parsed::HandOver => return Ok(Next::HandOver(buffer)),
            Parsed::Partial => {
                if !read_more(stream, &mut buffer, stopping).await? {
                    return Ok(Next::Close);
                }
                continue;
            }
        };
        // Pipelined bytes after this head stay for the next round.
        buffer.drain(..head_len);
        request.extensions_mut().insert(ConnectInfo(peer));
        let response = match app.clone().oneshot(*request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let keep_alive = send::respond(stream, response, keep_alive).await?;
        if !keep_alive || stopping.is_cancelled() {
            return Ok(Next::Close);
        }
    }
}

/// Reads more of a request head into `buffer`; `false` when the connection should close: the
/// client closed it, or the server is stopping and no request has begun.
async fn read_more(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    stopping: &CancellationToken,
) -> io::Result<bool> {
    let read = if buffer.is_empty() {
        tokio::select! {
            read = stream.read_buf(buffer) => read?,
            () = stopping.cancelled() => return Ok(false),
        }
    } else {
        // A request has begun: it is in flight and gets its answer.
        stream.read_buf(buffer).await?
    };
    Ok(read > 0)
}

/// The scheme a connection's requests arrived by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

/// Serves the rest of the connection with hyper, as `axum::serve` would; on shutdown hyper
/// finishes the request in flight and closes.
async fn hand_over(
    stream: impl AsyncRead + AsyncWrite + Unpin + Send + 'static,
    peer: SocketAddr,
    app: Router,
    scheme: Scheme,
    stopping: &CancellationToken,
) {
    let service =
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            // The URLs the registry writes (the token realm, upload locations) take their
            // scheme from this header, as behind a TLS-terminating proxy; a client's own value
            // is replaced, since here the server knows the scheme itself.
            if scheme == Scheme::Https {
                request
                    .headers_mut()
                    .insert(FORWARDED_PROTO, HeaderValue::from_static("https"));
            }
            app.clone().oneshot(request)
        });
    let io = TokioIo::new(stream);
    let builder = auto::Builder::new(TokioExecutor::new());
    let mut connection = pin!(builder.serve_connection_with_upgrades(io, service));
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stopping.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%peer, "connection ended: {error}");
    }
}

#[cfg(test)]
mod tests;
