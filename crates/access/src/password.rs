//! Password hashes: Argon2id, stored as PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$…`), so each
//! hash carries the parameters it was made with and old hashes still verify after the cost rises.

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

use crate::random::{random_bytes, RandomError};

/// Why a password could not be hashed or a stored hash could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The stored text is not a PHC string of an Argon2 hash.
    #[error("the stored password hash is not an Argon2 PHC string; reset the account's password")]
    UnreadableHash,
    /// The cost parameters are outside what Argon2 accepts.
    #[error(
        "invalid Argon2 cost ({0}); memory must be at least 8 KiB per lane and time at least 1"
    )]
    InvalidCost(argon2::Error),
    /// Argon2 refused the input (a password beyond its length limit).
    #[error("the password could not be hashed ({0})")]
    Hashing(argon2::password_hash::Error),
    /// No salt could be drawn.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// Hashes and checks account passwords. The default is Argon2id with the argon2 crate's
/// parameters (19 MiB, two passes, one lane), OWASP's recommendation for interactive logins.
#[derive(Debug, Clone, Default)]
pub struct Passwords {
    argon2: Argon2<'static>,
}

impl Passwords {
    /// Argon2id with a chosen cost: `memory_kib` KiB of memory, `iterations` passes and
    /// `parallelism` lanes. Tests use the minimum to stay fast.
    pub fn with_cost(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
    ) -> Result<Self, PasswordError> {
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(PasswordError::InvalidCost)?;
        Ok(Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
        })
    }

    /// The PHC string to store for `password`, with a fresh random salt.
    pub fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let salt = random_bytes::<16>()?;
        self.hash_with_salt(password, &salt)
    }

    /// Whether `password` matches `stored`, with the parameters `stored` names. Comparison is
    /// constant-time; an unreadable `stored` is an error, not a mismatch, so it gets noticed.
    pub fn verify(&self, stored: &str, password: &str) -> Result<bool, PasswordError> {
        let hash = PasswordHash::new(stored).map_err(|_| PasswordError::UnreadableHash)?;
        match self.argon2.verify_password(password.as_bytes(), &hash) {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
            Err(_) => Err(PasswordError::UnreadableHash),
        }
    }

    /// Like [`Passwords::verify`], but for a login whose account may not exist (`stored` is
    /// `None`): then a hash of the same cost is still computed and the answer is `false`, so the
    /// time taken does not tell which account names exist. An unreadable hash is a mismatch.
    pub fn verify_login(&self, stored: Option<&str>, password: &str) -> bool {
        match stored {
            Some(stored) => self.verify(stored, password).unwrap_or(false),
            None => {
                let _ = self.hash_with_salt(password, b"account-not-found");
                false
            }
        }
    }

    /// Whether `stored` was made with other parameters than this hasher's, so it should be
    /// replaced by a fresh hash after the next successful login.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        let current = self.argon2.params();
        PasswordHash::new(stored)
            .ok()
            .and_then(|hash| Params::try_from(&hash).ok().map(|params| (hash, params)))
            .is_none_or(|(hash, params)| {
                hash.algorithm.as_str() != "argon2id"
                    || params.m_cost() != current.m_cost()
                    || params.t_cost() != current.t_cost()
                    || params.p_cost() != current.p_cost()
            })
    }

    fn hash_with_salt(&self, password: &str, salt: &[u8]) -> Result<String, PasswordError> {
        self.argon2
            .hash_password_with_salt(password.as_bytes(), salt)
            .map(|hash| hash.to_string())
            .map_err(PasswordError::Hashing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Passwords {
        Passwords::with_cost(8, 1, 1).unwrap()
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let passwords = cheap();
        let stored = passwords.hash("correct horse").unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=8,t=1,p=1$"),
            "{stored}"
        );
        assert!(passwords.verify(&stored, "correct horse").unwrap());
        assert!(!passwords.verify(&stored, "correct horse ").unwrap());
        assert!(!passwords.verify(&stored, "").unwrap());
        assert_ne!(
            passwords.hash("correct horse").unwrap(),
            stored,
            "salts differ"
        );
    }

    #[test]
    fn hashes_of_another_cost_still_verify_and_ask_for_a_rehash() {
        let old = Passwords::with_cost(16, 2, 1).unwrap().hash("pw").unwrap();
        let passwords = cheap();
        assert!(passwords.verify(&old, "pw").unwrap());
        assert!(passwords.needs_rehash(&old));
        assert!(!passwords.needs_rehash(&passwords.hash("pw").unwrap()));
        assert!(passwords.needs_rehash("not a hash"));
    }

    #[test]
    fn unreadable_hashes_are_errors_and_unknown_accounts_never_log_in() {
        let passwords = cheap();
        for stored in ["", "plaintext", "$argon2id$v=19$m=8,t=1,p=1$"] {
            assert!(matches!(
                passwords.verify(stored, "pw"),
                Err(PasswordError::UnreadableHash)
            ));
        }
        let stored = passwords.hash("pw").unwrap();
        assert!(passwords.verify_login(Some(&stored), "pw"));
        assert!(!passwords.verify_login(Some(&stored), "other"));
        assert!(!passwords.verify_login(Some("plaintext"), "plaintext"));
        assert!(!passwords.verify_login(None, "pw"));
    }

    #[test]
    fn the_default_is_argon2id_at_owasps_cost() {
        let stored = Passwords::default().hash("pw").unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
    }

    #[test]
    fn impossible_costs_are_refused() {
        assert!(matches!(
            Passwords::with_cost(0, 1, 1),
            Err(PasswordError::InvalidCost(_))
        ));
    }
}
