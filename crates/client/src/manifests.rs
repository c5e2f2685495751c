//! Manifests (fetched with their digest checked, pushed with the registry's digest checked),
//! tags, and referrers with the fallback tag schema for registries without the referrers API.

use oci::manifest::{Descriptor, ImageIndex, Manifest, ManifestError, MediaType};
use oci::{Digest, DigestAlgorithm, TagExpected};
use serde::Deserialize;
use ureq::http::Method;

use crate::transport::{
    announced_digest, check_announced, delete, header, pull, push, read_limited, resolve,
    with_query, Call, Payload,
};
use crate::{Client, ClientError, Repository};

/// Hallmark's own limit, and far above any real manifest or index.
const MAX_MANIFEST: u64 = 4 << 20;
/// A page of tags or referrers.
const MAX_LISTING: u64 = 16 << 20;

/// A manifest as fetched: its exact bytes, their (verified) digest and the media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedManifest {
    /// The digest of `bytes`: for a manifest fetched by tag, what the tag pointed at, to
    /// push a change on with [`TagExpected::At`].
    pub digest: Digest,
    /// The media type the registry served it as (or, when it sent a generic type, the one
    /// the manifest declares).
    pub media_type: String,
    /// The manifest's bytes, unchanged: what its digest and any signature cover.
    pub bytes: Vec<u8>,
}

impl FetchedManifest {
    /// Parses the bytes as the image manifest or index their media type says.
    pub fn parse(&self) -> Result<Manifest, ManifestError> {
        Manifest::parse(Some(&self.media_type), &self.bytes)
    }
}

/// What a `HEAD` tells of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestInfo {
    /// Its digest.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Every manifest type, for `Accept`.
fn accept() -> String {
    MediaType::MANIFEST_TYPES.join(", ")
}

impl Client {
    /// Fetches the manifest `reference` (a tag or a digest) names. By digest, the bytes must
    /// hash to it; by tag, to the `Docker-Content-Digest` the registry announced, if any.
    pub fn manifest(
        &self,
        repository: &Repository,
        reference: &str,
    ) -> Result<FetchedManifest, ClientError> {
        let url = self.url(repository, &format!("manifests/{reference}"));
        let call =
            Call::new(Method::GET, repository, url, pull(repository)).header("accept", accept());
        let response = self.expect(call, &[200])?;
        let what = format!("manifest {reference}");
        let announced = announced_digest(repository, &response, &what)?;
        let served_as = header(&response, "content-type").map(str::to_owned);
        let bytes = read_limited(response, MAX_MANIFEST, repository.api_host(), &what)?;
        let expected = Digest::parse(reference).ok().or(announced);
        let algorithm = expected
            .as_ref()
            .map_or(DigestAlgorithm::Sha256, Digest::algorithm);
        let digest = Digest::of(algorithm, &bytes);
        if let Some(expected) = expected.filter(|e| *e != digest) {
            return Err(ClientError::DigestMismatch {
                host: repository.api_host().to_owned(),
                what,
                expected,
                actual: digest,
            });
        }
        let media_type = media_type_of(served_as.as_deref(), &bytes);
        Ok(FetchedManifest {
            digest,
            media_type,
            bytes,
        })
    }

    /// Whether the manifest exists, and its digest, type and size if so, from a `HEAD`. A
    /// registry that announces no digest for a tag is asked for the manifest itself.
    pub fn manifest_exists(
        &self,
        repository: &Repository,
        reference: &str,
    ) -> Result<Option<ManifestInfo>, ClientError> {
        let url = self.url(repository, &format!("manifests/{reference}"));
        let call =
            Call::new(Method::HEAD, repository, url, pull(repository)).header("accept", accept());
        let response = self.expect(call, &[200, 404])?;
        if response.status() == 404 {
            return Ok(None);
        }
        let what = format!("manifest {reference}");
        let digest = announced_digest(repository, &response, &what)?
            .or_else(|| Digest::parse(reference).ok());
        let size = header(&response, "content-length").and_then(|v| v.parse().ok());
        let media_type = header(&response, "content-type")
            .map(|t| t.split(';').next().unwrap_or_default().trim().to_owned())
            .filter(|t| !t.is_empty());
        match (digest, media_type, size) {
            (Some(digest), Some(media_type), Some(size)) => Ok(Some(ManifestInfo {
                digest,
                media_type,
                size,
            })),
            _ => {
                let fetched = self.manifest(repository, reference)?;
                Ok(Some(ManifestInfo {
                    size: fetched.bytes.len() as u64,
                    digest: fetched.digest,
                    media_type: fetched.media_type,
                }))
            }
        }
    }

    /// Pushes `bytes` as a manifest of `media_type` under `reference` (a tag, or the bytes'
    /// own digest) and returns its digest, checked against the one the registry announces.
    ///
    /// A manifest with a `subject` pushed to a registry that does not report processing it
    /// (no `OCI-Subject` header) is also added to the subject's referrers tag
    /// (`sha256-<hex>`), as the distribution spec asks of clients, so it can be found there.
    pub fn put_manifest(
        &self,
        repository: &Repository,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Digest, ClientError> {
        self.push_manifest(repository, reference, media_type, bytes, None)
    }

    /// [`Client::put_manifest`] under `tag`, only if the tag is as `expected`: the second half
    /// of a read-modify-write, which fails with [`ClientError::TagMoved`] (and changes nothing)
    /// when another client moved the tag since it was read.
    ///
    /// The condition travels as `If-Match`/`If-None-Match`. A registry that ignores them
    /// (distribution 2.8 does) moves the tag whatever it points at, as a plain push would.
    pub fn put_manifest_if(
        &self,
        repository: &Repository,
        tag: &str,
        media_type: &str,
        bytes: &[u8],
        expected: &TagExpected,
    ) -> Result<Digest, ClientError> {
        let pushed = self.push_manifest(repository, tag, media_type, bytes, Some(expected));
        match pushed {
            Err(ClientError::Registry {
                host,
                status: 412,
                message,
                ..
            }) => Err(ClientError::TagMoved {
                host,
                reference: format!("{}:{tag}", repository.name()),
                expected: expected.clone(),
                message,
            }),
            other => other,
        }
    }

    fn push_manifest(
        &self,
        repository: &Repository,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
        expected: Option<&TagExpected>,
    ) -> Result<Digest, ClientError> {
        let pinned = Digest::parse(reference).ok();
        let algorithm = pinned
            .as_ref()
            .map_or(DigestAlgorithm::Sha256, Digest::algorithm);
        let digest = Digest::of(algorithm, bytes);
        if let Some(pinned) = pinned.filter(|p| *p != digest) {
            return Err(ClientError::WrongDigest {
                what: "manifest".to_owned(),
                expected: pinned,
                actual: digest,
            });
        }
        let url = self.url(repository, &format!("manifests/{reference}"));
        let mut call = Call::new(Method::PUT, repository, url, push(repository))
            .header("content-type", media_type)
            .body(Payload::Bytes(bytes));
        call = match expected {
            None => call,
            Some(TagExpected::Absent) => call.header("if-none-match", "*"),
            Some(TagExpected::At(digest)) => call.header("if-match", format!("\"{digest}\"")),
        };
        let response = self.expect(call, &[201])?;
        check_announced(repository, &response, &digest, "pushed manifest")?;
        if header(&response, "oci-subject").is_none() {
            if let Ok(manifest) = Manifest::parse(Some(media_type), bytes) {
                if let Some(subject) = manifest.subject() {
                    let entry = referrer_entry(&manifest, media_type, &digest, bytes.len());
                    self.add_to_referrers_tag(repository, &subject.digest, entry)?;
                }
            }
        }
        Ok(digest)
    }

    /// Deletes the manifest `digest` (and with it every tag pointing at it).
    pub fn delete_manifest(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<(), ClientError> {
        let url = self.url(repository, &format!("manifests/{digest}"));
        let call = Call::new(Method::DELETE, repository, url, delete(repository));
        self.expect(call, &[200, 202, 204])?;
        Ok(())
    }

    /// Every tag of the repository, following `Link` pages to the end.
    pub fn tags(&self, repository: &Repository) -> Result<Vec<String>, ClientError> {
        #[derive(Deserialize)]
        struct Page {
            tags: Option<Vec<String>>,
        }
        let mut url = self.url(repository, "tags/list");
        if let Some(n) = self.options.page_size {
            url = with_query(&url, "n", &n.to_string());
        }
        let mut tags = Vec::new();
        loop {
            let call = Call::new(Method::GET, repository, url.clone(), pull(repository));
            let response = self.expect(call, &[200])?;
            let next = header(&response, "link")
                .and_then(crate::header::next_link)
                .map(|l| resolve(&url, l));
            let request = format!("GET {url}");
            let body = read_limited(response, MAX_LISTING, repository.api_host(), &request)?;
            let page: Page = parse_json(repository, &request, &body)?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(next) if next != url => url = next,
                _ => return Ok(tags),
            }
        }
    }

    /// The manifests that refer to `subject`, optionally only those of `artifact_type`:
    /// from the referrers API, or, where the registry has none (`404`), from the referrers tag
    /// `<algorithm>-<hex>`.
    pub fn referrers(
        &self,
        repository: &Repository,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, ClientError> {
        let mut url = self.url(repository, &format!("referrers/{subject}"));
        if let Some(artifact_type) = artifact_type {
            url = with_query(&url, "artifactType", artifact_type);
        }
        let mut found = Vec::new();
        let mut filtered = false;
        loop {
            let call = Call::new(Method::GET, repository, url.clone(), pull(repository))
                .header("accept", MediaType::OCI_INDEX);
            let response = self.send(call)?;
            match response.status().as_u16() {
                200 => {}
                404 if found.is_empty() => {
                    found = self.referrers_tag(repository, subject)?;
                    break;
                }
                _ => return Err(self.status_error(repository, response)),
            }
            filtered |= header(&response, "oci-filters-applied")
                .is_some_and(|v| v.split(',').any(|f| f.trim() == "artifactType"));
            let next = header(&response, "link")
                .and_then(crate::header::next_link)
                .map(|l| resolve(&url, l));
            let request = format!("GET {url}");
            let body = read_limited(response, MAX_LISTING, repository.api_host(), &request)?;
            let index: ImageIndex = parse_json(repository, &request, &body)?;
            found.extend(index.manifests);
            match next {
                Some(next) if next != url => url = next,
                _ => break,
            }
        }
        if let (Some(wanted), false) = (artifact_type, filtered) {
            found.retain(|d| d.artifact_type.as_deref() == Some(wanted));
        }
        Ok(found)
    }

    /// The referrers listed in the subject's fallback tag, or none if it has no such tag.
    fn referrers_tag(
        &self,
        repository: &Repository,
        subject: &Digest,
    ) -> Result<Vec<Descriptor>, ClientError> {
        Ok(self
            .referrers_index(repository, subject)?
            .map(|index| index.manifests)
            .unwrap_or_default())
    }

    fn referrers_index(
        &self,
        repository: &Repository,
        subject: &Digest,
    ) -> Result<Option<ImageIndex>, ClientError> {
        let tag = referrers_tag(subject);
        match self.manifest(repository, &tag) {
            Ok(fetched) => {
                parse_json(repository, &format!("manifest {tag}"), &fetched.bytes).map(Some)
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Adds `entry` to the subject's referrers tag, creating the index if it has none.
    fn add_to_referrers_tag(
        &self,
        repository: &Repository,
        subject: &Digest,
        entry: Descriptor,
    ) -> Result<(), ClientError> {
        let mut index = self
            .referrers_index(repository, subject)?
            .unwrap_or_else(|| ImageIndex::new(Vec::new()));
        if index.manifests.iter().any(|m| m.digest == entry.digest) {
            return Ok(());
        }
        index.manifests.push(entry);
        let bytes = serde_json::to_vec(&index).expect("an index serialises");
        self.put_manifest(
            repository,
            &referrers_tag(subject),
            MediaType::OCI_INDEX,
            &bytes,
        )?;
        Ok(())
    }
}

/// The fallback tag for referrers of `subject`: `sha256-<hex>`.
fn referrers_tag(subject: &Digest) -> String {
    format!("{}-{}", subject.algorithm(), subject.hex())
}

/// The descriptor a referrers list holds for a manifest: its artifact type (an image's
/// config type when it declares none) and its annotations.
fn referrer_entry(
    manifest: &Manifest,
    media_type: &str,
    digest: &Digest,
    size: usize,
) -> Descriptor {
    let (artifact_type, annotations) = match manifest {
        Manifest::Image(image) => (
            image
                .artifact_type
                .clone()
                .or_else(|| Some(image.config.media_type.clone())),
            image.annotations.clone(),
        ),
        Manifest::Index(index) => (index.artifact_type.clone(), index.annotations.clone()),
    };
    Descriptor {
        media_type: media_type.to_owned(),
        digest: digest.clone(),
        size: size as u64,
        urls: Vec::new(),
        annotations,
        platform: None,
        artifact_type,
        data: None,
    }
}

/// The manifest's type: the `Content-Type` unless generic, else what the manifest declares,
/// else an OCI manifest or index by its shape.
fn media_type_of(served_as: Option<&str>, bytes: &[u8]) -> String {
    const GENERIC: [&str; 3] = ["application/json", "application/octet-stream", "text/plain"];
    let served = served_as
        .map(|t| t.split(';').next().unwrap_or_default().trim())
        .filter(|t| !t.is_empty() && !GENERIC.contains(t));
    if let Some(served) = served {
        return served.to_owned();
    }
    match Manifest::parse(None, bytes) {
        Ok(Manifest::Image(image)) => image
            .media_type
            .unwrap_or_else(|| MediaType::OCI_MANIFEST.to_owned()),
        Ok(Manifest::Index(index)) => index
            .media_type
            .unwrap_or_else(|| MediaType::OCI_INDEX.to_owned()),
        Err(_) => served_as.unwrap_or(MediaType::OCI_MANIFEST).to_owned(),
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(
    repository: &Repository,
    request: &str,
    body: &[u8],
) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::InvalidResponse {
        host: repository.api_host().to_owned(),
        request: request.to_owned(),
        detail: format!("the body is not the expected JSON: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_come_from_the_header_or_the_document() {
        let index = br#"{"schemaVersion":2,"manifests":[]}"#;
        let docker = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"x","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}}"#;
        let cases: [(Option<&str>, &[u8], &str); 5] = [
            (
                Some("application/vnd.oci.image.index.v1+json; charset=utf-8"),
                b"{}",
                MediaType::OCI_INDEX,
            ),
            (Some("application/json"), index, MediaType::OCI_INDEX),
            (None, docker, MediaType::DOCKER_MANIFEST),
            (Some("text/plain"), b"not json", "text/plain"),
            (None, b"not json", MediaType::OCI_MANIFEST),
        ];
        for (served, bytes, expected) in cases {
            assert_eq!(media_type_of(served, bytes), expected, "{served:?}");
        }
    }

    #[test]
    fn referrer_entries_carry_the_artifact_type_or_config_type() {
        let subject = Descriptor::of(MediaType::OCI_MANIFEST, b"subject");
        let image = oci::manifest::ImageManifest {
            schema_version: 2,
            media_type: Some(MediaType::OCI_MANIFEST.to_owned()),
            artifact_type: None,
            config: Descriptor::of("application/vnd.example.sig", b"{}"),
            layers: Vec::new(),
            subject: Some(subject.clone()),
            annotations: [("a".to_owned(), "b".to_owned())].into(),
            extra: Default::default(),
        };
        let digest = Digest::of(DigestAlgorithm::Sha256, b"m");
        let manifest = Manifest::Image(Box::new(image));
        let entry = referrer_entry(&manifest, MediaType::OCI_MANIFEST, &digest, 9);
        assert_eq!(
            entry.artifact_type.as_deref(),
            Some("application/vnd.example.sig")
        );
        assert_eq!((entry.size, entry.annotations["a"].as_str()), (9, "b"));
        assert_eq!(
            referrers_tag(&subject.digest),
            format!("sha256-{}", subject.digest.hex())
        );
    }
}
