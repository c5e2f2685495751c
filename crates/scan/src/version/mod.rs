//! Version ordering, one module per ecosystem's rules.
//!
//! Every scheme parses a version string into its own type (so an advisory's bounds are parsed
//! once at import, not at every comparison) and orders two parsed versions the way the
//! ecosystem's own tool does. Parsing never panics: a string the scheme rejects becomes a
//! [`VersionError`] naming the scheme, the input and the reason.

/// Implements `PartialOrd`, `PartialEq` and `Eq` from a version type's `Ord`, so that equal
/// means "the scheme orders them alike" (`1.0 == 1.0.0` in PEP 440, `1-ga == 1` in Maven), and,
/// with `original`, `Display` as the text was written.
macro_rules! ordered_by_scheme {
    ($t:ty) => {
        impl PartialOrd for $t {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl PartialEq for $t {
            fn eq(&self, other: &Self) -> bool {
                self.cmp(other) == std::cmp::Ordering::Equal
            }
        }

        impl Eq for $t {}
    };
    ($t:ty, original) => {
        ordered_by_scheme!($t);

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.original)
            }
        }
    };
}

pub mod apk;
pub mod dpkg;
pub mod maven;
pub mod pep440;
pub mod rpm;
pub mod semver;

use std::cmp::Ordering;
use std::fmt;

/// The version ordering rules an ecosystem uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Debian and Ubuntu packages (`deb-version(7)`, Debian policy 5.6.12).
    Dpkg,
    /// Alpine packages, as apk-tools orders them.
    Apk,
    /// RPM packages (`rpmvercmp`, with epoch and release).
    Rpm,
    /// Python packages (PEP 440).
    Pep440,
    /// Semantic Versioning 2.0 (npm, Go modules with their `v`, crates.io).
    Semver,
    /// Maven artifacts (`ComparableVersion`).
    Maven,
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Apk => "apk",
            Scheme::Rpm => "rpm",
            Scheme::Pep440 => "PEP 440",
            Scheme::Semver => "semver",
            Scheme::Maven => "Maven",
        })
    }
}

/// Why a version string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionErrorKind {
    /// Nothing to parse.
    #[error("it is empty")]
    Empty,
    /// The epoch before `:` (or `!` in PEP 440) is not a number.
    #[error("the epoch is not a number")]
    BadEpoch,
    /// A part the scheme requires is missing.
    #[error("the {0} part is empty")]
    EmptyPart(&'static str),
    /// A character the scheme does not allow.
    #[error("character {0:?} is not allowed")]
    InvalidChar(char),
    /// The string does not have the scheme's shape.
    #[error("expected {0}")]
    Malformed(&'static str),
    /// A number has a leading zero where the scheme forbids one.
    #[error("a numeric part has a leading zero")]
    LeadingZero,
    /// A number is too large to store.
    #[error("a number is too large")]
    Overflow,
}

/// A version string that its ecosystem's rules reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {scheme} version {input:?}: {kind}")]
pub struct VersionError {
    /// The scheme that rejected it.
    pub scheme: Scheme,
    /// The rejected string, for the message.
    pub input: String,
    /// Why it was rejected.
    pub kind: VersionErrorKind,
}

impl VersionError {
    pub(crate) fn new(scheme: Scheme, input: &str, kind: VersionErrorKind) -> Self {
        // Hostile input may be huge; the message needs only its start.
        let input: String = input.chars().take(80).collect();
        VersionError {
            scheme,
            input,
            kind,
        }
    }
}

/// A parsed version of any scheme. Versions of different schemes never compare equal; they
/// order by scheme first, which only matters for keeping sort results total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version {
    /// A Debian or Ubuntu package version.
    Dpkg(dpkg::DpkgVersion),
    /// An Alpine package version.
    Apk(apk::ApkVersion),
    /// An RPM package version.
    Rpm(rpm::RpmVersion),
    /// A Python package version.
    Pep440(pep440::Pep440Version),
    /// A semantic version.
    Semver(semver::SemVersion),
    /// A Maven artifact version.
    Maven(maven::MavenVersion),
}

impl Version {
    /// Parses `input` with `scheme`'s rules.
    pub fn parse(scheme: Scheme, input: &str) -> Result<Version, VersionError> {
        Ok(match scheme {
            Scheme::Dpkg => Version::Dpkg(input.parse()?),
            Scheme::Apk => Version::Apk(input.parse()?),
            Scheme::Rpm => Version::Rpm(input.parse()?),
            Scheme::Pep440 => Version::Pep440(input.parse()?),
            Scheme::Semver => Version::Semver(input.parse()?),
            Scheme::Maven => Version::Maven(input.parse()?),
        })
    }

    /// The scheme this version was parsed with.
    pub fn scheme(&self) -> Scheme {
        match self {
            Version::Dpkg(_) => Scheme::Dpkg,
            Version::Apk(_) => Scheme::Apk,
            Version::Rpm(_) => Scheme::Rpm,
            Version::Pep440(_) => Scheme::Pep440,
            Version::Semver(_) => Scheme::Semver,
            Version::Maven(_) => Scheme::Maven,
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Version::Dpkg(a), Version::Dpkg(b)) => a.cmp(b),
            (Version::Apk(a), Version::Apk(b)) => a.cmp(b),
            (Version::Rpm(a), Version::Rpm(b)) => a.cmp(b),
            (Version::Pep440(a), Version::Pep440(b)) => a.cmp(b),
            (Version::Semver(a), Version::Semver(b)) => a.cmp(b),
            (Version::Maven(a), Version::Maven(b)) => a.cmp(b),
            _ => self.scheme().cmp(&other.scheme()),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Dpkg(v) => v.fmt(f),
            Version::Apk(v) => v.fmt(f),
            Version::Rpm(v) => v.fmt(f),
            Version::Pep440(v) => v.fmt(f),
            Version::Semver(v) => v.fmt(f),
            Version::Maven(v) => v.fmt(f),
        }
    }
}

/// Compares two digit strings as unbounded numbers, so a 30-digit component neither
/// overflows nor is rejected.
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Shared by every scheme's table test: each row is `(left, expected ordering, right)`.
#[cfg(test)]
pub(crate) fn check_table<V: std::str::FromStr<Err = VersionError> + Ord + fmt::Debug>(
    rows: &[(&str, Ordering, &str)],
) {
    for (left, expected, right) in rows {
        let l: V = left.parse().unwrap_or_else(|e| panic!("{e}"));
        let r: V = right.parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(l.cmp(&r), *expected, "{left} vs {right}");
        assert_eq!(r.cmp(&l), expected.reverse(), "{right} vs {left}");
    }
}

/// Shared by every scheme's rejection test: each string must fail with the given kind.
#[cfg(test)]
pub(crate) fn check_rejects<V: std::str::FromStr<Err = VersionError> + fmt::Debug>(
    rows: &[(&str, VersionErrorKind)],
) {
    for (input, kind) in rows {
        match input.parse::<V>() {
            Ok(v) => panic!("{input:?} parsed as {v:?}"),
            Err(e) => assert_eq!(&e.kind, kind, "{input:?}"),
        }
    }
}
