//! Hallmark's registry in process on 127.0.0.1, with or without token auth, optionally behind
//! a layer that makes it behave like another registry: one without the referrers API
//! (distribution 2.8), one that ignores referrers filters, one that wants Basic credentials,
//! or one that lies about content.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use access::clock::SystemClock;
use access::password::Passwords;
use access::token::TokenKey;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn, Next};
use axum::response::Response;
use base64ct::Encoding as _;
use client::{Client, ClientOptions, Credentials, Repository, RetryPolicy};
use registry::{Auth, AuthConfig, Registry, RegistryConfig, ServerTls};
use store::{AccountKind, MetaStore};

/// The password of every test account.
pub const PASSWORD: &str = "correct horse";

/// How the registry misbehaves, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quirk {
    /// Hallmark as it is.
    None,
    /// No referrers API (404) and no `OCI-Subject` header, like distribution 2.8.
    NoReferrersApi,
    /// The referrers API ignores `artifactType` and says nothing about filtering.
    IgnoresFilters,
    /// Every registry path wants Basic credentials `ann:PASSWORD` instead of tokens.
    BasicAuth,
    /// Manifest and blob bodies gain a trailing space on the way out, headers unchanged.
    Lies,
}

/// A running registry; it stops when dropped.
pub struct TestRegistry {
    pub address: SocketAddr,
    pub data: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

impl TestRegistry {
    /// An open registry (`--auth none`).
    pub fn open(quirk: Quirk) -> Self {
        Self::start(false, quirk)
    }

    /// A registry with token auth: the admin `root`, and the user `uma` with no roles.
    pub fn with_auth() -> Self {
        Self::start(true, Quirk::None)
    }

    /// [`TestRegistry::with_auth`] over HTTPS with `tls`'s certificate.
    pub fn with_auth_over_tls(tls: ServerTls) -> Self {
        Self::start_serving(true, Quirk::None, Some(tls))
    }

    fn start(auth: bool, quirk: Quirk) -> Self {
        Self::start_serving(auth, quirk, None)
    }

    fn start_serving(auth: bool, quirk: Quirk, tls: Option<ServerTls>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let data = tempfile::tempdir().unwrap();
        let folder = data.path().to_owned();
        let address = runtime.block_on(async move {
            let (blobs, meta) = store::open_embedded(&folder).await.unwrap();
            let mut registry = Registry::new(blobs, meta.clone(), RegistryConfig::default());
            if auth {
                let passwords = Passwords::with_cost(8, 1, 1).unwrap();
                for (name, admin) in [("root", true), ("uma", false)] {
                    let mut account =
                        registry::admin::new_account(name, AccountKind::User, PASSWORD, &passwords)
                            .unwrap();
                    account.admin = admin;
                    assert!(meta.create_account(&account, "test").await.unwrap());
                }
                let config = AuthConfig {
                    passwords,
                    ..AuthConfig::default()
                };
                let key = TokenKey::generate().unwrap();
                registry = registry.with_auth(Auth::new(key, config, Arc::new(SystemClock)));
            }
            let app = with_quirk(registry::shared_router(Arc::new(registry)), quirk);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            match tls {
                Some(tls) => {
                    let forever = std::future::pending();
                    tokio::spawn(registry::serve_tls(listener, app, tls, forever));
                }
                None => {
                    let service = app.into_make_service_with_connect_info::<SocketAddr>();
                    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
                }
            }
            address
        });
        Self {
            address,
            data,
            _runtime: runtime,
        }
    }

    /// A repository on this registry.
    pub fn repo(&self, name: &str) -> Repository {
        Repository::parse(&format!("{}/{name}", self.address)).unwrap()
    }

    /// Where the registry keeps a blob's file.
    pub fn blob_file(&self, digest: &oci::Digest) -> PathBuf {
        let hex = digest.hex();
        self.data
            .path()
            .join("blobs")
            .join(digest.algorithm().name())
            .join(&hex[..2])
            .join(hex)
    }

    /// A refresh token for `root`, as `docker login` asks for one (`offline_token=true`).
    pub fn refresh_token(&self) -> String {
        let auth = base64ct::Base64::encode_string(format!("root:{PASSWORD}").as_bytes());
        let answer = ureq::get(format!(
            "http://{}/token?service=hallmark&offline_token=true&client_id=test",
            self.address
        ))
        .header("authorization", format!("Basic {auth}"))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        answer["refresh_token"].as_str().unwrap().to_owned()
    }

    /// The value of one of the registry's metrics.
    pub fn metric(&self, line_start: &str) -> u64 {
        let text = ureq::get(format!("http://{}/metrics", self.address))
            .call()
            .unwrap()
            .into_body()
            .read_to_string()
            .unwrap();
        text.lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .map_or(0, |v| v.parse().unwrap())
    }
}

/// A client that reads no docker config (the machine's own must not leak into tests).
pub fn client(creds: Option<(&str, &str)>) -> Client {
    Client::new(options(creds)).unwrap()
}

/// Options with `creds`, a docker config file that does not exist, and retries that wait
/// milliseconds (`Retry-After` is honoured up to two seconds).
pub fn options(creds: Option<(&str, &str)>) -> ClientOptions {
    ClientOptions {
        creds: creds.map(|(user, password)| Credentials::new(user, password)),
        docker_config: Some(PathBuf::from("/nonexistent/docker/config.json")),
        retry: RetryPolicy {
            attempts: 4,
            first_delay: Duration::from_millis(20),
            max_delay: Duration::from_secs(2),
        },
        ..ClientOptions::default()
    }
}

fn with_quirk(app: axum::Router, quirk: Quirk) -> axum::Router {
    match quirk {
        Quirk::None => app,
        Quirk::NoReferrersApi => app.layer(from_fn(no_referrers_api)),
        Quirk::IgnoresFilters => app.layer(from_fn(ignores_filters)),
        Quirk::BasicAuth => app.layer(from_fn(basic_auth)),
        Quirk::Lies => app.layer(from_fn(lies)),
    }
}

async fn no_referrers_api(request: Request, next: Next) -> Response {
    if request.uri().path().contains("/referrers/") {
        let mut response = Response::new(Body::from("404 page not found\n"));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    }
    let mut response = next.run(request).await;
    response.headers_mut().remove("oci-subject");
    response
}

async fn ignores_filters(mut request: Request, next: Next) -> Response {
    if request.uri().path().contains("/referrers/") {
        *request.uri_mut() = request.uri().path().parse().unwrap();
    }
    let mut response = next.run(request).await;
    response.headers_mut().remove("oci-filters-applied");
    response
}

async fn basic_auth(mut request: Request, next: Next) -> Response {
    let expected = format!(
        "Basic {}",
        base64ct::Base64::encode_string(format!("ann:{PASSWORD}").as_bytes())
    );
    let given = request.headers_mut().remove(header::AUTHORIZATION);
    if request.uri().path().starts_with("/v2/")
        && given.as_ref() != Some(&HeaderValue::from_str(&expected).unwrap())
    {
        let mut response = Response::new(Body::from(
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
        ));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Basic realm="Registry Realm""#),
        );
        return response;
    }
    next.run(request).await
}

async fn lies(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let is_get = request.method() == axum::http::Method::GET;
    let response = next.run(request).await;
    let tampered = is_get && (path.contains("/manifests/") || path.contains("/blobs/sha"));
    if !tampered || response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let mut bytes = axum::body::to_bytes(body, 64 << 20).await.unwrap().to_vec();
    bytes.push(b' ');
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}
