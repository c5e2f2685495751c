//! Semantic Versioning 2.0.0, as npm, Go modules and crates.io use it.
//!
//! `MAJOR.MINOR.PATCH[-pre.release][+build]`: the three numbers compare numerically; a version
//! with pre-release identifiers sorts below the same version without; identifiers compare one
//! by one (numeric ones numerically and below alphanumeric ones, alphanumeric ones in ASCII
//! order), and a shorter list that is a prefix of a longer one sorts lower. Build metadata is
//! ignored for precedence, which is what makes Go's `+incompatible` harmless. A leading `v` is
//! accepted because Go module versions always carry one and npm tolerates it.

use std::cmp::Ordering;
use std::str::FromStr;

use super::{cmp_digits, Scheme, VersionError, VersionErrorKind};

/// A parsed semantic version.
#[derive(Debug, Clone)]
pub struct SemVersion {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<Identifier>,
    original: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Identifier {
    Numeric(String),
    Alphanumeric(String),
}

impl Ord for Identifier {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Identifier::Numeric(a), Identifier::Numeric(b)) => cmp_digits(a, b),
            (Identifier::Numeric(_), Identifier::Alphanumeric(_)) => Ordering::Less,
            (Identifier::Alphanumeric(_), Identifier::Numeric(_)) => Ordering::Greater,
            (Identifier::Alphanumeric(a), Identifier::Alphanumeric(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Identifier {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl SemVersion {
    /// `(major, minor, patch)`.
    pub fn triple(&self) -> (u64, u64, u64) {
        (self.major, self.minor, self.patch)
    }

    /// Whether the version has pre-release identifiers.
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }
}

/// Checks one dot-separated identifier list (pre-release or build).
fn identifiers(list: &str, numeric_rules: bool) -> Result<Vec<Identifier>, VersionErrorKind> {
    let mut out = Vec::new();
    for id in list.split('.') {
        if id.is_empty() {
            return Err(VersionErrorKind::EmptyPart("identifier"));
        }
        if let Some(c) = id.chars().find(|c| !c.is_ascii_alphanumeric() && *c != '-') {
            return Err(VersionErrorKind::InvalidChar(c));
        }
        if id.bytes().all(|b| b.is_ascii_digit()) {
            if numeric_rules && id.len() > 1 && id.starts_with('0') {
                return Err(VersionErrorKind::LeadingZero);
            }
            out.push(Identifier::Numeric(id.to_owned()));
        } else {
            out.push(Identifier::Alphanumeric(id.to_owned()));
        }
    }
    Ok(out)
}

fn number(part: &str) -> Result<u64, VersionErrorKind> {
    if part.is_empty() {
        return Err(VersionErrorKind::Malformed("MAJOR.MINOR.PATCH"));
    }
    if let Some(c) = part.chars().find(|c| !c.is_ascii_digit()) {
        return Err(VersionErrorKind::InvalidChar(c));
    }
    if part.len() > 1 && part.starts_with('0') {
        return Err(VersionErrorKind::LeadingZero);
    }
    part.parse().map_err(|_| VersionErrorKind::Overflow)
}

impl FromStr for SemVersion {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, VersionError> {
        let err = |kind| VersionError::new(Scheme::Semver, input, kind);
        if input.is_empty() {
            return Err(err(VersionErrorKind::Empty));
        }
        let s = input.strip_prefix('v').unwrap_or(input);
        let (s, build) = match s.split_once('+') {
            Some((s, build)) => (s, Some(build)),
            None => (s, None),
        };
        if let Some(build) = build {
            identifiers(build, false).map_err(err)?;
        }
        let (core, pre) = match s.split_once('-') {
            Some((core, pre)) => (core, identifiers(pre, true).map_err(err)?),
            None => (s, Vec::new()),
        };
        let mut parts = core.split('.');
        let mut next = || number(parts.next().unwrap_or("")).map_err(err);
        let (major, minor, patch) = (next()?, next()?, next()?);
        if parts.next().is_some() {
            return Err(err(VersionErrorKind::Malformed("MAJOR.MINOR.PATCH")));
        }
        Ok(SemVersion {
            major,
            minor,
            patch,
            pre,
            original: input.to_owned(),
        })
    }
}

impl Ord for SemVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.triple().cmp(&other.triple()).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            }
        })
    }
}

ordered_by_scheme!(SemVersion, original);

#[cfg(test)]
mod tests {
    use super::super::{check_rejects, check_table};
    use super::*;
    use proptest::prelude::*;
    use Ordering::{Equal as Eq_, Greater as Gt, Less as Lt};

    #[test]
    fn real_cases() {
        check_table::<SemVersion>(&[
            // The precedence chain from semver.org, item 11.
            ("1.0.0-alpha", Lt, "1.0.0-alpha.1"),
            ("1.0.0-alpha.1", Lt, "1.0.0-alpha.beta"),
            ("1.0.0-alpha.beta", Lt, "1.0.0-beta"),
            ("1.0.0-beta", Lt, "1.0.0-beta.2"),
            ("1.0.0-beta.2", Lt, "1.0.0-beta.11"),
            ("1.0.0-beta.11", Lt, "1.0.0-rc.1"),
            ("1.0.0-rc.1", Lt, "1.0.0"),
            ("1.0.0", Lt, "2.0.0"),
            ("2.0.0", Lt, "2.1.0"),
            ("2.1.0", Lt, "2.1.1"),
            // Build metadata and Go's spellings.
            ("1.0.0+build.1", Eq_, "1.0.0+build.2"),
            ("v2.0.0+incompatible", Eq_, "2.0.0"),
            ("v0.0.0-20200622213623-75b288015ac9", Lt, "v0.0.1"),
            ("v1.6.0", Gt, "1.5.99"),
            // npm's real ranges from the test data.
            ("4.17.15", Lt, "4.17.20"),
            ("5.0.0-alpha.1", Lt, "5.0.0-beta.3"),
            ("1.2.5", Lt, "1.2.6"),
            ("1.10.0", Gt, "1.9.0"),
        ]);
    }

    #[test]
    fn rejects() {
        check_rejects::<SemVersion>(&[
            ("", VersionErrorKind::Empty),
            ("1.0", VersionErrorKind::Malformed("MAJOR.MINOR.PATCH")),
            ("1.0.0.0", VersionErrorKind::Malformed("MAJOR.MINOR.PATCH")),
            ("01.0.0", VersionErrorKind::LeadingZero),
            ("1.0.0-01", VersionErrorKind::LeadingZero),
            ("1.0.0-", VersionErrorKind::EmptyPart("identifier")),
            ("1.0.0-a..b", VersionErrorKind::EmptyPart("identifier")),
            ("1.0.0+", VersionErrorKind::EmptyPart("identifier")),
            ("1.0.0-a_b", VersionErrorKind::InvalidChar('_')),
            ("1.x.0", VersionErrorKind::InvalidChar('x')),
            ("99999999999999999999.0.0", VersionErrorKind::Overflow),
        ]);
    }

    fn version() -> impl Strategy<Value = String> {
        "(0|[1-9][0-9]{0,2})\\.(0|[1-9][0-9]{0,2})\\.(0|[1-9][0-9]{0,2})"
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = s.parse::<SemVersion>();
        }

        #[test]
        fn prerelease_sorts_below_release(v in version(), pre in "[0-9a-zA-Z-]{1,6}(\\.[a-z]{1,4}){0,2}") {
            prop_assume!(!(pre.len() > 1 && pre.starts_with('0') && pre.split('.').next().unwrap().bytes().all(|b| b.is_ascii_digit())));
            let release: SemVersion = v.parse().unwrap();
            let pre: SemVersion = format!("{v}-{pre}").parse().unwrap();
            prop_assert!(pre < release);
        }

        #[test]
        fn build_metadata_is_ignored(v in version(), b in "[0-9a-zA-Z-]{1,8}") {
            prop_assert_eq!(v.parse::<SemVersion>().unwrap(), format!("{v}+{b}").parse::<SemVersion>().unwrap());
        }

        #[test]
        fn numbers_order_like_tuples(a in (0u64..100, 0u64..100, 0u64..100), b in (0u64..100, 0u64..100, 0u64..100)) {
            let x: SemVersion = format!("{}.{}.{}", a.0, a.1, a.2).parse().unwrap();
            let y: SemVersion = format!("{}.{}.{}", b.0, b.1, b.2).parse().unwrap();
            prop_assert_eq!(x.cmp(&y), a.cmp(&b));
        }
    }
}
