//! Alpine package versions: `1.2.3[letter]{_suffix[N]}[~hash][-rN]`, ordered as apk-tools does.
//!
//! apk-tools reads a version as a stream of tokens (first number, further `.`numbers, one
//! letter, `_`suffixes with optional numbers, a `~`commit hash, the `-r` revision) and walks
//! two streams side by side while their token kinds agree. Numbers compare numerically, except
//! a later number with a leading zero on either side, which compares as text (`1.05 < 1.5`,
//! `1.0 < 1.00`); suffixes compare by rank, `_alpha < _beta < _pre < _rc` below no suffix and
//! `_cvs < _svn < _git < _hg < _p` above it; hashes compare as text. Where the kinds first
//! differ, a pre-release suffix makes its side lower; otherwise the side whose next token
//! kind comes earlier in that list is higher, and the end comes last (`1.0 < 1.0.1`,
//! `1.0_p1 > 1.0`, `1.0 < 1.0-r1`).

use std::cmp::Ordering;
use std::str::FromStr;

use super::{cmp_digits, Scheme, VersionError, VersionErrorKind};

/// Suffixes in apk-tools' order; the first four sort before a version without suffix.
const SUFFIXES: [&str; 9] = ["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"];
const PRE_RELEASE_SUFFIXES: u8 = 4;

/// Token kinds in apk-tools' order, which decides versions whose kinds differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    InitialDigit,
    Digit,
    Letter,
    Suffix(u8),
    SuffixNumber,
    CommitHash,
    Revision,
}

impl Kind {
    /// The kind's place in the order, with every suffix in one place.
    fn rank(self) -> u8 {
        match self {
            Kind::InitialDigit => 0,
            Kind::Digit => 1,
            Kind::Letter => 2,
            Kind::Suffix(_) => 3,
            Kind::SuffixNumber => 4,
            Kind::CommitHash => 5,
            Kind::Revision => 6,
        }
    }
}

/// A parsed Alpine package version.
#[derive(Debug, Clone)]
pub struct ApkVersion {
    /// Each token with its text (digits, the letter, the hash; empty for suffixes).
    tokens: Vec<(Kind, String)>,
    original: String,
}

impl FromStr for ApkVersion {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, VersionError> {
        let err = |kind| VersionError::new(Scheme::Apk, input, kind);
        let malformed = || {
            err(VersionErrorKind::Malformed(
                "digits[.digits][letter][_suffix[N]][~hash][-rN]",
            ))
        };
        if input.is_empty() {
            return Err(err(VersionErrorKind::Empty));
        }
        let mut rest = input;
        let first = take(&mut rest, |b| b.is_ascii_digit());
        if first.is_empty() {
            return Err(malformed());
        }
        let mut tokens = vec![(Kind::InitialDigit, first.to_owned())];
        while let Some(&c) = rest.as_bytes().first() {
            let last = tokens.last().map_or(Kind::InitialDigit, |t| t.0).rank();
            // Each branch checks that the token may follow the previous one, as apk does.
            let token = match c {
                b'a'..=b'z' if last <= Kind::Digit.rank() => {
                    rest = &rest[1..];
                    (Kind::Letter, char::from(c).to_string())
                }
                b'.' if last <= Kind::Digit.rank() => {
                    rest = &rest[1..];
                    (
                        Kind::Digit,
                        take(&mut rest, |b| b.is_ascii_digit()).to_owned(),
                    )
                }
                b'0'..=b'9' if matches!(tokens.last(), Some((Kind::Suffix(_), _))) => (
                    Kind::SuffixNumber,
                    take(&mut rest, |b| b.is_ascii_digit()).to_owned(),
                ),
                b'_' if last <= Kind::SuffixNumber.rank() => {
                    rest = &rest[1..];
                    let name = take(&mut rest, |b| b.is_ascii_lowercase());
                    let rank = SUFFIXES
                        .iter()
                        .position(|s| *s == name)
                        .ok_or_else(malformed)?;
                    (Kind::Suffix(rank as u8), String::new())
                }
                b'~' if last < Kind::CommitHash.rank() => {
                    rest = &rest[1..];
                    (
                        Kind::CommitHash,
                        take(&mut rest, |b| b.is_ascii_hexdigit()).to_owned(),
                    )
                }
                b'-' if last < Kind::Revision.rank() && rest.starts_with("-r") => {
                    rest = &rest[2..];
                    (
                        Kind::Revision,
                        take(&mut rest, |b| b.is_ascii_digit()).to_owned(),
                    )
                }
                c if c.is_ascii_alphanumeric() || b"._-~".contains(&c) => return Err(malformed()),
                _ => {
                    let c = rest.chars().next().unwrap_or_default();
                    return Err(err(VersionErrorKind::InvalidChar(c)));
                }
            };
            if token.1.is_empty() && !matches!(token.0, Kind::Suffix(_)) {
                return Err(malformed());
            }
            tokens.push(token);
        }
        Ok(ApkVersion {
            tokens,
            original: input.to_owned(),
        })
    }
}

/// Splits off the longest prefix of bytes matching `keep`.
fn take<'a>(rest: &mut &'a str, keep: impl Fn(u8) -> bool) -> &'a str {
    let n = rest.bytes().take_while(|&b| keep(b)).count();
    let (taken, tail) = rest.split_at(n);
    *rest = tail;
    taken
}

/// Compares two tokens of the same kind.
fn cmp_token(kind: Kind, a: &str, b: &str) -> Ordering {
    match kind {
        Kind::Digit if a.starts_with('0') || b.starts_with('0') => a.cmp(b),
        Kind::InitialDigit | Kind::Digit | Kind::SuffixNumber | Kind::Revision => cmp_digits(a, b),
        Kind::Letter | Kind::CommitHash | Kind::Suffix(_) => a.cmp(b),
    }
}

/// Whether a side's next token lowers it: a pre-release suffix.
fn is_pre_release(token: Option<&(Kind, String)>) -> bool {
    matches!(token, Some((Kind::Suffix(rank), _)) if *rank < PRE_RELEASE_SUFFIXES)
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let mut i = 0;
        loop {
            let (a, b) = (self.tokens.get(i), other.tokens.get(i));
            match (a, b) {
                (Some((ka, ta)), Some((kb, tb))) if ka.rank() == kb.rank() => {
                    // Suffixes share a rank; their own order decides between them.
                    let ord = ka.cmp(kb).then_with(|| cmp_token(*ka, ta, tb));
                    if ord != Ordering::Equal {
                        return ord;
                    }
                }
                (None, None) => return Ordering::Equal,
                _ if is_pre_release(a) => return Ordering::Less,
                _ if is_pre_release(b) => return Ordering::Greater,
                // The end ranks after every kind; the side with the later kind is lower.
                _ => {
                    let rank = |t: Option<&(Kind, String)>| t.map_or(u8::MAX, |t| t.0.rank());
                    return rank(b).cmp(&rank(a));
                }
            }
            i += 1;
        }
    }
}

ordered_by_scheme!(ApkVersion, original);

#[cfg(test)]
mod tests {
    use super::super::{check_rejects, check_table};
    use super::*;
    use proptest::prelude::*;
    use Ordering::{Equal as Eq_, Greater as Gt, Less as Lt};

    #[test]
    fn real_cases() {
        check_table::<ApkVersion>(&[
            // Orderings apk-tools' own test data (test/version.data) states.
            ("0.1.0_alpha_pre2", Lt, "0.1.0_alpha"),
            ("0.1.0_alpha2", Gt, "0.1.0_alpha"),
            ("1.1", Gt, "1.1_alpha1"),
            ("1.2.1", Gt, "1.2"),
            ("1.06-r6", Lt, "006"),
            ("3.0.0-r2", Lt, "021109-r3"),
            ("1.2.07.8", Lt, "1.2.12.04"),
            ("2.02.06", Lt, "2.02.10"),
            ("4.01", Lt, "4.20"),
            ("1.0", Gt, "0.99.3.20040818"),
            ("2.12r-r4", Lt, "2.12r-r5"),
            ("0.59s-r11", Lt, "0.65"),
            ("02.08.01b", Lt, "4.77"),
            ("2.5.1-r8", Lt, "2.5.1a-r1"),
            ("4.5_p1-r1", Gt, "4.5_p1"),
            ("1.8.5", Lt, "1.8.5_p2"),
            ("0.9.28.1", Gt, "0.9.28"),
            ("1.6.8_p12-r1", Gt, "1.6.8_p9-r2"),
            ("2.9.11_pre20051101-r3", Gt, "2.9.11_pre20051101"),
            ("0.20070118", Lt, "0.20070207_rc1"),
            (
                "1.0.0_pre20191002222144-r0",
                Lt,
                "1.0.0_pre20210530193627-r0",
            ),
            ("1.3_pre1-r1", Lt, "1.3.2"),
            ("1.0_p10-r0", Gt, "1.0_p9-r0"),
            ("1.3-r0", Lt, "1.3.1-r0"),
            // Suffix ranks, leading zeros as text, and real secdb fix versions.
            ("1.0_alpha", Lt, "1.0_beta"),
            ("1.0_beta", Lt, "1.0_pre"),
            ("1.0_pre", Lt, "1.0_rc"),
            ("1.0_rc1", Lt, "1.0"),
            ("1.0", Lt, "1.0_cvs"),
            ("1.0_cvs", Lt, "1.0_svn"),
            ("1.0_svn", Lt, "1.0_git"),
            ("1.0_git", Lt, "1.0_hg"),
            ("1.0_hg", Lt, "1.0_p"),
            ("1.05", Lt, "1.5"),
            ("1.050", Gt, "1.05"),
            ("1.0", Lt, "1.00"),
            ("1.50", Gt, "1.5"),
            ("1.0-r0", Eq_, "1.0-r00"),
            ("1.0", Lt, "1.0-r0"),
            ("1.0~abc", Lt, "1.0~abd"),
            ("1.0~abc", Gt, "1.0"),
            ("1.0~abc-r0", Gt, "1.0-r1"),
            ("2.9.3-r0", Gt, "2.8.6-r0"),
            ("1.1.1d-r3", Gt, "1.1.1d-r2"),
            ("1.1.1-r0", Lt, "1.1.1a-r0"),
            ("1.1.1a-r0", Lt, "1.1.2-r0"),
            ("6.1_p20180414-r0", Gt, "6.1-r0"),
        ]);
    }

    #[test]
    fn rejects() {
        let shape = VersionErrorKind::Malformed("digits[.digits][letter][_suffix[N]][~hash][-rN]");
        check_rejects::<ApkVersion>(&[
            ("", VersionErrorKind::Empty),
            ("a1", shape.clone()),
            ("1.", shape.clone()),
            ("1.0_foo", shape.clone()),
            ("1.0ab", shape.clone()),
            ("1.0-r", shape.clone()),
            ("1.0 ", VersionErrorKind::InvalidChar(' ')),
            // apk-tools allows one letter only, so OpenSSL 0.9.8-style versions are rejected.
            ("0.9.8zh", shape.clone()),
            // apk-tools' own invalid examples, and the secdb's real typos.
            ("1.0bc", shape.clone()),
            ("23_foo", shape.clone()),
            ("4.8.0.-r1", shape.clone()),
            ("2.7.16-33", shape.clone()),
            ("1.0~", shape.clone()),
            ("1.0-r1_p1", shape.clone()),
        ]);
    }

    fn version() -> impl Strategy<Value = String> {
        "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}[a-z]?"
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = s.parse::<ApkVersion>();
        }

        #[test]
        fn pre_release_suffix_sorts_below_release(v in version(), i in 0usize..4, n in "[0-9]{0,2}") {
            let pre: ApkVersion = format!("{v}_{}{n}", SUFFIXES[i]).parse().unwrap();
            let release: ApkVersion = v.parse().unwrap();
            prop_assert!(pre < release);
        }

        #[test]
        fn post_release_suffix_sorts_above_release(v in version(), i in 4usize..9, n in "[0-9]{0,2}") {
            let post: ApkVersion = format!("{v}_{}{n}", SUFFIXES[i]).parse().unwrap();
            let release: ApkVersion = v.parse().unwrap();
            prop_assert!(post > release);
        }

        #[test]
        fn revision_orders_within_version(v in version(), a in 0u32..50, b in 0u32..50) {
            let x: ApkVersion = format!("{v}-r{a}").parse().unwrap();
            let y: ApkVersion = format!("{v}-r{b}").parse().unwrap();
            prop_assert_eq!(x.cmp(&y), a.cmp(&b));
        }

        #[test]
        fn antisymmetric(a in version(), b in version()) {
            let x: ApkVersion = a.parse().unwrap();
            let y: ApkVersion = b.parse().unwrap();
            prop_assert_eq!(x.cmp(&y), y.cmp(&x).reverse());
        }
    }
}
