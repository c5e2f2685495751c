//! Refresh tokens: the long-lived secret `docker login` stores (as its identity token) and trades
//! at the token endpoint (`grant_type=refresh_token`) for access tokens.
//!
//! They are opaque random strings, not JWTs: only the token endpoint reads them, and keeping
//! them opaque lets an admin revoke one by deleting its stored hash.

use std::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use oci::{Digest, DigestAlgorithm};

use crate::random::{random_bytes, RandomError};

/// 256 bits: far beyond guessing, which is also why a fast hash is enough to store them.
const SECRET_LEN: usize = 32;

/// The length of the base64url text of [`SECRET_LEN`] bytes.
const TEXT_LEN: usize = 43;

/// A refresh token as the client holds it. Shown to the client once; the server keeps only its
/// [`RefreshTokenHash`], beside the subject and the service it was issued for: distribution's
/// specification binds a refresh token to one subject and one audience, so a token presented for
/// another service is refused.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

/// A string that cannot be a refresh token this server issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the refresh token is not one this registry issued; log in again")]
pub struct MalformedRefreshToken;

impl RefreshToken {
    /// A new random refresh token.
    pub fn generate() -> Result<Self, RandomError> {
        Ok(Self(Base64UrlUnpadded::encode_string(&random_bytes::<
            SECRET_LEN,
        >()?)))
    }

    /// The token a client presented, if it has the shape of ours; anything else is refused before
    /// a store lookup.
    pub fn from_presented(text: &str) -> Result<Self, MalformedRefreshToken> {
        let shaped = text.len() == TEXT_LEN && Base64UrlUnpadded::decode_vec(text).is_ok();
        if shaped {
            Ok(Self(text.to_owned()))
        } else {
            Err(MalformedRefreshToken)
        }
    }

    /// The secret text, to hand to the client.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the server stores and looks the token up by.
    pub fn hash(&self) -> RefreshTokenHash {
        // SHA-256 rather than a password hash: the input is uniformly random and long, so there
        // is nothing for a slow hash to protect, and a deterministic hash can be indexed.
        RefreshTokenHash(Digest::of(DigestAlgorithm::Sha256, self.0.as_bytes()))
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret: it would let anyone who reads a log act as the account.
        f.write_str("RefreshToken(…)")
    }
}

/// The stored form of a refresh token: `sha256:` and 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RefreshTokenHash(Digest);

impl RefreshTokenHash {
    /// The text to store.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let token = RefreshToken::generate().unwrap();
        let other = RefreshToken::generate().unwrap();
        assert_ne!(token, other);
        assert_eq!(token.as_str().len(), TEXT_LEN);
        let presented = RefreshToken::from_presented(token.as_str()).unwrap();
        assert_eq!(presented.hash(), token.hash());
        assert_ne!(other.hash(), token.hash());
        assert!(token.hash().as_str().starts_with("sha256:"));
    }

    #[test]
    fn foreign_strings_are_refused_and_secrets_stay_out_of_debug() {
        for text in ["", "short", &"a".repeat(44), &"!".repeat(43)] {
            assert_eq!(
                RefreshToken::from_presented(text),
                Err(MalformedRefreshToken)
            );
        }
        let token = RefreshToken::generate().unwrap();
        assert!(!format!("{token:?}").contains(token.as_str()));
    }
}
