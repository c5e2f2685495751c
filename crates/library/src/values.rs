//! The value grammars of library fields, as bashbrew checks them.

use crate::model::ArchField;

/// Every field name a paragraph may use besides the `ARCH-` overrides.
pub(crate) const FIELD_NAMES: [&str; 11] = [
    "Maintainers",
    "Tags",
    "SharedTags",
    "Architectures",
    "GitRepo",
    "GitFetch",
    "GitCommit",
    "Directory",
    "File",
    "Builder",
    "Constraints",
];

/// The builders bashbrew knows.
pub(crate) const BUILDERS: [&str; 3] = ["buildkit", "classic", "oci-import"];

/// Splits a comma-separated field into trimmed items; an empty value is an empty list.
///
/// An item folded across lines is unfolded (its line breaks become spaces, as RFC 2822
/// unfolding does), so that every item prints back on one line.
pub(crate) fn list(value: &str) -> Vec<String> {
    if value.trim().is_empty() {
        return Vec::new();
    }
    value
        .split(',')
        .map(|item| item.trim().replace('\n', " "))
        .collect()
}

/// `refs/heads/…` or `refs/tags/…` with no `*`, `?` or `:` (bashbrew's GitFetchRegex).
pub(crate) fn is_valid_git_fetch(value: &str) -> bool {
    let rest = value
        .strip_prefix("refs/heads/")
        .or_else(|| value.strip_prefix("refs/tags/"));
    rest.is_some_and(|rest| !rest.is_empty() && !rest.contains(['*', '?', ':']))
}

/// 1 to 64 lowercase hex digits: an abbreviated or full SHA-1 or SHA-256 commit id.
pub(crate) fn is_valid_git_commit(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Empty (the default) or one of [`BUILDERS`].
pub(crate) fn is_valid_builder(value: &str) -> bool {
    value.is_empty() || BUILDERS.contains(&value)
}

/// `Full Name <contact-email-or-url> (@github-handle)` or `Full Name (@github-handle)`.
pub(crate) fn is_valid_maintainer(value: &str) -> bool {
    let plain =
        |s: &str| !s.is_empty() && !s.contains(|c: char| c.is_whitespace() || "<>()".contains(c));
    let Some(rest) = value.strip_suffix(')') else {
        return false;
    };
    let Some((head, handle)) = rest.rsplit_once("(@") else {
        return false;
    };
    if !plain(handle) || !head.ends_with(char::is_whitespace) {
        return false;
    }
    let head = head.trim_end();
    let name = match head.strip_suffix('>').and_then(|h| h.rsplit_once('<')) {
        Some((name, email)) if plain(email) && name.ends_with(char::is_whitespace) => {
            name.trim_end()
        }
        Some(_) => return false,
        None => head,
    };
    name.chars()
        .next()
        .is_some_and(|c| !c.is_whitespace() && !"<>()".contains(c))
        && !name.contains(['<', '>', '(', ')'])
}

/// Cleans a directory the way Go's `path.Clean` does, so `./3.12/` and `3.12` are one value.
pub(crate) fn clean_path(value: &str) -> String {
    let rooted = value.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in value.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// The known field a misspelt name most likely means: same letters ignoring case, or an
/// `ARCH-` override written with the wrong case.
pub(crate) fn suggest_field(name: &str) -> Option<String> {
    let known = |candidate: &str| {
        FIELD_NAMES
            .into_iter()
            .find(|f| f.eq_ignore_ascii_case(candidate))
    };
    if let Some(field) = known(name) {
        return Some(field.to_owned());
    }
    let (prefix, base) = name.rsplit_once('-')?;
    ArchField::ALL
        .into_iter()
        .find(|f| f.as_str().eq_ignore_ascii_case(base))
        .map(|f| format!("{}-{f}", prefix.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maintainers() {
        let cases = [
            ("Tianon Gravi <admwiggin@gmail.com> (@tianon)", true),
            ("Docker Library Bot (@docker-library-bot)", true),
            ("Jane <https://example.com/contact> (@jane)", true),
            ("Tianon Gravi <admwiggin@gmail.com>", false),
            ("Tianon Gravi (tianon)", false),
            ("(@tianon)", false),
            (" Tianon (@tianon)", false),
            ("Tianon <a b> (@tianon)", false),
            ("Tianon(@tianon)", false),
            ("Tianon (@ti non)", false),
        ];
        for (input, valid) in cases {
            assert_eq!(is_valid_maintainer(input), valid, "{input:?}");
        }
    }

    #[test]
    fn git_values() {
        assert!(is_valid_git_fetch("refs/heads/main"));
        assert!(is_valid_git_fetch("refs/tags/v1.0"));
        assert!(!is_valid_git_fetch("main"));
        assert!(!is_valid_git_fetch("refs/heads/*"));
        assert!(!is_valid_git_fetch("refs/pull/1/head"));
        assert!(is_valid_git_commit(
            "9950175fe6f74b450230a95a31d7afca1adfbce7"
        ));
        assert!(is_valid_git_commit("abc123"));
        assert!(!is_valid_git_commit("v1.0"));
        assert!(!is_valid_git_commit("ABC123"));
        assert!(!is_valid_git_commit(""));
    }

    #[test]
    fn paths_clean_like_go() {
        let cases = [
            (".", "."),
            ("./", "."),
            ("", "."),
            ("3.12/bookworm/", "3.12/bookworm"),
            ("./a//b/./c", "a/b/c"),
            ("a/../..", ".."),
            ("/a/../../b", "/b"),
        ];
        for (input, clean) in cases {
            assert_eq!(clean_path(input), clean, "{input:?}");
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest_field("gitcommit").as_deref(), Some("GitCommit"));
        assert_eq!(
            suggest_field("ARM64V8-directory").as_deref(),
            Some("arm64v8-Directory")
        );
        assert_eq!(suggest_field("Colour"), None);
    }
}
