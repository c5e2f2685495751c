//! Licences as package metadata states them, made acceptable to SBOM validators. Metadata
//! says `MIT`, `Apache-2.0 OR MIT`, but also `BSD License` or a whole licence text; SPDX and
//! CycloneDX accept only identifiers from the SPDX licence list in expressions. A statement
//! made only of listed identifiers is kept as an expression; anything else is carried as
//! free text (SPDX `LicenseRef-…` with the text beside it, CycloneDX `license.name`).

/// Common identifiers of the SPDX licence list (non-deprecated), as found in package
/// metadata. A statement naming any other identifier is kept as free text, never dropped.
const SPDX_IDS: &[&str] = &[
    "0BSD",
    "AFL-2.1",
    "AFL-3.0",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-1.1",
    "Apache-2.0",
    "Artistic-1.0",
    "Artistic-1.0-Perl",
    "Artistic-2.0",
    "BlueOak-1.0.0",
    "BSD-1-Clause",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSD-4-Clause",
    "BSL-1.0",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "CC0-1.0",
    "CDDL-1.0",
    "EPL-1.0",
    "EPL-2.0",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "HPND",
    "ISC",
    "LGPL-2.0-only",
    "LGPL-2.0-or-later",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "MIT",
    "MIT-0",
    "MPL-1.1",
    "MPL-2.0",
    "OpenSSL",
    "PSF-2.0",
    "Python-2.0",
    "Unlicense",
    "WTFPL",
    "X11",
    "Zlib",
    "ZPL-2.1",
];

/// Exceptions that may follow `WITH`.
const SPDX_EXCEPTIONS: &[&str] = &[
    "Classpath-exception-2.0",
    "GCC-exception-3.1",
    "LLVM-exception",
];

/// A licence statement, sorted into what SBOM formats can carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum License<'a> {
    /// One listed identifier.
    Id(&'a str),
    /// An expression of listed identifiers with `AND`, `OR`, `WITH` and parentheses.
    Expression(&'a str),
    /// Anything else, as written.
    Text(&'a str),
}

/// Sorts one statement.
pub(crate) fn classify(statement: &str) -> License<'_> {
    let statement = statement.trim();
    if SPDX_IDS.contains(&statement) {
        return License::Id(statement);
    }
    if is_expression(statement) {
        License::Expression(statement)
    } else {
        License::Text(statement)
    }
}

/// Whether `text` is a well-formed expression of listed identifiers: operands and operators
/// alternate, `WITH` is followed by an exception, parentheses balance.
fn is_expression(text: &str) -> bool {
    let spaced = text.replace('(', " ( ").replace(')', " ) ");
    let mut depth = 0usize;
    let mut want_operand = true;
    let mut after_with = false;
    for token in spaced.split_whitespace() {
        match token {
            "(" if want_operand => depth += 1,
            ")" if !want_operand && depth > 0 => depth -= 1,
            "AND" | "OR" if !want_operand => want_operand = true,
            "WITH" if !want_operand && !after_with => {
                want_operand = true;
                after_with = true;
                continue;
            }
            t if want_operand && after_with && SPDX_EXCEPTIONS.contains(&t) => want_operand = false,
            t if want_operand && !after_with && SPDX_IDS.contains(&t) => want_operand = false,
            _ => return false,
        }
        after_with = false;
    }
    !want_operand && depth == 0
}

/// An SPDX `LicenseRef-` id for free text: readable, and unique per text through a short
/// hash, since two texts may sanitise alike.
pub(crate) fn license_ref(text: &str) -> String {
    let readable: String = text
        .chars()
        .take(40)
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let readable = match readable.trim_matches('-') {
        "" => "text",
        r => r,
    };
    let digest = oci::Digest::of(oci::DigestAlgorithm::Sha256, text.as_bytes());
    format!("LicenseRef-{readable}-{}", &digest.hex()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_sorted() {
        for (text, expected) in [
            ("MIT", License::Id("MIT")),
            (" Apache-2.0 ", License::Id("Apache-2.0")),
            (
                "Apache-2.0 OR MIT",
                License::Expression("Apache-2.0 OR MIT"),
            ),
            (
                "(MIT OR ISC) AND BSD-3-Clause",
                License::Expression("(MIT OR ISC) AND BSD-3-Clause"),
            ),
            (
                "GPL-2.0-only WITH Classpath-exception-2.0",
                License::Expression("GPL-2.0-only WITH Classpath-exception-2.0"),
            ),
            ("BSD License", License::Text("BSD License")),
            ("MIT OR", License::Text("MIT OR")),
            ("(MIT", License::Text("(MIT")),
            ("MIT WITH MIT", License::Text("MIT WITH MIT")),
            ("GPL-2+", License::Text("GPL-2+")),
            ("", License::Text("")),
        ] {
            assert_eq!(classify(text), expected, "{text:?}");
        }
    }

    #[test]
    fn license_refs_are_valid_and_distinct() {
        let a = license_ref("BSD License");
        assert!(a.starts_with("LicenseRef-BSD-License-"), "{a}");
        assert!(a[11..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
        assert_ne!(a, license_ref("BSD-License"));
    }
}
