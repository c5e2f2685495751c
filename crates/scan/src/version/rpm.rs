//! RPM package versions: `[epoch:]version[-release]`, ordered by rpm's `rpmvercmp`.
//!
//! `rpmvercmp` splits both strings into alternating runs of digits and letters, skipping every
//! other character as a separator. Digit runs compare numerically and beat letter runs; letter
//! runs compare as bytes. `~` sorts before everything, even the end of the string (pre-releases:
//! `1.0~rc1 < 1.0`); `^` sorts after the end but before any further run (post-release
//! snapshots: `1.0 < 1.0^git1 < 1.0.1`). A missing release sorts below any release so that the
//! order stays total.

use std::cmp::Ordering;
use std::str::FromStr;

use super::{cmp_digits, Scheme, VersionError, VersionErrorKind};

/// A parsed RPM version (epoch, version, release).
#[derive(Debug, Clone)]
pub struct RpmVersion {
    epoch: u64,
    version: String,
    release: String,
    original: String,
}

impl FromStr for RpmVersion {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, VersionError> {
        let err = |kind| VersionError::new(Scheme::Rpm, input, kind);
        if input.is_empty() {
            return Err(err(VersionErrorKind::Empty));
        }
        if let Some(c) = input.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(err(VersionErrorKind::InvalidChar(c)));
        }
        let (epoch, rest) = match input.split_once(':') {
            Some((e, rest)) => {
                if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err(VersionErrorKind::BadEpoch));
                }
                (
                    e.parse().map_err(|_| err(VersionErrorKind::Overflow))?,
                    rest,
                )
            }
            None => (0, input),
        };
        let (version, release) = rest.rsplit_once('-').unwrap_or((rest, ""));
        if version.is_empty() {
            return Err(err(VersionErrorKind::EmptyPart("version")));
        }
        if rest.ends_with('-') {
            return Err(err(VersionErrorKind::EmptyPart("release")));
        }
        Ok(RpmVersion {
            epoch,
            version: version.to_owned(),
            release: release.to_owned(),
            original: input.to_owned(),
        })
    }
}

/// rpm's `rpmvercmp`, segment by segment.
pub(crate) fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let is_separator = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    loop {
        while i < a.len() && is_separator(a[i]) {
            i += 1;
        }
        while j < b.len() && is_separator(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            match (ca, cb) {
                (None, _) => return Ordering::Less,
                (_, None) => return Ordering::Greater,
                (Some(x), _) if x != b'^' => return Ordering::Greater,
                (_, Some(y)) if y != b'^' => return Ordering::Less,
                _ => {}
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else { break };
        let numeric = ca.is_ascii_digit();
        let in_run = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let ea = i + a[i..].iter().take_while(|c| in_run(c)).count();
        let eb = j + b[j..].iter().take_while(|c| in_run(c)).count();
        if eb == j {
            // Different run kinds: a number is newer than letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (ra, rb) = (&a[i..ea], &b[j..eb]);
        let ord = if numeric {
            // Both runs are ASCII digits.
            cmp_digits(
                std::str::from_utf8(ra).unwrap_or(""),
                std::str::from_utf8(rb).unwrap_or(""),
            )
        } else {
            ra.cmp(rb)
        };
        if ord != Ordering::Equal {
            return ord;
        }
        i = ea;
        j = eb;
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

impl Ord for RpmVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| rpmvercmp(&self.release, &other.release))
    }
}

ordered_by_scheme!(RpmVersion, original);

#[cfg(test)]
mod tests {
    use super::super::{check_rejects, check_table};
    use super::*;
    use proptest::prelude::*;
    use Ordering::{Equal as Eq_, Greater as Gt, Less as Lt};

    #[test]
    fn real_cases() {
        check_table::<RpmVersion>(&[
            // From rpm's tests/rpmvercmp.at.
            ("1.0", Eq_, "1.0"),
            ("1.0", Lt, "2.0"),
            ("2.0.1", Gt, "2.0"),
            ("2.0.1a", Gt, "2.0.1"),
            ("5.5p1", Lt, "5.5p2"),
            ("5.5p10", Gt, "5.5p2"),
            ("10xyz", Lt, "10.1xyz"),
            ("xyz10", Lt, "xyz10.1"),
            ("xyz.4", Lt, "8"),
            ("1.0010", Gt, "1.9"),
            ("1.05", Eq_, "1.5"),
            ("2a", Lt, "2.0"),
            ("1.0", Gt, "1.fc4"),
            ("3.0.0_fc", Eq_, "3.0.0.fc"),
            ("1++", Eq_, "1_"),
            ("+a", Eq_, "_a"),
            ("1.0~rc1", Lt, "1.0"),
            ("1.0~rc1", Lt, "1.0~rc2"),
            ("1.0~rc1~git123", Lt, "1.0~rc1"),
            ("1.0^", Gt, "1.0"),
            ("1.0^git1", Gt, "1.0"),
            ("1.0^git1", Lt, "1.01"),
            ("1.0^git1", Lt, "1.0^git2"),
            ("1.0^git1~pre", Lt, "1.0^git1"),
            ("1.0~rc1^git1", Lt, "1.0~rc1^git2"),
            ("1.0~rc1^git1", Gt, "1.0~rc1"),
            // Epoch and release.
            ("1:1.0-1", Gt, "2.0-1"),
            ("1.0-1.el8", Lt, "1.0-2.el8"),
            ("1.0", Lt, "1.0-1"),
            ("0:1.0-1", Eq_, "1.0-1"),
        ]);
    }

    #[test]
    fn rejects() {
        check_rejects::<RpmVersion>(&[
            ("", VersionErrorKind::Empty),
            ("x:1", VersionErrorKind::BadEpoch),
            ("1:-1", VersionErrorKind::EmptyPart("version")),
            ("1.0-", VersionErrorKind::EmptyPart("release")),
            ("1.0 1", VersionErrorKind::InvalidChar(' ')),
        ]);
    }

    proptest! {
        #[test]
        fn never_panics(a in "\\PC{0,20}", b in "\\PC{0,20}") {
            let _ = rpmvercmp(&a, &b);
            let _ = a.parse::<RpmVersion>();
        }

        #[test]
        fn tilde_is_pre_release(v in "[0-9a-z.]{1,10}", t in "[0-9a-z]{0,5}") {
            prop_assert_eq!(rpmvercmp(&format!("{v}~{t}"), &v), Ordering::Less);
        }

        #[test]
        fn caret_sorts_between_release_and_next_segment(v in "[0-9]{1,3}(\\.[0-9]{1,3}){0,2}", t in "[a-z0-9]{0,5}") {
            let snapshot = format!("{v}^{t}");
            prop_assert_eq!(rpmvercmp(&snapshot, &v), Ordering::Greater);
            prop_assert_eq!(rpmvercmp(&snapshot, &format!("{v}.1")), Ordering::Less);
        }

        #[test]
        fn antisymmetric(a in "[0-9a-z.~^_]{0,10}", b in "[0-9a-z.~^_]{0,10}") {
            prop_assert_eq!(rpmvercmp(&a, &b), rpmvercmp(&b, &a).reverse());
        }
    }
}
