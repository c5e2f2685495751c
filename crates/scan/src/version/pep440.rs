//! Python package versions (PEP 440), parsed leniently the way `packaging.version` does and
//! ordered by its sort key.
//!
//! Accepted spellings are normalised: case is ignored, a leading `v` and surrounding blanks are
//! dropped, `alpha`/`beta`/`c`/`pre`/`preview` become `a`/`b`/`rc`, `rev`/`r`/`-N` become
//! `.post`, separators between parts are optional and a missing number is 0. Order: epoch,
//! release (trailing zeros ignored, so `1.0 == 1.0.0`), then `X.devN < XaN < XbN < XrcN < X
//! < X.postN`, with a dev release sorting before its own pre or post release, and finally the
//! local label (none lowest; numeric segments above alphanumeric ones).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::{Scheme, VersionError, VersionErrorKind};

/// A parsed PEP 440 version.
#[derive(Debug, Clone)]
pub struct Pep440Version {
    epoch: u64,
    release: Vec<u64>,
    pre: Option<(PreLabel, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
    local: Vec<LocalSegment>,
}

/// A pre-release label in normalised form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PreLabel {
    Alpha,
    Beta,
    Rc,
}

/// A local label segment: numbers sort above strings, as in `packaging`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalSegment {
    Text(String),
    Number(u64),
}

/// `Low < Value < High`, for the parts whose absence sorts at one end.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Bound<T> {
    Low,
    Value(T),
    High,
}

const SEPARATORS: &[u8] = b"-_.";

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn number(&mut self) -> Option<Result<u64, VersionErrorKind>> {
        let n = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        let digits = &self.rest()[..n];
        self.pos += n;
        Some(digits.parse().map_err(|_| VersionErrorKind::Overflow))
    }

    /// Consumes an optional separator followed by one of `labels`; returns the label's index.
    fn label(&mut self, labels: &[&str]) -> Option<usize> {
        let rest = self.rest();
        let skip = usize::from(rest.bytes().next().is_some_and(|b| SEPARATORS.contains(&b)));
        let found = labels.iter().position(|l| rest[skip..].starts_with(l))?;
        self.pos += skip + labels[found].len();
        Some(found)
    }

    /// The optional `[sep]N` after a label; a separator is taken only before digits.
    fn label_number(&mut self) -> Result<u64, VersionErrorKind> {
        let rest = self.rest().as_bytes();
        if rest.len() > 1 && SEPARATORS.contains(&rest[0]) && rest[1].is_ascii_digit() {
            self.pos += 1;
        }
        self.number().unwrap_or(Ok(0))
    }
}

impl FromStr for Pep440Version {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, VersionError> {
        let err = |kind| VersionError::new(Scheme::Pep440, input, kind);
        let shape = || {
            err(VersionErrorKind::Malformed(
                "[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]",
            ))
        };
        let lower = input.trim().to_ascii_lowercase();
        if lower.is_empty() {
            return Err(err(VersionErrorKind::Empty));
        }
        let mut c = Cursor {
            s: lower.strip_prefix('v').unwrap_or(&lower),
            pos: 0,
        };
        let first = c.number().ok_or_else(shape)?.map_err(err)?;
        let (epoch, mut release) = if c.rest().starts_with('!') {
            c.pos += 1;
            (first, vec![c.number().ok_or_else(shape)?.map_err(err)?])
        } else {
            (0, vec![first])
        };
        while c.rest().starts_with('.') && c.rest()[1..].starts_with(|ch: char| ch.is_ascii_digit())
        {
            c.pos += 1;
            release.push(c.number().ok_or_else(shape)?.map_err(err)?);
        }
        // Longer spellings first, so `alpha` is not read as `a` followed by junk.
        const PRE: [&str; 8] = ["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"];
        let pre = match c.label(&PRE) {
            Some(i) => {
                let label = match PRE[i] {
                    "alpha" | "a" => PreLabel::Alpha,
                    "beta" | "b" => PreLabel::Beta,
                    _ => PreLabel::Rc,
                };
                Some((label, c.label_number().map_err(err)?))
            }
            None => None,
        };
        let post = if c.rest().starts_with('-')
            && c.rest()[1..].starts_with(|ch: char| ch.is_ascii_digit())
        {
            c.pos += 1;
            Some(c.number().ok_or_else(shape)?.map_err(err)?)
        } else if c.label(&["post", "rev", "r"]).is_some() {
            Some(c.label_number().map_err(err)?)
        } else {
            None
        };
        let dev = match c.label(&["dev"]) {
            Some(_) => Some(c.label_number().map_err(err)?),
            None => None,
        };
        let mut local = Vec::new();
        if let Some(label) = c.rest().strip_prefix('+') {
            for segment in label.split(['-', '_', '.']) {
                if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(shape());
                }
                local.push(match segment.parse() {
                    Ok(n) if segment.bytes().all(|b| b.is_ascii_digit()) => LocalSegment::Number(n),
                    _ => LocalSegment::Text(segment.to_owned()),
                });
            }
            c.pos = c.s.len();
        }
        if let Some(ch) = c.rest().chars().next() {
            return Err(if ch.is_ascii_alphanumeric() || "!+-_.".contains(ch) {
                shape()
            } else {
                err(VersionErrorKind::InvalidChar(ch))
            });
        }
        Ok(Pep440Version {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }
}

impl Pep440Version {
    /// Whether this is a pre-release or development release.
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    fn release_key(&self) -> &[u64] {
        let len = self
            .release
            .iter()
            .rposition(|&n| n != 0)
            .map_or(0, |i| i + 1);
        &self.release[..len]
    }

    fn pre_key(&self) -> Bound<(PreLabel, u64)> {
        match (self.pre, self.post, self.dev) {
            // `1.0.dev0` sorts before `1.0a0`, but `1.0.post0.dev0` stays after `1.0`.
            (None, None, Some(_)) => Bound::Low,
            (None, _, _) => Bound::High,
            (Some(p), _, _) => Bound::Value(p),
        }
    }
}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| self.release_key().cmp(other.release_key()))
            .then_with(|| self.pre_key().cmp(&other.pre_key()))
            .then_with(|| {
                self.post
                    .map_or(Bound::Low, Bound::Value)
                    .cmp(&other.post.map_or(Bound::Low, Bound::Value))
            })
            .then_with(|| {
                self.dev
                    .map_or(Bound::High, Bound::Value)
                    .cmp(&other.dev.map_or(Bound::High, Bound::Value))
            })
            .then_with(|| self.local.cmp(&other.local))
    }
}

ordered_by_scheme!(Pep440Version);

/// The normalised form, as `packaging` prints it.
impl fmt::Display for Pep440Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}!", self.epoch)?;
        }
        let release: Vec<String> = self.release.iter().map(u64::to_string).collect();
        f.write_str(&release.join("."))?;
        if let Some((label, n)) = self.pre {
            let label = match label {
                PreLabel::Alpha => "a",
                PreLabel::Beta => "b",
                PreLabel::Rc => "rc",
            };
            write!(f, "{label}{n}")?;
        }
        if let Some(n) = self.post {
            write!(f, ".post{n}")?;
        }
        if let Some(n) = self.dev {
            write!(f, ".dev{n}")?;
        }
        for (i, segment) in self.local.iter().enumerate() {
            f.write_str(if i == 0 { "+" } else { "." })?;
            match segment {
                LocalSegment::Text(s) => f.write_str(s)?,
                LocalSegment::Number(n) => write!(f, "{n}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{check_rejects, check_table};
    use super::*;
    use proptest::prelude::*;
    use Ordering::{Equal as Eq_, Greater as Gt, Less as Lt};

    #[test]
    fn real_cases() {
        check_table::<Pep440Version>(&[
            // The ordering example from PEP 440's "Summary of permitted suffixes".
            ("1.dev0", Lt, "1.0.dev456"),
            ("1.0.dev456", Lt, "1.0a1"),
            ("1.0a1", Lt, "1.0a2.dev456"),
            ("1.0a2.dev456", Lt, "1.0a12.dev456"),
            ("1.0a12.dev456", Lt, "1.0a12"),
            ("1.0a12", Lt, "1.0b1.dev456"),
            ("1.0b1.dev456", Lt, "1.0b2"),
            ("1.0b2", Lt, "1.0b2.post345.dev456"),
            ("1.0b2.post345.dev456", Lt, "1.0b2.post345"),
            ("1.0b2.post345", Lt, "1.0rc1.dev456"),
            ("1.0rc1.dev456", Lt, "1.0rc1"),
            ("1.0rc1", Lt, "1.0"),
            ("1.0", Lt, "1.0+abc.5"),
            ("1.0+abc.5", Lt, "1.0+abc.7"),
            ("1.0+abc.7", Lt, "1.0+5"),
            ("1.0+5", Lt, "1.0.post456.dev34"),
            ("1.0.post456.dev34", Lt, "1.0.post456"),
            ("1.0.post456", Lt, "1.1.dev1"),
            // Normalisation and epochs.
            ("1.0", Eq_, "1.0.0"),
            ("1.0.0-1", Eq_, "1.0.0.post1"),
            ("1.0-r4", Eq_, "1.0.post4"),
            ("1.0.0-a.1", Eq_, "1.0.0a1"),
            ("1.0-preview2", Eq_, "1.0rc2"),
            ("v1.0", Eq_, "1.0"),
            ("1.0C1", Eq_, "1.0rc1"),
            ("1!1.0", Gt, "2.0"),
            ("2020.12.5", Lt, "2021.5.30"),
            ("3.2", Lt, "3.2.14"),
            ("1.26.4", Lt, "1.26.5"),
            ("1.0+ubuntu1", Gt, "1.0+ubuntu.1"),
        ]);
    }

    #[test]
    fn normalised_form() {
        for (input, normal) in [
            ("1.0.0-A.1", "1.0.0a1"),
            ("1.0-Beta", "1.0b0"),
            ("1.0_post_2", "1.0.post2"),
            ("1.0-dev", "1.0.dev0"),
            ("1.0+Ubuntu-1", "1.0+ubuntu.1"),
            (" v2!3.4c5 ", "2!3.4rc5"),
        ] {
            assert_eq!(
                input.parse::<Pep440Version>().unwrap().to_string(),
                normal,
                "{input}"
            );
        }
    }

    #[test]
    fn rejects() {
        let shape = VersionErrorKind::Malformed("[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]");
        check_rejects::<Pep440Version>(&[
            ("", VersionErrorKind::Empty),
            ("abc", shape.clone()),
            ("1.0x", shape.clone()),
            ("1.0+", shape.clone()),
            ("1.0+a..b", shape.clone()),
            ("1!", shape.clone()),
            ("1.0 beta", VersionErrorKind::InvalidChar(' ')),
            ("99999999999999999999999", VersionErrorKind::Overflow),
        ]);
    }

    fn release() -> impl Strategy<Value = String> {
        "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}"
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = s.parse::<Pep440Version>();
        }

        #[test]
        fn suffix_order(r in release(), n in 0u32..20) {
            let chain = [
                format!("{r}.dev{n}"), format!("{r}a{n}"), format!("{r}b{n}"),
                format!("{r}rc{n}"), r.clone(), format!("{r}+local"), format!("{r}.post{n}"),
            ];
            for pair in chain.windows(2) {
                let a: Pep440Version = pair[0].parse().unwrap();
                let b: Pep440Version = pair[1].parse().unwrap();
                prop_assert!(a < b, "{} < {}", pair[0], pair[1]);
            }
        }

        #[test]
        fn normal_form_round_trips(r in release(), pre in "(|a|b|rc)[0-9]?", post in "(|\\.post[0-9])") {
            let v: Pep440Version = format!("{r}{pre}{post}").parse().unwrap();
            let again: Pep440Version = v.to_string().parse().unwrap();
            prop_assert_eq!(again.to_string(), v.to_string());
            prop_assert_eq!(again, v);
        }

        #[test]
        fn trailing_zeros_do_not_count(r in release(), zeros in 1usize..4) {
            let padded = format!("{r}{}", ".0".repeat(zeros));
            prop_assert_eq!(r.parse::<Pep440Version>().unwrap(), padded.parse::<Pep440Version>().unwrap());
        }
    }
}
