//! Token authentication in front of every route, as distribution does it: a request without a
//! bearer token, or with one that does not grant what the route needs, gets `401` and a
//! `WWW-Authenticate: Bearer realm=…,service=…,scope=…` challenge that sends the client to
//! `/token`; the token's `access` claim is all a route looks at.
//!
//! Deciding what a token holds is the `access` crate's policy, applied once when the token is
//! issued (see the token service); here a route only compares its need with the claims.

use std::sync::Arc;
use std::time::Duration;

use access::challenge::{bearer_challenge, ChallengeError};
use access::clock::Clock;
use access::password::Passwords;
use access::principal::{Principal, Role};
use access::scope::{Action, ResourceType, Scope};
use access::throttle::{LoginThrottle, ThrottleRate};
use access::token::{Claims, TokenIssuer, TokenKey, TokenVerifier};
use axum::http::{header, HeaderMap};
use oci::ErrorCode;
use store::{Account, AccountKind};

use crate::error::RegistryError;
use crate::name::RepositoryName;
use crate::route::Route;
use crate::service::absolute_url;

/// How the registry authenticates clients.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The service name: the audience of every token and the `service` of every challenge.
    pub service: String,
    /// The token endpoint's absolute URL for challenges; when `None`, `/token` on the host the
    /// client asked.
    pub realm: Option<String>,
    /// How long an access token lasts (at least a minute).
    pub token_lifetime: Duration,
    /// How long a refresh token (`docker login`'s stored identity) lasts.
    pub refresh_lifetime: Duration,
    /// The password hasher; tests lower its cost.
    pub passwords: Passwords,
    /// Failed logins allowed per account, and how fast they are forgiven.
    pub per_account: ThrottleRate,
    /// Failed logins allowed per client address, and how fast they are forgiven.
    pub per_address: ThrottleRate,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            service: "hallmark".to_owned(),
            realm: None,
            token_lifetime: Duration::from_secs(5 * 60),
            refresh_lifetime: Duration::from_secs(90 * 24 * 60 * 60),
            passwords: Passwords::default(),
            per_account: ThrottleRate {
                burst: 5,
                forgive_every: Duration::from_secs(30),
            },
            per_address: ThrottleRate {
                burst: 20,
                forgive_every: Duration::from_secs(5),
            },
        }
    }
}

/// The registry's authentication state: its configuration, the key that signs tokens and the
/// failed-login counts.
#[derive(Debug)]
pub struct Auth {
    pub(crate) config: AuthConfig,
    pub(crate) issuer: TokenIssuer,
    verifier: TokenVerifier,
    pub(crate) throttle: LoginThrottle,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Auth {
    /// Token authentication with tokens signed by `key` and times read from `clock`.
    pub fn new(key: TokenKey, config: AuthConfig, clock: Arc<dyn Clock>) -> Self {
        let public = key.public_key().clone();
        let issuer = TokenIssuer::new(key, &config.service, config.token_lifetime, clock.clone());
        let verifier = TokenVerifier::new(
            &config.service,
            &config.service,
            vec![public],
            clock.clone(),
        );
        let throttle = LoginThrottle::new(config.per_account, config.per_address, clock.clone());
        Self {
            config,
            issuer,
            verifier,
            throttle,
            clock,
        }
    }

    /// Who the request acts for, if its bearer token grants what `need` asks; otherwise the
    /// `401` challenge to answer with.
    pub(crate) fn authorize(
        &self,
        need: &Need,
        headers: &HeaderMap,
    ) -> Result<Caller, RegistryError> {
        let Some(token) = bearer_token(headers) else {
            return Err(self.challenge(need, headers, None));
        };
        let claims = self
            .verifier
            .verify(token)
            .map_err(|_| self.challenge(need, headers, Some(ChallengeError::InvalidToken)))?;
        if !need.is_met_by(&claims) {
            let error = ChallengeError::InsufficientScope;
            return Err(self.challenge(need, headers, Some(error)));
        }
        Ok(Caller::with_claims(claims))
    }

    /// Who a request that needs no token acts for: the caller its bearer token names when it
    /// has a good one; otherwise nobody, since the route answers anyone.
    fn identify(&self, headers: &HeaderMap) -> Caller {
        bearer_token(headers)
            .and_then(|token| self.verifier.verify(token).ok())
            .map_or_else(Caller::unauthenticated, Caller::with_claims)
    }

    fn challenge(
        &self,
        need: &Need,
        headers: &HeaderMap,
        error: Option<ChallengeError>,
    ) -> RegistryError {
        let realm = self
            .config
            .realm
            .clone()
            .unwrap_or_else(|| absolute_url(headers, "/token"));
        let scopes: Vec<Scope> = need.scope().into_iter().collect();
        let challenge = bearer_challenge(&realm, &self.config.service, &scopes, error);
        let detail = match error {
            None => "authentication required: get a token from the realm this challenge names",
            Some(ChallengeError::InvalidToken) => "the bearer token is invalid or expired",
            Some(ChallengeError::InsufficientScope) => {
                "the bearer token does not grant this; log in as an account that may"
            }
        };
        RegistryError::new(ErrorCode::Unauthorized, detail)
            .with_header(header::WWW_AUTHENTICATE, challenge)
    }
}

/// The token of an `Authorization: Bearer …` header.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

/// What a route needs from the caller's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Need {
    /// Nothing: anyone may ask (search, the ping, the token endpoint itself).
    Nothing,
    /// Any valid token, even one granting nothing (`GET /v2/`, which `docker login` probes).
    Token,
    /// These actions on the repository.
    Repository(String, Vec<Action>),
    /// Pull on the repository, but only when it is private: Hub's repository pages of public
    /// repositories answer anyone, as Hub's do.
    PullIfPrivate(String),
    /// A token with a subject (a signed-in account, not an anonymous token), for stars; the
    /// challenge asks for pull on the repository, which the route then checks itself so
    /// that a repository the caller may not pull stays unknown to it.
    SignedIn(String),
    /// The whole catalogue (`registry:catalog:*`).
    Catalog,
    /// A valid token whose subject is an admin account (the admin API); the store says who
    /// is an admin, so a demoted admin's tokens stop working at once.
    Admin,
}

impl Need {
    /// What `method` on `route` needs.
    pub(crate) fn of(method: &axum::http::Method, route: &Route) -> Self {
        use axum::http::Method;
        let repository = |name: &RepositoryName, actions: &[Action]| {
            Self::Repository(name.as_str().to_owned(), actions.to_vec())
        };
        let write = [Action::Pull, Action::Push];
        match route {
            Route::Base => Self::Token,
            Route::Admin(_) => Self::Admin,
            Route::Catalog => Self::Catalog,
            Route::Ping | Route::Search | Route::HubNamespace(_) | Route::Token => Self::Nothing,
            Route::HubRepository(n) | Route::HubTags(n) | Route::HubTag(n, _) => {
                Self::PullIfPrivate(n.as_str().to_owned())
            }
            Route::HubStars(n) => Self::SignedIn(n.as_str().to_owned()),
            Route::Manifest(n, _) | Route::Blob(n, _) if method == Method::DELETE => {
                repository(n, &[Action::Delete])
            }
            Route::Manifest(n, _) if method == Method::PUT => repository(n, &write),
            Route::Uploads(n) | Route::Upload(n, _) => repository(n, &write),
            Route::Manifest(n, _)
            | Route::Blob(n, _)
            | Route::Tags(n)
            | Route::Referrers(n, _)
            | Route::BuildLog(n, _) => repository(n, &[Action::Pull]),
        }
    }

    /// The scope a challenge for this need names.
    fn scope(&self) -> Option<Scope> {
        match self {
            Self::Repository(name, actions) => Scope::repository(name, actions.clone()).ok(),
            Self::PullIfPrivate(name) | Self::SignedIn(name) => {
                Scope::repository(name, [Action::Pull]).ok()
            }
            Self::Catalog => {
                Scope::new(ResourceType::Registry, None, "catalog", [Action::All]).ok()
            }
            Self::Nothing | Self::Token | Self::Admin => None,
        }
    }

    fn is_met_by(&self, claims: &Claims) -> bool {
        match self {
            Self::Nothing | Self::Token | Self::Admin => true,
            Self::Repository(name, actions) => actions
                .iter()
                .all(|action| claims.permits_repository(name, action)),
            Self::PullIfPrivate(name) => claims.permits_repository(name, &Action::Pull),
            Self::SignedIn(_) => !claims.sub.is_empty(),
            Self::Catalog => claims.permits(&ResourceType::Registry, "catalog", &Action::All),
        }
    }
}

/// Who a request acts for, and what its token allows.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    subject: String,
    /// `None` when the registry runs without authentication.
    claims: Option<Claims>,
}

impl Caller {
    /// A caller whose token nobody checked: on a registry without authentication, where it
    /// may do everything, or on a route that needs nothing.
    pub(crate) fn unauthenticated() -> Self {
        Self {
            subject: String::new(),
            claims: None,
        }
    }

    fn with_claims(claims: Claims) -> Self {
        Self {
            subject: claims.sub.clone(),
            claims: Some(claims),
        }
    }

    /// The account a checked token names; `None` for anonymous tokens and for callers
    /// whose token nobody checked.
    pub(crate) fn signed_in(&self) -> Option<&str> {
        (self.claims.is_some() && !self.subject.is_empty()).then_some(self.subject.as_str())
    }

    /// The name the audit log records.
    pub(crate) fn actor(&self) -> &str {
        if self.subject.is_empty() {
            "anonymous"
        } else {
            &self.subject
        }
    }

    /// Whether the caller may pull `repository`, e.g. as the source of a mount.
    pub(crate) fn may_pull(&self, repository: &str) -> bool {
        self.claims
            .as_ref()
            .is_none_or(|claims| claims.permits_repository(repository, &Action::Pull))
    }

    /// Whether the registry checks tokens at all.
    pub(crate) fn is_authenticated(&self) -> bool {
        self.claims.is_some()
    }
}

/// The principal the authorisation policy decides for, from a stored account.
pub(crate) fn principal(account: &Account) -> Principal {
    let grants = account
        .grants
        .iter()
        .filter_map(|grant| match grant.parse() {
            Ok(grant) => Some(grant),
            Err(error) => {
                tracing::warn!(account = %account.name, %error, "ignoring an unreadable grant");
                None
            }
        });
    let mut principal = match account.kind {
        AccountKind::User => Principal::user(&account.name),
        AccountKind::Robot => Principal::robot(&account.name, []),
    };
    for grant in grants {
        principal = principal.with_grant(grant);
    }
    for (held, role) in [
        (account.admin, Role::Admin),
        (account.publisher, Role::Publisher),
    ] {
        if held {
            principal = principal.with_role(role);
        }
    }
    for organisation in &account.organisations {
        principal = principal.member_of(organisation);
    }
    principal
}

impl<B: store::BlobStore, M: store::MetaStore> crate::Registry<B, M> {
    /// Who the request acts for: checks the bearer token when authentication is on. Hub's
    /// pages of a repository need a token only when it is private, which the store says;
    /// those of a public one still read a good token, to know who asks.
    pub(crate) async fn authorize(
        &self,
        method: &axum::http::Method,
        route: &Route,
        headers: &HeaderMap,
    ) -> Result<Caller, RegistryError> {
        let Some(auth) = &self.auth else {
            return Ok(Caller::unauthenticated());
        };
        let need = match Need::of(method, route) {
            Need::PullIfPrivate(name) => {
                if self.meta.private_repositories(&[&name]).await?.is_empty() {
                    // Anyone may read the page; a signed-in caller also sees its own star.
                    return Ok(auth.identify(headers));
                }
                Need::PullIfPrivate(name)
            }
            need => need,
        };
        if need == Need::Nothing {
            return Ok(Caller::unauthenticated());
        }
        let caller = auth.authorize(&need, headers)?;
        if need == Need::Admin {
            let account = self.meta.account(&caller.subject).await?;
            if !account.is_some_and(|account| account.admin) {
                return Err(RegistryError::new(
                    ErrorCode::Denied,
                    "the admin API is for admin accounts",
                ));
            }
        }
        Ok(caller)
    }
}
