//! Hallmark's access core: everything the registry needs to decide who may pull and push, without
//! any HTTP.
//!
//! - [`scope`]: the resource scopes of Docker registry token auth
//!   (`repository:library/python:pull,push`), parsed from one or many `scope` parameters.
//! - [`token`]: ES256-signed JWT access tokens in distribution's format, their keys and ids, and
//!   opaque refresh tokens.
//! - [`password`]: Argon2id password hashes; [`throttle`]: failed-login limits per account and
//!   per address.
//! - [`policy`] and [`principal`]: the authorisation rules for `library/`, the architecture
//!   namespaces, organisations and private repositories, as pure functions. (A namespace's trust
//!   tier is `oci::TrustTier`, since answers that need no authorisation show it too.)
//! - [`request`]: a token request (a `GET` query or an OAuth2 `POST` form, Basic credentials),
//!   read from decoded parameters.
//! - [`challenge`]: the `WWW-Authenticate: Bearer …` value that sends clients for a token.
//! - [`clock`]: the time, behind a trait so expiry and throttling tests never sleep.
//!
//! The registry's token endpoint reads the request with [`request::TokenRequest`], authenticates
//! the client ([`password::Passwords`], [`throttle::LoginThrottle`], [`token::RefreshToken`]),
//! builds its [`principal::Principal`] from the store, narrows the
//! request with [`policy::grant`] and signs the result with [`token::TokenIssuer`]; every other
//! endpoint checks the bearer token with [`token::TokenVerifier`] and [`token::Claims::permits`],
//! and answers a missing or short token with [`challenge::bearer_challenge`].

#![deny(missing_docs)]

pub mod challenge;
pub mod clock;
pub mod password;
pub mod policy;
pub mod principal;
mod random;
pub mod request;
pub mod scope;
pub mod throttle;
pub mod token;

pub use random::RandomError;
