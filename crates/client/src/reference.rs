//! What the client talks to: a repository on a registry, and an image in it (a repository with
//! a tag or digest), parsed the docker way.

use std::fmt;
use std::net::IpAddr;

use oci::{Digest, ImageReference, DEFAULT_DOMAIN, OFFICIAL_NAMESPACE};

use crate::ClientError;

/// The host Docker Hub's registry API answers on; `docker.io` only names it.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A repository on a registry: `127.0.0.1:5000/library/debian`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Repository {
    registry: String,
    name: String,
}

impl Repository {
    /// Parses `[HOST[:PORT]/]NAME` (a `docker://` prefix is accepted). Without a host the
    /// repository is on Docker Hub; a one-segment name is under `library/` on every registry,
    /// as Docker Hub and Hallmark both file official images.
    pub fn parse(input: &str) -> Result<Self, ClientError> {
        let image = ImageRef::parse(input)?;
        if image.tag.is_some() || image.digest.is_some() {
            return Err(ClientError::NotARepository(input.to_owned()));
        }
        Ok(image.repository)
    }

    /// The registry as named: `docker.io`, `127.0.0.1:5000`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository's name on the registry: `library/debian`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Another repository on the same registry.
    pub fn sibling(&self, name: &str) -> Result<Self, ClientError> {
        Self::parse(&format!("{}/{name}", self.registry))
    }

    /// The host (and port) the registry API is served on.
    pub(crate) fn api_host(&self) -> &str {
        if self.registry == DEFAULT_DOMAIN {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.name)
    }
}

/// An image: a repository and the tag or digest that picks a manifest in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// Where the image lives.
    pub repository: Repository,
    /// The tag, if one was named.
    pub tag: Option<String>,
    /// The digest, if the reference pinned one; it wins over the tag when fetching.
    pub digest: Option<Digest>,
}

impl ImageRef {
    /// Parses `[docker://][HOST[:PORT]/]NAME[:TAG][@DIGEST]` like the docker CLI: `python` is
    /// `docker.io/library/python` (tag `latest` when fetched), and `HOST/python` is
    /// `HOST/library/python`.
    pub fn parse(input: &str) -> Result<Self, ClientError> {
        let text = input.strip_prefix("docker://").unwrap_or(input);
        let parsed = ImageReference::parse(text).map_err(|source| ClientError::Reference {
            input: input.to_owned(),
            source,
        })?;
        let name = if parsed.path.contains('/') {
            parsed.path
        } else {
            format!("{OFFICIAL_NAMESPACE}/{}", parsed.path)
        };
        let digest = parsed
            .digest
            .map(|d| Digest::parse(&d))
            .transpose()
            .map_err(|source| ClientError::Digest {
                input: input.to_owned(),
                source,
            })?;
        Ok(Self {
            repository: Repository {
                registry: parsed.domain,
                name,
            },
            tag: parsed.tag,
            digest,
        })
    }

    /// What to ask the registry for: the digest if pinned, else the tag, else `latest`.
    pub fn reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => "latest".to_owned(),
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Whether `host` (`HOST`, `HOST:PORT`, `[V6]:PORT`) is this machine, which is spoken to over
/// plain HTTP as docker does.
pub(crate) fn is_loopback(host: &str) -> bool {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return ip.is_loopback();
    }
    let bare = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        },
    };
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_normalise_like_docker() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let cases = [
            ("python", "docker.io/library/python", None, "latest"),
            (
                "docker://python:3",
                "docker.io/library/python",
                Some("3"),
                "3",
            ),
            ("nginx/unit:1", "docker.io/nginx/unit", Some("1"), "1"),
            (
                "127.0.0.1:5000/python",
                "127.0.0.1:5000/library/python",
                None,
                "latest",
            ),
            ("localhost:5000/a/b:t", "localhost:5000/a/b", Some("t"), "t"),
            (
                "registry.example/team/app:v1",
                "registry.example/team/app",
                Some("v1"),
                "v1",
            ),
        ];
        for (input, repository, tag, reference) in cases {
            let image = ImageRef::parse(input).unwrap();
            assert_eq!(image.repository.to_string(), repository, "{input}");
            assert_eq!(image.tag.as_deref(), tag, "{input}");
            assert_eq!(image.reference(), reference, "{input}");
        }
        let pinned = ImageRef::parse(&format!("debian:12@{digest}")).unwrap();
        assert_eq!(pinned.reference(), digest);
        assert_eq!(
            pinned.to_string(),
            format!("docker.io/library/debian:12@{digest}")
        );
    }

    #[test]
    fn repositories_refuse_tags_and_bad_names() {
        let repo = Repository::parse("127.0.0.1:5000/library/debian").unwrap();
        assert_eq!(
            (repo.registry(), repo.name(), repo.api_host()),
            ("127.0.0.1:5000", "library/debian", "127.0.0.1:5000")
        );
        assert_eq!(
            Repository::parse("debian").unwrap().api_host(),
            DOCKER_HUB_API
        );
        assert_eq!(
            repo.sibling("other").unwrap().to_string(),
            "127.0.0.1:5000/library/other"
        );
        for (input, expected) in [
            ("host:5000/a:tag", "names a tag or digest"),
            ("Host/UPPER", "invalid image reference"),
            ("", "invalid image reference"),
            ("a@sha256:abc", "invalid image reference"),
        ] {
            let err = Repository::parse(input).unwrap_err().to_string();
            assert!(err.contains(expected), "{input}: {err}");
        }
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for (host, expected) in [
            ("localhost", true),
            ("LOCALHOST:5000", true),
            ("127.0.0.1:5000", true),
            ("127.8.9.10", true),
            ("[::1]:5000", true),
            ("::1", true),
            ("registry.example:5000", false),
            ("10.0.0.1:5000", false),
            ("[::2]:443", false),
            ("localhost.example", false),
        ] {
            assert_eq!(is_loopback(host), expected, "{host}");
        }
    }
}
