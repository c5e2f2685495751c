//! The shared `docker-registry`: it listens on loopback, stores what is pushed where
//! `stored_blobs` reads it, and is gone when dropped.

use std::io::{Read, Write};
use std::net::TcpStream;

use fixture_cache::Distribution;

/// The SHA-256 of no bytes: a blob a test can push without hashing anything.
const EMPTY_BLOB: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Sends one HTTP/1.0 request and returns the status code and the response head.
fn request(address: &str, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {address}\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let head = response.split("\r\n\r\n").next().unwrap_or_default();
    (status, head.to_owned())
}

/// The path of the response's `Location` header, which distribution may send as a URL.
fn location_path(head: &str, address: &str) -> String {
    let location = head
        .lines()
        .find_map(|line| line.strip_prefix("Location: "))
        .unwrap_or_else(|| panic!("no Location: {head}"));
    let path = location.trim_start_matches(&format!("http://{address}"));
    path.to_owned()
}

#[test]
#[ignore = "needs docker-registry"]
fn a_pushed_blob_is_stored_and_the_registry_stops_when_dropped() {
    let registry = Distribution::start();
    let address = registry.address().to_owned();
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    assert_eq!(request(&address, "GET", "/v2/").0, 200);
    assert_eq!(registry.stored_blobs(), Vec::<String>::new());

    let (status, head) = request(&address, "POST", "/v2/fixture/blobs/uploads/");
    assert_eq!(status, 202, "{head}");
    let upload = location_path(&head, &address);
    let separator = if upload.contains('?') { '&' } else { '?' };
    let (status, head) = request(
        &address,
        "PUT",
        &format!("{upload}{separator}digest={EMPTY_BLOB}"),
    );
    assert_eq!(status, 201, "{head}");
    assert_eq!(registry.stored_blobs(), [EMPTY_BLOB]);

    drop(registry);
    assert!(TcpStream::connect(&address).is_err(), "still listening");
}
