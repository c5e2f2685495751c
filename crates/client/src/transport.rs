//! One registry request: the URL, the `Authorization` it earned, the retry after a challenge
//! (and after a transient failure, see [`crate::retry`]), and the typed error for a status
//! the caller did not expect.

use std::io::Read;
use std::time::Duration;

use oci::Digest;
use ureq::http::{self, Method, Response};
use ureq::{Body, SendBody};

use crate::error::ErrorBody;
use crate::header::Challenge;
use crate::reference::is_loopback;
use crate::retry::{classify, Attempt};
use crate::{Client, ClientError, Repository};

/// Error bodies are small; anything longer is not one.
pub(crate) const MAX_ERROR_BODY: u64 = 64 << 10;

/// The HTTP agent every client uses: statuses are answers to read, not errors; Basic and
/// bearer headers follow redirects only to the same host (blob downloads redirect to storage
/// that must not see them).
pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
        .user_agent(concat!("hallmark/", env!("CARGO_PKG_VERSION")))
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_per_read(Some(Duration::from_secs(300)))
        .build()
        .new_agent()
}

/// A request body.
pub(crate) enum Payload<'a> {
    Empty,
    /// Bytes in memory, which can be sent again after a challenge.
    Bytes(&'a [u8]),
    /// A stream of known length, which can be sent once.
    Stream(&'a mut dyn Read, u64),
}

/// A request to a repository's registry, with the scopes its token needs.
pub(crate) struct Call<'a> {
    method: Method,
    url: String,
    pub(crate) repository: &'a Repository,
    pub(crate) scopes: Vec<String>,
    headers: Vec<(&'static str, String)>,
    body: Payload<'a>,
}

impl<'a> Call<'a> {
    pub fn new(method: Method, repository: &'a Repository, url: String, scope: String) -> Self {
        Self {
            method,
            url,
            repository,
            scopes: vec![scope],
            headers: Vec::new(),
            body: Payload::Empty,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: Payload<'a>) -> Self {
        self.body = body;
        self
    }

    /// Another scope the token must cover (the source repository of a mount).
    pub fn also(mut self, scope: String) -> Self {
        self.scopes.push(scope);
        self
    }

    pub(crate) fn scope_key(&self) -> String {
        self.scopes.join(" ")
    }

    /// Whether sending the call twice does what sending it once does: reads, and a manifest
    /// `PUT` (the same bytes under the same reference) from memory. A stream cannot be sent
    /// again, and a blob upload's `PUT` ends its session, so an upload starts again from its
    /// `POST` instead (see [`Client::attempt`]).
    fn idempotent(&self) -> bool {
        let manifests = format!("/v2/{}/manifests/", self.repository.name());
        match self.method {
            Method::GET | Method::HEAD => true,
            Method::PUT => {
                matches!(self.body, Payload::Bytes(_)) && self.url.contains(manifests.as_str())
            }
            _ => false,
        }
    }
}

/// The scope to pull from `repository`.
pub(crate) fn pull(repository: &Repository) -> String {
    format!("repository:{}:pull", repository.name())
}

/// The scope to push to `repository`.
pub(crate) fn push(repository: &Repository) -> String {
    format!("repository:{}:pull,push", repository.name())
}

/// The scope to delete from `repository`.
pub(crate) fn delete(repository: &Repository) -> String {
    format!("repository:{}:delete", repository.name())
}

impl Client {
    /// `scheme://host/v2/<name>/<path>`.
    pub(crate) fn url(&self, repository: &Repository, path: &str) -> String {
        let host = repository.api_host();
        format!(
            "{}://{host}/v2/{}/{path}",
            self.scheme(host),
            repository.name()
        )
    }

    /// HTTPS, except with `--insecure` and for a loopback registry that has no certificate
    /// folder (a registry with a private CA there is meant to be reached over TLS).
    fn scheme(&self, host: &str) -> &'static str {
        let plain_loopback = is_loopback(host) && self.certs.folder_for(host).is_none();
        if self.options.insecure || plain_loopback {
            "http"
        } else {
            "https"
        }
    }

    /// `GET path` on `repository`'s registry outside the distribution API (Hallmark's and
    /// Docker Hub's repository pages), with `authorization` as given and no challenge
    /// answered; the body of a `200` up to `limit` bytes, `None` for any other status.
    pub fn registry_page(
        &self,
        repository: &Repository,
        path: &str,
        authorization: Option<&str>,
        limit: u64,
    ) -> Result<Option<Vec<u8>>, ClientError> {
        let host = repository.api_host();
        let url = format!("{}://{host}{path}", self.scheme(host));
        let mut request = http::Request::get(&url).header("accept", "application/json");
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let request = request.body(()).map_err(|e| ClientError::InvalidResponse {
            host: host.to_owned(),
            request: format!("GET {url}"),
            detail: format!("the request cannot be built: {e}"),
        })?;
        let response = self.dispatch(request)?;
        if response.status() != http::StatusCode::OK {
            return Ok(None);
        }
        read_limited(response, limit, host, "a page").map(Some)
    }

    /// Sends one request, with the TLS settings of its host's certificate folder when it has
    /// one; every request this client makes goes through here.
    pub(crate) fn dispatch(
        &self,
        request: http::Request<impl ureq::AsSendBody>,
    ) -> Result<Response<Body>, ClientError> {
        let url = request.uri().to_string();
        let host = request
            .uri()
            .authority()
            .map_or_else(String::new, |a| a.as_str().to_owned());
        let tls = match request.uri().scheme_str() {
            Some("https") => self.certs.tls_config(&host)?,
            _ => None,
        };
        let request = match tls {
            Some(tls) => self
                .agent
                .configure_request(request)
                .tls_config(tls)
                .build(),
            None => request,
        };
        self.agent
            .run(request)
            .map_err(|source| match tls_refusal(&source) {
                Some(TlsRefusal::Untrusted(detail)) => ClientError::UntrustedCertificate {
                    advice: self.certs.advice(&host, "its CA certificate", "ca.crt"),
                    host,
                    detail,
                },
                Some(TlsRefusal::ClientCertificate(detail)) => ClientError::ClientCertificate {
                    advice: self.certs.advice(
                        &host,
                        "a client certificate the registry accepts",
                        "client.cert + client.key",
                    ),
                    host,
                    detail,
                },
                None => ClientError::Transport {
                    url,
                    source: Box::new(source),
                },
            })
    }

    /// Sends `call` and returns the response if its status is one of `ok`; any other status
    /// is the typed error its body and status describe.
    pub(crate) fn expect(&self, call: Call<'_>, ok: &[u16]) -> Result<Response<Body>, ClientError> {
        let repository = call.repository;
        let response = self.send(call)?;
        if ok.contains(&response.status().as_u16()) {
            Ok(response)
        } else {
            Err(self.status_error(repository, response))
        }
    }

    /// Sends `call` with what the cache holds for its scopes; on a challenge, earns a token
    /// (or Basic credentials) and sends it again. Returns whatever status came back last,
    /// except a second `401`, which is an error.
    pub(crate) fn send(&self, mut call: Call<'_>) -> Result<Response<Body>, ClientError> {
        let host = call.repository.api_host().to_owned();
        let key = call.scope_key();
        let cached = self.cache.get(&host, &key);
        let response = self.run(&mut call, cached.as_deref())?;
        if response.status() != http::StatusCode::UNAUTHORIZED
            || matches!(call.body, Payload::Stream(..))
        {
            return Ok(response);
        }
        let challenges = challenges(&response);
        let (secret, unavailable) = self.usable_secret(call.repository.registry())?;
        // Credentials kept where this client cannot reach them explain a refusal better
        // than the registry's own message does.
        let refused =
            |response| unavailable.unwrap_or_else(|| self.status_error(call.repository, response));
        let Some(authorization) = self.answer(&call, &challenges, secret.as_ref())? else {
            return Err(refused(response));
        };
        let response = self.run(&mut call, Some(&authorization))?;
        if response.status() == http::StatusCode::UNAUTHORIZED {
            return Err(refused(response));
        }
        Ok(response)
    }

    /// Sends `call` once more (after its own retries, if it is idempotent) and sorts the
    /// outcome, for a sequence that starts again as a whole on a transient failure.
    pub(crate) fn attempt(
        &self,
        call: Call<'_>,
        ok: &[u16],
    ) -> Result<Attempt<Response<Body>>, ClientError> {
        let repository = call.repository;
        let result = self.send(call);
        Ok(
            match classify(result, |r| self.status_error(repository, r))? {
                Attempt::Done(response) if !ok.contains(&response.status().as_u16()) => {
                    return Err(self.status_error(repository, response));
                }
                other => other,
            },
        )
    }

    /// Sends `call`: once, or for an idempotent call until it gets an answer that is not
    /// transient or the retry policy gives up.
    fn run(
        &self,
        call: &mut Call<'_>,
        authorization: Option<&str>,
    ) -> Result<Response<Body>, ClientError> {
        if !call.idempotent() {
            return self.run_once(call, authorization);
        }
        let repository = call.repository;
        self.retrying(|| {
            let result = self.run_once(call, authorization);
            classify(result, |response| self.status_error(repository, response))
        })
    }

    /// One attempt of `call`.
    fn run_once(
        &self,
        call: &mut Call<'_>,
        authorization: Option<&str>,
    ) -> Result<Response<Body>, ClientError> {
        let mut request = http::Request::builder()
            .method(call.method.clone())
            .uri(&call.url);
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let built = |e: http::Error| ClientError::InvalidResponse {
            host: call.repository.api_host().to_owned(),
            request: format!("{} {}", call.method, call.url),
            detail: format!("the request cannot be built: {e}"),
        };
        match &mut call.body {
            Payload::Empty => self.dispatch(request.body(()).map_err(built)?),
            Payload::Bytes(content) => {
                let mut bytes: &[u8] = content;
                let request = request
                    .header("content-length", bytes.len())
                    .body(SendBody::from_reader(&mut bytes))
                    .map_err(built)?;
                self.dispatch(request)
            }
            Payload::Stream(reader, length) => {
                let request = request
                    .header("content-length", *length)
                    .body(SendBody::from_reader(&mut **reader))
                    .map_err(built)?;
                self.dispatch(request)
            }
        }
    }

    /// The typed error for a response whose status the caller did not want.
    pub(crate) fn status_error(
        &self,
        repository: &Repository,
        response: Response<Body>,
    ) -> ClientError {
        let host = repository.api_host().to_owned();
        let status = response.status().as_u16();
        // A token that is good but grants too little: the account may not do this.
        let insufficient = challenges(&response)
            .iter()
            .any(|c| c.param("error") == Some("insufficient_scope"));
        let body = read_limited(response, MAX_ERROR_BODY, &host, "an error").unwrap_or_default();
        if status == 400 && refuses_plain_http(&body) {
            return ClientError::ServesHttps {
                advice: self.certs.advice(&host, "its CA certificate", "ca.crt"),
                host,
            };
        }
        let error = ErrorBody::parse(&body);
        let message = message_of(&error, status);
        let user = self
            .secret(repository.registry())
            .ok()
            .flatten()
            .map(|s| s.username().to_owned());
        match status {
            401 if !(insufficient && user.is_some()) => ClientError::Unauthorized {
                host,
                user,
                message,
            },
            401 | 403 => ClientError::Denied {
                host,
                repository: repository.name().to_owned(),
                user,
                message,
            },
            _ => ClientError::Registry {
                host,
                status,
                code: error.known_code(),
                code_text: error.code,
                message,
            },
        }
    }
}

/// The challenges of a response's `WWW-Authenticate` headers.
fn challenges(response: &Response<Body>) -> Vec<Challenge> {
    response
        .headers()
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Challenge::parse_all)
        .collect()
}

/// The registry's message, or the status's meaning when it sent none.
pub(crate) fn message_of(error: &ErrorBody, status: u16) -> String {
    error.message.clone().unwrap_or_else(|| {
        http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("unexpected status")
            .to_lowercase()
    })
}

/// Whether a `400` body is what Go's servers (distribution, zot) and Hallmark's answer to a
/// plain-HTTP request on their HTTPS port.
fn refuses_plain_http(body: &[u8]) -> bool {
    let needle = b"HTTP request to an HTTPS server";
    body.windows(needle.len()).any(|w| w == needle)
}

/// A TLS failure the user fixes with a certificate folder.
enum TlsRefusal {
    /// The server's certificate chains to no trusted root.
    Untrusted(String),
    /// The server wants a client certificate, or refused the one sent.
    ClientCertificate(String),
}

/// What rustls said, when it is a certificate problem a certificate folder fixes.
fn tls_refusal(error: &ureq::Error) -> Option<TlsRefusal> {
    use rustls::AlertDescription::{BadCertificate, CertificateRequired, UnknownCA};
    let tls = match error {
        ureq::Error::Rustls(tls) => tls,
        // The handshake's errors come through the socket as I/O errors wrapping rustls's.
        ureq::Error::Io(io) => io.get_ref()?.downcast_ref::<rustls::Error>()?,
        _ => return None,
    };
    match tls {
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => Some(
            TlsRefusal::Untrusted(format!("{tls}: it is not signed by a CA this client knows")),
        ),
        rustls::Error::AlertReceived(CertificateRequired | BadCertificate | UnknownCA) => {
            Some(TlsRefusal::ClientCertificate(tls.to_string()))
        }
        _ => None,
    }
}

/// The body, refused past `limit` bytes.
pub(crate) fn read_limited(
    response: Response<Body>,
    limit: u64,
    host: &str,
    what: &str,
) -> Result<Vec<u8>, ClientError> {
    response
        .into_body()
        .into_with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => ClientError::InvalidResponse {
                host: host.to_owned(),
                request: what.to_owned(),
                detail: format!("the body is larger than {limit} bytes"),
            },
            other => ClientError::Transport {
                url: host.to_owned(),
                source: Box::new(other),
            },
        })
}

/// Checks the `Docker-Content-Digest` a registry announced for content it took or served
/// against `digest`; a registry that announces none is taken at its word.
pub(crate) fn check_announced(
    repository: &Repository,
    response: &Response<Body>,
    digest: &Digest,
    what: &str,
) -> Result<(), ClientError> {
    match announced_digest(repository, response, what)? {
        Some(announced) if announced != *digest && announced.algorithm() == digest.algorithm() => {
            Err(ClientError::DigestMismatch {
                host: repository.api_host().to_owned(),
                what: format!("the digest announced for the {what}"),
                expected: digest.clone(),
                actual: announced,
            })
        }
        _ => Ok(()),
    }
}

/// The `Docker-Content-Digest` header, if sent; a malformed one is the registry's error.
pub(crate) fn announced_digest(
    repository: &Repository,
    response: &Response<Body>,
    what: &str,
) -> Result<Option<Digest>, ClientError> {
    header(response, "docker-content-digest")
        .map(|value| {
            Digest::parse(value.trim()).map_err(|e| ClientError::InvalidResponse {
                host: repository.api_host().to_owned(),
                request: what.to_owned(),
                detail: format!("its Docker-Content-Digest is not a digest: {e}"),
            })
        })
        .transpose()
}

/// A response header as text.
pub(crate) fn header<'r>(response: &'r Response<Body>, name: &str) -> Option<&'r str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Resolves a `Location` or `Link` target against the URL it answered: absolute URLs stay,
/// `/path` keeps the scheme and host, and a bare path is relative to the URL's folder.
pub(crate) fn resolve(base: &str, target: &str) -> String {
    if target.starts_with("http://") || target.starts_with("https://") {
        return target.to_owned();
    }
    let origin_end = base
        .find("://")
        .and_then(|i| base[i + 3..].find('/').map(|j| i + 3 + j))
        .unwrap_or(base.len());
    if target.starts_with('/') {
        return format!("{}{target}", &base[..origin_end]);
    }
    let path = base.split(['?', '#']).next().unwrap_or(base);
    match path.rfind('/') {
        Some(i) if i >= origin_end => format!("{}{target}", &path[..=i]),
        _ => format!("{}/{target}", &path[..origin_end]),
    }
}

/// `url` with `name=value` added to its query.
pub(crate) fn with_query(url: &str, name: &str, value: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{name}={}", encode(value))
}

/// Percent-encodes all but RFC 3986's unreserved characters, so `+`, `/`, `:` and spaces in
/// media types and scopes arrive as sent.
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_against_the_url_they_answered() {
        let base = "http://127.0.0.1:5000/v2/a/blobs/uploads/?x=1";
        let cases = [
            (
                "/v2/a/blobs/uploads/u1",
                "http://127.0.0.1:5000/v2/a/blobs/uploads/u1",
            ),
            (
                "https://other.example/up?_state=s",
                "https://other.example/up?_state=s",
            ),
            (
                "u2?_state=s",
                "http://127.0.0.1:5000/v2/a/blobs/uploads/u2?_state=s",
            ),
        ];
        for (target, expected) in cases {
            assert_eq!(resolve(base, target), expected, "{target}");
        }
        assert_eq!(resolve("http://h", "x"), "http://h/x");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            with_query("http://h/p", "artifactType", "application/vnd.example+json"),
            "http://h/p?artifactType=application%2Fvnd.example%2Bjson"
        );
        assert_eq!(
            with_query("http://h/p?_state=a", "digest", "sha256:ab"),
            "http://h/p?_state=a&digest=sha256%3Aab"
        );
    }
}
