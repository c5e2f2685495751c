//! cosign's encrypted private key files (`cosign generate-key-pair`): a PEM block
//! `ENCRYPTED SIGSTORE PRIVATE KEY` (or the older `ENCRYPTED COSIGN PRIVATE KEY`) whose body
//! is JSON from go-securesystemslib's `encrypted` package: scrypt derives a 32-byte key from
//! the password, NaCl secretbox (XSalsa20-Poly1305) seals PKCS#8 DER with it.

use base64ct::{Base64, Encoding};
use poly1305::universal_hash::KeyInit;
use poly1305::Poly1305;
use salsa20::cipher::{KeyIvInit, StreamCipher};
use salsa20::XSalsa20;
use serde::Deserialize;

use crate::encoding::base64_field;
use crate::keys::{KeyError, PrivateKey};

const PEM_LABELS: [&str; 2] = [
    "ENCRYPTED SIGSTORE PRIVATE KEY",
    "ENCRYPTED COSIGN PRIVATE KEY",
];

#[derive(Deserialize)]
struct Sealed {
    kdf: Kdf,
    cipher: Cipher,
    #[serde(with = "base64_field")]
    ciphertext: Vec<u8>,
}

#[derive(Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    #[serde(with = "base64_field")]
    salt: Vec<u8>,
}

#[derive(Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Deserialize)]
struct Cipher {
    name: String,
    #[serde(with = "base64_field")]
    nonce: Vec<u8>,
}

impl PrivateKey {
    /// Reads a `cosign.key` with its password (cosign's `COSIGN_PASSWORD`, often empty).
    pub fn from_cosign_pem(pem: &str, password: &[u8]) -> Result<Self, KeyError> {
        let json = pem_body(pem)?;
        let sealed: Sealed = serde_json::from_slice(&json).map_err(|error| {
            KeyError::Cosign(format!("the key's JSON is not cosign's: {error}"))
        })?;
        if sealed.kdf.name != "scrypt" || sealed.cipher.name != "nacl/secretbox" {
            return Err(KeyError::Cosign(format!(
                "unsupported kdf {:?} or cipher {:?}; cosign writes scrypt and nacl/secretbox",
                sealed.kdf.name, sealed.cipher.name
            )));
        }
        let params = scrypt_params(&sealed.kdf.params)?;
        let mut key = [0u8; 32];
        scrypt::scrypt(password, &sealed.kdf.salt, &params, &mut key)
            .map_err(|error| KeyError::Cosign(error.to_string()))?;
        let nonce: [u8; 24] = sealed
            .cipher
            .nonce
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Cosign("the secretbox nonce is not 24 bytes".into()))?;
        let der =
            secretbox_open(&key, &nonce, &sealed.ciphertext).ok_or(KeyError::WrongPassword)?;
        PrivateKey::from_pkcs8_der(&der)
    }
}

/// The scrypt parameters go-securesystemslib writes (N = 2^15, 2^16 or 2^17, r = 8, p = 1).
/// Anything else is refused: the file is untrusted input, and a huge N would make reading it a
/// denial of service.
fn scrypt_params(params: &ScryptParams) -> Result<scrypt::Params, KeyError> {
    let log_n = match params.n {
        32_768 => 15,
        65_536 => 16,
        131_072 => 17,
        _ => 0,
    };
    if log_n == 0 || params.r != 8 || params.p != 1 {
        return Err(KeyError::Cosign(format!(
            "unexpected scrypt parameters N={} r={} p={}",
            params.n, params.r, params.p
        )));
    }
    scrypt::Params::new(log_n, params.r, params.p)
        .map_err(|error| KeyError::Cosign(error.to_string()))
}

/// The bytes of the key file's single PEM block, if its label is one of cosign's.
fn pem_body(pem: &str) -> Result<Vec<u8>, KeyError> {
    let pem = pem.trim();
    let label = PEM_LABELS
        .into_iter()
        .find(|label| pem.starts_with(&format!("-----BEGIN {label}-----")))
        .ok_or_else(|| {
            KeyError::Cosign("expected -----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----".into())
        })?;
    let body = pem
        .strip_prefix(&format!("-----BEGIN {label}-----"))
        .and_then(|rest| rest.strip_suffix(&format!("-----END {label}-----")))
        .ok_or_else(|| {
            KeyError::Cosign(format!(
                "the PEM block does not end with -----END {label}-----"
            ))
        })?;
    let base64: String = body.split_whitespace().collect();
    Base64::decode_vec(&base64).map_err(|_| KeyError::Cosign("the PEM body is not base64".into()))
}

/// NaCl `crypto_secretbox_open`: the first 32 bytes of the XSalsa20 key stream key Poly1305,
/// the rest encrypt; the box is the 16-byte tag, then the ciphertext.
fn secretbox_open(key: &[u8; 32], nonce: &[u8; 24], sealed: &[u8]) -> Option<Vec<u8>> {
    let (tag, ciphertext) = sealed.split_at_checked(16)?;
    let mut stream = XSalsa20::new(key.into(), nonce.into());
    let mut mac_key = [0u8; 32];
    stream.apply_keystream(&mut mac_key);
    let expected = Poly1305::new(&mac_key.into()).compute_unpadded(ciphertext);
    // Constant-time comparison, so that a forger learns nothing from how long a check takes.
    if !subtle_eq(expected.as_slice(), tag) {
        return None;
    }
    let mut plaintext = ciphertext.to_vec();
    stream.apply_keystream(&mut plaintext);
    Some(plaintext)
}

fn subtle_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made by tests/data/make_cosign_key.py with Python's hashlib.scrypt and PyNaCl (libsodium),
    // so the decryption is checked against an independent secretbox.
    const COSIGN_KEY: &str = include_str!("../tests/data/cosign.key");
    const COSIGN_PUB: &str = include_str!("../tests/data/cosign.pub");

    #[test]
    fn cosign_keys_open_with_their_password_only() {
        let key = PrivateKey::from_cosign_pem(COSIGN_KEY, b"hallmark-test").unwrap();
        let public = crate::PublicKey::from_pem(COSIGN_PUB).unwrap();
        assert_eq!(key.public_key(), &public);
        assert!(matches!(
            PrivateKey::from_cosign_pem(COSIGN_KEY, b"wrong"),
            Err(KeyError::WrongPassword)
        ));
        let renamed = COSIGN_KEY.replace("SIGSTORE", "COSIGN");
        assert!(PrivateKey::from_cosign_pem(&renamed, b"hallmark-test").is_ok());
    }

    #[test]
    fn hostile_parameters_are_refused_before_any_work() {
        for (n, r, p) in [
            (1u64 << 30, 8, 1),
            (32_768, 64, 1),
            (32_768, 8, 16),
            (0, 8, 1),
        ] {
            let params = ScryptParams { n, r, p };
            assert!(scrypt_params(&params).is_err(), "N={n} r={r} p={p}");
        }
        for text in ["", "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----"] {
            assert!(PrivateKey::from_cosign_pem(text, b"").is_err());
        }
    }
}
