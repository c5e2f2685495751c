//! Over a real socket on 127.0.0.1: what `oneshot` cannot show (HEAD framing by hyper, a body
//! streamed in chunks over the wire, the metrics a scraper reads).

use std::net::SocketAddr;

use registry::{Registry, RegistryConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::sha256;

async fn serve() -> (SocketAddr, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let (blobs, meta) = store::open_embedded(data.path()).await.unwrap();
    let app = registry::router(Registry::new(blobs, meta, RegistryConfig::default()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (address, data)
}

/// One HTTP/1.1 exchange on a fresh connection; returns the head and the body bytes.
async fn exchange(address: SocketAddr, method: &str, path: &str, body: &[u8]) -> (String, Vec<u8>) {
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
    let (address, _data) = serve().await;
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
