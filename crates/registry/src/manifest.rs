//! Reading a pushed manifest: which kind it is, what it references, and whether it is well
//! formed enough to store. The bytes themselves are stored untouched; this only looks.

use std::collections::BTreeMap;

use oci::manifest::{Manifest, ManifestError, MediaType};
use oci::{Digest, ErrorCode};
use store::{ManifestRecord, NewManifest};

use crate::error::RegistryError;

/// A manifest checked for the registry's purposes.
#[derive(Debug)]
pub struct ParsedManifest {
    /// The media type it is stored and served with.
    pub media_type: String,
    /// The manifest it refers to, for the `OCI-Subject` header and referrers.
    pub subject: Option<Digest>,
    new: NewManifest,
}

impl ParsedManifest {
    /// What the metadata store records for it.
    pub fn record(&self) -> &NewManifest {
        &self.new
    }
}

fn invalid(detail: impl Into<String>) -> RegistryError {
    RegistryError::new(ErrorCode::ManifestInvalid, detail)
}

fn unsupported(media_type: &str) -> RegistryError {
    invalid(format!(
        "media type {media_type} is not supported: push an OCI image manifest or index, \
         or a Docker schema 2 manifest or manifest list"
    ))
}

/// Checks `payload` (pushed with `content_type`) and extracts what it references.
///
/// The media type is the `Content-Type` unless that is a generic type some clients send for
/// any JSON, else the payload's own `mediaType`; when both are given they must agree, so a
/// manifest is never served as a kind it does not claim to be.
pub fn parse(
    payload: Vec<u8>,
    digest: Digest,
    content_type: Option<&str>,
) -> Result<ParsedManifest, RegistryError> {
    let header = content_type
        .map(|value| value.split(';').next().unwrap_or_default().trim())
        .filter(|value| !value.is_empty() && !GENERIC_TYPES.contains(value));
    if let Some(other) = header.filter(|t| !MediaType::MANIFEST_TYPES.contains(t)) {
        return Err(unsupported(other));
    }
    let manifest = Manifest::parse(header, &payload).map_err(|error| match error {
        ManifestError::UnknownType(other) => unsupported(&other),
        ManifestError::Json { .. } => invalid(error.to_string()),
    })?;
    if manifest.schema_version() != 2 {
        return Err(invalid("schemaVersion must be 2"));
    }
    let media_type = match (header, manifest.media_type()) {
        (Some(header), Some(declared)) if header != declared => {
            return Err(invalid(format!(
                "Content-Type {header} differs from the manifest's mediaType {declared}"
            )))
        }
        (Some(media_type), _) | (None, Some(media_type)) => media_type.to_owned(),
        (None, None) => {
            return Err(invalid(
                "the manifest type is unknown: send a manifest Content-Type or set mediaType",
            ))
        }
    };
    let subject = manifest.subject().map(|s| s.digest.clone());
    let mut new = NewManifest {
        record: ManifestRecord {
            digest,
            media_type: media_type.clone(),
            artifact_type: None,
            total_size: payload.len() as u64,
            payload,
            config_digest: None,
            subject_digest: subject.clone(),
        },
        layers: Vec::new(),
        children: Vec::new(),
    };
    let record = &mut new.record;
    // Sizes are the pusher's claims: a hostile sum saturates rather than overflows.
    match manifest {
        Manifest::Image(image) => {
            let sizes = image
                .layers
                .iter()
                .map(|l| l.size)
                .chain([image.config.size]);
            record.total_size = sizes.fold(record.total_size, u64::saturating_add);
            // Referrers are filtered by the config's type when no artifactType is given.
            let config_type = Some(image.config.media_type).filter(|t| !t.is_empty());
            record.artifact_type = image.artifact_type.or(config_type);
            record.config_digest = Some(image.config.digest);
            new.layers = image.layers.into_iter().map(|l| l.digest).collect();
        }
        Manifest::Index(index) => {
            let sizes = index.manifests.iter().map(|c| c.size);
            record.total_size = sizes.fold(record.total_size, u64::saturating_add);
            record.artifact_type = index.artifact_type;
            new.children = index.manifests.into_iter().map(|c| c.digest).collect();
        }
    }
    Ok(ParsedManifest {
        media_type,
        subject,
        new,
    })
}

/// Content types that say "some bytes" or "some JSON" rather than which manifest this is.
const GENERIC_TYPES: [&str; 3] = ["application/json", "application/octet-stream", "text/plain"];

/// The annotations of a stored manifest, for its referrers descriptor.
pub fn annotations(media_type: &str, payload: &[u8]) -> Option<BTreeMap<String, String>> {
    let manifest = Manifest::parse(Some(media_type), payload).ok()?;
    Some(manifest.annotations().clone()).filter(|a| !a.is_empty())
}

/// Whether a client sending `accept` takes a manifest stored as `media_type`.
///
/// No `Accept`, a wildcard, or the stored type itself all take it. The registry never rewrites
/// a manifest into another type (its bytes are signed), so a client that lists only other
/// types is told the manifest is not available in a form it takes.
pub fn accepts(accept: &[&str], media_type: &str) -> bool {
    let mut listed = accept
        .iter()
        .flat_map(|value| value.split(','))
        .map(|item| item.split(';').next().unwrap_or_default().trim())
        .filter(|item| !item.is_empty())
        .peekable();
    listed.peek().is_none()
        || listed.any(|item| item == media_type || item == "*/*" || item == "application/*")
}

#[cfg(test)]
mod tests {
    use super::*;

    const OCI_MANIFEST: &str = MediaType::OCI_MANIFEST;
    const OCI_INDEX: &str = MediaType::OCI_INDEX;
    const DOCKER_MANIFEST: &str = MediaType::DOCKER_MANIFEST;

    fn digest() -> Digest {
        Digest::of(oci::DigestAlgorithm::Sha256, b"x")
    }

    fn blob(n: u8) -> String {
        Digest::of(oci::DigestAlgorithm::Sha256, &[n]).to_string()
    }

    #[test]
    fn image_manifests_yield_config_layers_subject_and_artifact_type() {
        let payload = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"application/x-cfg","digest":"{}","size":2}},
               "layers":[{{"mediaType":"l","digest":"{}","size":5}}],
               "subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":9}}}}"#,
            blob(1),
            blob(2),
            blob(3)
        );
        let len = payload.len() as u64;
        let parsed = parse(payload.into_bytes(), digest(), Some(OCI_MANIFEST)).unwrap();
        let new = parsed.record();
        let record = &new.record;
        assert_eq!(parsed.media_type, OCI_MANIFEST);
        assert_eq!(record.config_digest.as_ref().unwrap().as_str(), blob(1));
        assert_eq!(new.layers.len(), 1);
        assert_eq!(record.artifact_type.as_deref(), Some("application/x-cfg"));
        assert_eq!(parsed.subject.as_ref().unwrap().as_str(), blob(3));
        assert_eq!(record.total_size, len + 7);
    }

    #[test]
    fn malformed_manifests_are_manifest_invalid() {
        let cases: &[(&str, Option<&str>)] = &[
            ("blablabla", Some(OCI_MANIFEST)),
            (r#"{"schemaVersion":1}"#, Some(OCI_MANIFEST)),
            (r#"{"schemaVersion":2}"#, None),
            (r#"{"schemaVersion":2}"#, Some(OCI_MANIFEST)),
            (r#"{"schemaVersion":2,"mediaType":"x/y"}"#, None),
            (
                &format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[]}}"#),
                Some(OCI_MANIFEST),
            ),
            (
                r#"{"schemaVersion":2,"config":{"digest":"sha256:12","size":1}}"#,
                Some(OCI_MANIFEST),
            ),
            (r#"{"schemaVersion":1,"manifests":[]}"#, Some(OCI_INDEX)),
            (
                &format!(
                    r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}",{}}}"#,
                    config()
                ),
                Some(OCI_MANIFEST),
            ),
            (
                &format!(r#"{{"schemaVersion":2,{}}}"#, config()),
                Some("application/vnd.example+json"),
            ),
            (&format!(r#"{{"schemaVersion":2,{}}}"#, config()), None),
        ];
        for (payload, content_type) in cases {
            let error = parse(payload.as_bytes().to_vec(), digest(), *content_type).unwrap_err();
            assert_eq!(error.code(), ErrorCode::ManifestInvalid, "{payload}");
        }
    }

    fn config() -> String {
        format!(
            r#""config":{{"mediaType":"{}","digest":"{}","size":2}}"#,
            oci::manifest::MediaType::OCI_EMPTY,
            blob(1)
        )
    }

    #[test]
    fn the_type_comes_from_the_header_or_the_document() {
        let bare = format!(r#"{{"schemaVersion":2,{}}}"#, config());
        let docker = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}",{}}}"#,
            config()
        );
        let index = r#"{"schemaVersion":2,"manifests":[],"artifactType":"application/x-list"}"#;
        let cases = [
            (
                &bare,
                Some(OCI_MANIFEST),
                OCI_MANIFEST,
                Some(MediaType::OCI_EMPTY),
            ),
            (
                &docker,
                Some("application/json"),
                DOCKER_MANIFEST,
                Some(MediaType::OCI_EMPTY),
            ),
            (&docker, None, DOCKER_MANIFEST, Some(MediaType::OCI_EMPTY)),
            (
                &index.to_owned(),
                Some(OCI_INDEX),
                OCI_INDEX,
                Some("application/x-list"),
            ),
        ];
        for (payload, content_type, media_type, artifact_type) in cases {
            let parsed = parse(payload.clone().into_bytes(), digest(), content_type).unwrap();
            assert_eq!(parsed.media_type, media_type, "{payload}");
            let record = &parsed.record().record;
            assert_eq!(record.artifact_type.as_deref(), artifact_type, "{payload}");
        }
    }

    #[test]
    fn accept_negotiation() {
        assert!(accepts(&[], OCI_MANIFEST));
        assert!(accepts(&["*/*"], OCI_MANIFEST));
        assert!(accepts(
            &[&format!("{DOCKER_MANIFEST}, {OCI_MANIFEST};q=0.5")],
            OCI_MANIFEST
        ));
        assert!(!accepts(&[DOCKER_MANIFEST], OCI_INDEX));
    }
}
