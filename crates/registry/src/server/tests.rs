//! The server over real sockets, with a router whose blob answers carry a file region and a
//! streaming body with *different* bytes of the same length: what arrives shows which path
//! sent it.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::Router;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::body::FileRegion;

const BLOB: &str = "/v2/t/blobs/sha256:00";

/// A file of `size` bytes, the region's source, and the stream's different bytes.
fn contents(size: usize) -> (Arc<std::fs::File>, Vec<u8>, Vec<u8>) {
    let from_file: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    let from_stream = vec![b'-'; size];
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&from_file).unwrap();
    (Arc::new(file), from_file, from_stream)
}

/// Answers a blob GET with the region (`range: bytes=A-B` for part of it) beside the stream,
/// and anything else with its method, path and body; every answer names the peer it saw.
fn app(file: Arc<std::fs::File>, stream_bytes: Vec<u8>, sent: Arc<AtomicU64>) -> Router {
    Router::new().fallback(move |request: Request| {
        let (file, stream_bytes, sent) = (file.clone(), stream_bytes.clone(), sent.clone());
        async move {
            let peer = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .unwrap()
                .0;
            let mut response = if request.uri().path() == BLOB {
                blob_answer(&request, file, &stream_bytes, sent)
            } else {
                let echo = format!("{} {} ", request.method(), request.uri().path());
                let body = axum::body::to_bytes(request.into_body(), 1 << 20)
                    .await
                    .unwrap();
                Response::new(Body::from([echo.as_bytes(), &body].concat()))
            };
            let headers = response.headers_mut();
            headers.insert("x-peer", peer.to_string().parse().unwrap());
            response
        }
    })
}

fn blob_answer(
    request: &Request,
    file: Arc<std::fs::File>,
    stream_bytes: &[u8],
    sent: Arc<AtomicU64>,
) -> Response {
    let range = request.headers().get(header::RANGE).map(|value| {
        let (first, last) = value.to_str().unwrap()["bytes=".len()..]
            .split_once('-')
            .unwrap();
        (
            first.parse::<usize>().unwrap(),
            last.parse::<usize>().unwrap() + 1,
        )
    });
    let (start, end) = range.unwrap_or((0, stream_bytes.len()));
    let mut response = Response::new(Body::from(stream_bytes[start..end].to_vec()));
    if range.is_some() {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    response.extensions_mut().insert(FileRegion {
        file,
        offset: start as u64,
        len: (end - start) as u64,
        sent,
    });
    response
}

async fn start(app: Router) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(super::serve(listener, app, async move {
        let _ = stopped.await;
    }));
    (address, stop, server)
}

/// One response off `reply`: status, lower-cased head and a `Content-Length` body.
fn next_response(reply: &mut &[u8]) -> (u16, String, Vec<u8>) {
    let end = reply.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(reply[..end].to_vec())
        .unwrap()
        .to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .unwrap()
        .parse()
        .unwrap();
    let body = reply[end + 4..end + 4 + length].to_vec();
    *reply = &reply[end + 4 + length..];
    let status = head[9..12].parse().unwrap();
    (status, head, body)
}

#[tokio::test]
async fn blob_gets_send_the_file_and_the_first_other_request_hands_over_to_hyper() {
    let (file, from_file, from_stream) = contents(100_000);
    let sent = Arc::new(AtomicU64::new(0));
    let (address, _stop, _server) = start(app(file, from_stream.clone(), sent.clone())).await;
    let mut client = TcpStream::connect(address).await.unwrap();
    let peer = client.local_addr().unwrap().to_string();
    // All four pipelined in one write: the replay must hand hyper exactly what is left.
    let requests = format!(
        "GET {BLOB} HTTP/1.1\r\nhost: t\r\nrange: bytes=5-9\r\n\r\n\
         GET {BLOB} HTTP/1.1\r\nhost: t\r\n\r\n\
         POST /v2/t/blobs/uploads/ HTTP/1.1\r\nhost: t\r\ncontent-length: 4\r\n\r\nbody\
         GET {BLOB} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n"
    );
    client.write_all(requests.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    client.read_to_end(&mut reply).await.unwrap();
    let mut rest = &reply[..];

    let (status, head, body) = next_response(&mut rest);
    assert_eq!((status, &body[..]), (206, &from_file[5..10]), "{head}");
    assert!(head.contains(&format!("x-peer: {peer}")), "{head}");
    assert!(head.contains("date: "), "{head}");
    let (status, _, body) = next_response(&mut rest);
    assert!(status == 200 && body == from_file, "the whole file");
    assert_eq!(sent.load(Ordering::Relaxed), 5 + 100_000);
    let (status, head, body) = next_response(&mut rest);
    assert_eq!(
        (status, &body[..]),
        (200, &b"POST /v2/t/blobs/uploads/ body"[..])
    );
    assert!(head.contains(&format!("x-peer: {peer}")), "{head}");
    // hyper serves the connection from then on, and streams the body.
    let (status, _, body) = next_response(&mut rest);
    assert!(
        status == 200 && body == from_stream,
        "the stream after the hand-over"
    );
    assert!(rest.is_empty());
}

#[tokio::test]
async fn http_1_0_and_connection_close_end_the_connection_after_the_answer() {
    let (file, from_file, from_stream) = contents(10);
    let sent = Arc::new(AtomicU64::new(0));
    let (address, _stop, _server) = start(app(file, from_stream, sent)).await;
    for request in [
        format!("GET {BLOB} HTTP/1.0\r\n\r\nGET {BLOB} HTTP/1.0\r\n\r\n"),
        format!("GET {BLOB} HTTP/1.1\r\nconnection: close\r\n\r\nGET {BLOB} HTTP/1.1\r\n\r\n"),
    ] {
        let mut client = TcpStream::connect(address).await.unwrap();
        client.write_all(request.as_bytes()).await.unwrap();
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).await.unwrap();
        let mut rest = &reply[..];
        let (status, head, body) = next_response(&mut rest);
        assert!(status == 200 && body == from_file, "{head}");
        assert!(head.contains("connection: close"), "{head}");
        assert!(rest.is_empty(), "answered past the close: {request:?}");
    }
}

#[tokio::test]
async fn a_stop_lets_a_send_in_flight_finish_and_closes_idle_connections() {
    const SIZE: usize = 32 << 20;
    let (file, from_file, from_stream) = contents(SIZE);
    let sent = Arc::new(AtomicU64::new(0));
    let (address, stop, server) = start(app(file, from_stream, sent)).await;

    let mut idle = TcpStream::connect(address).await.unwrap();
    let request = format!("GET {BLOB} HTTP/1.1\r\nhost: t\r\n\r\n");
    let mut pulling = TcpStream::connect(address).await.unwrap();
    pulling.write_all(request.as_bytes()).await.unwrap();
    let mut first = vec![0u8; 4096];
    let got = pulling.read(&mut first).await.unwrap();
    assert!(got > 0);

    stop.send(()).unwrap();
    let mut nothing = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), idle.read_to_end(&mut nothing))
        .await
        .expect("the idle connection is closed")
        .unwrap();
    assert!(nothing.is_empty());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!server.is_finished(), "stopped with a blob GET in flight");

    let mut reply = first[..got].to_vec();
    pulling.read_to_end(&mut reply).await.unwrap();
    let (status, head, body) = next_response(&mut &reply[..]);
    assert!(status == 200 && body == from_file, "{head}");
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server ends once the last answer is out")
        .unwrap();
}
