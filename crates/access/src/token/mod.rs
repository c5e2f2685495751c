//! Tokens: signed access tokens (JWT, ES256) with their keys, and opaque refresh tokens.

mod jwt;
mod keys;
mod refresh;

pub use jwt::{Access, Claims, IssuedToken, TokenError, TokenIssuer, TokenVerifier};
pub use keys::{KeyError, PublicKey, TokenKey};
pub use refresh::{MalformedRefreshToken, RefreshToken, RefreshTokenHash};
