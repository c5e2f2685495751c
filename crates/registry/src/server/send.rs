//! Writing a router's response on the blob GET path: a file region with `sendfile(2)`, any
//! other body as it streams.

use std::io;
use std::sync::atomic::Ordering;

use axum::body::{Body, HttpBody as _};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use futures_util::StreamExt as _;
use tokio::io::{AsyncWriteExt as _, Interest};
use tokio::net::TcpStream;

use super::head::{asks_to_close, response_head};
use crate::body::FileRegion;

/// Bodies up to this size go out in the same write as the head: one segment for an error or
/// a challenge instead of two.
const COALESCE: usize = 64 * 1024;

/// The most one `sendfile` call moves on Linux (`0x7ffff000`); larger regions take several.
const MAX_SENDFILE: usize = 0x7fff_f000;

/// Writes `response` on `stream`; returns whether the connection may carry another request.
pub(super) async fn respond(
    stream: &mut TcpStream,
    response: Response,
    keep_alive: bool,
) -> io::Result<bool> {
    let (parts, body) = response.into_parts();
    let keep_alive = keep_alive && !asks_to_close(&parts.headers);
    if let Some(region) = parts.extensions.get::<FileRegion>() {
        stream
            .write_all(&response_head(&parts, Some(region.len), keep_alive))
            .await?;
        // The body carries the same bytes as the region and is never read.
        drop(body);
        send_region(stream, region).await?;
        return Ok(keep_alive);
    }
    let length = body
        .size_hint()
        .exact()
        .or_else(|| content_length(&parts.headers));
    let head = response_head(&parts, length, keep_alive);
    write_body(stream, head, body, length).await?;
    // Without a length the body ended with the connection.
    Ok(keep_alive && length.is_some())
}

/// The `Content-Length` a response declares, when it declares exactly one.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    let mut values = headers.get_all(header::CONTENT_LENGTH).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    value.to_str().ok()?.parse().ok()
}

/// Writes `head`, then the body as it streams; a body whose length differs from the declared
/// `length` is an error, which ends the connection (the client sees a short answer, never a
/// wrong one).
async fn write_body(
    stream: &mut TcpStream,
    mut pending: Vec<u8>,
    body: Body,
    length: Option<u64>,
) -> io::Result<()> {
    let mut chunks = body.into_data_stream();
    let mut written = 0u64;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(io::Error::other)?;
        written += chunk.len() as u64;
        if pending.len() + chunk.len() <= COALESCE {
            pending.extend_from_slice(&chunk);
        } else {
            stream.write_all(&pending).await?;
            pending.clear();
            stream.write_all(&chunk).await?;
        }
    }
    stream.write_all(&pending).await?;
    match length {
        Some(length) if length != written => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the response body had {written} bytes, not the {length} it declared"),
        )),
        _ => Ok(()),
    }
}

/// Sends `region` from its file to the socket with `sendfile(2)`: the kernel moves the bytes
/// from the page cache to the socket, and they never pass through this process.
///
/// The socket is non-blocking, so each call sends what fits in the socket buffer and tokio's
/// readiness says when more fits. Reading the file itself may block the calling thread on a
/// page-cache miss, as a read would in a blocking-pool thread; blob files are read-ahead
/// sequentially by the kernel, so that wait is short next to the network's.
async fn send_region(stream: &TcpStream, region: &FileRegion) -> io::Result<()> {
    let mut offset = region.offset;
    let end = region.offset + region.len;
    while offset < end {
        let count = usize::try_from(end - offset).map_or(MAX_SENDFILE, |n| n.min(MAX_SENDFILE));
        stream.writable().await?;
        // `sendfile` advances `offset` by what it sent; the file's own position never moves.
        let sent = stream.try_io(Interest::WRITABLE, || {
            rustix::fs::sendfile(stream, &*region.file, Some(&mut offset), count)
                .map_err(io::Error::from)
        });
        match sent {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the blob's file ended before the bytes its record promises",
                ))
            }
            Ok(sent) => {
                region.sent.fetch_add(sent as u64, Ordering::Relaxed);
            }
            // Readiness was stale: wait for the socket again.
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
