//! Manifests: pull by tag or digest, push with validation, delete.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::Response;
use oci::{Digest, DigestAlgorithm, ErrorCode};
use store::{BlobStore, MetaStore, StoredManifest};

use super::{respond, DOCKER_CONTENT_DIGEST};
use crate::auth::Caller;
use crate::body::read_limited;
use crate::error::{RegistryError, Result};
use crate::manifest;
use crate::name::{Reference, RepositoryName};
use crate::Registry;

const OCI_SUBJECT: HeaderName = HeaderName::from_static("oci-subject");

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
    /// when the reference is a tag.
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
        self.meta
            .put_manifest_audited(name.as_str(), parsed.record(), tag, actor)
            .await?;
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
