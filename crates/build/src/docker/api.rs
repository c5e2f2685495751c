//! The few Docker Engine API calls a build needs, over the daemon's unix socket.
//!
//! Each call opens its own connection: the daemon is local, a connection costs microseconds,
//! and one connection per call means a long build stream never blocks another call.

use std::path::PathBuf;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;

use super::DockerError;

/// The API version every path is pinned to: 1.41 (Docker 20.10) is the oldest with every
/// parameter used here (`version=1` selects the classic builder since 1.38), and newer daemons
/// still serve it.
const API_VERSION: &str = "v1.41";

/// Where the Engine API listens: a unix socket path.
#[derive(Debug, Clone)]
pub(super) struct Socket(PathBuf);

impl Socket {
    /// The socket a `DOCKER_HOST` value names; only `unix://` is accepted, since builds send
    /// sources and credentials that must not cross a network unencrypted.
    pub(super) fn from_docker_host(value: Option<&str>) -> Result<Self, DockerError> {
        match value.filter(|v| !v.is_empty()) {
            None => Ok(Socket(PathBuf::from("/var/run/docker.sock"))),
            Some(value) => match value.strip_prefix("unix://") {
                Some(path) if !path.is_empty() => Ok(Socket(PathBuf::from(path))),
                _ => Err(DockerError::UnsupportedHost(value.to_owned())),
            },
        }
    }

    /// Sends one request and returns the response with its body still streaming.
    pub(super) async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<Response<Incoming>, DockerError> {
        let stream = UnixStream::connect(&self.0)
            .await
            .map_err(|source| DockerError::Connect {
                socket: self.0.clone(),
                source,
            })?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(DockerError::Http)?;
        // The connection task ends when the response body is read to its end or dropped.
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(format!("/{API_VERSION}{path_and_query}"))
            .header(hyper::header::HOST, "docker");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|err| DockerError::Request(err.to_string()))?;
        sender
            .send_request(request)
            .await
            .map_err(DockerError::Http)
    }

    /// Sends one request and reads the whole answer, failing on any status but 2xx.
    pub(super) async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Bytes,
    ) -> Result<Bytes, DockerError> {
        let response = self.send(method, path_and_query, &[], body).await?;
        let status = response.status();
        let body = read_all(response.into_body()).await?;
        check_status(status, &body)?;
        Ok(body)
    }
}

/// The whole body of a response.
pub(super) async fn read_all(body: Incoming) -> Result<Bytes, DockerError> {
    Ok(body.collect().await.map_err(DockerError::Http)?.to_bytes())
}

/// An error for any status but 2xx, with the daemon's `message`.
pub(super) fn check_status(status: StatusCode, body: &[u8]) -> Result<(), DockerError> {
    match status.is_success() {
        true => Ok(()),
        false => Err(daemon_error(status, body)),
    }
}

/// The error a non-2xx answer stands for, with the daemon's `message`.
pub(super) fn daemon_error(status: StatusCode, body: &[u8]) -> DockerError {
    #[derive(serde::Deserialize)]
    struct Message {
        message: String,
    }
    let message = serde_json::from_slice::<Message>(body)
        .map(|m| m.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).trim().to_owned());
    DockerError::Daemon {
        status: status.as_u16(),
        message,
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
pub(super) fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_host_values() {
        let cases: [(Option<&str>, Option<&str>); 5] = [
            (None, Some("/var/run/docker.sock")),
            (Some(""), Some("/var/run/docker.sock")),
            (
                Some("unix:///tmp/d/docker.sock"),
                Some("/tmp/d/docker.sock"),
            ),
            (Some("tcp://127.0.0.1:2375"), None),
            (Some("unix://"), None),
        ];
        for (value, expected) in cases {
            let socket = Socket::from_docker_host(value).ok();
            let path = socket.as_ref().map(|s| s.0.to_str().unwrap());
            assert_eq!(path, expected, "{value:?}");
        }
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_query_value("a b/c:d"), "a%20b%2Fc%3Ad");
        assert_eq!(
            encode_query_value(r#"{"A":"1"}"#),
            "%7B%22A%22%3A%221%22%7D"
        );
    }
}
