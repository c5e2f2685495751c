//! Answering a registry's challenge: which secret goes to which registry, and the bearer
//! token or Basic header it earns.

use std::time::Duration;

use ureq::http;

use crate::auth::{Secret, TokenAnswer};
use crate::error::ErrorBody;
use crate::header::Challenge;
use crate::reference::is_loopback;
use crate::retry::classify;
use crate::transport::{encode, message_of, read_limited, Call, MAX_ERROR_BODY};
use crate::{Client, ClientError, Repository};

/// Token answers are small; anything longer is not one.
const MAX_TOKEN_ANSWER: u64 = 1 << 20;

impl Client {
    /// The secret the docker config gives for `registry` (`host[:port]`, or `docker.io`): its
    /// `auths` entry, or what the credential helper it names answers; never
    /// [`crate::ClientOptions::creds`]. For handing on to a program that pulls from that
    /// registry itself (the Docker Engine pulling a build's parent).
    pub fn docker_config_secret(&self, registry: &str) -> Result<Option<Secret>, ClientError> {
        self.docker_config.secret_for(registry)
    }

    /// The `Authorization` value that answers the registry's challenges, kept in the cache;
    /// `None` when no challenge is one this client can answer.
    pub(crate) fn answer(
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
    /// (or none, for an anonymous token), retried like any `GET`, or an OAuth2 `POST` trading
    /// a stored refresh token (an identity token), sent once.
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
        let invalid_realm = |e: http::Error| ClientError::InvalidResponse {
            host: host.to_owned(),
            request: "a request".to_owned(),
            detail: format!("its realm {realm:?} is not a usable URL: {e}"),
        };
        let send = |request: http::Request<String>| self.dispatch(request);
        let response = match token_request(realm, challenge, scopes, secret) {
            TokenRequest::Post(form) => send(
                http::Request::post(realm)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form)
                    .map_err(invalid_realm)?,
            )?,
            TokenRequest::Get(url) => self.retrying(|| {
                let mut request = http::Request::get(&url);
                if let Some(Secret::Password(credentials)) = secret {
                    request = request.header("authorization", credentials.basic_header());
                }
                let result = send(request.body(String::new()).map_err(invalid_realm)?);
                classify(result, |response| self.status_error(repository, response))
            })?,
        };
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
    pub(crate) fn secret(&self, registry: &str) -> Result<Option<Secret>, ClientError> {
        let only = self.options.creds_registry.as_deref();
        match &self.options.creds {
            Some(credentials) if only.is_none_or(|only| only == registry) => {
                Ok(Some(Secret::Password(credentials.clone())))
            }
            _ => self.docker_config.secret_for(registry),
        }
    }

    /// The secret for `registry`; or none, with the reason, when its credential helper does
    /// not give it, so that public pulls still work anonymously and a refusal names the
    /// helper's failure.
    pub(crate) fn usable_secret(
        &self,
        registry: &str,
    ) -> Result<(Option<Secret>, Option<ClientError>), ClientError> {
        match self.secret(registry) {
            Ok(secret) => Ok((secret, None)),
            Err(helper @ ClientError::CredentialHelper { .. }) => Ok((None, Some(helper))),
            Err(other) => Err(other),
        }
    }
}

/// How a token is asked for.
enum TokenRequest {
    /// The realm with `service` and `scope` in its query.
    Get(String),
    /// An OAuth2 `refresh_token` grant, as a form.
    Post(String),
}

fn token_request(
    realm: &str,
    challenge: &Challenge,
    scopes: &[String],
    secret: Option<&Secret>,
) -> TokenRequest {
    let mut query = Vec::new();
    if let Some(service) = challenge.param("service") {
        query.push(("service", service.to_owned()));
    }
    match secret {
        Some(Secret::IdentityToken { token, .. }) => {
            query.extend([
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", token.clone()),
                ("client_id", "hallmark".to_owned()),
                ("scope", scopes.join(" ")),
            ]);
            TokenRequest::Post(encode_pairs(&query))
        }
        _ => {
            query.extend(scopes.iter().map(|s| ("scope", s.clone())));
            let separator = if realm.contains('?') { '&' } else { '?' };
            TokenRequest::Get(format!("{realm}{separator}{}", encode_pairs(&query)))
        }
    }
}

fn encode_pairs(pairs: &[(&str, String)]) -> String {
    let pairs: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", encode(value)))
        .collect();
    pairs.join("&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientOptions, Credentials};

    #[test]
    fn creds_for_one_registry_go_to_no_other() {
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
        assert!(everywhere
            .docker_config_secret("mcr.microsoft.com")
            .unwrap()
            .is_none());
    }

    #[test]
    fn token_requests_are_queries_or_refresh_grants() {
        let challenge = &Challenge::parse_all(
            r#"Bearer realm="http://h/token",service="hallmark",scope="repository:a:pull""#,
        )[0];
        let scopes = ["repository:a b:pull".to_owned()];
        let TokenRequest::Get(url) = token_request("http://h/token", challenge, &scopes, None)
        else {
            panic!("anonymous token requests are GETs");
        };
        assert_eq!(
            url,
            "http://h/token?service=hallmark&scope=repository%3Aa%20b%3Apull"
        );
        let refresh = Secret::IdentityToken {
            username: "<token>".into(),
            token: "rt".into(),
        };
        let TokenRequest::Post(form) =
            token_request("http://h/token", challenge, &scopes, Some(&refresh))
        else {
            panic!("refresh grants are POSTs");
        };
        assert!(
            form.contains("grant_type=refresh_token&refresh_token=rt"),
            "{form}"
        );
    }
}
