//! ECDSA P-256 keys as files: SPKI PEM for public keys, PKCS#8 PEM for private keys (encrypted
//! with PBES2 when a password is given, which `openssl pkey` also reads), key ids, signing and
//! verifying raw bytes.

use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};

use crate::encoding::hex;

/// Why a key could not be made, read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The operating system's random generator failed.
    #[error("the operating system's random number generator failed ({0}); check that getrandom(2) or /dev/urandom works")]
    Random(String),
    /// The text is not a PEM public key of the kind we use.
    #[error("not an ECDSA P-256 public key in PEM (-----BEGIN PUBLIC KEY-----): {0}")]
    PublicKey(String),
    /// The text is not a PEM private key of the kind we use.
    #[error("not an ECDSA P-256 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY----- or ENCRYPTED PRIVATE KEY): {0}")]
    PrivateKey(String),
    /// The private key is encrypted and no password was given.
    #[error("the private key is encrypted: give its password")]
    PasswordNeeded,
    /// The password does not open the private key, or the encrypted key is damaged.
    #[error("the password does not decrypt this private key (or the key file is damaged)")]
    WrongPassword,
    /// The key file is cosign's and could not be read; see the message.
    #[error("cosign key: {0}")]
    Cosign(String),
}

/// A public key that verifies signatures, with its key id.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    key_id: String,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey")
            .field("key_id", &self.key_id)
            .finish()
    }
}

impl PublicKey {
    fn new(key: VerifyingKey) -> Self {
        let der = key
            .to_public_key_der()
            .expect("a valid P-256 point always encodes as SubjectPublicKeyInfo");
        let key_id = hex(&sha2_256(der.as_bytes()));
        Self { key, key_id }
    }

    /// Reads a `-----BEGIN PUBLIC KEY-----` block (SubjectPublicKeyInfo), as `cosign.pub` and
    /// `openssl ec -pubout` write it.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        VerifyingKey::from_public_key_pem(pem.trim())
            .map(Self::new)
            .map_err(|error| KeyError::PublicKey(error.to_string()))
    }

    /// The SubjectPublicKeyInfo as PEM.
    pub fn to_pem(&self) -> String {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .expect("a valid P-256 point always encodes as PEM")
    }

    /// The key id: lowercase hex SHA-256 of the DER SubjectPublicKeyInfo, which any tool can
    /// compute from the public key alone (`openssl pkey -pubin -outform der | sha256sum`).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Whether `signature` (ASN.1 DER) is this key's ECDSA P-256 SHA-256 signature of
    /// `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::from_der(signature)
            .is_ok_and(|signature| self.key.verify(message, &signature).is_ok())
    }
}

/// A private key that signs.
#[derive(Clone)]
pub struct PrivateKey {
    key: SigningKey,
    public: PublicKey,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches logs; the key id says which key it is.
        f.debug_struct("PrivateKey")
            .field("key_id", &self.public.key_id)
            .finish()
    }
}

impl PrivateKey {
    pub(crate) fn from_signing_key(key: SigningKey) -> Self {
        let public = PublicKey::new(*key.verifying_key());
        Self { key, public }
    }

    /// A fresh key from the operating system's random generator.
    pub fn generate() -> Result<Self, KeyError> {
        // Almost every 32-byte string is a valid scalar; the loop ends after one try with
        // overwhelming probability.
        loop {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret).map_err(|error| KeyError::Random(error.to_string()))?;
            if let Ok(key) = SigningKey::from_bytes(&secret.into()) {
                return Ok(Self::from_signing_key(key));
            }
        }
    }

    /// Reads a PKCS#8 PEM private key: `PRIVATE KEY`, or `ENCRYPTED PRIVATE KEY` with
    /// `password`. cosign's own encrypted format is read by [`PrivateKey::from_cosign_pem`].
    pub fn from_pem(pem: &str, password: Option<&[u8]>) -> Result<Self, KeyError> {
        let pem = pem.trim();
        let key = if pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            let password = password.ok_or(KeyError::PasswordNeeded)?;
            SigningKey::from_pkcs8_encrypted_pem(pem, password).map_err(|error| match error {
                p256::pkcs8::Error::EncryptedPrivateKey(_) => KeyError::WrongPassword,
                other => KeyError::PrivateKey(other.to_string()),
            })?
        } else {
            SigningKey::from_pkcs8_pem(pem)
                .map_err(|error| KeyError::PrivateKey(error.to_string()))?
        };
        Ok(Self::from_signing_key(key))
    }

    /// Reads the PKCS#8 DER that cosign encrypts inside its key files.
    pub(crate) fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        SigningKey::from_pkcs8_der(der)
            .map(Self::from_signing_key)
            .map_err(|error| KeyError::PrivateKey(error.to_string()))
    }

    /// The key as PKCS#8 PEM: `ENCRYPTED PRIVATE KEY` (PBES2 with scrypt and AES-256-CBC) when a
    /// password is given, else `PRIVATE KEY`.
    pub fn to_pem(&self, password: Option<&[u8]>) -> Result<String, KeyError> {
        let document = self
            .key
            .to_pkcs8_der()
            .map_err(|error| KeyError::PrivateKey(error.to_string()))?;
        let Some(password) = password else {
            return document
                .to_pem("PRIVATE KEY", LineEnding::LF)
                .map(|pem| pem.to_string())
                .map_err(|error| KeyError::PrivateKey(error.to_string()));
        };
        let info = pkcs8::PrivateKeyInfoRef::try_from(document.as_bytes())
            .map_err(|error| KeyError::PrivateKey(error.to_string()))?;
        let encrypted = info
            .encrypt_with_rng(&mut getrandom::SysRng, password)
            .map_err(|error| KeyError::Random(error.to_string()))?;
        encrypted
            .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|error| KeyError::PrivateKey(error.to_string()))
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The ECDSA P-256 SHA-256 signature of `message`, ASN.1 DER encoded. Deterministic
    /// (RFC 6979), so signing the same bytes twice gives the same signature.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: Signature = self.key.sign(message);
        signature.to_der().as_bytes().to_vec()
    }
}

pub(crate) fn sha2_256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_files_round_trip_with_and_without_a_password() {
        let key = PrivateKey::generate().unwrap();
        let plain = key.to_pem(None).unwrap();
        assert!(plain.starts_with("-----BEGIN PRIVATE KEY-----"), "{plain}");
        let read = PrivateKey::from_pem(&plain, None).unwrap();
        assert_eq!(read.public_key(), key.public_key());

        let encrypted = key.to_pem(Some(b"hunter2")).unwrap();
        assert!(
            encrypted.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{encrypted}"
        );
        let read = PrivateKey::from_pem(&encrypted, Some(b"hunter2")).unwrap();
        assert_eq!(read.public_key(), key.public_key());
        assert!(matches!(
            PrivateKey::from_pem(&encrypted, None),
            Err(KeyError::PasswordNeeded)
        ));
        assert!(matches!(
            PrivateKey::from_pem(&encrypted, Some(b"wrong")),
            Err(KeyError::WrongPassword)
        ));

        let public = PublicKey::from_pem(&key.public_key().to_pem()).unwrap();
        assert_eq!(&public, key.public_key());
        assert!(PublicKey::from_pem(&plain).is_err());
    }

    #[test]
    fn signatures_verify_only_for_their_message_and_key() {
        let key = PrivateKey::generate().unwrap();
        let other = PrivateKey::generate().unwrap();
        let signature = key.sign(b"payload");
        assert!(key.public_key().verifies(b"payload", &signature));
        assert!(!key.public_key().verifies(b"payloaD", &signature));
        assert!(!other.public_key().verifies(b"payload", &signature));
        assert!(!key.public_key().verifies(b"payload", b"not DER"));
        assert_eq!(key.public_key().key_id().len(), 64);
        assert_ne!(key.public_key().key_id(), other.public_key().key_id());
    }
}
