//! Image references (`debian:bookworm`, `mcr.microsoft.com/windows/servercore:ltsc2022`,
//! `alpine@sha256:…`) parsed by the distribution grammar and normalised the way the docker CLI
//! does: no registry means Docker Hub, and a single-segment Hub name lives under `library/`.

use std::fmt;

/// The registry a reference without a domain points at.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The namespace of official images on a registry.
pub const OFFICIAL_NAMESPACE: &str = "library";
const MAX_TAG_LEN: usize = 128;

/// What a tag must point at for a conditional push to move it (`If-None-Match: *` or
/// `If-Match: "<digest>"`): the compare of a compare-and-set on the tag, the same for the
/// registry's store and a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagExpected {
    /// The tag must not exist yet.
    Absent,
    /// The tag must point at exactly this manifest, as read.
    At(crate::Digest),
}

impl fmt::Display for TagExpected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Absent => f.write_str("absent"),
            Self::At(digest) => write!(f, "at {digest}"),
        }
    }
}
const MAX_NAME_LEN: usize = 255;

/// A parsed, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageReference {
    /// The registry host (and port), `docker.io` when the reference named none.
    pub domain: String,
    /// The repository path on that registry, `library/debian` for `debian`.
    pub path: String,
    /// The tag, if the reference named one.
    pub tag: Option<String>,
    /// The digest (`algorithm:hex`), if the reference pinned one.
    pub digest: Option<String>,
}

/// Why a string is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// The reference is empty.
    #[error("image reference is empty")]
    Empty,
    /// A path component breaks the distribution name grammar.
    #[error("invalid repository name {0:?}: use lowercase letters, digits and separators (., _, __, -) between them, components joined by /")]
    InvalidName(String),
    /// The whole name is longer than the distribution spec allows.
    #[error("repository name {0:?} is longer than 255 characters")]
    NameTooLong(String),
    /// The tag breaks the tag grammar.
    #[error("invalid tag {0:?}: a tag is up to 128 of [A-Za-z0-9_.-], not starting with . or -")]
    InvalidTag(String),
    /// The digest is not `algorithm:hex`.
    #[error("invalid digest {0:?}: expected algorithm:hex, for example sha256:<64 hex digits>")]
    InvalidDigest(String),
}

impl ImageReference {
    /// Parses `[domain/]path[:tag][@digest]`.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) => {
                if !is_valid_digest(digest) {
                    return Err(ReferenceError::InvalidDigest(digest.to_owned()));
                }
                (rest, Some(digest.to_owned()))
            }
            None => (input, None),
        };
        // A colon after the last slash starts the tag; one before it belongs to a host:port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].find(':') {
            Some(i) => {
                let (name, tag) = rest.split_at(last_slash + i);
                let tag = &tag[1..];
                if !is_valid_tag(tag) {
                    return Err(ReferenceError::InvalidTag(tag.to_owned()));
                }
                (name, Some(tag.to_owned()))
            }
            None => (rest, None),
        };
        let (domain, path) = split_domain(name);
        if path.is_empty() || !path.split('/').all(is_valid_path_component) {
            return Err(ReferenceError::InvalidName(name.to_owned()));
        }
        if name.len() > MAX_NAME_LEN {
            return Err(ReferenceError::NameTooLong(name.to_owned()));
        }
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("{OFFICIAL_NAMESPACE}/{path}")
        } else {
            path.to_owned()
        };
        Ok(ImageReference {
            domain: domain.to_owned(),
            path,
            tag,
            digest,
        })
    }

    /// The official image's repository name (`debian` for `debian:bookworm` or
    /// `docker.io/library/debian`), or `None` for any other image.
    pub fn official_repository(&self) -> Option<&str> {
        if self.domain != DEFAULT_DOMAIN {
            return None;
        }
        self.path
            .strip_prefix(OFFICIAL_NAMESPACE)
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|name| !name.contains('/'))
    }

    /// The tag, or `latest` when the reference named neither tag nor digest's tag.
    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }

    /// Whether the reference pins content by digest.
    pub fn is_pinned(&self) -> bool {
        self.digest.is_some()
    }

    /// The short form the docker CLI shows: `debian:bookworm`, `nginx/unit:1`, or the full
    /// name for other registries.
    pub fn familiar_name(&self) -> String {
        match (self.domain.as_str(), self.official_repository()) {
            (_, Some(official)) => official.to_owned(),
            (DEFAULT_DOMAIN, None) => self.path.clone(),
            (domain, None) => format!("{domain}/{}", self.path),
        }
    }
}

/// The familiar form with its tag and digest, e.g. `debian:bookworm` or `alpine@sha256:…`.
impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.familiar_name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Splits off the registry host the way the docker CLI does: the first component is a host
/// when it has a dot or a port, or is `localhost`.
fn split_domain(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first, rest)
        }
        _ => (DEFAULT_DOMAIN, name),
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, the distribution spec's path component.
pub fn is_valid_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(&bytes[0]) || !alnum(&bytes[bytes.len() - 1]) {
        return false;
    }
    let mut separator = String::new();
    for &b in bytes {
        if alnum(&b) {
            if !(separator.is_empty()
                || separator == "."
                || separator == "_"
                || separator == "__"
                || separator.bytes().all(|s| s == b'-'))
            {
                return false;
            }
            separator.clear();
        } else if matches!(b, b'.' | b'_' | b'-') {
            separator.push(b as char);
        } else {
            return false;
        }
    }
    true
}

/// Whether `tag` follows `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`, the tag grammar shared by Docker
/// and OCI.
pub fn is_valid_tag(tag: &str) -> bool {
    let mut bytes = tag.bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    tag.len() <= MAX_TAG_LEN
        && bytes.next().is_some_and(word)
        && bytes.all(|b| word(b) || b == b'.' || b == b'-')
}

/// `algorithm:encoded` with a registered algorithm's exact hex length, or any other
/// well-formed algorithm name with a non-empty encoding.
fn is_valid_digest(digest: &str) -> bool {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return false;
    };
    let hex = |len: usize| {
        encoded.len() == len
            && encoded
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match algorithm {
        "sha256" => hex(64),
        "sha512" => hex(128),
        _ => {
            !algorithm.is_empty()
                && algorithm
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
                && !encoded.is_empty()
                && encoded
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn normalises_like_the_docker_cli() {
        // input, domain, path, tag, official repository
        type Case<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, Option<&'a str>);
        let cases: &[Case] = &[
            (
                "debian",
                "docker.io",
                "library/debian",
                None,
                Some("debian"),
            ),
            (
                "debian:bookworm",
                "docker.io",
                "library/debian",
                Some("bookworm"),
                Some("debian"),
            ),
            (
                "docker.io/library/debian:12",
                "docker.io",
                "library/debian",
                Some("12"),
                Some("debian"),
            ),
            (
                "nginx/unit:1.0",
                "docker.io",
                "nginx/unit",
                Some("1.0"),
                None,
            ),
            (
                "mcr.microsoft.com/windows/servercore:ltsc2022",
                "mcr.microsoft.com",
                "windows/servercore",
                Some("ltsc2022"),
                None,
            ),
            ("localhost:5000/a/b", "localhost:5000", "a/b", None, None),
            ("localhost/a", "localhost", "a", None, None),
        ];
        for &(input, domain, path, tag, official) in cases {
            let r = ImageReference::parse(input).unwrap();
            assert_eq!(r.domain, domain, "{input}");
            assert_eq!(r.path, path, "{input}");
            assert_eq!(r.tag.as_deref(), tag, "{input}");
            assert_eq!(r.official_repository(), official, "{input}");
        }
    }

    #[test]
    fn digests_pin_and_print() {
        let r = ImageReference::parse(&format!("alpine:3.20@{SHA}")).unwrap();
        assert!(r.is_pinned());
        assert_eq!(r.to_string(), format!("alpine:3.20@{SHA}"));
        assert!(matches!(
            ImageReference::parse("alpine@sha256:abc"),
            Err(ReferenceError::InvalidDigest(_))
        ));
    }

    #[test]
    fn rejects_bad_names_and_tags() {
        for bad in [
            "", "Debian", "a//b", "-a", "a-", "a:", "a:-x", "a..b", "a___b",
        ] {
            assert!(ImageReference::parse(bad).is_err(), "{bad:?} should fail");
        }
        for good in ["a__b", "a---b", "a.b_c", "a:_x", "a:X.y-1"] {
            assert!(ImageReference::parse(good).is_ok(), "{good:?} should parse");
        }
        assert!(ImageReference::parse(&format!("a:{}", "x".repeat(129))).is_err());
    }
}
