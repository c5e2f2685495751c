//! Content digests (`sha256:<64 hex>`, `sha512:<128 hex>`) as the OCI image spec defines them,
//! and the hashers that compute them while content streams past.
//!
//! Only the two registered algorithms are accepted, and only in their canonical form (lowercase
//! hex of the exact length), so that one piece of content has exactly one digest string: the
//! string is used as a storage key and a database key, and two spellings of one digest would
//! split the content in two.

use std::fmt;
use std::io;
use std::str::FromStr;

use sha2::digest::common::hazmat::{SerializableState, SerializedState};
use sha2::Digest as _;

/// A hash algorithm that may appear in a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DigestAlgorithm {
    /// SHA-256, the algorithm every client speaks.
    Sha256,
    /// SHA-512, which the distribution spec allows registries to accept.
    Sha512,
}

impl DigestAlgorithm {
    /// The algorithm's name as written before the colon.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    /// How many hex characters an encoded digest of this algorithm has.
    pub fn hex_len(self) -> usize {
        match self {
            Self::Sha256 => 64,
            Self::Sha512 => 128,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Self::Sha256),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A validated content digest such as `sha256:e3b0c442…`.
///
/// The whole string is kept so that [`Digest::as_str`] costs nothing: digests are mostly used
/// as keys and in headers, rarely taken apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: DigestAlgorithm,
    text: Box<str>,
}

/// Why a string is not a digest Hallmark accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// There is no `:` between algorithm and hex.
    #[error("invalid digest {0:?}: expected algorithm:hex, for example sha256:<64 hex digits>")]
    MissingSeparator(String),
    /// The algorithm is neither sha256 nor sha512.
    #[error("unsupported digest algorithm {0:?}: use sha256 or sha512")]
    UnsupportedAlgorithm(String),
    /// The hex part has the wrong length for the algorithm.
    #[error("invalid {algorithm} digest: expected {expected} hex digits, found {found}")]
    WrongLength {
        /// The algorithm named in the digest.
        algorithm: DigestAlgorithm,
        /// The length that algorithm requires.
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// The hex part holds something other than `0-9a-f`.
    #[error("invalid digest {0:?}: the hex part must be lowercase 0-9a-f")]
    InvalidHex(String),
    /// A saved hasher state does not belong to the algorithm, or is damaged.
    #[error("saved {0} hasher state is damaged or of another algorithm; restart the upload")]
    InvalidHashState(DigestAlgorithm),
}

impl Digest {
    /// Parses and validates `algorithm:hex`.
    pub fn parse(input: &str) -> Result<Self, DigestError> {
        let (name, hex) = input
            .split_once(':')
            .ok_or_else(|| DigestError::MissingSeparator(input.to_owned()))?;
        let algorithm = DigestAlgorithm::from_name(name)
            .ok_or_else(|| DigestError::UnsupportedAlgorithm(name.to_owned()))?;
        if hex.len() != algorithm.hex_len() {
            return Err(DigestError::WrongLength {
                algorithm,
                expected: algorithm.hex_len(),
                found: hex.len(),
            });
        }
        if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(DigestError::InvalidHex(input.to_owned()));
        }
        Ok(Self {
            algorithm,
            text: input.into(),
        })
    }

    /// The digest of `content` under `algorithm`.
    pub fn of(algorithm: DigestAlgorithm, content: &[u8]) -> Self {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(content);
        hasher.finish()
    }

    /// The algorithm before the colon.
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    /// The lowercase hex after the colon.
    pub fn hex(&self) -> &str {
        &self.text[self.algorithm.name().len() + 1..]
    }

    /// The whole digest, `algorithm:hex`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn from_raw(algorithm: DigestAlgorithm, raw: &[u8]) -> Self {
        let mut text = String::with_capacity(algorithm.name().len() + 1 + raw.len() * 2);
        text.push_str(algorithm.name());
        text.push(':');
        for byte in raw {
            text.push(char::from(HEX[usize::from(byte >> 4)]));
            text.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        Self {
            algorithm,
            text: text.into(),
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An incremental hasher for either digest algorithm.
///
/// Its state can be saved and resumed ([`Hasher::save_state`], [`Hasher::resume`]) so that an
/// upload split over several requests, possibly served by different processes, hashes each
/// byte once.
#[derive(Debug, Clone)]
pub struct Hasher {
    inner: HasherInner,
    length: u64,
}

#[derive(Debug, Clone)]
enum HasherInner {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// A hasher that has seen nothing yet.
    pub fn new(algorithm: DigestAlgorithm) -> Self {
        let inner = match algorithm {
            DigestAlgorithm::Sha256 => HasherInner::Sha256(sha2::Sha256::new()),
            DigestAlgorithm::Sha512 => HasherInner::Sha512(sha2::Sha512::new()),
        };
        Self { inner, length: 0 }
    }

    /// The algorithm this hasher computes.
    pub fn algorithm(&self) -> DigestAlgorithm {
        match self.inner {
            HasherInner::Sha256(_) => DigestAlgorithm::Sha256,
            HasherInner::Sha512(_) => DigestAlgorithm::Sha512,
        }
    }

    /// How many bytes have been hashed, across resumes.
    pub fn length(&self) -> u64 {
        self.length
    }

    /// Feeds more content.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.inner {
            HasherInner::Sha256(h) => h.update(bytes),
            HasherInner::Sha512(h) => h.update(bytes),
        }
        self.length += bytes.len() as u64;
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> Digest {
        match self.inner {
            HasherInner::Sha256(h) => Digest::from_raw(DigestAlgorithm::Sha256, &h.finalize()),
            HasherInner::Sha512(h) => Digest::from_raw(DigestAlgorithm::Sha512, &h.finalize()),
        }
    }

    /// The hasher's state as opaque bytes (about 110 for SHA-256), for [`Hasher::resume`].
    ///
    /// A format byte leads, so states saved by an older layout are refused rather than
    /// misread, then the byte count, so a resumed hasher knows its length without the caller
    /// keeping it separately.
    pub fn save_state(&self) -> Vec<u8> {
        let mut saved = vec![STATE_FORMAT];
        saved.extend_from_slice(&self.length.to_le_bytes());
        match &self.inner {
            HasherInner::Sha256(h) => saved.extend_from_slice(&h.serialize()),
            HasherInner::Sha512(h) => saved.extend_from_slice(&h.serialize()),
        }
        saved
    }

    /// Continues from a state saved by [`Hasher::save_state`] of the same algorithm.
    pub fn resume(algorithm: DigestAlgorithm, saved: &[u8]) -> Result<Self, DigestError> {
        let damaged = || DigestError::InvalidHashState(algorithm);
        let (format, saved) = saved.split_first().ok_or_else(damaged)?;
        if *format != STATE_FORMAT {
            return Err(damaged());
        }
        let (length, state) = saved.split_first_chunk::<8>().ok_or_else(damaged)?;
        let inner = match algorithm {
            DigestAlgorithm::Sha256 => HasherInner::Sha256(restore(state).ok_or_else(damaged)?),
            DigestAlgorithm::Sha512 => HasherInner::Sha512(restore(state).ok_or_else(damaged)?),
        };
        Ok(Self {
            inner,
            length: u64::from_le_bytes(*length),
        })
    }
}

/// The layout of [`Hasher::save_state`]; bump it whenever the layout, or the `sha2` state
/// encoding beneath it, changes, because saved states outlive the process (upload sessions).
const STATE_FORMAT: u8 = 1;

fn restore<H: SerializableState>(state: &[u8]) -> Option<H> {
    let state = SerializedState::<H>::try_from(state).ok()?;
    H::deserialize(&state).ok()
}

/// A writer that hashes everything written through it before passing it on.
///
/// Wrapping the destination, rather than hashing in a separate pass, means content is read
/// once: the digest is known the moment the last byte is written.
#[derive(Debug)]
pub struct DigestWriter<W> {
    inner: W,
    hasher: Hasher,
}

impl<W: io::Write> DigestWriter<W> {
    /// Hashes with `algorithm` whatever is written to `inner`.
    pub fn new(inner: W, algorithm: DigestAlgorithm) -> Self {
        Self::resuming(inner, Hasher::new(algorithm))
    }

    /// Continues hashing with a hasher that has already seen earlier content.
    pub fn resuming(inner: W, hasher: Hasher) -> Self {
        Self { inner, hasher }
    }

    /// The hasher, for saving its state between writes.
    pub fn hasher(&self) -> &Hasher {
        &self.hasher
    }

    /// Returns the destination and the digest of everything written.
    pub fn finish(self) -> (W, Digest) {
        (self.inner, self.hasher.finish())
    }
}

impl<W: io::Write> io::Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Hash only what the destination accepted, so a short write does not hash bytes twice.
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    const EMPTY_SHA256: &str =
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const ABC_SHA512: &str = "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

    #[test]
    fn parse_accepts_canonical_digests_and_rejects_the_rest() {
        let upper = EMPTY_SHA256.to_uppercase().replace("SHA256", "sha256");
        type Case<'a> = (&'a str, Result<(), DigestError>);
        let cases: &[Case] = &[
            (EMPTY_SHA256, Ok(())),
            (ABC_SHA512, Ok(())),
            (
                "sha256",
                Err(DigestError::MissingSeparator("sha256".into())),
            ),
            (
                "md5:abc",
                Err(DigestError::UnsupportedAlgorithm("md5".into())),
            ),
            (
                "sha256:abc",
                Err(DigestError::WrongLength {
                    algorithm: DigestAlgorithm::Sha256,
                    expected: 64,
                    found: 3,
                }),
            ),
            (&upper, Err(DigestError::InvalidHex(upper.clone()))),
        ];
        for (input, expected) in cases {
            assert_eq!(
                &Digest::parse(input).map(|_| ()),
                expected,
                "parsing {input}"
            );
        }
    }

    #[test]
    fn digest_parts_and_display_round_trip() {
        let digest = Digest::parse(EMPTY_SHA256).unwrap();
        assert_eq!(digest.algorithm(), DigestAlgorithm::Sha256);
        assert_eq!(digest.hex().len(), 64);
        assert_eq!(digest.to_string(), EMPTY_SHA256);
        assert_eq!(digest.as_str().parse::<Digest>().unwrap(), digest);
    }

    #[test]
    fn of_matches_known_vectors() {
        assert_eq!(
            Digest::of(DigestAlgorithm::Sha256, b"").as_str(),
            EMPTY_SHA256
        );
        assert_eq!(
            Digest::of(DigestAlgorithm::Sha512, b"abc").as_str(),
            ABC_SHA512
        );
    }

    #[test]
    fn serde_uses_the_string_form() {
        let digest = Digest::parse(EMPTY_SHA256).unwrap();
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(json, format!("\"{EMPTY_SHA256}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), digest);
        assert!(serde_json::from_str::<Digest>("\"sha256:00\"").is_err());
    }

    #[test]
    fn resumed_hasher_gives_the_same_digest() {
        let content: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        for algorithm in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512] {
            // Split inside a block so the saved state must carry buffered bytes too.
            let mut first = Hasher::new(algorithm);
            first.update(&content[..333]);
            let saved = first.save_state();
            let mut resumed = Hasher::resume(algorithm, &saved).unwrap();
            assert_eq!(resumed.length(), 333);
            resumed.update(&content[333..]);
            assert_eq!(resumed.finish(), Digest::of(algorithm, &content));
        }
    }

    #[test]
    fn resume_rejects_foreign_or_damaged_state() {
        let saved = Hasher::new(DigestAlgorithm::Sha256).save_state();
        assert!(Hasher::resume(DigestAlgorithm::Sha512, &saved).is_err());
        assert!(Hasher::resume(DigestAlgorithm::Sha256, &saved[..10]).is_err());
        let mut other_format = saved.clone();
        other_format[0] = STATE_FORMAT + 1;
        assert!(Hasher::resume(DigestAlgorithm::Sha256, &other_format).is_err());
    }

    #[test]
    fn digest_writer_hashes_what_it_passes_on() {
        let mut writer = DigestWriter::new(Vec::new(), DigestAlgorithm::Sha512);
        writer.write_all(b"a").unwrap();
        writer.write_all(b"bc").unwrap();
        assert_eq!(writer.hasher().length(), 3);
        let (written, digest) = writer.finish();
        assert_eq!(written, b"abc");
        assert_eq!(digest.as_str(), ABC_SHA512);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn algorithm() -> impl Strategy<Value = DigestAlgorithm> {
            prop_oneof![Just(DigestAlgorithm::Sha256), Just(DigestAlgorithm::Sha512)]
        }

        proptest! {
            #[test]
            fn parse_never_panics_and_accepts_only_its_own_spelling(input in "\\PC{0,140}") {
                if let Ok(digest) = Digest::parse(&input) {
                    prop_assert_eq!(digest.as_str(), input.as_str());
                }
            }

            #[test]
            fn computed_digests_parse_back(content in any::<Vec<u8>>(), algorithm in algorithm()) {
                let digest = Digest::of(algorithm, &content);
                prop_assert_eq!(Digest::parse(digest.as_str()), Ok(digest.clone()));
                prop_assert_eq!(digest.hex().len(), algorithm.hex_len());
            }

            #[test]
            fn resuming_anywhere_gives_the_same_digest(
                content in proptest::collection::vec(any::<u8>(), 0..600),
                split in any::<prop::sample::Index>(),
                algorithm in algorithm(),
            ) {
                let at = split.index(content.len() + 1);
                let mut first = Hasher::new(algorithm);
                first.update(&content[..at]);
                let mut resumed = Hasher::resume(algorithm, &first.save_state()).unwrap();
                resumed.update(&content[at..]);
                prop_assert_eq!(resumed.finish(), Digest::of(algorithm, &content));
            }
        }
    }
}
