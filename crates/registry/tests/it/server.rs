//! Over a real socket on 127.0.0.1: what `oneshot` cannot show (HEAD framing by hyper, a body
//! streamed in chunks over the wire, the metrics a scraper reads).

use std::net::SocketAddr;

use registry::{Registry, RegistryConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::sha256;

/// A server on a free port that stops, gracefully, when `stop` fires or is dropped; the
/// returned handle finishes when it has stopped.
pub(crate) async fn serve_until(
    stop: oneshot::Receiver<()>,
) -> (SocketAddr, tempfile::TempDir, JoinHandle<()>) {
    let data = tempfile::tempdir().unwrap();
    let (blobs, meta) = store::open_embedded(data.path()).await.unwrap();
    let app = registry::router(Registry::new(blobs, meta, RegistryConfig::default()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(registry::serve(listener, app, async move {
        let _ = stop.await;
    }));
    (address, data, server)
}

/// One HTTP/1.1 exchange on a fresh connection; returns the head and the body bytes.
pub(crate) async fn exchange(
    address: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
) -> (String, Vec<u8>) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {address}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await.unwrap();
    let split = reply.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(reply[..split].to_vec())
        .unwrap()
        .to_lowercase();
    (head, reply[split + 4..].to_vec())
}

/// Decodes a chunked body, or returns it as it is.
fn dechunk(head: &str, body: Vec<u8>) -> Vec<u8> {
    if !head.contains("transfer-encoding: chunked") {
        return body;
    }
    let mut out = Vec::new();
    let mut rest = &body[..];
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
        rest = &rest[line_end + 2 + size + 2..];
    }
}

#[tokio::test]
async fn blobs_and_heads_over_a_socket_and_the_metrics_they_leave() {
    let (_stop, stop) = oneshot::channel();
    let (address, _data, _server) = serve_until(stop).await;
    let content: Vec<u8> = (0..2 * 1024 * 1024 + 5).map(|i| (i % 253) as u8).collect();
    let digest = sha256(&content);
    let (head, _) = exchange(
        address,
        "POST",
        &format!("/v2/net/blobs/uploads/?digest={digest}"),
        &content,
    )
    .await;
    assert!(head.starts_with("http/1.1 201"), "{head}");

    let (head, body) = exchange(address, "GET", &format!("/v2/net/blobs/{digest}"), b"").await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        dechunk(&head, body) == content,
        "the blob came back changed"
    );

    let (head, body) = exchange(address, "HEAD", &format!("/v2/net/blobs/{digest}"), b"").await;
    assert!(
        head.contains(&format!("content-length: {}", content.len())),
        "{head}"
    );
    assert!(body.is_empty());

    let (head, body) = exchange(address, "GET", "/metrics", b"").await;
    assert!(head.contains("content-type: text/plain"), "{head}");
    let text = String::from_utf8(dechunk(&head, body)).unwrap();
    for line in [
        "hallmark_http_requests_total{route=\"upload\",method=\"POST\",status=\"201\"} 1",
        "hallmark_http_requests_total{route=\"blob\",method=\"GET\",status=\"200\"} 1",
        "hallmark_http_requests_total{route=\"blob\",method=\"HEAD\",status=\"200\"} 1",
        "hallmark_upload_duration_seconds_count 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    let counter = |name: &str| -> u64 {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap();
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(counter("hallmark_http_received_bytes_total") >= content.len() as u64);
    assert!(counter("hallmark_http_sent_bytes_total") >= content.len() as u64);
}

#[tokio::test]
async fn a_graceful_stop_lets_an_upload_in_flight_finish() {
    let (stop, stopped) = oneshot::channel();
    let (address, _data, server) = serve_until(stopped).await;
    let (head, _) = exchange(address, "POST", "/v2/g/blobs/uploads/", b"").await;
    let location = head
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap()
        .to_owned();

    // Half the chunk is sent, the server is told to stop, then the rest follows.
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = format!(
        "PATCH {location} HTTP/1.1\r\nhost: {address}\r\ncontent-length: 10\r\nconnection: close\r\n\r\n01234"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(
        !server.is_finished(),
        "the server stopped with a request in flight"
    );
    stream.write_all(b"56789").await.unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 202"), "{reply}");
    assert!(reply.to_lowercase().contains("range: 0-9"), "{reply}");
    server.await.unwrap();
}
