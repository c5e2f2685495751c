//! Blobs: pull (whole or a range), existence checks and deletion from a repository.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use oci::{Digest, ErrorCode};
use store::{BlobStore, ByteRange, MetaStore};

use super::{respond, DOCKER_CONTENT_DIGEST};
use crate::auth::Caller;
use crate::body::{response_stream, FileRegion};
use crate::error::{RegistryError, Result};
use crate::name::RepositoryName;
use crate::Registry;

impl<B: BlobStore, M: MetaStore> Registry<B, M> {
    /// `GET`/`HEAD /v2/<name>/blobs/<digest>`, honouring a single `Range: bytes=…`.
    pub(crate) async fn get_blob(
        &self,
        name: &RepositoryName,
        digest: &str,
        headers: &HeaderMap,
        head: bool,
    ) -> Result<Response> {
        let digest = Digest::parse(digest)?;
        let record = self
            .meta
            .repository_blob(name.as_str(), &digest)
            .await?
            .ok_or_else(|| blob_unknown(name, &digest))?;
        let range = requested_range(headers, record.size)?;
        let common = [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (DOCKER_CONTENT_DIGEST, digest.as_str()),
            (header::ACCEPT_RANGES, "bytes"),
        ];
        if head {
            let length = record.size.to_string();
            let mut headers = common.to_vec();
            headers.push((header::CONTENT_LENGTH, &length));
            return respond(StatusCode::OK, &headers, Body::empty());
        }
        let content = self.blobs.get(&digest, range).await?;
        let length = (content.range.end - content.range.start).to_string();
        let content_range = format!(
            "bytes {}-{}/{}",
            content.range.start,
            content.range.end - 1,
            content.size
        );
        let mut headers = common.to_vec();
        headers.push((header::CONTENT_LENGTH, &length));
        let status = if range.is_some() {
            headers.push((header::CONTENT_RANGE, &content_range));
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        };
        let sent = self.metrics.sent.clone();
        let body = response_stream(content.reader, sent.clone());
        let mut response = respond(status, &headers, body)?;
        // Beside the stream, the same bytes as a file region for a server that can send them
        // without copying. Stores without local files answer `None`, and a failure here costs
        // only the shortcut: the stream, already open, still answers.
        match self.blobs.local_file(&digest).await {
            Ok(Some(file)) => {
                response.extensions_mut().insert(FileRegion {
                    file: Arc::new(file),
                    offset: content.range.start,
                    len: content.range.end - content.range.start,
                    sent,
                });
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%digest, "blob served by streaming: {error}"),
        }
        Ok(response)
    }

    /// `DELETE /v2/<name>/blobs/<digest>`: the repository stops serving the blob at once; its
    /// bytes stay until garbage collection, as other repositories may share them.
    pub(crate) async fn delete_blob(
        &self,
        name: &RepositoryName,
        digest: &str,
        caller: &Caller,
    ) -> Result<Response> {
        let digest = Digest::parse(digest)?;
        let actor = caller.actor();
        if !self
            .meta
            .unlink_blob_audited(name.as_str(), &digest, actor)
            .await?
        {
            return Err(blob_unknown(name, &digest));
        }
        respond(
            StatusCode::ACCEPTED,
            &[(header::CONTENT_LENGTH, "0")],
            Body::empty(),
        )
    }
}

pub(super) fn blob_unknown(name: &RepositoryName, digest: &Digest) -> RegistryError {
    RegistryError::new(
        ErrorCode::BlobUnknown,
        format!("blob {digest} is not in repository {name}"),
    )
}

/// The `Range` a request asks for: `None` for the whole blob (no header, or a unit other than
/// bytes, which HTTP lets a server ignore), an error for a byte range that is malformed or
/// selects nothing of the blob's `size` bytes.
fn requested_range(headers: &HeaderMap, size: u64) -> Result<Option<ByteRange>> {
    let Some(value) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let unsatisfiable = || {
        RegistryError::new(
            ErrorCode::RangeInvalid,
            format!("the range is malformed or outside the blob's {size} bytes; ask for one range within it"),
        )
        .with_header(header::CONTENT_RANGE, format!("bytes */{size}"))
    };
    let Some(spec) = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    let range = parse_byte_range(spec).ok_or_else(unsatisfiable)?;
    range.resolve(size).ok_or_else(unsatisfiable)?;
    Ok(Some(range))
}

/// `first-last`, `first-` or `-suffix`; several ranges at once are not served.
fn parse_byte_range(spec: &str) -> Option<ByteRange> {
    let (first, last) = spec.trim().split_once('-')?;
    let number = |s: &str| s.trim().parse::<u64>().ok();
    match (first.trim().is_empty(), last.trim().is_empty()) {
        (true, false) => Some(ByteRange::Suffix(number(last)?)),
        (false, true) => Some(ByteRange::From(number(first)?)),
        (false, false) => Some(ByteRange::Inclusive(number(first)?, number(last)?)),
        (true, true) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_parse_like_http() {
        let cases = [
            ("0-9", Some(ByteRange::Inclusive(0, 9))),
            ("5-", Some(ByteRange::From(5))),
            ("-3", Some(ByteRange::Suffix(3))),
            ("-", None),
            ("a-b", None),
            ("0-1,3-4", None),
        ];
        for (spec, expected) in cases {
            assert_eq!(parse_byte_range(spec), expected, "{spec}");
        }
    }
}
