//! Key sets: the public keys a verifier trusts, each with a validity window and a distrust
//! switch. A key is judged at the time a signature was made, so retiring a key (closing its
//! window) never invalidates what it signed while valid; distrusting a key (it leaked) rejects
//! everything it ever signed, since a thief can claim any signing time.
//!
//! The file is TOML:
//!
//! ```toml
//! [[key]]
//! name = "2025"
//! public-key = """
//! -----BEGIN PUBLIC KEY-----
//! …
//! -----END PUBLIC KEY-----
//! """
//! valid-from = 2025-01-01T00:00:00Z
//! valid-until = 2026-01-01T00:00:00Z
//! distrusted = false
//! ```

use serde::Deserialize;

use crate::keys::{KeyError, PublicKey};
use crate::time::Timestamp;

/// Trusted public keys.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<TrustedKey>,
}

/// One trusted key and when it may be used.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    /// A name for people (the file's `name`, or the key id).
    pub name: String,
    /// The key.
    pub key: PublicKey,
    /// Signatures made before this are not the key's.
    pub valid_from: Option<Timestamp>,
    /// Signatures made after this are not the key's.
    pub valid_until: Option<Timestamp>,
    /// Nothing this key signed is trusted.
    pub distrusted: bool,
}

/// Why a key does not vouch for a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRejection {
    /// The key was marked distrusted.
    #[error("key {0} is distrusted")]
    Distrusted(String),
    /// The signature was made before the key's window opened.
    #[error("key {key} was not yet valid at {signed_at} (valid from {valid_from})")]
    NotYetValid {
        /// Key name.
        key: String,
        /// When the signature was made.
        signed_at: Timestamp,
        /// When the key became valid.
        valid_from: Timestamp,
    },
    /// The signature was made after the key's window closed.
    #[error("key {key} had expired at {signed_at} (valid until {valid_until})")]
    Expired {
        /// Key name.
        key: String,
        /// When the signature was made.
        signed_at: Timestamp,
        /// When the key stopped being valid.
        valid_until: Timestamp,
    },
}

/// Why a key set file was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeySetError {
    /// Not TOML of the expected shape.
    #[error("key set file: {0}")]
    Toml(#[from] toml::de::Error),
    /// A key's PEM is not a P-256 public key.
    #[error("key set entry {name:?}: {source}")]
    Key {
        /// The entry's name or position.
        name: String,
        /// Why.
        source: KeyError,
    },
    /// The same key appears twice, which would make its window ambiguous.
    #[error("key {0} appears twice in the key set; give each key one entry")]
    Duplicate(String),
    /// A window that closes before it opens.
    #[error("key {0}: valid-until is before valid-from")]
    EmptyWindow(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    key: Vec<FileKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileKey {
    #[serde(default)]
    name: Option<String>,
    public_key: String,
    #[serde(default)]
    valid_from: Option<Timestamp>,
    #[serde(default)]
    valid_until: Option<Timestamp>,
    #[serde(default)]
    distrusted: bool,
}

impl KeySet {
    /// A set of one key valid at all times: what `--key PUB` means.
    pub fn single(key: PublicKey) -> Self {
        Self {
            keys: vec![TrustedKey {
                name: key.key_id().to_owned(),
                key,
                valid_from: None,
                valid_until: None,
                distrusted: false,
            }],
        }
    }

    /// Reads a key set file.
    pub fn from_toml(text: &str) -> Result<Self, KeySetError> {
        let file: File = toml::from_str(text)?;
        let mut keys: Vec<TrustedKey> = Vec::with_capacity(file.key.len());
        for (position, entry) in file.key.into_iter().enumerate() {
            let label = entry
                .name
                .clone()
                .unwrap_or_else(|| format!("#{}", position + 1));
            let key =
                PublicKey::from_pem(&entry.public_key).map_err(|source| KeySetError::Key {
                    name: label.clone(),
                    source,
                })?;
            if keys.iter().any(|known| known.key == key) {
                return Err(KeySetError::Duplicate(label));
            }
            if let (Some(from), Some(until)) = (entry.valid_from, entry.valid_until) {
                if until < from {
                    return Err(KeySetError::EmptyWindow(label));
                }
            }
            keys.push(TrustedKey {
                name: entry.name.unwrap_or_else(|| key.key_id().to_owned()),
                key,
                valid_from: entry.valid_from,
                valid_until: entry.valid_until,
                distrusted: entry.distrusted,
            });
        }
        Ok(Self { keys })
    }

    /// Every key, in file order.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// The key with id `key_id`.
    pub fn find(&self, key_id: &str) -> Option<&TrustedKey> {
        self.keys
            .iter()
            .find(|trusted| trusted.key.key_id() == key_id)
    }
}

impl TrustedKey {
    /// Whether this key vouches for a signature made at `signed_at`.
    pub fn judge(&self, signed_at: Timestamp) -> Result<(), KeyRejection> {
        if self.distrusted {
            return Err(KeyRejection::Distrusted(self.name.clone()));
        }
        if let Some(valid_from) = self.valid_from.filter(|from| signed_at < *from) {
            return Err(KeyRejection::NotYetValid {
                key: self.name.clone(),
                signed_at,
                valid_from,
            });
        }
        if let Some(valid_until) = self.valid_until.filter(|until| signed_at > *until) {
            return Err(KeyRejection::Expired {
                key: self.name.clone(),
                signed_at,
                valid_until,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::PrivateKey;

    fn entry(pem: &str, extra: &str) -> String {
        format!("[[key]]\npublic-key = \"\"\"\n{pem}\"\"\"\n{extra}\n")
    }

    #[test]
    fn keys_are_judged_at_signing_time() {
        let old = PrivateKey::generate().unwrap();
        let new = PrivateKey::generate().unwrap();
        let leaked = PrivateKey::generate().unwrap();
        let text = [
            entry(
                &old.public_key().to_pem(),
                "name = \"2024\"\nvalid-until = 2025-01-01T00:00:00Z",
            ),
            entry(
                &new.public_key().to_pem(),
                "valid-from = \"2025-01-01T00:00:00Z\"",
            ),
            entry(
                &leaked.public_key().to_pem(),
                "name = \"leaked\"\ndistrusted = true",
            ),
        ]
        .concat();
        let set = KeySet::from_toml(&text).unwrap();
        let at = |text: &str| text.parse::<Timestamp>().unwrap();
        let judge = |key: &PrivateKey, when: &str| {
            set.find(key.public_key().key_id()).unwrap().judge(at(when))
        };
        assert_eq!(judge(&old, "2024-06-01T00:00:00Z"), Ok(()));
        assert!(matches!(
            judge(&old, "2025-06-01T00:00:00Z"),
            Err(KeyRejection::Expired { .. })
        ));
        assert!(matches!(
            judge(&new, "2024-06-01T00:00:00Z"),
            Err(KeyRejection::NotYetValid { .. })
        ));
        assert_eq!(judge(&new, "2030-01-01T00:00:00Z"), Ok(()));
        assert_eq!(
            judge(&leaked, "2024-06-01T00:00:00Z"),
            Err(KeyRejection::Distrusted("leaked".into()))
        );
        assert_eq!(set.keys()[1].name, new.public_key().key_id());
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let key = PrivateKey::generate().unwrap();
        let pem = key.public_key().to_pem();
        for (text, expected) in [
            ([entry(&pem, ""), entry(&pem, "")].concat(), "twice"),
            (
                entry(
                    &pem,
                    "valid-from = 2026-01-01T00:00:00Z\nvalid-until = 2025-01-01T00:00:00Z",
                ),
                "before",
            ),
            (
                entry(
                    "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
                    "",
                ),
                "#1",
            ),
            (entry(&pem, "colour = \"red\""), "colour"),
            (entry(&pem, "valid-from = \"yesterday\""), "RFC 3339"),
        ] {
            let error = KeySet::from_toml(&text).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
        assert!(KeySet::from_toml("").unwrap().keys().is_empty());
    }
}
