//! The `WWW-Authenticate` challenge a registry answers `401` with, telling the client where to get
//! a token (`realm`), for which service and for which scopes.

use crate::scope::{format_scopes, Scope};

/// Why a request that carried a token is refused, the challenge's RFC 6750 `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeError {
    /// The token is malformed, expired, forged or for another service.
    InvalidToken,
    /// The token is valid but does not grant what the request needs.
    InsufficientScope,
}

impl ChallengeError {
    fn as_str(self) -> &'static str {
        match self {
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
        }
    }
}

/// The challenge's value, in distribution's form:
/// `Bearer realm="https://host/token",service="host",scope="repository:a/b:pull,push"`, with
/// `scope` left out when there are no scopes and `error` added when a token was refused.
pub fn bearer_challenge(
    realm: &str,
    service: &str,
    scopes: &[Scope],
    error: Option<ChallengeError>,
) -> String {
    let mut challenge = format!("Bearer realm={},service={}", quoted(realm), quoted(service));
    if !scopes.is_empty() {
        challenge += &format!(",scope={}", quoted(&format_scopes(scopes)));
    }
    if let Some(error) = error {
        challenge += &format!(",error={}", quoted(error.as_str()));
    }
    challenge
}

/// An RFC 9110 quoted-string: quotes and backslashes escaped, so a configured realm cannot break
/// out of its parameter.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::parse_scopes;

    #[test]
    fn challenges_take_distributions_form() {
        let scopes = parse_scopes(["repository:acme/app:pull,push repository:library/debian:pull"]);
        for (scopes, error, expected) in [
            (
                vec![],
                None,
                r#"Bearer realm="https://r.test/token",service="r.test""#,
            ),
            (
                scopes.unwrap(),
                Some(ChallengeError::InsufficientScope),
                r#"Bearer realm="https://r.test/token",service="r.test",scope="repository:acme/app:pull,push repository:library/debian:pull",error="insufficient_scope""#,
            ),
        ] {
            assert_eq!(
                bearer_challenge("https://r.test/token", "r.test", &scopes, error),
                expected
            );
        }
        assert_eq!(
            bearer_challenge("a\"b\\c", "s", &[], Some(ChallengeError::InvalidToken)),
            r#"Bearer realm="a\"b\\c",service="s",error="invalid_token""#
        );
    }
}
