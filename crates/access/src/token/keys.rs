//! The P-256 key pair that signs access tokens, and the two ids a public key goes by.
//!
//! The `kid` in every token header is the public key's libtrust key id
//! (`PYYO:TEWU:V7JH:…`): distribution 2.x looks a token's signing key up by exactly that id among
//! the keys of its `rootcertbundle`, and distribution 3 still accepts it. The verifier here also
//! accepts the RFC 7638 JWK thumbprint as a `kid`, the id JWKS-based verifiers use.

use std::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::random::{random_bytes, RandomError};

/// The DER prefix of a P-256 SubjectPublicKeyInfo (id-ecPublicKey, prime256v1, a 66-byte bit
/// string); the uncompressed point follows it. libtrust hashes this whole structure.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Bytes that cannot be a key of the kind asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A secret key must be a 32-byte scalar in the curve's range and not zero.
    #[error("a token signing key must be 32 bytes holding a valid P-256 secret scalar; generate a new one")]
    InvalidSecret,
    /// A public key must be a SEC1-encoded point on P-256.
    #[error(
        "a token verification key must be a SEC1-encoded P-256 point (65 bytes starting with 0x04)"
    )]
    InvalidPublic,
}

/// The key pair an issuer signs tokens with (ES256: ECDSA over P-256 with SHA-256).
#[derive(Clone)]
pub struct TokenKey {
    signing: SigningKey,
    public: PublicKey,
}

impl TokenKey {
    /// A fresh key pair from the operating system's random generator.
    pub fn generate() -> Result<Self, RandomError> {
        // Almost every 32-byte string is a valid scalar; the loop ends after one try with
        // overwhelming probability.
        loop {
            if let Ok(key) = Self::from_secret_bytes(&random_bytes::<32>()?) {
                return Ok(key);
            }
        }
    }

    /// The key pair whose secret scalar is `secret` (big-endian, 32 bytes), as stored by
    /// [`TokenKey::secret_bytes`].
    pub fn from_secret_bytes(secret: &[u8]) -> Result<Self, KeyError> {
        // Exactly 32 bytes: the curve crate would also take shorter, zero-padded scalars, which
        // no stored key of ours ever is.
        let secret: &[u8; 32] = secret.try_into().map_err(|_| KeyError::InvalidSecret)?;
        let signing =
            SigningKey::from_bytes(&(*secret).into()).map_err(|_| KeyError::InvalidSecret)?;
        let public = PublicKey::new(*signing.verifying_key());
        Ok(Self { signing, public })
    }

    /// The secret scalar, to store where the server keeps its secrets.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.signing.to_bytes().into()
    }

    /// The public half, which verifiers trust.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The ES256 signature of `message` in JWS form: r and s, 32 bytes each. Deterministic
    /// (RFC 6979), so signing needs no randomness.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        let signature: Signature = self.signing.sign(message);
        signature.to_bytes().into()
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret: keys end up in logs through the structs that hold them.
        f.debug_struct("TokenKey")
            .field("kid", &self.public.key_id())
            .finish_non_exhaustive()
    }
}

/// A public key that verifies tokens, with its ids computed once.
#[derive(Clone)]
pub struct PublicKey {
    verifying: VerifyingKey,
    key_id: String,
    thumbprint: String,
}

impl PublicKey {
    fn new(verifying: VerifyingKey) -> Self {
        let point = uncompressed_point(&verifying);
        Self {
            key_id: libtrust_key_id(&point),
            thumbprint: jwk_thumbprint(&point),
            verifying,
        }
    }

    /// The public key whose SEC1 encoding is `bytes`, as [`PublicKey::to_sec1_bytes`] gives it.
    pub fn from_sec1_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let verifying =
            VerifyingKey::from_sec1_bytes(bytes).map_err(|_| KeyError::InvalidPublic)?;
        Ok(Self::new(verifying))
    }

    /// The uncompressed SEC1 encoding: `0x04`, then x and y.
    pub fn to_sec1_bytes(&self) -> [u8; 65] {
        uncompressed_point(&self.verifying)
    }

    /// The libtrust key id that tokens carry as `kid`: the SHA-256 of the DER
    /// SubjectPublicKeyInfo, cut to 240 bits, base32 in twelve colon-separated groups of four.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url), also accepted as a `kid`.
    pub fn jwk_thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The key as a JWK, `kid` included, for a JWKS document (distribution 3's `jwks` option).
    pub fn to_jwk(&self) -> String {
        let (x, y) = coordinates(&self.to_sec1_bytes());
        serde_json::json!({"kty": "EC", "crv": "P-256", "kid": self.key_id, "x": x, "y": y})
            .to_string()
    }

    /// Whether `signature` (JWS form, r then s) is this key's signature of `message`.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::from_slice(signature)
            .is_ok_and(|signature| self.verifying.verify(message, &signature).is_ok())
    }

    /// Whether `kid` names this key, by either of its ids.
    pub(crate) fn is_named(&self, kid: &str) -> bool {
        kid == self.key_id || kid == self.thumbprint
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kid", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.verifying == other.verifying
    }
}

impl Eq for PublicKey {}

fn uncompressed_point(key: &VerifyingKey) -> [u8; 65] {
    let point = key.to_sec1_point(false);
    let mut bytes = [0u8; 65];
    bytes.copy_from_slice(point.as_bytes());
    bytes
}

/// The base64url x and y coordinates of an uncompressed point.
fn coordinates(point: &[u8; 65]) -> (String, String) {
    (
        Base64UrlUnpadded::encode_string(&point[1..33]),
        Base64UrlUnpadded::encode_string(&point[33..]),
    )
}

fn libtrust_key_id(point: &[u8; 65]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(P256_SPKI_PREFIX);
    hasher.update(point);
    let digest = hasher.finalize();
    let encoded = base32(&digest[..30]);
    let groups: Vec<&str> = encoded
        .as_bytes()
        .chunks(4)
        .map(|group| std::str::from_utf8(group).unwrap_or_default())
        .collect();
    groups.join(":")
}

fn jwk_thumbprint(point: &[u8; 65]) -> String {
    let (x, y) = coordinates(point);
    // RFC 7638: the required members only, in lexicographic order, without whitespace.
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    Base64UrlUnpadded::encode_string(&Sha256::digest(canonical.as_bytes()))
}

/// RFC 4648 base32 without padding; libtrust only encodes 30 bytes, a multiple of 5, so no
/// padding ever arises.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example key of distribution's token specification (`docs/spec/auth/jwt.md`), whose
    /// `kid` the specification gives.
    const SPEC_X: &str = "m7zUpx3b-zmVE5cymSs64POG9QcyEpJaYCD82-549_Q";
    const SPEC_Y: &str = "dU3biz8sZ_8GPB-odm8Wxz3lNDr1xcAQQPQaOcr1fmc";
    const SPEC_D: &str = "R7OnbfMaD5J2jl7GeE8ESo7CnHSBm_1N2k9IXYFrKJA";
    const SPEC_KID: &str = "PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6";
    const THUMBPRINT_OF_SPEC_KEY: &str = "8qjioA3ZA7ti2JIE7c-U8smBFuZolQZvhSHDPU3hhB8";

    fn spec_point() -> Vec<u8> {
        let mut point = vec![4u8];
        point.extend(Base64UrlUnpadded::decode_vec(SPEC_X).unwrap());
        point.extend(Base64UrlUnpadded::decode_vec(SPEC_Y).unwrap());
        point
    }

    #[test]
    fn key_id_matches_the_distribution_specification() {
        let public = PublicKey::from_sec1_bytes(&spec_point()).unwrap();
        assert_eq!(public.key_id(), SPEC_KID);
        let secret = Base64UrlUnpadded::decode_vec(SPEC_D).unwrap();
        let pair = TokenKey::from_secret_bytes(&secret).unwrap();
        assert_eq!(pair.public_key(), &public);
    }

    #[test]
    fn jwk_thumbprint_matches_an_independent_computation() {
        // Computed with Python: base64url(sha256('{"crv":"P-256","kty":"EC","x":"…","y":"…"}')).
        let public = PublicKey::from_sec1_bytes(&spec_point()).unwrap();
        assert_eq!(public.jwk_thumbprint(), THUMBPRINT_OF_SPEC_KEY);
        assert!(public.is_named(SPEC_KID) && public.is_named(THUMBPRINT_OF_SPEC_KEY));
        assert!(!public.is_named("PYYO"));
    }

    #[test]
    fn base32_follows_rfc_4648() {
        for (input, expected) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(input.as_bytes()), expected, "{input:?}");
        }
    }

    #[test]
    fn secrets_round_trip_and_bad_bytes_are_refused() {
        let key = TokenKey::generate().unwrap();
        let again = TokenKey::from_secret_bytes(&key.secret_bytes()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let public = PublicKey::from_sec1_bytes(&key.public_key().to_sec1_bytes()).unwrap();
        assert_eq!(&public, key.public_key());
        assert_eq!(
            TokenKey::from_secret_bytes(&[0; 32]).unwrap_err(),
            KeyError::InvalidSecret
        );
        assert_eq!(
            TokenKey::from_secret_bytes(&[1; 31]).unwrap_err(),
            KeyError::InvalidSecret
        );
        assert_eq!(
            PublicKey::from_sec1_bytes(&[4; 65]).unwrap_err(),
            KeyError::InvalidPublic
        );
        assert!(!format!("{key:?}").contains(&format!("{:?}", key.secret_bytes())));
    }

    #[test]
    fn signatures_verify_only_for_their_message() {
        let key = TokenKey::generate().unwrap();
        let signature = key.sign(b"message");
        assert!(key.public_key().verifies(b"message", &signature));
        assert!(!key.public_key().verifies(b"massage", &signature));
        assert!(!key.public_key().verifies(b"message", &signature[..63]));
        let other = TokenKey::generate().unwrap();
        assert!(!other.public_key().verifies(b"message", &signature));
    }
}
