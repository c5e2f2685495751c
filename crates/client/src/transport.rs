//! One registry request: the URL, the `Authorization` it earned, the retry after a challenge,
//! and the typed error for a status the caller did not expect.

use std::io::Read;
use std::time::Duration;

use oci::Digest;
use ureq::http::{self, Method, Response};
use ureq::{Body, SendBody};

use crate::auth::{Secret, TokenAnswer};
use crate::error::ErrorBody;
use crate::header::Challenge;
use crate::reference::is_loopback;
use crate::{Client, ClientError, Repository};

/// Error bodies and token answers are small; anything longer is not one.
const MAX_ERROR_BODY: u64 = 64 << 10;
const MAX_TOKEN_ANSWER: u64 = 1 << 20;

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
    repository: &'a Repository,
    scopes: Vec<String>,
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

    fn scope_key(&self) -> String {
        self.scopes.join(" ")
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

    fn scheme(&self, host: &str) -> &'static str {
        if self.options.insecure || is_loopback(host) {
            "http"
        } else {
            "https"
        }
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

    /// The `Authorization` value that answers the registry's challenges, kept in the cache;
    /// `None` when no challenge is one this client can answer.
    fn answer(
        &self,
        call: &Call<'_>,
        challenges: &[Challenge],
        secret: Option<&Secret>,
    ) -> Result<Option<String>, ClientError> {
        let host = call.repository.api_host();
        if let Some(bearer) = challenges.iter().find(|c| c.scheme == "bearer") {
            let mut scopes = call.scopes.clone();
            for scope in bearer.param("scope").unwrap_or_default().split(' ') {
                if !scope.is_empty() && !scopes.iter().any(|s| s == scope) {
                    scopes.push(scope.to_owned());
                }
            }
            let (token, lifetime) = self.fetch_token(call.repository, bearer, &scopes, secret)?;
            self.cache
                .put_bearer(host, &call.scope_key(), &token, lifetime);
            return Ok(Some(format!("Bearer {token}")));
        }
        let basic = challenges.iter().any(|c| c.scheme == "basic");
        match secret {
            Some(Secret::Password(credentials)) if basic => {
                let header = credentials.basic_header();
                self.cache.put_basic(host, header.clone());
                Ok(Some(header))
            }
            _ => Ok(None),
        }
    }

    /// A bearer token for `scopes` from the challenge's realm: a `GET` with Basic credentials
    /// (or none, for an anonymous token), or an OAuth2 `POST` trading a stored refresh token.
    fn fetch_token(
        &self,
        repository: &Repository,
        challenge: &Challenge,
        scopes: &[String],
        secret: Option<&Secret>,
    ) -> Result<(String, Duration), ClientError> {
        let host = repository.api_host();
        let realm = challenge.param("realm").unwrap_or_default();
        let realm_host = realm
            .split_once("://")
            .map(|(_, rest)| rest.split('/').next().unwrap_or_default())
            .filter(|h| !h.is_empty())
            .ok_or_else(|| ClientError::InvalidResponse {
                host: host.to_owned(),
                request: "a request".to_owned(),
                detail: format!("its Bearer challenge names no usable realm ({realm:?})"),
            })?;
        let plain = realm.starts_with("http://");
        if secret.is_some() && plain && !self.options.insecure && !is_loopback(realm_host) {
            return Err(ClientError::InsecureRealm {
                realm: realm.to_owned(),
            });
        }
        let mut query = Vec::new();
        if let Some(service) = challenge.param("service") {
            query.push(("service", service.to_owned()));
        }
        let request = match secret {
            Some(Secret::IdentityToken { token, .. }) => {
                let mut form = query;
                form.extend([
                    ("grant_type", "refresh_token".to_owned()),
                    ("refresh_token", token.clone()),
                    ("client_id", "hallmark".to_owned()),
                    ("scope", scopes.join(" ")),
                ]);
                http::Request::post(realm)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(encode_pairs(&form))
            }
            _ => {
                query.extend(scopes.iter().map(|s| ("scope", s.clone())));
                let separator = if realm.contains('?') { '&' } else { '?' };
                let url = format!("{realm}{separator}{}", encode_pairs(&query));
                let mut request = http::Request::get(url);
                if let Some(Secret::Password(credentials)) = secret {
                    request = request.header("authorization", credentials.basic_header());
                }
                request.body(String::new())
            }
        };
        let request = request.map_err(|e| ClientError::InvalidResponse {
            host: host.to_owned(),
            request: "a request".to_owned(),
            detail: format!("its realm {realm:?} is not a usable URL: {e}"),
        })?;
        let response = self
            .agent
            .run(request)
            .map_err(|source| ClientError::Transport {
                url: realm.to_owned(),
                source: Box::new(source),
            })?;
        let status = response.status().as_u16();
        let what = format!("the token request to {realm}");
        if matches!(status, 401 | 403) {
            let body =
                read_limited(response, MAX_ERROR_BODY, realm_host, &what).unwrap_or_default();
            return Err(ClientError::Unauthorized {
                host: realm_host.to_owned(),
                user: secret.map(|s| s.username().to_owned()),
                message: message_of(&ErrorBody::parse(&body), status),
            });
        }
        if status != 200 {
            return Err(self.status_error(repository, response));
        }
        let body = read_limited(response, MAX_TOKEN_ANSWER, realm_host, &what)?;
        serde_json::from_slice::<TokenAnswer>(&body)
            .ok()
            .and_then(TokenAnswer::into_bearer)
            .ok_or_else(|| ClientError::InvalidResponse {
                host: realm_host.to_owned(),
                request: what,
                detail: "the answer holds no token or access_token".to_owned(),
            })
    }

    /// The credentials for `registry`: `--creds` where they apply, else the docker config's.
    fn secret(&self, registry: &str) -> Result<Option<Secret>, ClientError> {
        let only = self.options.creds_registry.as_deref();
        match &self.options.creds {
            Some(credentials) if only.is_none_or(|only| only == registry) => {
                Ok(Some(Secret::Password(credentials.clone())))
            }
            _ => self.docker_config.secret_for(registry),
        }
    }

    /// The secret for `registry`; or none, with the reason, when it is kept by a credential
    /// helper this client does not run, so that public pulls still work anonymously.
    fn usable_secret(
        &self,
        registry: &str,
    ) -> Result<(Option<Secret>, Option<ClientError>), ClientError> {
        match self.secret(registry) {
            Ok(secret) => Ok((secret, None)),
            Err(helper @ ClientError::CredentialHelper { .. }) => Ok((None, Some(helper))),
            Err(other) => Err(other),
        }
    }

    /// One attempt of `call`.
    fn run(
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
        let sent = match &mut call.body {
            Payload::Empty => self.agent.run(request.body(()).map_err(built)?),
            Payload::Bytes(content) => {
                let mut bytes: &[u8] = content;
                let request = request
                    .header("content-length", bytes.len())
                    .body(SendBody::from_reader(&mut bytes))
                    .map_err(built)?;
                self.agent.run(request)
            }
            Payload::Stream(reader, length) => {
                let request = request
                    .header("content-length", *length)
                    .body(SendBody::from_reader(&mut **reader))
                    .map_err(built)?;
                self.agent.run(request)
            }
        };
        sent.map_err(|source| ClientError::Transport {
            url: call.url.clone(),
            source: Box::new(source),
        })
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
fn message_of(error: &ErrorBody, status: u16) -> String {
    error.message.clone().unwrap_or_else(|| {
        http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("unexpected status")
            .to_lowercase()
    })
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

fn encode_pairs(pairs: &[(&str, String)]) -> String {
    let pairs: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", encode(value)))
        .collect();
    pairs.join("&")
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
    fn creds_for_one_registry_go_to_no_other() {
        use crate::{ClientOptions, Credentials};

        let empty_config = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(empty_config.path(), "{}").unwrap();
        let client = |creds_registry: Option<&str>| {
            Client::new(ClientOptions {
                creds: Some(Credentials::parse("robot:secret").unwrap()),
                creds_registry: creds_registry.map(str::to_owned),
                docker_config: Some(empty_config.path().to_owned()),
                ..ClientOptions::default()
            })
            .unwrap()
        };
        let scoped = client(Some("127.0.0.1:5000"));
        assert!(scoped.secret("127.0.0.1:5000").unwrap().is_some());
        assert!(scoped.secret("127.0.0.1:5001").unwrap().is_none());
        assert!(scoped.secret("mcr.microsoft.com").unwrap().is_none());
        let everywhere = client(None);
        assert!(everywhere.secret("mcr.microsoft.com").unwrap().is_some());
    }

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
        assert_eq!(
            encode_pairs(&[("scope", "repository:a b:pull".into())]),
            "scope=repository%3Aa%20b%3Apull"
        );
    }
}
