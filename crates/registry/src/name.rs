//! Repository names and manifest references as the distribution spec's grammar allows them.

use std::fmt;

use oci::{Digest, ErrorCode, OFFICIAL_NAMESPACE};

use crate::error::RegistryError;

/// The longest repository name the spec requires registries to accept.
pub const MAX_NAME_LEN: usize = 255;

/// A valid repository name, in the form the client wrote it and in its canonical form: a
/// single-segment name `python` is stored as `library/python`, so `docker pull HOST/python` and
/// `HOST/library/python` reach one repository.
///
/// URLs handed back to a client (`Location`) keep the client's form, since clients compare
/// them with what they sent; everything stored uses the canonical one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepositoryName {
    canonical: String,
    requested: String,
}

impl RepositoryName {
    /// Validates `input` against the name grammar and returns its canonical form.
    pub fn parse(input: &str) -> Result<Self, RegistryError> {
        let invalid = |why: &str| {
            RegistryError::new(
                ErrorCode::NameInvalid,
                format!("repository name {input:?} {why}"),
            )
        };
        if input.len() > MAX_NAME_LEN {
            return Err(invalid("is longer than 255 characters"));
        }
        if !input.split('/').all(oci::is_valid_path_component) {
            return Err(invalid(
                "must be lowercase path components of a-z and 0-9, \
                 joined within a component by '.', '_', '__' or dashes",
            ));
        }
        let canonical = if input.contains('/') {
            input.to_owned()
        } else {
            format!("{OFFICIAL_NAMESPACE}/{input}")
        };
        if canonical.len() > MAX_NAME_LEN {
            return Err(invalid(
                "is longer than 255 characters with its library/ prefix",
            ));
        }
        Ok(Self {
            canonical,
            requested: input.to_owned(),
        })
    }

    /// The canonical name, under which the repository is stored.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }
}

/// The name as the client wrote it, for URLs and messages.
impl fmt::Display for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.requested)
    }
}

/// What a manifest URL names: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A tag such as `latest`.
    Tag(String),
    /// A manifest digest.
    Digest(Digest),
}

impl Reference {
    /// A reference with a `:` is a digest (and must be a valid one); anything else is a tag,
    /// which must follow the tag grammar.
    pub fn parse(input: &str) -> Result<Self, RegistryError> {
        if input.contains(':') {
            return Ok(Self::Digest(Digest::parse(input)?));
        }
        if oci::is_valid_tag(input) {
            Ok(Self::Tag(input.to_owned()))
        } else {
            Err(RegistryError::new(
                ErrorCode::TagInvalid,
                format!(
                    "tag {input:?} must be 1 to 128 of [A-Za-z0-9_.-], not starting with . or -"
                ),
            ))
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tag(tag) => f.write_str(tag),
            Self::Digest(digest) => f.write_str(digest.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_grammar_and_single_segments_join_library() {
        let long = format!("a/{}", "b".repeat(253));
        let too_long = format!("a/{}", "b".repeat(254));
        let cases: &[(&str, Option<&str>)] = &[
            ("python", Some("library/python")),
            ("library/python", Some("library/python")),
            ("amd64/debian", Some("amd64/debian")),
            ("a/b/c/d", Some("a/b/c/d")),
            ("my-org/my__repo.x", Some("my-org/my__repo.x")),
            ("a---b", Some("a---b").map(|_| "library/a---b")),
            (&long, Some(&long)),
            (&too_long, None),
            ("Python", None),
            ("", None),
            ("a//b", None),
            ("/a", None),
            ("a/", None),
            ("a___b", None),
            ("a.-b", None),
            ("-a", None),
            ("a-", None),
            ("a:b", None),
        ];
        for (input, expected) in cases {
            let parsed = RepositoryName::parse(input);
            match expected {
                Some(name) => assert_eq!(parsed.unwrap().as_str(), *name, "{input}"),
                None => assert_eq!(
                    parsed.unwrap_err().code(),
                    ErrorCode::NameInvalid,
                    "{input}"
                ),
            }
        }
    }

    #[test]
    fn references_are_tags_or_valid_digests() {
        assert_eq!(
            Reference::parse("v1.0").unwrap(),
            Reference::Tag("v1.0".into())
        );
        assert_eq!(
            Reference::parse("sha256:nope").unwrap_err().code(),
            ErrorCode::DigestInvalid
        );
        assert_eq!(
            Reference::parse(".bad").unwrap_err().code(),
            ErrorCode::TagInvalid
        );
    }
}
