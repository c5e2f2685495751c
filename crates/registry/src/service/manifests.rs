//! Manifests: pull by tag or digest, push with validation, delete.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::Response;
use oci::{Digest, DigestAlgorithm, ErrorCode};
use store::{BlobStore, MetaError, MetaStore, NewManifest, StoredManifest, TagExpected};

use super::{respond, DOCKER_CONTENT_DIGEST};
use crate::auth::Caller;
use crate::body::read_limited;
use crate::conditional::Preconditions;
use crate::error::{RegistryError, Result};
use crate::manifest;
use crate::name::{Reference, RepositoryName};
use crate::Registry;

const OCI_SUBJECT: HeaderName = HeaderName::from_static("oci-subject");

/// How often a conditional push whose tag moved between its check and its compare-and-set
/// checks again before it gives up: each retry means another push got in.
const CONDITIONAL_ATTEMPTS: usize = 8;

impl<B: BlobStore, M: MetaStore> Registry<B, M> {
    /// `GET`/`HEAD /v2/<name>/manifests/<reference>`: the exact bytes pushed, with the media
    /// type they were pushed with.
    pub(crate) async fn get_manifest(
        &self,
        name: &RepositoryName,
        reference: &str,
        headers: &HeaderMap,
        head: bool,
    ) -> Result<Response> {
        let manifest = self.find_manifest(name, reference).await?;
        let accept: Vec<&str> = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if !manifest::accepts(&accept, &manifest.record.media_type) {
            return Err(RegistryError::new(
                ErrorCode::ManifestUnknown,
                format!(
                    "{name}:{reference} is stored as {}, which the Accept header does not list",
                    manifest.record.media_type
                ),
            ));
        }
        let length = manifest.record.payload.len().to_string();
        let etag = format!("\"{}\"", manifest.record.digest);
        let headers = [
            (header::CONTENT_TYPE, manifest.record.media_type.as_str()),
            (header::CONTENT_LENGTH, length.as_str()),
            (DOCKER_CONTENT_DIGEST, manifest.record.digest.as_str()),
            (header::ETAG, etag.as_str()),
        ];
        let body = if head {
            Body::empty()
        } else {
            self.metrics.record_sent(manifest.record.payload.len());
            Body::from(manifest.record.payload)
        };
        respond(StatusCode::OK, &headers, body)
    }

    async fn find_manifest(
        &self,
        name: &RepositoryName,
        reference: &str,
    ) -> Result<StoredManifest> {
        let found = match Reference::parse(reference) {
            Ok(Reference::Digest(digest)) => self.meta.manifest(name.as_str(), &digest).await?,
            Ok(Reference::Tag(tag)) => self.meta.tagged_manifest(name.as_str(), &tag).await?,
            // No manifest is stored under a tag the grammar forbids.
            Err(error) if error.code() == ErrorCode::TagInvalid => None,
            Err(error) => return Err(error),
        };
        found.ok_or_else(|| {
            RegistryError::new(
                ErrorCode::ManifestUnknown,
                format!("manifest {reference} is not in repository {name}"),
            )
        })
    }

    /// `PUT /v2/<name>/manifests/<reference>`: validates and records a manifest, and tags it
    /// when the reference is a tag; only if its `If-Match`/`If-None-Match` hold, when set.
    pub(crate) async fn put_manifest(
        &self,
        name: &RepositoryName,
        reference: &str,
        headers: &HeaderMap,
        body: Body,
        caller: &Caller,
    ) -> Result<Response> {
        let reference = Reference::parse(reference)?;
        let limit = self.config.max_manifest_bytes;
        let payload = read_limited(body, limit, &self.metrics.received).await?;
        let digest = match &reference {
            Reference::Digest(expected) => {
                let actual = Digest::of(expected.algorithm(), &payload);
                if actual != *expected {
                    return Err(RegistryError::new(
                        ErrorCode::DigestInvalid,
                        format!("the manifest hashes to {actual}, not {expected}"),
                    ));
                }
                actual
            }
            Reference::Tag(_) => Digest::of(DigestAlgorithm::Sha256, &payload),
        };
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let parsed = manifest::parse(payload, digest.clone(), content_type)?;
        let tag = match &reference {
            Reference::Tag(tag) => Some(tag.as_str()),
            Reference::Digest(_) => None,
        };
        let actor = caller.actor();
        match Preconditions::of(headers) {
            None => {
                self.meta
                    .put_manifest_audited(name.as_str(), parsed.record(), tag, actor)
                    .await?
            }
            Some(conditions) => {
                self.put_manifest_if(name, &reference, parsed.record(), &conditions, actor)
                    .await?
            }
        }
        tracing::info!(%name, %reference, %digest, media_type = %parsed.media_type, actor, "manifest pushed");
        let location = format!("/v2/{name}/manifests/{digest}");
        let mut headers = vec![
            (header::LOCATION, location.as_str()),
            (DOCKER_CONTENT_DIGEST, digest.as_str()),
            (header::CONTENT_LENGTH, "0"),
        ];
        if let Some(subject) = &parsed.subject {
            headers.push((OCI_SUBJECT, subject.as_str()));
        }
        respond(StatusCode::CREATED, &headers, Body::empty())
    }

    /// Records `manifest` under `reference` if `conditions` hold for what it names now. For a
    /// tag, the check's outcome is what the store's compare-and-set expects, so the tag moves
    /// only from the state checked; if another push moved it in between, it is checked again.
    async fn put_manifest_if(
        &self,
        name: &RepositoryName,
        reference: &Reference,
        manifest: &NewManifest,
        conditions: &Preconditions,
        actor: &str,
    ) -> Result<()> {
        let repository = name.as_str();
        let tag = match reference {
            Reference::Tag(tag) => tag,
            // Content named by its digest never changes: it is there or not, and two racing
            // pushes of it write the same bytes.
            Reference::Digest(digest) => {
                let current = self.meta.manifest(repository, digest).await?;
                let current = current.map(|m| m.record.digest);
                if !conditions.hold(current.as_ref()) {
                    return Err(precondition_failed(name, reference, current.as_ref()));
                }
                let meta = &self.meta;
                return Ok(meta
                    .put_manifest_audited(repository, manifest, None, actor)
                    .await?);
            }
        };
        for _ in 0..CONDITIONAL_ATTEMPTS {
            let current = self.meta.tagged_manifest(repository, tag).await?;
            let current = current.map(|m| m.record.digest);
            if !conditions.hold(current.as_ref()) {
                return Err(precondition_failed(name, reference, current.as_ref()));
            }
            let expected = current.map_or(TagExpected::Absent, TagExpected::At);
            let meta = &self.meta;
            match meta
                .put_manifest_if(repository, manifest, tag, &expected, actor)
                .await
            {
                Err(MetaError::TagMoved { .. }) => continue,
                done => return Ok(done?),
            }
        }
        Err(RegistryError::new(
            ErrorCode::PreconditionFailed,
            format!("{name}:{tag} kept moving under other pushes: read it again and retry"),
        ))
    }

    /// `DELETE /v2/<name>/manifests/<reference>`: a digest removes the manifest with its
    /// tags; a tag removes only the tag.
    pub(crate) async fn delete_manifest(
        &self,
        name: &RepositoryName,
        reference: &str,
        caller: &Caller,
    ) -> Result<Response> {
        let (repository, actor) = (name.as_str(), caller.actor());
        let deleted = match Reference::parse(reference)? {
            Reference::Digest(digest) => {
                let meta = &self.meta;
                meta.delete_manifest_audited(repository, &digest, actor)
                    .await?
            }
            Reference::Tag(tag) => {
                self.meta
                    .delete_tag_audited(repository, &tag, actor)
                    .await?
            }
        };
        if !deleted {
            return Err(RegistryError::new(
                ErrorCode::ManifestUnknown,
                format!("manifest {reference} is not in repository {name}"),
            ));
        }
        respond(
            StatusCode::ACCEPTED,
            &[(header::CONTENT_LENGTH, "0")],
            Body::empty(),
        )
    }
}

/// The 412 for a push whose `If-Match`/`If-None-Match` rule out what `reference` names now.
fn precondition_failed(
    name: &RepositoryName,
    reference: &Reference,
    current: Option<&Digest>,
) -> RegistryError {
    let (separator, reference) = match reference {
        Reference::Tag(tag) => (':', tag.as_str()),
        Reference::Digest(digest) => ('@', digest.as_str()),
    };
    let now = current.map_or("does not exist".to_owned(), |d| format!("is {d}"));
    RegistryError::new(
        ErrorCode::PreconditionFailed,
        format!(
            "{name}{separator}{reference} {now}, which If-Match/If-None-Match rule out: read it \
             again and push on what it is now"
        ),
    )
}
