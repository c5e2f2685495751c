//! HTTP preconditions on a manifest push (RFC 9110 §13.1.1–2): `If-Match` and
//! `If-None-Match`, evaluated against the digest the tag points at, which is the manifest's
//! entity tag (manifest responses carry `ETag: "<digest>"`).
//!
//! A client reads a tag, changes the manifest, and pushes it with `If-Match: "<digest read>"`
//! (or `If-None-Match: *` when the tag did not exist): the push then fails with 412 rather
//! than silently replacing what another client pushed in between.

use axum::http::{header, HeaderMap};
use oci::Digest;

/// An `If-Match` or `If-None-Match` field: `*`, or a list of entity tags.
#[derive(Debug, Clone, PartialEq, Eq)]
enum EntityTags {
    /// `*`: any current representation.
    Any,
    /// The tags listed, each with whether it is weak (`W/"…"`).
    Listed(Vec<(bool, String)>),
}

impl EntityTags {
    /// The field's values combined (a list may be split over several header lines);
    /// `None` when the request has no such field.
    fn of<'v>(values: impl IntoIterator<Item = &'v [u8]>) -> Option<Self> {
        let mut listed = Vec::new();
        let mut any = false;
        let mut present = false;
        for value in values {
            present = true;
            // A value that is not text names no tag: it can match nothing.
            let Ok(value) = std::str::from_utf8(value) else {
                continue;
            };
            for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                if item == "*" {
                    any = true;
                    continue;
                }
                let (weak, opaque) = match item.strip_prefix("W/") {
                    Some(rest) => (true, rest),
                    None => (false, item),
                };
                // Quotes are required; a bare digest is taken as meant, for hand-written calls.
                let opaque = opaque
                    .strip_prefix('"')
                    .and_then(|o| o.strip_suffix('"'))
                    .unwrap_or(opaque);
                listed.push((weak, opaque.to_owned()));
            }
        }
        match (present, any) {
            (false, _) => None,
            (true, true) => Some(Self::Any),
            (true, false) => Some(Self::Listed(listed)),
        }
    }

    /// Whether the current representation matches; `strong` compares as `If-Match` must
    /// (a weak tag matches nothing), otherwise as `If-None-Match` does.
    fn matches(&self, current: Option<&Digest>, strong: bool) -> bool {
        let Some(current) = current else {
            return false;
        };
        match self {
            Self::Any => true,
            Self::Listed(tags) => tags
                .iter()
                .any(|(weak, tag)| !(strong && *weak) && tag == current.as_str()),
        }
    }
}

/// A push's preconditions; [`Preconditions::of`] gives `None` when it has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preconditions {
    if_match: Option<EntityTags>,
    if_none_match: Option<EntityTags>,
}

impl Preconditions {
    /// The request's preconditions, if it sets any.
    pub(crate) fn of(headers: &HeaderMap) -> Option<Self> {
        let values = |name| headers.get_all(name).into_iter().map(|v| v.as_bytes());
        Self::from_fields(values(header::IF_MATCH), values(header::IF_NONE_MATCH))
    }

    /// The preconditions the `If-Match` and `If-None-Match` field lines (raw, as received)
    /// set, if any.
    pub fn from_fields<'v>(
        if_match: impl IntoIterator<Item = &'v [u8]>,
        if_none_match: impl IntoIterator<Item = &'v [u8]>,
    ) -> Option<Self> {
        let found = Self {
            if_match: EntityTags::of(if_match),
            if_none_match: EntityTags::of(if_none_match),
        };
        (found.if_match.is_some() || found.if_none_match.is_some()).then_some(found)
    }

    /// Whether they hold while the reference points at `current` (`None`: nothing).
    pub fn hold(&self, current: Option<&Digest>) -> bool {
        let matched = self
            .if_match
            .as_ref()
            .is_none_or(|t| t.matches(current, true));
        let unmatched = self
            .if_none_match
            .as_ref()
            .is_none_or(|t| !t.matches(current, false));
        matched && unmatched
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn conditions_hold_as_rfc_9110_says() {
        let a = Digest::of(oci::DigestAlgorithm::Sha256, b"a");
        let b = Digest::of(oci::DigestAlgorithm::Sha256, b"b");
        let (qa, qb) = (format!("\"{a}\""), format!("\"{b}\""));
        // (If-Match lines, If-None-Match lines, whether they hold at: nothing, a, b)
        let cases: Vec<(Vec<String>, Vec<String>, [bool; 3])> = vec![
            (vec![qa.clone()], vec![], [false, true, false]),
            (vec![format!("{qb}, {qa}")], vec![], [false, true, true]),
            (vec![qb.clone(), qa.clone()], vec![], [false, true, true]),
            (vec!["*".into()], vec![], [false, true, true]),
            // If-Match compares strongly: a weak tag never matches.
            (vec![format!("W/{qa}")], vec![], [false, false, false]),
            (vec![a.to_string()], vec![], [false, true, false]),
            (vec![], vec!["*".into()], [true, false, false]),
            (vec![], vec![qa.clone()], [true, false, true]),
            (vec![], vec![format!("W/{qa}")], [true, false, true]),
            (vec![qa.clone()], vec![qb.clone()], [false, true, false]),
            (vec![qa.clone()], vec![qa.clone()], [false, false, false]),
        ];
        for (if_match, if_none_match, expected) in cases {
            let mut headers = HeaderMap::new();
            for (name, values) in [
                (header::IF_MATCH, &if_match),
                (header::IF_NONE_MATCH, &if_none_match),
            ] {
                for value in values {
                    headers.append(name.clone(), HeaderValue::from_str(value).unwrap());
                }
            }
            let conditions = Preconditions::of(&headers).expect("conditions");
            let held = [None, Some(&a), Some(&b)].map(|current| conditions.hold(current));
            assert_eq!(
                held, expected,
                "If-Match {if_match:?} If-None-Match {if_none_match:?}"
            );
        }
        assert_eq!(Preconditions::of(&HeaderMap::new()), None);
    }
}
