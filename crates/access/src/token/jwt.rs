//! Access tokens: compact JWS (ES256) JSON Web Tokens in the shape distribution's token
//! specification gives, issued by [`TokenIssuer`] and checked by [`TokenVerifier`].

use std::sync::Arc;
use std::time::Duration;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::{Deserialize, Serialize};

use super::keys::{PublicKey, TokenKey};
use crate::clock::Clock;
use crate::random::{random_bytes, RandomError};
use crate::scope::{Action, ResourceType, Scope};

/// The only algorithm issued or accepted. Accepting only this one closes the `alg: none` and
/// algorithm-confusion attacks before any other part of a token is looked at.
const ALGORITHM: &str = "ES256";

/// Far above any real token (a few hundred bytes per scope), and low enough that a hostile
/// header costs little to refuse.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Distribution's token specification: "a token should never be returned with less than 60
/// seconds to live", for older clients.
const MIN_LIFETIME: Duration = Duration::from_secs(60);

/// How far the clocks of issuer and verifier may disagree, as distribution allows.
const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// One entry of the `access` claim: the actions granted on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// The resource type, e.g. `repository`.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// The resource name, e.g. `library/python`.
    pub name: String,
    /// The granted actions, e.g. `["pull", "push"]`.
    pub actions: Vec<String>,
}

impl From<&Scope> for Access {
    fn from(scope: &Scope) -> Self {
        // The class (`repository(plugin)`) is left out: distribution ignores it and asks token
        // servers not to return it.
        Self {
            resource_type: scope.resource_type().as_str().to_owned(),
            name: scope.name().to_owned(),
            actions: scope
                .actions()
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
        }
    }
}

/// The claim set of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: who signed the token.
    pub iss: String,
    /// Subject: the account the token acts for; empty for anonymous clients.
    pub sub: String,
    /// Audience: the registry service the token is for.
    pub aud: String,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: i64,
    /// Not before, in seconds since the Unix epoch.
    pub nbf: i64,
    /// Issued at, in seconds since the Unix epoch.
    pub iat: i64,
    /// A unique id, for audit logs and replay detection.
    pub jti: String,
    /// The granted resources and actions.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub access: Vec<Access>,
}

/// Go token servers write an empty `access` as `null`; it grants nothing, like `[]`.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Access>, D::Error> {
    Ok(Option::<Vec<Access>>::deserialize(deserializer)?.unwrap_or_default())
}

impl Claims {
    /// Whether the token grants `action` on the resource, directly or through `*`.
    pub fn permits(&self, resource_type: &ResourceType, name: &str, action: &Action) -> bool {
        self.access.iter().any(|entry| {
            entry.resource_type == resource_type.as_str()
                && entry.name == name
                && entry
                    .actions
                    .iter()
                    .any(|granted| granted == action.as_str() || granted == "*")
        })
    }

    /// Whether the token grants `action` on the repository `name`.
    pub fn permits_repository(&self, name: &str, action: &Action) -> bool {
        self.permits(&ResourceType::Repository, name, action)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    /// Only read, to refuse tokens that require extensions this verifier does not know.
    #[serde(default, skip_serializing)]
    crit: Option<serde_json::Value>,
}

/// A freshly signed token and the claims inside it, for the token endpoint's answer
/// (`expires_in` and `issued_at` come from the claims).
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The compact JWS to hand to the client.
    pub token: String,
    /// What the token says.
    pub claims: Claims,
}

/// Signs access tokens for one issuer name.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    key: TokenKey,
    issuer: String,
    lifetime: Duration,
    clock: Arc<dyn Clock>,
}

impl TokenIssuer {
    /// An issuer named `issuer` whose tokens last `lifetime`, but never less than a minute.
    pub fn new(key: TokenKey, issuer: &str, lifetime: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            key,
            issuer: issuer.to_owned(),
            lifetime: lifetime.max(MIN_LIFETIME),
            clock,
        }
    }

    /// The public key verifiers need.
    pub fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    /// A token for `subject` ("" for anonymous) at `audience`, granting exactly `granted`.
    /// Scopes without actions are left out: they grant nothing.
    pub fn issue(
        &self,
        subject: &str,
        audience: &str,
        granted: &[Scope],
    ) -> Result<IssuedToken, RandomError> {
        let now = self.clock.unix_seconds();
        let lifetime = i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: subject.to_owned(),
            aud: audience.to_owned(),
            exp: now.saturating_add(lifetime),
            nbf: now,
            iat: now,
            jti: Base64UrlUnpadded::encode_string(&random_bytes::<16>()?),
            access: granted
                .iter()
                .filter(|scope| !scope.actions().is_empty())
                .map(Access::from)
                .collect(),
        };
        let header = Header {
            typ: Some("JWT".to_owned()),
            alg: ALGORITHM.to_owned(),
            kid: Some(self.key.public_key().key_id().to_owned()),
            crit: None,
        };
        let signing_input = format!("{}.{}", encode_json(&header), encode_json(&claims));
        let signature = Base64UrlUnpadded::encode_string(&self.key.sign(signing_input.as_bytes()));
        Ok(IssuedToken {
            token: format!("{signing_input}.{signature}"),
            claims,
        })
    }
}

fn encode_json(value: &impl Serialize) -> String {
    // Serialising these plain structs of strings and integers cannot fail.
    let json = serde_json::to_vec(value).unwrap_or_default();
    Base64UrlUnpadded::encode_string(&json)
}

/// Why a token was refused. A registry answers every one of them with `401` and
/// `error="invalid_token"`; the variants are for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts of JSON, or too long.
    #[error("the token is malformed ({0}); request a new one from the token endpoint")]
    Malformed(&'static str),
    /// `alg` is not ES256 (`none` included).
    #[error("the token is signed with {0:?}; only ES256 tokens are accepted")]
    UnsupportedAlgorithm(String),
    /// The header has a `crit` member, naming extensions this verifier does not implement.
    #[error("the token requires header extensions (crit) this registry does not implement")]
    CriticalExtension,
    /// The header has no `kid`.
    #[error("the token header names no signing key (kid)")]
    MissingKeyId,
    /// `kid` names no trusted key.
    #[error("the token was signed by key {0:?}, which this registry does not trust")]
    UnknownKey(String),
    /// The signature does not match the header and claims.
    #[error("the token's signature does not match its contents")]
    BadSignature,
    /// `iss` is not the trusted issuer.
    #[error("the token was issued by {found:?}, not by {expected:?}")]
    WrongIssuer {
        /// The trusted issuer.
        expected: String,
        /// The token's `iss`.
        found: String,
    },
    /// `aud` is not this service.
    #[error("the token is for {found:?}, not for {expected:?}")]
    WrongAudience {
        /// This service's name.
        expected: String,
        /// The token's `aud`.
        found: String,
    },
    /// The token expired (leeway included).
    #[error("the token expired at {exp} (now {now}); request a new one")]
    Expired {
        /// The token's `exp`.
        exp: i64,
        /// The verifier's time.
        now: i64,
    },
    /// The token is not valid yet (leeway included).
    #[error(
        "the token is not valid before {nbf} (now {now}); check the clocks of issuer and registry"
    )]
    NotYetValid {
        /// The token's `nbf`.
        nbf: i64,
        /// The verifier's time.
        now: i64,
    },
}

/// Checks tokens for one service against one issuer's trusted keys. Only `kid` finds the key:
/// keys embedded in a token (`jwk`, `x5c`) are never trusted, and `aud` must be a single string,
/// as this crate's issuer writes it.
#[derive(Debug, Clone)]
pub struct TokenVerifier {
    issuer: String,
    audience: String,
    keys: Vec<PublicKey>,
    leeway: Duration,
    clock: Arc<dyn Clock>,
}

impl TokenVerifier {
    /// A verifier that trusts tokens from `issuer`, signed by any of `keys` (several during a key
    /// rotation), made out to `audience`. Clock skew of up to a minute is tolerated.
    pub fn new(issuer: &str, audience: &str, keys: Vec<PublicKey>, clock: Arc<dyn Clock>) -> Self {
        Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            keys,
            leeway: DEFAULT_LEEWAY,
            clock,
        }
    }

    /// The same verifier tolerating `leeway` of clock skew instead.
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The token's claims, if it is well formed, signed by a trusted key, from the trusted
    /// issuer, for this audience and valid now.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let (signing_input, header, claims_part, signature) = split_token(token)?;
        let key = self.signing_key(&header)?;
        if !key.verifies(signing_input.as_bytes(), &signature) {
            return Err(TokenError::BadSignature);
        }
        // Claims are only parsed once the signature vouches for them.
        let claims: Claims = decode_json(
            claims_part,
            "claims are not base64url JSON of the expected shape",
        )?;
        self.check_claims(&claims)?;
        Ok(claims)
    }

    fn signing_key(&self, header: &Header) -> Result<&PublicKey, TokenError> {
        if header.alg != ALGORITHM {
            return Err(TokenError::UnsupportedAlgorithm(header.alg.clone()));
        }
        if header.crit.is_some() {
            return Err(TokenError::CriticalExtension);
        }
        let kid = header.kid.as_deref().ok_or(TokenError::MissingKeyId)?;
        self.keys
            .iter()
            .find(|key| key.is_named(kid))
            .ok_or_else(|| TokenError::UnknownKey(kid.to_owned()))
    }

    fn check_claims(&self, claims: &Claims) -> Result<(), TokenError> {
        if claims.iss != self.issuer {
            return Err(TokenError::WrongIssuer {
                expected: self.issuer.clone(),
                found: claims.iss.clone(),
            });
        }
        if claims.aud != self.audience {
            return Err(TokenError::WrongAudience {
                expected: self.audience.clone(),
                found: claims.aud.clone(),
            });
        }
        let now = self.clock.unix_seconds();
        let leeway = i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX);
        // RFC 7519: a token must not be accepted on or after `exp`, nor before `nbf`.
        if now >= claims.exp.saturating_add(leeway) {
            return Err(TokenError::Expired {
                exp: claims.exp,
                now,
            });
        }
        if now < claims.nbf.saturating_sub(leeway) {
            return Err(TokenError::NotYetValid {
                nbf: claims.nbf,
                now,
            });
        }
        Ok(())
    }
}

/// The signing input, the decoded header, the (still encoded) claims and the signature bytes.
fn split_token(token: &str) -> Result<(&str, Header, &str, Vec<u8>), TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed(
            "longer than any token this registry issues",
        ));
    }
    let (signing_input, signature) = token
        .rsplit_once('.')
        .ok_or(TokenError::Malformed("not three dot-separated parts"))?;
    let (header, claims) = signing_input
        .split_once('.')
        .filter(|(_, claims)| !claims.contains('.'))
        .ok_or(TokenError::Malformed("not three dot-separated parts"))?;
    let signature = Base64UrlUnpadded::decode_vec(signature)
        .map_err(|_| TokenError::Malformed("signature is not base64url"))?;
    Ok((
        signing_input,
        decode_json(header, "header is not base64url JSON")?,
        claims,
        signature,
    ))
}

/// `part` decoded from base64url and parsed as JSON, or [`TokenError::Malformed`] saying `what`
/// is wrong with it.
fn decode_json<T: serde::de::DeserializeOwned>(
    part: &str,
    what: &'static str,
) -> Result<T, TokenError> {
    let bytes = Base64UrlUnpadded::decode_vec(part).map_err(|_| TokenError::Malformed(what))?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_live_at_least_a_minute() {
        let clock = Arc::new(crate::clock::ManualClock::at_unix_seconds(1_000));
        let key = TokenKey::from_secret_bytes(&[7; 32]).unwrap();
        let issuer = TokenIssuer::new(key, "i", Duration::from_secs(5), clock);
        let claims = issuer.issue("", "a", &[]).unwrap().claims;
        assert_eq!(claims.exp - claims.iat, 60);
    }

    #[test]
    fn access_may_be_null_or_missing_but_not_another_shape() {
        let base = r#""iss":"i","sub":"","aud":"a","exp":2,"nbf":1,"iat":1,"jti":"j""#;
        for access in ["", r#","access":null"#, r#","access":[]"#] {
            let claims: Claims = serde_json::from_str(&format!("{{{base}{access}}}")).unwrap();
            assert!(claims.access.is_empty());
        }
        assert!(serde_json::from_str::<Claims>(&format!(r#"{{{base},"access":{{}}}}"#)).is_err());
    }
}
