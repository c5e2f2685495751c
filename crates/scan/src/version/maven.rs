//! Maven artifact versions, ordered as Maven's `ComparableVersion`.
//!
//! The version is lower-cased and split into items at `.`, at `-`, and where digits meet
//! letters; a `-` or a digit/letter change opens a nested list, so `1-1` is `[1, [1]]`, and
//! `.X` counts as `-X` for a qualifier X at the end or before digits. Each list drops its
//! trailing "null" items (`0`, the empty qualifier, an empty list), which is why
//! `1.0.0 == 1` and `1-ga == 1`. Items compare as: numbers numerically and above everything;
//! lists above qualifiers; qualifiers by rank, `alpha < beta < milestone < rc = cr <
//! snapshot < "" = ga = final = release < sp`, with unknown qualifiers after `sp` in
//! alphabetical order. A single letter followed by a digit abbreviates (`a1` = `alpha-1`,
//! `b2`, `m3`). Missing items compare as null, a list by all its items, so
//! `1-alpha < 1 < 1-sp < 1.1`. The differential test checks all this against Maven 3.8's
//! own `ComparableVersion`.

use std::cmp::Ordering;
use std::str::FromStr;

use super::{cmp_digits, Scheme, VersionError, VersionErrorKind};

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
/// The rank of the empty qualifier, which a missing item equals.
const RELEASE_RANK: usize = 5;

/// A parsed Maven version.
#[derive(Debug, Clone)]
pub struct MavenVersion {
    items: Vec<Item>,
    original: String,
}

#[derive(Debug, Clone)]
enum Item {
    /// Digits without leading zeros ("" is zero).
    Number(String),
    /// A qualifier: its rank, and its text for unknown qualifiers.
    Qualifier(usize, String),
    List(Vec<Item>),
}

impl Item {
    fn qualifier(text: &str, followed_by_digit: bool) -> Item {
        let text = match text {
            "a" if followed_by_digit => "alpha",
            "b" if followed_by_digit => "beta",
            "m" if followed_by_digit => "milestone",
            "ga" | "final" | "release" => "",
            "cr" => "rc",
            other => other,
        };
        match QUALIFIERS.iter().position(|q| *q == text) {
            Some(rank) => Item::Qualifier(rank, String::new()),
            None => Item::Qualifier(QUALIFIERS.len(), text.to_owned()),
        }
    }

    fn parse(text: &str, digits: bool) -> Item {
        if digits {
            Item::Number(text.trim_start_matches('0').to_owned())
        } else {
            Item::qualifier(text, false)
        }
    }

    fn is_null(&self) -> bool {
        match self {
            Item::Number(n) => n.is_empty(),
            Item::Qualifier(rank, _) => *rank == RELEASE_RANK,
            Item::List(items) => items.is_empty(),
        }
    }

    /// Compares with a missing item.
    fn cmp_null(&self) -> Ordering {
        match self {
            Item::Number(n) => {
                if n.is_empty() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            Item::Qualifier(rank, _) => rank.cmp(&RELEASE_RANK),
            // Every item counts, not only the first (MNG-6964): `1-ga.1 > 1`.
            Item::List(items) => items
                .iter()
                .map(Item::cmp_null)
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal),
        }
    }

    fn cmp_item(&self, other: &Item) -> Ordering {
        match (self, other) {
            (Item::Number(a), Item::Number(b)) => cmp_digits(a, b),
            (Item::Number(_), _) => Ordering::Greater,
            (_, Item::Number(_)) => Ordering::Less,
            (Item::Qualifier(ra, ta), Item::Qualifier(rb, tb)) => {
                ra.cmp(rb).then_with(|| ta.cmp(tb))
            }
            (Item::Qualifier(..), Item::List(_)) => Ordering::Less,
            (Item::List(_), Item::Qualifier(..)) => Ordering::Greater,
            (Item::List(a), Item::List(b)) => cmp_lists(a, b),
        }
    }
}

fn cmp_lists(a: &[Item], b: &[Item]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let ord = match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) => x.cmp_item(y),
            (Some(x), None) => x.cmp_null(),
            (None, Some(y)) => y.cmp_null().reverse(),
            (None, None) => Ordering::Equal,
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// Drops trailing null items, stopping at the first non-null item that is not a list.
fn normalize(items: &mut Vec<Item>) {
    let mut i = items.len();
    while i > 0 {
        i -= 1;
        if items[i].is_null() {
            items.remove(i);
        } else if !matches!(items[i], Item::List(_)) {
            break;
        }
    }
}

/// The list a qualifier goes into: Maven treats `.X` like `-X` for a qualifier X that ends
/// the version or precedes digits (MNG-5568), so that `1.0.0.X1 < 1.0.0-X2`; a qualifier
/// that starts a list stays in it.
fn qualifier_list(stack: &mut Vec<Vec<Item>>) -> &mut Vec<Item> {
    if stack.last().is_some_and(|list| !list.is_empty()) {
        stack.push(Vec::new());
    }
    stack
        .last_mut()
        .expect("the stack starts with the root list")
}

/// Builds the nested item lists; each `-` or digit/letter switch opens a list inside the
/// current one, so the stack only ever grows and is folded back at the end.
fn parse_items(version: &str) -> Vec<Item> {
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let mut digits = false;
    let mut start = 0;
    let bytes = version.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        let current = stack
            .last_mut()
            .expect("the stack starts with the root list");
        match c {
            b'.' | b'-' => {
                if i == start {
                    current.push(Item::Number(String::new()));
                } else {
                    current.push(Item::parse(&version[start..i], digits));
                }
                start = i + 1;
                if c == b'-' {
                    stack.push(Vec::new());
                }
            }
            b'0'..=b'9' => {
                if !digits && i > start {
                    qualifier_list(&mut stack).push(Item::qualifier(&version[start..i], true));
                    start = i;
                    stack.push(Vec::new());
                }
                digits = true;
            }
            _ => {
                if digits && i > start {
                    current.push(Item::parse(&version[start..i], true));
                    start = i;
                    stack.push(Vec::new());
                }
                digits = false;
            }
        }
    }
    if version.len() > start {
        let list = if digits {
            stack
                .last_mut()
                .expect("the stack starts with the root list")
        } else {
            qualifier_list(&mut stack)
        };
        list.push(Item::parse(&version[start..], digits));
    }
    while stack.len() > 1 {
        let mut list = stack.pop().unwrap_or_default();
        normalize(&mut list);
        if let Some(parent) = stack.last_mut() {
            parent.push(Item::List(list));
        }
    }
    let mut root = stack.pop().unwrap_or_default();
    normalize(&mut root);
    root
}

impl FromStr for MavenVersion {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, VersionError> {
        let err = |kind| VersionError::new(Scheme::Maven, input, kind);
        if input.trim().is_empty() {
            return Err(err(VersionErrorKind::Empty));
        }
        if let Some(c) = input.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(err(VersionErrorKind::InvalidChar(c)));
        }
        // Maven lower-cases with the root locale; only ASCII letters matter for qualifiers.
        let lower = input.to_ascii_lowercase();
        Ok(MavenVersion {
            items: parse_items(&lower),
            original: input.to_owned(),
        })
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_lists(&self.items, &other.items)
    }
}

ordered_by_scheme!(MavenVersion, original);

#[cfg(test)]
mod tests {
    use super::super::{check_rejects, check_table};
    use super::*;
    use proptest::prelude::*;
    use Ordering::{Equal as Eq_, Greater as Gt, Less as Lt};

    #[test]
    fn real_cases() {
        check_table::<MavenVersion>(&[
            // From Maven's ComparableVersionTest.
            ("1", Eq_, "1.0"),
            ("1", Eq_, "1.0.0"),
            ("1-ga", Eq_, "1"),
            ("1-final", Eq_, "1"),
            ("1-release", Eq_, "1"),
            ("1-cr1", Eq_, "1-rc1"),
            ("1a1", Eq_, "1-alpha-1"),
            ("1b2", Eq_, "1-beta-2"),
            ("1m3", Eq_, "1-milestone-3"),
            ("1X", Eq_, "1x"),
            ("1-alpha", Lt, "1-beta"),
            ("1-beta", Lt, "1-milestone"),
            ("1-milestone", Lt, "1-rc"),
            ("1-rc", Lt, "1-snapshot"),
            ("1-snapshot", Lt, "1"),
            ("1", Lt, "1-sp"),
            ("1-sp", Lt, "1-abc"),
            ("1-abc", Lt, "1-def"),
            ("1-sp", Lt, "1.1"),
            ("1-1", Lt, "1.1"),
            ("1-1", Gt, "1"),
            ("1.0-alpha-1", Lt, "1.0"),
            ("1.0-alpha-1", Lt, "1.0-alpha-2"),
            ("1.0-alpha-2", Lt, "1.0-beta-1"),
            ("1.0-SNAPSHOT", Lt, "1.0"),
            ("1.0", Lt, "1.0-1"),
            ("1.0-1", Lt, "1.0.1"),
            ("2.0.1", Lt, "2.0.1-123"),
            ("2.0.1-xyz", Lt, "2.0.1-123"),
            ("2.0", Lt, "2.0.0.1"),
            ("1.2.3.RELEASE", Eq_, "1.2.3"),
            ("2.14.0-rc1", Lt, "2.14.0"),
            ("9.4.43.v20210629", Lt, "9.4.44.v20210927"),
            ("2.9.10.8", Gt, "2.9.10.7"),
        ]);
    }

    #[test]
    fn rejects() {
        check_rejects::<MavenVersion>(&[
            ("", VersionErrorKind::Empty),
            ("1.0 beta", VersionErrorKind::InvalidChar(' ')),
        ]);
    }

    fn version() -> impl Strategy<Value = String> {
        "[0-9]{1,2}(\\.[0-9]{1,2}){0,2}"
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = s.parse::<MavenVersion>();
        }

        #[test]
        fn qualifier_ranks(v in version(), i in 0usize..7, j in 0usize..7) {
            let x: MavenVersion = format!("{v}-{}", QUALIFIERS[i]).parse().unwrap();
            let y: MavenVersion = format!("{v}-{}", QUALIFIERS[j]).parse().unwrap();
            prop_assert_eq!(x.cmp(&y), i.cmp(&j));
        }

        #[test]
        fn zero_padding_is_equal(v in version(), zeros in 1usize..4) {
            let padded = format!("{v}{}", ".0".repeat(zeros));
            prop_assert_eq!(v.parse::<MavenVersion>().unwrap(), padded.parse::<MavenVersion>().unwrap());
        }

        #[test]
        fn antisymmetric(a in "[0-9a-z.-]{1,10}", b in "[0-9a-z.-]{1,10}") {
            let x: MavenVersion = a.parse().unwrap();
            let y: MavenVersion = b.parse().unwrap();
            prop_assert_eq!(x.cmp(&y), y.cmp(&x).reverse());
        }
    }
}
