//! Token authentication through HTTP: challenges, `/token` in its GET and POST forms, refresh
//! tokens, throttling, audit entries and private repositories; and the registry with
//! authentication on that the matrix, admin API and conformance tests share.

use std::sync::Arc;
use std::time::Duration;

use access::clock::ManualClock;
use access::password::Passwords;
use access::throttle::ThrottleRate;
use access::token::TokenKey;
use axum::body::Body;
use axum::http::Method;
use registry::{Auth, AuthConfig, Registry, RegistryConfig};
use store::{Account, AccountKind, AuditFilter, MetaStore};

use super::{sha256, App, Reply, OCI_MANIFEST};

const HOST: &str = "registry.test:5000";

/// A registry with authentication on, its clock, and accounts for every role.
pub struct AuthApp {
    pub app: App,
    clock: Arc<ManualClock>,
}

pub const PASSWORD: &str = "correct horse";

impl AuthApp {
    async fn new(config: AuthConfig) -> Self {
        let data = tempfile::tempdir().unwrap();
        let (blobs, meta) = store::open_embedded(data.path()).await.unwrap();
        let clock = Arc::new(ManualClock::at_unix_seconds(1_800_000_000));
        let auth = Auth::new(TokenKey::generate().unwrap(), config, clock.clone());
        let registry = Registry::new(blobs, meta.clone(), RegistryConfig::default());
        let app = App {
            router: registry::router(registry.with_auth(auth)),
            meta,
            _data: data,
            bearer: None,
        };
        let this = Self { app, clock };
        this.add_accounts().await;
        this
    }

    pub async fn standard() -> Self {
        Self::new(test_config()).await
    }

    async fn add_accounts(&self) {
        let meta = &self.app.meta;
        meta.create_organisation("acme", "test").await.unwrap();
        let hash = test_passwords().hash(PASSWORD).unwrap();
        let account = |name: &str, kind: AccountKind| Account {
            name: name.to_owned(),
            kind,
            password_hash: hash.clone(),
            admin: false,
            publisher: false,
            grants: Vec::new(),
            organisations: Vec::new(),
        };
        let mut member = account("mia", AccountKind::User);
        member.organisations = vec!["acme".into()];
        let mut amd64 = account("builder-amd64", AccountKind::Robot);
        amd64.grants = vec!["amd64/*:push".into()];
        let mut arm64 = account("builder-arm64v8", AccountKind::Robot);
        arm64.grants = vec!["arm64v8/*:push".into()];
        let mut publisher = account("pat", AccountKind::User);
        publisher.publisher = true;
        let mut admin = account("root", AccountKind::User);
        admin.admin = true;
        for account in [
            account("uma", AccountKind::User),
            member,
            amd64,
            arm64,
            publisher,
            admin,
        ] {
            assert!(meta.create_account(&account, "test").await.unwrap());
        }
        meta.set_private("acme/secret", true, "test").await.unwrap();
    }

    /// `GET /token` for `scopes`, as `account` (Basic credentials) or anonymously.
    pub async fn token_reply(&self, account: Option<&str>, scopes: &[&str]) -> Reply {
        let mut uri = "/token?service=hallmark".to_owned();
        for scope in scopes {
            uri += &format!("&scope={}", scope.replace(' ', "%20"));
        }
        match account {
            Some(name) => self.basic_get(name, PASSWORD, &uri).await,
            None => self.app.get(&uri).await,
        }
    }

    pub async fn token(&self, account: Option<&str>, scopes: &[&str]) -> String {
        let reply = self.token_reply(account, scopes).await;
        reply.expect(200, None);
        reply.json()["token"].as_str().unwrap().to_owned()
    }

    /// A `GET` without a token, as a client's first try.
    pub async fn get_anonymous(&self, uri: &str) -> Reply {
        let headers = [("host", HOST)];
        self.app
            .send(Method::GET, uri, &headers, Body::empty())
            .await
    }

    /// `POST /token` with a form.
    pub async fn post_form(&self, body: String) -> Reply {
        let headers = [("content-type", "application/x-www-form-urlencoded")];
        self.app.send(Method::POST, "/token", &headers, body).await
    }

    /// `GET /token` with Basic credentials and no scope.
    pub async fn login(&self, name: &str, password: &str) -> Reply {
        self.basic_get(name, password, "/token?service=hallmark")
            .await
    }

    /// A `GET` with Basic credentials.
    pub async fn basic_get(&self, name: &str, password: &str, uri: &str) -> Reply {
        let basic = format!("Basic {}", base64(&format!("{name}:{password}")));
        let headers = [("authorization", basic.as_str())];
        self.app
            .send(Method::GET, uri, &headers, Body::empty())
            .await
    }

    /// One request with a bearer token and no body.
    pub async fn call(&self, method: Method, uri: &str, token: &str) -> Reply {
        self.send(method, uri, token, Body::empty()).await
    }

    /// One request with a bearer token.
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        token: &str,
        body: impl Into<Body>,
    ) -> Reply {
        let bearer = format!("Bearer {token}");
        let headers = [("authorization", bearer.as_str()), ("host", HOST)];
        self.app.send(method, uri, &headers, body).await
    }

    /// Pushes a one-layer image as `token`; returns the layer's digest.
    pub async fn push_image(&self, token: &str, name: &str, tag: &str) -> oci::Digest {
        let config = format!("{{\"of\":\"{name}\"}}");
        let layer = format!("layer of {name}");
        for content in [&config, &layer] {
            let uri = format!(
                "/v2/{name}/blobs/uploads/?digest={}",
                sha256(content.as_bytes())
            );
            self.send(Method::POST, &uri, token, content.clone())
                .await
                .expect(201, None);
        }
        let (config, layer) = (sha256(config.as_bytes()), sha256(layer.as_bytes()));
        let manifest = super::image_manifest(&config, &[&layer], None, None);
        let uri = format!("/v2/{name}/manifests/{tag}");
        let bearer = format!("Bearer {token}");
        let headers = [
            ("authorization", bearer.as_str()),
            ("content-type", OCI_MANIFEST),
        ];
        self.app
            .send(Method::PUT, &uri, &headers, manifest)
            .await
            .expect(201, None);
        layer
    }
}

/// A registry with authentication on whose every request carries an admin's token for the
/// conformance suite's repositories, so the suite runs unchanged with authentication.
pub async fn conformance_app() -> App {
    let t = AuthApp::standard().await;
    let scope = "repository:conformance/suite:* repository:conformance-crossmount:* \
                 registry:catalog:*";
    let token = t.token(Some("root"), &[scope]).await;
    let mut app = t.app;
    app.bearer = Some(token);
    app
}

fn test_passwords() -> Passwords {
    Passwords::with_cost(8, 1, 1).unwrap()
}

fn test_config() -> AuthConfig {
    AuthConfig {
        passwords: test_passwords(),
        ..AuthConfig::default()
    }
}

fn base64(text: &str) -> String {
    use base64ct::Encoding as _;
    base64ct::Base64::encode_string(text.as_bytes())
}

pub fn challenge(reply: &Reply) -> &str {
    reply.header("www-authenticate").expect("a challenge")
}

#[tokio::test]
async fn the_base_endpoint_challenges_and_an_anonymous_token_opens_it() {
    let t = AuthApp::standard().await;
    let reply = t.get_anonymous("/v2/").await;
    reply.expect(401, Some("UNAUTHORIZED"));
    assert_eq!(
        challenge(&reply),
        format!("Bearer realm=\"http://{HOST}/token\",service=\"hallmark\"")
    );
    let token = t.token(None, &[]).await;
    t.call(Method::GET, "/v2/", &token).await.expect(200, None);
    // Search and the ping answer without any token, as Hub's do.
    t.app.get("/v1/_ping").await.expect(200, None);
    t.app.get("/v1/search?q=x").await.expect(200, None);
}

#[tokio::test]
async fn anonymous_pulls_of_public_repositories_follow_the_challenge() {
    let t = AuthApp::standard().await;
    let publisher = t
        .token(Some("pat"), &["repository:library/base:pull,push"])
        .await;
    t.push_image(&publisher, "library/base", "latest").await;
    // docker pull HOST/base: the challenge names library/base, and a token asked for the short
    // name is granted on the canonical one.
    let reply = t.get_anonymous("/v2/base/manifests/latest").await;
    reply.expect(401, None);
    assert!(
        challenge(&reply).ends_with(",scope=\"repository:library/base:pull\""),
        "{reply:?}"
    );
    let reply = t.token_reply(None, &["repository:base:pull,push"]).await;
    let access = &reply.json()["access"];
    assert!(
        access.is_null(),
        "the answer carries only the token: {reply:?}"
    );
    let token = reply.json()["token"].as_str().unwrap().to_owned();
    t.call(Method::GET, "/v2/base/manifests/latest", &token)
        .await
        .expect(200, None);
    // The anonymous token granted pull only.
    let reply = t
        .call(Method::POST, "/v2/base/blobs/uploads/", &token)
        .await;
    reply.expect(401, Some("UNAUTHORIZED"));
    assert!(challenge(&reply).contains("error=\"insufficient_scope\""));
}

#[tokio::test]
async fn tampered_expired_and_foreign_tokens_are_refused() {
    let t = AuthApp::standard().await;
    let token = t.token(Some("root"), &["registry:catalog:*"]).await;
    t.call(Method::GET, "/v2/_catalog", &token)
        .await
        .expect(200, None);
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let reply = t.call(Method::GET, "/v2/_catalog", &tampered).await;
    reply.expect(401, None);
    assert!(challenge(&reply).contains("error=\"invalid_token\""));
    // Another registry's key signs a token this one does not trust.
    let other = AuthApp::standard().await;
    let foreign = other.token(Some("root"), &["registry:catalog:*"]).await;
    t.call(Method::GET, "/v2/_catalog", &foreign)
        .await
        .expect(401, None);
    // The catalogue is for admins: a user's token for it grants nothing.
    let user = t.token(Some("uma"), &["registry:catalog:*"]).await;
    t.call(Method::GET, "/v2/_catalog", &user)
        .await
        .expect(401, None);
    t.clock.advance(Duration::from_secs(10 * 60));
    t.call(Method::GET, "/v2/_catalog", &token)
        .await
        .expect(401, None);
}

#[tokio::test]
async fn tokens_come_from_get_and_post_and_refresh_tokens_log_in_again() {
    let t = AuthApp::standard().await;
    // docker login: Basic credentials with offline_token=true get a refresh token.
    let reply = t
        .basic_get(
            "mia",
            PASSWORD,
            "/token?service=hallmark&offline_token=true&client_id=docker",
        )
        .await;
    reply.expect(200, None);
    let body = reply.json();
    assert_eq!(body["token"], body["access_token"]);
    assert_eq!(body["expires_in"], 300);
    assert!(body["issued_at"].as_str().unwrap().ends_with('Z'));
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();

    let form = |pairs: &[(&str, &str)]| serde_urlencoded::to_string(pairs).unwrap();

    let scope = "repository:acme/app:pull,push repository:library/base:pull,push";
    let reply = t
        .post_form(form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("service", "hallmark"),
            ("scope", scope),
            ("client_id", "docker"),
        ]))
        .await;
    reply.expect(200, None);
    let token = reply.json()["token"].as_str().unwrap().to_owned();
    t.push_image(&token, "acme/app", "v1").await;
    let reply = t
        .call(Method::POST, "/v2/library/base/blobs/uploads/", &token)
        .await;
    reply.expect(401, None);

    // The OAuth2 password grant, with access_type=offline, also returns a refresh token.
    let reply = t
        .post_form(form(&[
            ("grant_type", "password"),
            ("username", "mia"),
            ("password", PASSWORD),
            ("service", "hallmark"),
            ("access_type", "offline"),
            ("client_id", "podman"),
        ]))
        .await;
    reply.expect(200, None);
    assert!(reply.json()["refresh_token"].is_string());
    for refused in [
        form(&[
            ("grant_type", "password"),
            ("username", "mia"),
            ("password", "wrong"),
        ]),
        form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &"A".repeat(43)),
        ]),
    ] {
        t.post_form(refused).await.expect(401, Some("UNAUTHORIZED"));
    }
    // A refresh token outlives its account by nothing.
    t.app.meta.delete_account("mia", "test").await.unwrap();
    let reply = t
        .post_form(form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
        ]))
        .await;
    reply.expect(401, None);
    // Tokens are only for this service.
    let reply = t.app.get("/token?service=elsewhere").await;
    reply.expect(400, None);
    assert_eq!(reply.json()["error"], "invalid_request");
    // So are malformed requests.
    for uri in [
        "/token?scope=repository:Upper:pull",
        "/token?scope=nonsense",
    ] {
        t.app.get(uri).await.expect(400, None);
    }
    let reply = t
        .post_form(form(&[("grant_type", "client_credentials")]))
        .await;
    reply.expect(400, None);
    let description = reply.json()["error_description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(description.contains("client_credentials"), "{description}");
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account_and_per_address() {
    let mut config = test_config();
    config.per_account = ThrottleRate {
        burst: 3,
        forgive_every: Duration::from_secs(60),
    };
    config.per_address = ThrottleRate {
        burst: 5,
        forgive_every: Duration::from_secs(60),
    };
    let t = AuthApp::new(config).await;

    for _ in 0..3 {
        t.login("uma", "guess").await.expect(401, None);
    }
    // The account's budget is spent: even the right password waits.
    let reply = t.login("uma", PASSWORD).await;
    reply.expect(429, Some("TOOMANYREQUESTS"));
    assert_eq!(reply.header("retry-after"), Some("60"));
    // Other accounts from the same address spend the address's budget.
    t.login("pat", "guess").await.expect(401, None);
    t.login("mia", "guess").await.expect(401, None);
    t.login("root", PASSWORD).await.expect(429, None);
    t.clock.advance(Duration::from_secs(5 * 60));
    t.login("uma", PASSWORD).await.expect(200, None);
}

#[tokio::test]
async fn pushes_and_deletes_are_audited_with_the_account() {
    let t = AuthApp::standard().await;
    let token = t
        .token(Some("root"), &["repository:acme/app:pull,push,delete"])
        .await;
    let layer = t.push_image(&token, "acme/app", "v1").await;
    for path in ["manifests/v1".to_owned(), format!("blobs/{layer}")] {
        let uri = format!("/v2/acme/app/{path}");
        t.call(Method::DELETE, &uri, &token).await.expect(202, None);
    }
    let log = t
        .app
        .meta
        .audit_log(&AuditFilter {
            repository: Some("acme/app".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let seen: Vec<String> = log
        .iter()
        .map(|e| {
            format!(
                "{} {} {} {}",
                e.entry.actor,
                e.entry.action,
                e.entry.reference.clone().unwrap(),
                e.entry.detail
            )
        })
        .collect();
    let blob = format!("root delete {layer} blob");
    assert_eq!(seen, [blob.as_str(), "root delete v1 ", "root push v1 "]);
}

#[tokio::test]
async fn a_password_hashed_with_old_parameters_is_rehashed_at_login() {
    let t = AuthApp::standard().await;
    let old = Passwords::with_cost(16, 1, 1)
        .unwrap()
        .hash(PASSWORD)
        .unwrap();
    let meta = &t.app.meta;
    assert!(meta.set_password_hash("uma", &old, None).await.unwrap());
    t.login("uma", PASSWORD).await.expect(200, None);
    let stored = meta.account("uma").await.unwrap().unwrap().password_hash;
    assert_ne!(stored, old);
    assert!(!test_passwords().needs_rehash(&stored));
    t.login("uma", PASSWORD).await.expect(200, None);
}

#[tokio::test]
async fn private_repositories_stay_out_of_search_and_hub_pages() {
    let t = AuthApp::standard().await;
    let token = t
        .token(Some("mia"), &["repository:acme/secret:pull,push"])
        .await;
    t.push_image(&token, "acme/secret", "v1").await;
    let found = t.app.get("/v1/search?q=secret").await;
    assert_eq!(found.json()["num_results"], 0);
    let reply = t.get_anonymous("/v2/repositories/acme/secret/").await;
    reply.expect(401, None);
    t.call(Method::GET, "/v2/repositories/acme/secret/", &token)
        .await
        .expect(200, None);
}
