//! Debian package versions: `[epoch:]upstream[-revision]`, ordered as `dpkg --compare-versions`.
//!
//! Debian policy 5.6.12: the epoch compares numerically; upstream and revision compare by
//! alternating non-digit and digit runs, where in the non-digit runs `~` sorts before
//! everything (even the end of the string), then the end, then letters, then other
//! characters; digit runs compare numerically. The revision is split at the *last* hyphen, and
//! a missing revision equals `0`.

use std::cmp::Ordering;
use std::str::FromStr;

use super::{cmp_digits, Scheme, VersionError, VersionErrorKind};

/// A parsed Debian package version.
#[derive(Debug, Clone)]
pub struct DpkgVersion {
    epoch: u64,
    upstream: String,
    revision: String,
    original: String,
}

impl DpkgVersion {
    /// The epoch (0 when absent).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The upstream part.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The Debian revision (empty when absent).
    pub fn revision(&self) -> &str {
        &self.revision
    }
}

impl FromStr for DpkgVersion {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, VersionError> {
        let err = |kind| VersionError::new(Scheme::Dpkg, input, kind);
        // dpkg strips surrounding blanks before parsing, so a status file's spacing is harmless.
        let s = input.trim();
        if s.is_empty() {
            return Err(err(VersionErrorKind::Empty));
        }
        let (epoch, rest) = match s.split_once(':') {
            Some((e, rest)) => {
                if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err(VersionErrorKind::BadEpoch));
                }
                let epoch = e.parse().map_err(|_| err(VersionErrorKind::Overflow))?;
                (epoch, rest)
            }
            None => (0, s),
        };
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((_, "")) => return Err(err(VersionErrorKind::EmptyPart("revision"))),
            Some((u, r)) => (u, r),
            None => (rest, ""),
        };
        if upstream.is_empty() {
            return Err(err(VersionErrorKind::EmptyPart("upstream")));
        }
        // dpkg only warns about this, but every real version starts with a digit, and a
        // version that does not is far more likely a misparsed field than a real package.
        if !upstream.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(err(VersionErrorKind::Malformed(
                "an upstream version starting with a digit",
            )));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~');
        if let Some(c) = upstream.chars().find(|&c| !allowed(c) && c != '-') {
            return Err(err(VersionErrorKind::InvalidChar(c)));
        }
        if let Some(c) = revision.chars().find(|&c| !allowed(c)) {
            return Err(err(VersionErrorKind::InvalidChar(c)));
        }
        Ok(DpkgVersion {
            epoch,
            upstream: upstream.to_owned(),
            revision: revision.to_owned(),
            original: s.to_owned(),
        })
    }
}

/// The weight of one character in a non-digit run; `None` is the end of the run.
fn order(c: Option<u8>) -> i32 {
    match c {
        Some(b'~') => -1,
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`: alternate non-digit and digit runs until one side differs.
pub(crate) fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied().filter(|c| !c.is_ascii_digit()));
            let bc = order(b.get(j).copied().filter(|c| !c.is_ascii_digit()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        let (si, sj) = (i, j);
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        // Both runs are ASCII digits, so the slices are valid UTF-8.
        let da = std::str::from_utf8(&a[si..i]).unwrap_or("");
        let db = std::str::from_utf8(&b[sj..j]).unwrap_or("");
        let ord = cmp_digits(da, db);
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

impl Ord for DpkgVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(&self.upstream, &other.upstream))
            .then_with(|| verrevcmp(&self.revision, &other.revision))
    }
}

ordered_by_scheme!(DpkgVersion, original);

#[cfg(test)]
mod tests {
    use super::super::{check_rejects, check_table};
    use super::*;
    use proptest::prelude::*;
    use Ordering::{Equal as Eq_, Greater as Gt, Less as Lt};

    #[test]
    fn real_cases() {
        check_table::<DpkgVersion>(&[
            // Cases from dpkg's own test suite (t-version.c) and real archive versions.
            ("1.0", Eq_, "1.0-0"),
            ("1.0", Lt, "1.0-1"),
            ("1.0~rc1", Lt, "1.0"),
            ("1.0~~", Lt, "1.0~~a"),
            ("1.0~~a", Lt, "1.0~"),
            ("1.0~", Lt, "1.0"),
            ("1.0", Lt, "1.0a"),
            ("1.0a", Lt, "1.0+"),
            ("1.0+dfsg", Lt, "1.0.1"),
            ("0:1.2", Eq_, "1.2"),
            ("1:0.1", Gt, "9.9"),
            ("2.36-9+deb12u3", Gt, "2.36-9"),
            ("2.36-9+deb12u3", Lt, "2.36-9+deb12u10"),
            ("5.8.0-1+deb12u1", Gt, "5.8.0-1"),
            ("98.0.4758.80-1~deb11u1", Lt, "98.0.4758.80-1"),
            ("1:1.2.13.dfsg-1", Gt, "1.2.13.dfsg-1"),
            ("3.0.11-1~deb12u2", Gt, "3.0.11-1~deb12u1"),
            ("1.2.3-1-2", Gt, "1.2.3-1-1"),
            ("007", Eq_, "7"),
            ("1.10", Gt, "1.9"),
            ("1.0-1+b1", Gt, "1.0-1"),
        ]);
    }

    #[test]
    fn parts() {
        let v: DpkgVersion = "1:2.3-4-5".parse().unwrap();
        assert_eq!((v.epoch(), v.upstream(), v.revision()), (1, "2.3-4", "5"));
        assert_eq!(v.to_string(), "1:2.3-4-5");
    }

    #[test]
    fn rejects() {
        check_rejects::<DpkgVersion>(&[
            ("", VersionErrorKind::Empty),
            ("  ", VersionErrorKind::Empty),
            ("a:1.0", VersionErrorKind::BadEpoch),
            (":1.0", VersionErrorKind::BadEpoch),
            ("1:", VersionErrorKind::EmptyPart("upstream")),
            ("1.0-", VersionErrorKind::EmptyPart("revision")),
            ("1.0 2", VersionErrorKind::InvalidChar(' ')),
            ("1.0-a_b", VersionErrorKind::InvalidChar('_')),
            (
                "abc",
                VersionErrorKind::Malformed("an upstream version starting with a digit"),
            ),
            ("99999999999999999999:1", VersionErrorKind::Overflow),
        ]);
    }

    fn part() -> impl Strategy<Value = String> {
        "[0-9][0-9a-z.+~]{0,8}"
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = s.parse::<DpkgVersion>();
        }

        #[test]
        fn tilde_sorts_before_end(u in part(), t in "[a-z0-9]{0,4}") {
            let base: DpkgVersion = u.parse().unwrap();
            let pre: DpkgVersion = format!("{u}~{t}").parse().unwrap();
            prop_assert!(pre < base);
        }

        #[test]
        fn letters_sort_before_other_symbols(u in part(), l in "[a-zA-Z]", s in "[.+]") {
            let letter: DpkgVersion = format!("{u}{l}").parse().unwrap();
            let symbol: DpkgVersion = format!("{u}{s}").parse().unwrap();
            prop_assert!(letter < symbol);
        }

        #[test]
        fn epoch_wins(a in part(), b in part(), e in 1u32..5) {
            let high: DpkgVersion = format!("{e}:{a}").parse().unwrap();
            let low: DpkgVersion = b.parse().unwrap();
            prop_assert!(high > low);
        }

        #[test]
        fn antisymmetric(a in part(), b in part(), ra in "[0-9a-z.+~]{0,3}", rb in "[0-9]{1,2}") {
            let x: DpkgVersion = if ra.is_empty() { a.clone() } else { format!("{a}-{ra}") }.parse().unwrap();
            let y: DpkgVersion = format!("{b}-{rb}").parse().unwrap();
            prop_assert_eq!(x.cmp(&y), y.cmp(&x).reverse());
        }
    }
}
