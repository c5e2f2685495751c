//! Blob uploads: monolithic, chunked and streamed, cross-repository mounts, status and cancel.
//!
//! Progress lives in the metadata store (offset and hasher state), the bytes in blob storage,
//! so any process, including one restarted after a crash, can take the next chunk.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody};
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::Response;
use oci::{Digest, ErrorCode};
use store::{BlobMeta, BlobRecord, BlobStore, MetaStore, UploadId, UploadSession, UploadState};

use super::{respond, Query, DOCKER_CONTENT_DIGEST};
use crate::auth::Caller;
use crate::body::request_stream;
use crate::error::{RegistryError, Result};
use crate::name::RepositoryName;
use crate::{now_ms, Registry};

const DOCKER_UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");

impl<B: BlobStore, M: MetaStore> Registry<B, M> {
    /// `POST /v2/<name>/blobs/uploads/`: a mount (`?mount=`, with or without `from`), a
    /// monolithic upload (`?digest=` with the blob as body), or a new upload session.
    pub(crate) async fn start_upload(
        &self,
        name: &RepositoryName,
        query: &Query,
        body: Body,
        caller: &Caller,
    ) -> Result<Response> {
        if let Some(mount) = query.get("mount") {
            let digest = Digest::parse(mount)?;
            if self.mount(name, &digest, query.get("from"), caller).await? {
                return created(name, &digest);
            }
        }
        if let Some(digest) = query.get("digest") {
            let digest = Digest::parse(digest)?;
            let started = Instant::now();
            let received = self.metrics.received.clone();
            let blob = self
                .blobs
                .put(&digest, request_stream(body, received))
                .await?;
            self.record_blob(name, &blob).await?;
            self.metrics.record_upload(started.elapsed());
            return created(name, &digest);
        }
        self.open_session(name).await
    }

    /// Links `digest` into `name` if `from` (or, with automatic mounts, any repository) has
    /// it; `false` when there is nothing to mount and the client should upload. A mount never
    /// reveals content the caller could not pull: `from` must be pullable with the caller's
    /// token, and automatic mounts (which name no source to check) find only what the target
    /// has already when authentication is on.
    async fn mount(
        &self,
        name: &RepositoryName,
        digest: &Digest,
        from: Option<&str>,
        caller: &Caller,
    ) -> Result<bool> {
        let source = match from {
            Some(from) => {
                let from = RepositoryName::parse(from)?;
                if !caller.may_pull(from.as_str()) {
                    return Ok(false);
                }
                self.meta.repository_blob(from.as_str(), digest).await?
            }
            // With authentication, only a blob the target already has "mounts": any other
            // would reveal content of repositories the caller was never checked against.
            None if self.config.automatic_mount && caller.is_authenticated() => {
                self.meta.repository_blob(name.as_str(), digest).await?
            }
            None if self.config.automatic_mount => self.meta.blob(digest).await?,
            None => None,
        };
        if source.is_none() {
            return Ok(false);
        }
        self.meta.link_blob(name.as_str(), digest).await?;
        Ok(true)
    }

    async fn open_session(&self, name: &RepositoryName) -> Result<Response> {
        let id = new_upload_id();
        let state = self.blobs.start_upload(&id).await?;
        let now = now_ms();
        let ttl = i64::try_from(self.config.upload_ttl.as_millis()).unwrap_or(i64::MAX);
        let session = UploadSession {
            id,
            repository: name.as_str().to_owned(),
            committed_offset: state.offset,
            hash_state: state.hash_state,
            created_ms: now,
            updated_ms: now,
            expires_ms: now.saturating_add(ttl),
        };
        self.meta.create_upload(&session).await?;
        upload_progress(StatusCode::ACCEPTED, name, &session)
    }

    /// `GET /v2/<name>/blobs/uploads/<id>`: how far the upload has come.
    pub(crate) async fn upload_status(&self, name: &RepositoryName, id: &str) -> Result<Response> {
        let session = self.session(name, id).await?;
        upload_progress(StatusCode::NO_CONTENT, name, &session)
    }

    /// `PATCH /v2/<name>/blobs/uploads/<id>`: appends a chunk (with `Content-Range`) or a
    /// stream (without).
    pub(crate) async fn patch_upload(
        &self,
        name: &RepositoryName,
        id: &str,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Response> {
        let mut session = self.session(name, id).await?;
        self.append(name, &mut session, headers, body).await?;
        upload_progress(StatusCode::ACCEPTED, name, &session)
    }

    /// `PUT /v2/<name>/blobs/uploads/<id>?digest=`: appends a last chunk if there is one, then
    /// publishes the blob if the whole upload hashes to `digest`.
    pub(crate) async fn finish_upload(
        &self,
        name: &RepositoryName,
        id: &str,
        query: &Query,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Response> {
        let digest = query.get("digest").ok_or_else(|| {
            RegistryError::new(
                ErrorCode::DigestInvalid,
                "finishing an upload needs ?digest=<the blob's digest>",
            )
        })?;
        let digest = Digest::parse(digest)?;
        let mut session = self.session(name, id).await?;
        if body.size_hint().exact() != Some(0) {
            self.append(name, &mut session, headers, body).await?;
        }
        let state = UploadState {
            offset: session.committed_offset,
            hash_state: session.hash_state.clone(),
        };
        let blob = self
            .blobs
            .finish_upload(&session.id, &state, &digest)
            .await?;
        self.record_blob(name, &blob).await?;
        self.meta.delete_upload(&session.id).await?;
        let took = now_ms().saturating_sub(session.created_ms);
        self.metrics
            .record_upload(Duration::from_millis(u64::try_from(took).unwrap_or(0)));
        created(name, &digest)
    }

    /// `DELETE /v2/<name>/blobs/uploads/<id>`: abandons the upload and its bytes.
    pub(crate) async fn cancel_upload(&self, name: &RepositoryName, id: &str) -> Result<Response> {
        let session = self.session(name, id).await?;
        self.blobs.cancel_upload(&session.id).await?;
        self.meta.delete_upload(&session.id).await?;
        respond(StatusCode::NO_CONTENT, &[], Body::empty())
    }

    /// The live upload `id` of repository `name`; any other is unknown to this URL.
    async fn session(&self, name: &RepositoryName, id: &str) -> Result<UploadSession> {
        let unknown = || {
            RegistryError::new(
                ErrorCode::BlobUploadUnknown,
                format!("upload {id} is not in progress for {name}: start a new upload"),
            )
        };
        let id = UploadId::parse(id).map_err(|_| unknown())?;
        self.meta
            .upload(&id)
            .await?
            .filter(|s| s.repository == name.as_str() && s.expires_ms > now_ms())
            .ok_or_else(unknown)
    }

    /// Appends `body` where `headers` say it starts, and records the new progress in `session`.
    async fn append(
        &self,
        name: &RepositoryName,
        session: &mut UploadSession,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<()> {
        let committed = session.committed_offset;
        let start = chunk_start(headers, committed).ok_or_else(|| out_of_order(name, session))?;
        let state = UploadState {
            offset: committed,
            hash_state: std::mem::take(&mut session.hash_state),
        };
        let received = self.metrics.received.clone();
        let appended = self
            .blobs
            .append_upload(&session.id, &state, start, request_stream(body, received))
            .await;
        session.hash_state = state.hash_state;
        let next = appended.map_err(|e| match e {
            store::BlobError::UploadOffsetMismatch { .. } | store::BlobError::UploadBusy(_) => {
                out_of_order(name, session)
            }
            other => other.into(),
        })?;
        let now = now_ms();
        self.meta
            .advance_upload(&session.id, committed, &next, now)
            .await
            .map_err(|e| match e {
                store::MetaError::UploadOffsetConflict { committed } => {
                    session.committed_offset = committed;
                    out_of_order(name, session)
                }
                other => other.into(),
            })?;
        session.committed_offset = next.offset;
        session.hash_state = next.hash_state;
        session.updated_ms = now;
        Ok(())
    }

    async fn record_blob(&self, name: &RepositoryName, blob: &BlobMeta) -> Result<()> {
        let record = BlobRecord {
            digest: blob.digest.clone(),
            size: blob.size,
            object_key: blob.digest.to_string(),
            media_type: None,
        };
        self.meta.put_blob(name.as_str(), &record).await?;
        tracing::info!(%name, digest = %blob.digest, size = blob.size, "blob stored");
        Ok(())
    }
}

/// Where a chunk starts: its `Content-Range` start, which must be the committed offset and
/// agree with `Content-Length`, or the committed offset when the chunk names no range.
/// `None` means the chunk does not fit, which the client hears as 416.
fn chunk_start(headers: &HeaderMap, committed: u64) -> Option<u64> {
    let Some(range) = headers.get(header::CONTENT_RANGE) else {
        return Some(committed);
    };
    let (start, end) = parse_content_range(range.to_str().ok()?)?;
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let consistent =
        start == committed && end >= start && length.is_none_or(|length| length == end - start + 1);
    consistent.then_some(start)
}

/// `start-end`, as the distribution spec writes it, or HTTP's `bytes start-end/total` (and
/// the `bytes=start-end` some clients send).
fn parse_content_range(value: &str) -> Option<(u64, u64)> {
    let value = value.trim();
    let value = value
        .strip_prefix("bytes ")
        .or_else(|| value.strip_prefix("bytes="))
        .unwrap_or(value);
    let value = value.split('/').next()?;
    let (start, end) = value.split_once('-')?;
    Some((start.trim().parse().ok()?, end.trim().parse().ok()?))
}

/// A 416 telling the client where the upload really stands.
fn out_of_order(name: &RepositoryName, session: &UploadSession) -> RegistryError {
    let range = range_header(session.committed_offset);
    RegistryError::new(
        ErrorCode::RangeInvalid,
        format!(
            "the chunk does not start at byte {}, where the upload stands: send from there",
            session.committed_offset
        ),
    )
    .with_header(header::RANGE, range)
    .with_header(header::LOCATION, upload_location(name, session))
    .with_header(DOCKER_UPLOAD_UUID, session.id.to_string())
}

/// The `Range` of an upload holding `offset` bytes: `0-<last byte>`, and `0-0` when empty, as
/// clients of the reference registry expect.
fn range_header(offset: u64) -> String {
    format!("0-{}", offset.saturating_sub(1))
}

/// The upload's URL, in the name form the client used.
fn upload_location(name: &RepositoryName, session: &UploadSession) -> String {
    format!("/v2/{name}/blobs/uploads/{}", session.id)
}

fn upload_progress(
    status: StatusCode,
    name: &RepositoryName,
    session: &UploadSession,
) -> Result<Response> {
    let location = upload_location(name, session);
    let range = range_header(session.committed_offset);
    let headers = [
        (header::LOCATION, location.as_str()),
        (header::RANGE, range.as_str()),
        (DOCKER_UPLOAD_UUID, session.id.as_str()),
        (header::CONTENT_LENGTH, "0"),
    ];
    respond(status, &headers, Body::empty())
}

fn created(name: &RepositoryName, digest: &Digest) -> Result<Response> {
    let location = format!("/v2/{name}/blobs/{digest}");
    let headers = [
        (header::LOCATION, location.as_str()),
        (DOCKER_CONTENT_DIGEST, digest.as_str()),
        (header::CONTENT_LENGTH, "0"),
    ];
    respond(StatusCode::CREATED, &headers, Body::empty())
}

/// A fresh upload id: 128 bits from the standard library's randomly keyed hasher (seeded from
/// the operating system), mixed with a counter and the time so ids never repeat.
fn new_upload_id() -> UploadId {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let half = |salt: u64| RandomState::new().hash_one((salt, count, nanos, std::process::id()));
    let id = format!("{:016x}{:016x}", half(1), half(2));
    UploadId::parse(&id).expect("hex is a valid upload id")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_must_start_at_the_committed_offset() {
        let headers = |range: &str, length: &str| {
            let mut map = HeaderMap::new();
            map.insert(header::CONTENT_RANGE, range.parse().unwrap());
            map.insert(header::CONTENT_LENGTH, length.parse().unwrap());
            map
        };
        assert_eq!(chunk_start(&HeaderMap::new(), 7), Some(7));
        assert_eq!(chunk_start(&headers("7-9", "3"), 7), Some(7));
        assert_eq!(chunk_start(&headers("bytes 7-9/*", "3"), 7), Some(7));
        assert_eq!(chunk_start(&headers("bytes=7-9", "3"), 7), Some(7));
        assert_eq!(chunk_start(&headers("0-9", "10"), 7), None);
        assert_eq!(chunk_start(&headers("7-9", "4"), 7), None);
        assert_eq!(chunk_start(&headers("9-7", "3"), 9), None);
        assert_eq!(chunk_start(&headers("x", "3"), 7), None);
    }

    #[test]
    fn upload_ids_are_fresh_and_valid() {
        let a = new_upload_id();
        let b = new_upload_id();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
    }
}
