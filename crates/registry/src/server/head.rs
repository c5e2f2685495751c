//! Reading request heads and writing response heads for the blob GET path.
//!
//! Only what that path can serve without doubt is accepted: a bodiless `GET` of a blob path in
//! origin form, HTTP/1.0 or 1.1, with headers the `http` crate takes as they are. Everything
//! else, including anything malformed, is [`Parsed::HandOver`], and hyper answers it (with its
//! own errors for what is malformed), so this reader never has to reject anything itself.

use axum::body::Body;
use axum::http::response::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};

use crate::route::Route;

/// Headers a request on this path may carry; a request with more goes to hyper (which takes
/// up to 100).
const MAX_HEADERS: usize = 64;

/// The longest head read before handing the connection over; hyper takes longer ones.
pub(super) const MAX_HEAD: usize = 16 * 1024;

/// What the bytes buffered so far hold.
#[derive(Debug)]
pub(super) enum Parsed {
    /// The head has not fully arrived.
    Partial,
    /// A blob GET this path serves: the request, the buffered bytes its head took, and
    /// whether the client lets the connection stay open after the answer.
    BlobGet {
        request: Box<Request<Body>>,
        head_len: usize,
        keep_alive: bool,
    },
    /// Anything else: hyper serves the connection from here on, these bytes first.
    HandOver,
}

/// Reads the request head at the start of `buffer`.
pub(super) fn parse(buffer: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Request::new(&mut headers);
    let head_len = match head.parse(buffer) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) if buffer.len() < MAX_HEAD => return Parsed::Partial,
        _ => return Parsed::HandOver,
    };
    match blob_get(&head) {
        Some((request, keep_alive)) => Parsed::BlobGet {
            request: Box::new(request),
            head_len,
            keep_alive,
        },
        None => Parsed::HandOver,
    }
}

/// The request when `head` is a blob GET without a body, with whether to keep the connection.
fn blob_get(head: &httparse::Request<'_, '_>) -> Option<(Request<Body>, bool)> {
    if head.method? != "GET" {
        return None;
    }
    let target = head.path?;
    // Origin form only: absolute-form and `*` targets are hyper's to interpret.
    if !target.starts_with('/') {
        return None;
    }
    let uri: Uri = target.parse().ok()?;
    if !matches!(Route::parse(uri.path()), Ok(Some(Route::Blob(..)))) {
        return None;
    }
    let version = match head.version? {
        0 => Version::HTTP_10,
        1 => Version::HTTP_11,
        _ => return None,
    };
    // HTTP/1.0 closes after each answer unless it asks otherwise; this path does not take up
    // 1.0's keep-alive extension and simply closes.
    let mut keep_alive = version == Version::HTTP_11;
    let mut headers = HeaderMap::with_capacity(head.headers.len());
    for field in head.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(field.value).ok()?;
        if !plain_get_header(&name, &value) {
            return None;
        }
        if name == header::CONNECTION && has_token(&value, "close") {
            keep_alive = false;
        }
        headers.append(name, value);
    }
    let mut request = Request::new(Body::empty());
    *request.method_mut() = Method::GET;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = headers;
    Some((request, keep_alive))
}

/// Whether a header leaves the request a plain bodiless GET: a body (`Transfer-Encoding`, or a
/// `Content-Length` other than `0`), a protocol switch (`Upgrade`) or an expectation
/// (`Expect`) all need hyper.
fn plain_get_header(name: &HeaderName, value: &HeaderValue) -> bool {
    if name == header::CONTENT_LENGTH {
        return value.as_bytes() == b"0";
    }
    ![header::TRANSFER_ENCODING, header::UPGRADE, header::EXPECT].contains(name)
}

/// Whether a comma-separated header value lists `token` (case-insensitively).
fn has_token(value: &HeaderValue, token: &str) -> bool {
    value
        .as_bytes()
        .split(|&b| b == b',')
        .any(|part| part.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Whether a response asks to close the connection after it.
pub(super) fn asks_to_close(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .any(|value| has_token(value, "close"))
}

/// The response's status line and headers, framed by this server: `length` body bytes follow
/// (`None`: the body runs until the connection closes), and `Connection: close` when the
/// connection ends after it. The response's own framing headers are replaced by these.
pub(super) fn response_head(parts: &Parts, length: Option<u64>, keep_alive: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(parts.status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(parts.status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    let framing = [
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
    ];
    for (name, value) in &parts.headers {
        if !framing.contains(name) {
            push_field(&mut out, name.as_str(), value.as_bytes());
        }
    }
    // Every answer of an origin server with a clock carries its date (RFC 9110, 6.6.1).
    if !parts.headers.contains_key(header::DATE) {
        let now = httpdate::fmt_http_date(std::time::SystemTime::now());
        push_field(&mut out, "date", now.as_bytes());
    }
    if let Some(length) = length {
        push_field(&mut out, "content-length", length.to_string().as_bytes());
    }
    if !keep_alive || length.is_none() {
        push_field(&mut out, "connection", b"close");
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn push_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{Response, StatusCode};

    const BLOB: &str = "/v2/library/python/blobs/sha256:0123";

    /// What a head parses to, in short: `None` for partial, `Some(None)` for a hand-over and
    /// `Some(Some(keep_alive))` for a blob GET.
    fn outcome(head: &str) -> Option<Option<bool>> {
        match parse(head.as_bytes()) {
            Parsed::Partial => None,
            Parsed::HandOver => Some(None),
            Parsed::BlobGet {
                head_len,
                keep_alive,
                ..
            } => {
                assert_eq!(head_len, head.find("\r\n\r\n").unwrap() + 4, "{head:?}");
                Some(Some(keep_alive))
            }
        }
    }

    #[test]
    fn only_plain_blob_gets_stay_on_this_path() {
        let get = |extra: &str| format!("GET {BLOB} HTTP/1.1\r\nhost: h\r\n{extra}\r\n");
        let cases = [
            (get(""), Some(Some(true))),
            (get("connection: keep-alive\r\n"), Some(Some(true))),
            (get("Connection: Close\r\n"), Some(Some(false))),
            (get("connection: te, close\r\n"), Some(Some(false))),
            (get("content-length: 0\r\n"), Some(Some(true))),
            (
                get("range: bytes=0-9\r\nauthorization: Bearer x\r\n"),
                Some(Some(true)),
            ),
            (
                format!("GET {BLOB}?x=1 HTTP/1.0\r\n\r\n"),
                Some(Some(false)),
            ),
            // Not yet whole.
            (format!("GET {BLOB} HTTP/1.1\r\nhost: h\r\n"), None),
            ("GE".to_owned(), None),
            // Bodies, protocol switches and expectations are hyper's.
            (get("content-length: 5\r\n"), Some(None)),
            (get("transfer-encoding: chunked\r\n"), Some(None)),
            (
                get("upgrade: websocket\r\nconnection: upgrade\r\n"),
                Some(None),
            ),
            (get("expect: 100-continue\r\n"), Some(None)),
            // Other methods and paths.
            (format!("HEAD {BLOB} HTTP/1.1\r\n\r\n"), Some(None)),
            (format!("PUT {BLOB} HTTP/1.1\r\n\r\n"), Some(None)),
            (
                "GET /v2/a/manifests/latest HTTP/1.1\r\n\r\n".to_owned(),
                Some(None),
            ),
            (
                "GET /v2/a/blobs/uploads/ HTTP/1.1\r\n\r\n".to_owned(),
                Some(None),
            ),
            (
                "GET /v2/Upper/blobs/sha256:00 HTTP/1.1\r\n\r\n".to_owned(),
                Some(None),
            ),
            (format!("GET http://h{BLOB} HTTP/1.1\r\n\r\n"), Some(None)),
            // Whatever is malformed.
            (format!("GET {BLOB} HTTP/2.0\r\n\r\n"), Some(None)),
            (
                format!("GET {BLOB} HTTP/1.1\r\nbad header\r\n\r\n"),
                Some(None),
            ),
            ("\u{1}\u{2}\r\n\r\n".to_owned(), Some(None)),
        ];
        for (head, expected) in cases {
            assert_eq!(outcome(&head), expected, "{head:?}");
        }
    }

    #[test]
    fn heads_too_long_or_with_too_many_fields_go_to_hyper() {
        let long = format!("GET {BLOB} HTTP/1.1\r\nx: {}\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(outcome(&long), Some(None));
        let many: String = (0..=MAX_HEADERS).map(|i| format!("x{i}: y\r\n")).collect();
        assert_eq!(
            outcome(&format!("GET {BLOB} HTTP/1.1\r\n{many}\r\n")),
            Some(None)
        );
    }

    #[test]
    fn a_blob_get_becomes_the_request_the_router_sees() {
        let head = format!("GET {BLOB}?n=1 HTTP/1.1\r\nHost: h\r\nRange: bytes=1-2\r\n\r\nGET");
        let Parsed::BlobGet { request, .. } = parse(head.as_bytes()) else {
            panic!("not a blob GET");
        };
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.uri().path(), BLOB);
        assert_eq!(request.uri().query(), Some("n=1"));
        assert_eq!(request.version(), Version::HTTP_11);
        assert_eq!(request.headers()["host"], "h");
        assert_eq!(request.headers()["range"], "bytes=1-2");
    }

    #[test]
    fn response_heads_carry_our_framing_and_the_rest_as_given() {
        let response = Response::builder()
            .status(StatusCode::PARTIAL_CONTENT)
            .header("content-length", "999")
            .header("connection", "keep-alive")
            .header("docker-content-digest", "sha256:0123")
            .header("date", "Mon, 23 Nov 2026 09:00:00 GMT")
            .body(())
            .unwrap();
        let (parts, ()) = response.into_parts();
        let cases = [
            (Some(10), true, "content-length: 10\r\n\r\n"),
            (
                Some(10),
                false,
                "content-length: 10\r\nconnection: close\r\n\r\n",
            ),
            (None, true, "connection: close\r\n\r\n"),
        ];
        for (length, keep_alive, tail) in cases {
            let head = String::from_utf8(response_head(&parts, length, keep_alive)).unwrap();
            let expected = format!(
                "HTTP/1.1 206 Partial Content\r\ndocker-content-digest: sha256:0123\r\n\
                 date: Mon, 23 Nov 2026 09:00:00 GMT\r\n{tail}"
            );
            assert_eq!(head, expected);
        }
    }

    #[test]
    fn a_response_without_a_date_gets_one() {
        let (parts, ()) = Response::new(()).into_parts();
        let head = String::from_utf8(response_head(&parts, Some(0), true)).unwrap();
        let date = head
            .lines()
            .find_map(|line| line.strip_prefix("date: "))
            .expect("a date");
        assert!(httpdate::parse_http_date(date).is_ok(), "{date}");
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    }

    #[test]
    fn connection_close_in_a_response_is_seen() {
        let mut headers = HeaderMap::new();
        assert!(!asks_to_close(&headers));
        headers.insert(header::CONNECTION, HeaderValue::from_static("Close"));
        assert!(asks_to_close(&headers));
    }
}
