//! Alpine package versions: `1.2.3[letter]{_suffix[N]}[-rN]`, ordered as apk-tools does.
//!
//! apk-tools walks both strings token by token (digits, letter, suffix, revision). That is
//! equivalent to comparing the parsed parts in order: the first number numerically; later
//! numbers numerically unless either has a leading zero, in which case they compare as
//! decimal fractions (`1.05 < 1.5`); more numbers sort higher; then the letter (none lowest);
//! then the suffixes, where `_alpha < _beta < _pre < _rc` sort below no suffix and
//! `_cvs < _svn < _git < _hg < _p` above it; then the `-rN` package revision.

use std::cmp::Ordering;
use std::str::FromStr;

use super::{cmp_digits, Scheme, VersionError, VersionErrorKind};

/// Suffixes in apk-tools' order; the first four sort before a version without suffix.
const SUFFIXES: [&str; 9] = ["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"];
const PRE_RELEASE_SUFFIXES: usize = 4;

/// A parsed Alpine package version.
#[derive(Debug, Clone)]
pub struct ApkVersion {
    numbers: Vec<String>,
    letter: Option<u8>,
    suffixes: Vec<(usize, Option<String>)>,
    revision: Option<String>,
    original: String,
}

impl FromStr for ApkVersion {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, VersionError> {
        let err = |kind| VersionError::new(Scheme::Apk, input, kind);
        let malformed = || {
            err(VersionErrorKind::Malformed(
                "digits[.digits][letter][_suffix[N]][-rN]",
            ))
        };
        if input.is_empty() {
            return Err(err(VersionErrorKind::Empty));
        }
        let mut rest = input;
        let (main, revision) = match rest.rsplit_once("-r") {
            Some((main, rev)) if !rev.is_empty() && rev.bytes().all(|b| b.is_ascii_digit()) => {
                (main, Some(rev.to_owned()))
            }
            _ => (rest, None),
        };
        rest = main;
        let mut numbers = Vec::new();
        loop {
            let digits = take_digits(&mut rest);
            if digits.is_empty() {
                return Err(malformed());
            }
            numbers.push(digits.to_owned());
            match rest.strip_prefix('.') {
                Some(r) => rest = r,
                None => break,
            }
        }
        let mut letter = None;
        if let Some(&c) = rest.as_bytes().first() {
            if c.is_ascii_lowercase() {
                letter = Some(c);
                rest = &rest[1..];
            }
        }
        let mut suffixes = Vec::new();
        while let Some(r) = rest.strip_prefix('_') {
            let name_len = r.bytes().take_while(u8::is_ascii_lowercase).count();
            let kind = SUFFIXES
                .iter()
                .position(|s| *s == &r[..name_len])
                .ok_or_else(malformed)?;
            rest = &r[name_len..];
            let n = take_digits(&mut rest);
            suffixes.push((kind, (!n.is_empty()).then(|| n.to_owned())));
        }
        if let Some(c) = rest.chars().next() {
            return Err(if c.is_ascii_alphanumeric() || "._-~".contains(c) {
                malformed()
            } else {
                err(VersionErrorKind::InvalidChar(c))
            });
        }
        Ok(ApkVersion {
            numbers,
            letter,
            suffixes,
            revision,
            original: input.to_owned(),
        })
    }
}

fn take_digits<'a>(rest: &mut &'a str) -> &'a str {
    let n = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (digits, tail) = rest.split_at(n);
    *rest = tail;
    digits
}

/// A later version component: numeric, or a decimal fraction when either has a leading zero.
fn cmp_component(a: &str, b: &str) -> Ordering {
    if a.starts_with('0') || b.starts_with('0') {
        a.trim_end_matches('0').cmp(b.trim_end_matches('0'))
    } else {
        cmp_digits(a, b)
    }
}

fn cmp_optional_number(a: &Option<String>, b: &Option<String>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => cmp_digits(a, b),
        (a, b) => a.is_some().cmp(&b.is_some()),
    }
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let ord = cmp_digits(&self.numbers[0], &other.numbers[0]);
        if ord != Ordering::Equal {
            return ord;
        }
        for (a, b) in self.numbers[1..].iter().zip(&other.numbers[1..]) {
            let ord = cmp_component(a, b);
            if ord != Ordering::Equal {
                return ord;
            }
        }
        let ord = self
            .numbers
            .len()
            .cmp(&other.numbers.len())
            .then(self.letter.cmp(&other.letter));
        if ord != Ordering::Equal {
            return ord;
        }
        for (a, b) in self.suffixes.iter().zip(&other.suffixes) {
            let ord = a.0.cmp(&b.0).then_with(|| cmp_optional_number(&a.1, &b.1));
            if ord != Ordering::Equal {
                return ord;
            }
        }
        // The side with an extra suffix is lower if that suffix marks a pre-release.
        let extra =
            |longer: &Self, shorter: &Self| match longer.suffixes.get(shorter.suffixes.len()) {
                Some((kind, _)) if *kind < PRE_RELEASE_SUFFIXES => Ordering::Less,
                Some(_) => Ordering::Greater,
                None => Ordering::Equal,
            };
        let ord = match self.suffixes.len().cmp(&other.suffixes.len()) {
            Ordering::Greater => extra(self, other),
            Ordering::Less => extra(other, self).reverse(),
            Ordering::Equal => Ordering::Equal,
        };
        ord.then_with(|| cmp_optional_number(&self.revision, &other.revision))
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
            // From apk-tools' test/version.data and real secdb fix versions.
            ("2.9.3-r0", Gt, "2.8.6-r0"),
            ("1.1.1d-r3", Gt, "1.1.1d-r2"),
            ("1.1.1d-r0", Gt, "1.1.1c-r0"),
            ("1.1.1-r0", Lt, "1.1.1a-r0"),
            ("1.1.1a-r0", Lt, "1.1.2-r0"),
            ("1.0_rc1", Lt, "1.0"),
            ("1.0_alpha", Lt, "1.0_beta"),
            ("1.0_beta", Lt, "1.0_pre"),
            ("1.0_pre", Lt, "1.0_rc"),
            ("1.0", Lt, "1.0_cvs"),
            ("1.0_cvs", Lt, "1.0_svn"),
            ("1.0_svn", Lt, "1.0_git"),
            ("1.0_git", Lt, "1.0_hg"),
            ("1.0_hg", Lt, "1.0_p"),
            ("1.0_p1", Lt, "1.0_p2"),
            ("1.0_alpha", Lt, "1.0_alpha1"),
            ("1.0_p1", Lt, "1.0.1"),
            ("1.0", Lt, "1.0.0"),
            ("1.0-r1", Lt, "1.0.1"),
            ("1.05", Lt, "1.5"),
            ("1.005", Lt, "1.05"),
            ("1.50", Gt, "1.5"),
            ("1.10", Gt, "1.9"),
            ("2.4.41-r0", Eq_, "2.4.41-r0"),
            ("1.0_rc1_p2", Lt, "1.0_rc1_p3"),
            ("1.0_rc1_pre", Lt, "1.0_rc1"),
            ("1.0_rc1", Lt, "1.0_rc1_p1"),
            ("1.0-r0", Eq_, "1.0-r00"),
            ("1.0", Lt, "1.0-r0"),
        ]);
    }

    #[test]
    fn rejects() {
        let shape = VersionErrorKind::Malformed("digits[.digits][letter][_suffix[N]][-rN]");
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
