//! What a client sends the token endpoint, read from already-decoded parameters: `GET` with a
//! query (`service`, repeated `scope`, `offline_token`, `client_id`) and Basic credentials, or
//! `POST` with a form (`grant_type=password` or `refresh_token`, one space-joined `scope`,
//! `access_type=offline`), as distribution's token and OAuth2 specifications describe them.

use base64ct::{Base64, Encoding};

use crate::scope::{parse_scopes, Scope, ScopeError};
use crate::token::{MalformedRefreshToken, RefreshToken};

/// How the client proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// No credentials: the request is for anonymous access.
    Anonymous,
    /// A user name and password (Basic authentication, or `grant_type=password`).
    Password {
        /// The account name as the client sent it.
        username: String,
        /// The password as the client sent it.
        password: String,
    },
    /// A refresh token from an earlier `docker login` (`grant_type=refresh_token`).
    RefreshToken(RefreshToken),
}

/// One token request, ready for authentication and [`crate::policy::grant`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The service (the token's audience) the client asks for, if it named one.
    pub service: Option<String>,
    /// The requested scopes, merged per resource.
    pub scopes: Vec<Scope>,
    /// Who the client says it is.
    pub credentials: Credentials,
    /// Whether the client asked for a refresh token as well.
    pub offline: bool,
    /// The client's self-chosen name (`docker`, `containerd`, …), for the audit log.
    pub client_id: Option<String>,
}

/// A token request that cannot be served; the endpoint answers `400`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRequestError {
    /// A `scope` parameter does not follow the grammar.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// `grant_type` is neither `password` nor `refresh_token`.
    #[error("grant_type {0:?} is not supported; use password or refresh_token")]
    UnsupportedGrantType(String),
    /// A parameter the grant type needs is missing.
    #[error("the {0} parameter is missing")]
    Missing(&'static str),
    /// The refresh token cannot be one this server issued.
    #[error(transparent)]
    RefreshToken(#[from] MalformedRefreshToken),
}

impl TokenRequest {
    /// A `GET /token` request from its query pairs and the credentials of its `Authorization:
    /// Basic` header, if any ([`basic_credentials`]).
    pub fn from_query(
        query: &[(String, String)],
        basic: Option<(String, String)>,
    ) -> Result<Self, TokenRequestError> {
        let credentials = basic.map_or(Credentials::Anonymous, |(username, password)| {
            Credentials::Password { username, password }
        });
        let offline = first(query, "offline_token") == Some("true");
        Self::with_common_parameters(query, credentials, offline)
    }

    /// A `POST /token` request from its form pairs.
    pub fn from_form(form: &[(String, String)]) -> Result<Self, TokenRequestError> {
        let required =
            |name: &'static str| first(form, name).ok_or(TokenRequestError::Missing(name));
        let credentials = match required("grant_type")? {
            "password" => Credentials::Password {
                username: required("username")?.to_owned(),
                password: required("password")?.to_owned(),
            },
            "refresh_token" => {
                Credentials::RefreshToken(RefreshToken::from_presented(required("refresh_token")?)?)
            }
            other => return Err(TokenRequestError::UnsupportedGrantType(other.to_owned())),
        };
        let offline = first(form, "access_type") == Some("offline");
        Self::with_common_parameters(form, credentials, offline)
    }

    /// The request with the parameters `GET` and `POST` share: `service`, `scope`, `client_id`.
    fn with_common_parameters(
        pairs: &[(String, String)],
        credentials: Credentials,
        offline: bool,
    ) -> Result<Self, TokenRequestError> {
        Ok(Self {
            service: first(pairs, "service").map(str::to_owned),
            scopes: parse_scopes(all(pairs, "scope"))?,
            credentials,
            offline,
            client_id: first(pairs, "client_id").map(str::to_owned),
        })
    }
}

/// The user name and password of an `Authorization: Basic …` header value, or `None` for another
/// scheme or a value that is not base64 of `name:password`.
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(Base64::decode_vec(encoded.trim()).ok()?).ok()?;
    // The password may hold colons; the user name may not (RFC 7617).
    let (username, password) = decoded.split_once(':')?;
    Some((username.to_owned(), password.to_owned()))
}

fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    all(pairs, name).first().copied()
}

fn all<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::format_scopes;

    fn pairs(text: &[(&str, &str)]) -> Vec<(String, String)> {
        text.iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn a_docker_pull_query_with_basic_credentials() {
        let query = pairs(&[
            ("account", "alice"),
            ("client_id", "docker"),
            ("offline_token", "true"),
            ("service", "registry.test"),
            ("scope", "repository:library/python:pull"),
            ("scope", "repository:acme/app:pull,push"),
        ]);
        let basic = basic_credentials("Basic YWxpY2U6czNjcjN0OndpdGg6Y29sb25z");
        let request = TokenRequest::from_query(&query, basic).unwrap();
        assert_eq!(request.service.as_deref(), Some("registry.test"));
        assert_eq!(
            format_scopes(&request.scopes),
            "repository:library/python:pull repository:acme/app:pull,push"
        );
        assert_eq!(
            request.credentials,
            Credentials::Password {
                username: "alice".into(),
                password: "s3cr3t:with:colons".into()
            }
        );
        assert!(request.offline);
        assert_eq!(request.client_id.as_deref(), Some("docker"));

        let anonymous = TokenRequest::from_query(&pairs(&[("service", "s")]), None).unwrap();
        assert_eq!(anonymous.credentials, Credentials::Anonymous);
        assert!(anonymous.scopes.is_empty() && !anonymous.offline);
    }

    #[test]
    fn oauth2_forms_for_login_and_refresh() {
        let login = TokenRequest::from_form(&pairs(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "pw"),
            ("service", "registry.test"),
            ("client_id", "docker"),
            ("access_type", "offline"),
        ]))
        .unwrap();
        assert!(login.offline && login.scopes.is_empty());
        assert!(matches!(login.credentials, Credentials::Password { .. }));

        let token = RefreshToken::generate().unwrap();
        let refresh = TokenRequest::from_form(&pairs(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", token.as_str()),
            ("service", "registry.test"),
            ("scope", "repository:acme/app:pull repository:acme/app:push"),
        ]))
        .unwrap();
        assert_eq!(refresh.credentials, Credentials::RefreshToken(token));
        assert_eq!(
            format_scopes(&refresh.scopes),
            "repository:acme/app:pull,push"
        );
    }

    #[test]
    fn unservable_forms_say_why() {
        for (form, expected) in [
            (vec![], TokenRequestError::Missing("grant_type")),
            (
                vec![("grant_type", "password"), ("username", "a")],
                TokenRequestError::Missing("password"),
            ),
            (
                vec![("grant_type", "authorization_code")],
                TokenRequestError::UnsupportedGrantType("authorization_code".into()),
            ),
            (
                vec![("grant_type", "refresh_token"), ("refresh_token", "forged")],
                TokenRequestError::RefreshToken(MalformedRefreshToken),
            ),
        ] {
            assert_eq!(TokenRequest::from_form(&pairs(&form)), Err(expected));
        }
        let bad_scope = pairs(&[("scope", "repository:Bad Name:pull")]);
        assert!(matches!(
            TokenRequest::from_query(&bad_scope, None),
            Err(TokenRequestError::Scope(_))
        ));
    }

    #[test]
    fn only_well_formed_basic_headers_give_credentials() {
        assert_eq!(
            basic_credentials("basic YTpi"),
            Some(("a".into(), "b".into()))
        );
        for header in ["Bearer YTpi", "Basic", "Basic !!!", "Basic YWI=", "YTpi"] {
            assert_eq!(basic_credentials(header), None, "{header}");
        }
    }
}
