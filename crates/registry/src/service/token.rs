//! `/token`: distribution's token endpoint. `GET` with a query and Basic credentials, or `POST`
//! with an OAuth2 form (`grant_type=password` or `refresh_token`); the answer is an ES256 token
//! whose `access` claim holds what the policy allows of what was asked, and, for `docker login`
//! (`offline_token=true` or `access_type=offline` with a password), a refresh token.

use std::net::IpAddr;
use std::time::Duration;

use access::policy::{grant, Visibility};
use access::principal::Principal;
use access::request::{basic_credentials, Credentials, TokenRequest};
use access::scope::{ResourceType, Scope};
use access::token::RefreshToken;
use axum::body::Body;
use axum::http::{header, HeaderMap, Method};
use axum::response::Response;
use oci::ErrorCode;
use serde_json::json;
use store::{BlobStore, MetaStore, RefreshTokenRecord};

use super::{bad_request, json_response};
use crate::auth::{principal, Auth};
use crate::body::read_limited;
use crate::catalogue::rfc3339;
use crate::error::{RegistryError, Result};
use crate::name::RepositoryName;
use crate::Registry;

/// Far above any real token request form.
const MAX_FORM_BYTES: usize = 64 << 10;

impl<B: BlobStore, M: MetaStore> Registry<B, M> {
    /// `GET` or `POST /token`.
    pub(crate) async fn token(
        &self,
        method: &Method,
        query: Option<&str>,
        headers: &HeaderMap,
        body: Body,
        peer: IpAddr,
    ) -> Result<Response> {
        let Some(auth) = &self.auth else {
            return Err(RegistryError::new(
                ErrorCode::Unsupported,
                "this registry runs without authentication (--auth none): no token is needed",
            ));
        };
        let request = if method == Method::POST {
            let form = read_limited(body, MAX_FORM_BYTES, &self.metrics.received).await?;
            TokenRequest::from_form(&pairs(&form))
        } else {
            let basic = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(basic_credentials);
            TokenRequest::from_query(&pairs(query.unwrap_or_default().as_bytes()), basic)
        };
        let request = match request {
            Ok(request) => request,
            Err(error) => return bad_request(&error.to_string()),
        };
        if let Some(service) = request
            .service
            .as_ref()
            .filter(|s| **s != auth.config.service)
        {
            let ours = &auth.config.service;
            return bad_request(&format!(
                "tokens here are for service {ours:?}, not {service:?}"
            ));
        }
        let principal = self.authenticate(auth, &request.credentials, peer).await?;
        let scopes = canonical_scopes(&request.scopes);
        let names: Vec<&str> = scopes
            .iter()
            .filter(|s| *s.resource_type() == ResourceType::Repository)
            .map(Scope::name)
            .collect();
        let private = self.meta.private_repositories(&names).await?;
        let facts = |name: &str| {
            if private.iter().any(|p| p == name) {
                Visibility::Private
            } else {
                Visibility::Public
            }
        };
        let granted = grant(&principal, &facts, &scopes);
        let issued = auth
            .issuer
            .issue(principal.subject(), &auth.config.service, &granted)
            .map_err(|e| RegistryError::new(ErrorCode::Unknown, e.to_string()))?;
        let claims = &issued.claims;
        let mut body = json!({
            "token": issued.token,
            "access_token": issued.token,
            "expires_in": claims.exp - claims.iat,
            "issued_at": rfc3339(claims.iat.saturating_mul(1000)),
        });
        let logged_in = matches!(request.credentials, Credentials::Password { .. });
        if request.offline && logged_in {
            let refresh = self.new_refresh_token(auth, principal.subject()).await?;
            body["refresh_token"] = json!(refresh.as_str());
        }
        json_response("application/json", &body, &[])
    }

    /// The principal the credentials prove, or `401` (`429` while the account or the address
    /// is throttled).
    async fn authenticate(
        &self,
        auth: &Auth,
        credentials: &Credentials,
        peer: IpAddr,
    ) -> Result<Principal> {
        let refused = |why: &str| RegistryError::new(ErrorCode::Unauthorized, why.to_owned());
        match credentials {
            Credentials::Anonymous => Ok(Principal::anonymous()),
            Credentials::Password { username, password } => {
                auth.throttle.check(username, peer).map_err(|throttled| {
                    let seconds = throttled.retry_after.as_secs().max(1).to_string();
                    RegistryError::new(ErrorCode::TooManyRequests, throttled.to_string())
                        .with_header(header::RETRY_AFTER, seconds)
                })?;
                let account = self.meta.account(username).await?;
                let stored = account.as_ref().map(|a| a.password_hash.as_str());
                if !auth.config.passwords.verify_login(stored, password) {
                    auth.throttle.record_failure(username, peer);
                    tracing::info!(account = %username, %peer, "failed login");
                    return Err(refused("the user name or password is wrong"));
                }
                auth.throttle.record_success(username);
                self.rehash_if_outdated(auth, stored, username, password)
                    .await;
                Ok(account
                    .as_ref()
                    .map(principal)
                    .unwrap_or_else(Principal::anonymous))
            }
            Credentials::RefreshToken(token) => {
                let stored = self.meta.refresh_token(token.hash().as_str()).await?;
                let now_ms = auth.clock.unix_seconds().saturating_mul(1000);
                let live = stored.filter(|record| {
                    record.expires_ms > now_ms && record.service == auth.config.service
                });
                let Some(record) = live else {
                    return Err(refused(
                        "the refresh token is unknown or expired; log in again",
                    ));
                };
                match self.meta.account(&record.subject).await? {
                    Some(account) => Ok(principal(&account)),
                    None => Err(refused("the account is gone; log in again")),
                }
            }
        }
    }

    /// Replaces a password hash made with other parameters than the configured ones, now that
    /// the password is known to be right; a failure only leaves the old hash in place.
    async fn rehash_if_outdated(
        &self,
        auth: &Auth,
        stored: Option<&str>,
        username: &str,
        password: &str,
    ) {
        let passwords = &auth.config.passwords;
        if !stored.is_some_and(|stored| passwords.needs_rehash(stored)) {
            return;
        }
        let rehashed = match passwords.hash(password) {
            Ok(hash) => self
                .meta
                .set_password_hash(username, &hash, None)
                .await
                .map(drop),
            Err(error) => return tracing::warn!(%error, "rehashing a password failed"),
        };
        if let Err(error) = rehashed {
            tracing::warn!(%error, "storing a rehashed password failed");
        }
    }

    async fn new_refresh_token(&self, auth: &Auth, subject: &str) -> Result<RefreshToken> {
        let token = RefreshToken::generate()
            .map_err(|e| RegistryError::new(ErrorCode::Unknown, e.to_string()))?;
        let lifetime = auth
            .config
            .refresh_lifetime
            .min(Duration::from_secs(u32::MAX.into()));
        let record = RefreshTokenRecord {
            token_hash: token.hash().as_str().to_owned(),
            subject: subject.to_owned(),
            service: auth.config.service.clone(),
            expires_ms: auth
                .clock
                .unix_seconds()
                .saturating_add(lifetime.as_secs() as i64)
                .saturating_mul(1000),
        };
        self.meta.put_refresh_token(&record).await?;
        Ok(token)
    }
}

/// Decoded `application/x-www-form-urlencoded` pairs; malformed input is taken as no pairs,
/// which the request reader then refuses for what is missing.
fn pairs(encoded: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(encoded).unwrap_or_default()
}

/// The scopes with single-segment repository names read as `library/<name>`, as every route
/// reads them, so `docker pull HOST/python` asks for and gets `library/python`.
fn canonical_scopes(scopes: &[Scope]) -> Vec<Scope> {
    scopes
        .iter()
        .map(|scope| {
            let canonical = (*scope.resource_type() == ResourceType::Repository)
                .then(|| RepositoryName::parse(scope.name()).ok())
                .flatten()
                .filter(|name| name.as_str() != scope.name())
                .and_then(|name| {
                    Scope::repository(name.as_str(), scope.actions().iter().cloned()).ok()
                });
            canonical.unwrap_or_else(|| scope.clone())
        })
        .collect()
}
