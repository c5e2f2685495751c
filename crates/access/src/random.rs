//! Randomness from the operating system, for key material, salts, token ids and refresh tokens.

/// The operating system could not supply random bytes.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed ({0}); check that /dev/urandom or getrandom(2) is available")]
pub struct RandomError(getrandom::Error);

/// `N` bytes from the operating system's cryptographically secure generator.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(RandomError)?;
    Ok(bytes)
}
