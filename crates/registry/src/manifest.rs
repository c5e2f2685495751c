//! Reading a pushed manifest: which kind it is, what it references, and whether it is well
//! formed enough to store. The bytes themselves are stored untouched; this only looks.

use std::collections::BTreeMap;

use oci::{Digest, ErrorCode};
use serde::Deserialize;
use store::{ManifestRecord, NewManifest};

use crate::error::RegistryError;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The fields of a manifest or index that the registry reads; everything else passes through
/// in the stored bytes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    schema_version: Option<i64>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    digest: Digest,
    size: u64,
}

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
    let raw: RawManifest = serde_json::from_slice(&payload)
        .map_err(|e| invalid(format!("the manifest is not valid JSON of a manifest: {e}")))?;
    if raw.schema_version != Some(2) {
        return Err(invalid("schemaVersion must be 2"));
    }
    let header = content_type
        .map(|value| value.split(';').next().unwrap_or_default().trim())
        .filter(|value| !value.is_empty() && !GENERIC_TYPES.contains(value));
    let media_type = match (header, raw.media_type.as_deref()) {
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
    let subject = raw.subject.as_ref().map(|s| s.digest.clone());
    let mut new = NewManifest {
        record: ManifestRecord {
            digest,
            media_type: media_type.clone(),
            artifact_type: raw.artifact_type.clone(),
            total_size: payload.len() as u64,
            payload,
            config_digest: None,
            subject_digest: subject.clone(),
        },
        layers: Vec::new(),
        children: Vec::new(),
    };
    let record = &mut new.record;
    match media_type.as_str() {
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let config = raw
                .config
                .ok_or_else(|| invalid("an image manifest needs a config descriptor"))?;
            let layers = raw.layers.unwrap_or_default();
            record.total_size += config.size + layers.iter().map(|l| l.size).sum::<u64>();
            // Referrers are filtered by the config's type when no artifactType is given.
            if record.artifact_type.is_none() {
                record.artifact_type = Some(config.media_type).filter(|t| !t.is_empty());
            }
            record.config_digest = Some(config.digest);
            new.layers = layers.into_iter().map(|l| l.digest).collect();
        }
        OCI_INDEX | DOCKER_MANIFEST_LIST => {
            let children = raw
                .manifests
                .ok_or_else(|| invalid("an index needs a manifests list"))?;
            record.total_size += children.iter().map(|c| c.size).sum::<u64>();
            new.children = children.into_iter().map(|c| c.digest).collect();
        }
        other => {
            return Err(invalid(format!(
                "media type {other} is not supported: push an OCI image manifest or index, \
                 or a Docker schema 2 manifest or manifest list"
            )))
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
pub fn annotations(payload: &[u8]) -> Option<BTreeMap<String, String>> {
    #[derive(Deserialize)]
    struct Annotated {
        annotations: Option<BTreeMap<String, String>>,
    }
    serde_json::from_slice::<Annotated>(payload)
        .ok()?
        .annotations
        .filter(|a| !a.is_empty())
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
        ];
        for (payload, content_type) in cases {
            let error = parse(payload.as_bytes().to_vec(), digest(), *content_type).unwrap_err();
            assert_eq!(error.code(), ErrorCode::ManifestInvalid, "{payload}");
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
