//! The services behind the routes: each endpoint's logic over the store traits, answering with
//! a response or a [`RegistryError`].

mod admin_api;
mod blobs;
mod build_log;
mod hub;
mod listing;
mod manifests;
mod search;
mod token;
mod uploads;

pub(crate) use listing::version_check;
pub(crate) use search::ping;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

use crate::error::RegistryError;

/// The header that tells clients which digest the response is about.
pub(crate) const DOCKER_CONTENT_DIGEST: HeaderName =
    HeaderName::from_static("docker-content-digest");

/// The scheme a TLS-terminating proxy (or this server's own TLS, see `server`) says a request
/// arrived by.
pub(crate) const FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// `path` as an absolute URL on the host the client asked (with the scheme a TLS-terminating
/// proxy says it used); relative when the request named no host.
pub(crate) fn absolute_url(headers: &HeaderMap, path: &str) -> String {
    let text = |name: &HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    match text(&header::HOST) {
        Some(host) => {
            let scheme = text(&FORWARDED_PROTO).unwrap_or("http");
            format!("{scheme}://{host}{path}")
        }
        None => path.to_owned(),
    }
}

/// The query parameters of a request, in order.
#[derive(Debug, Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    /// Parses a query string; a malformed one is taken as empty, as no parameter is required
    /// everywhere and the endpoints that need one say so.
    pub(crate) fn parse(query: Option<&str>) -> Self {
        Self(
            query
                .and_then(|q| serde_urlencoded::from_str(q).ok())
                .unwrap_or_default(),
        )
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A response with `status`, `headers` and `body`; headers whose value cannot be sent are
/// skipped (every value here is built from validated names and digests, so none is).
pub(crate) fn respond(
    status: StatusCode,
    headers: &[(HeaderName, &str)],
    body: Body,
) -> Result<Response, RegistryError> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let map = response.headers_mut();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            map.insert(name.clone(), value);
        }
    }
    Ok(response)
}

/// A JSON body with its length, for the listing endpoints.
pub(crate) fn json_response(
    content_type: &str,
    value: &serde_json::Value,
    extra: &[(HeaderName, &str)],
) -> Result<Response, RegistryError> {
    let body = value.to_string();
    let length = body.len().to_string();
    let mut headers = vec![
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_LENGTH, length.as_str()),
    ];
    headers.extend_from_slice(extra);
    respond(StatusCode::OK, &headers, Body::from(body))
}

/// A request the token endpoint or the admin API cannot serve: `400` with OAuth2's error shape
/// (RFC 6749, section 5.2), `error` and `error_description`. The distribution API's error codes
/// have no `400` for these, and neither endpoint is part of that API.
pub(crate) fn bad_request(description: &str) -> Result<Response, RegistryError> {
    let body = serde_json::json!({ "error": "invalid_request", "error_description": description });
    let mut response = json_response("application/json", &body, &[])?;
    *response.status_mut() = StatusCode::BAD_REQUEST;
    Ok(response)
}
