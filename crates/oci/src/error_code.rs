//! The error codes of the OCI Distribution Spec (and the Docker Registry v2 API it grew from),
//! each with the one HTTP status a registry answers it with.
//!
//! Keeping code and status in one table means no handler picks a status by hand: an error is
//! named by its code and the status follows, so two handlers cannot disagree about what, say,
//! `BLOB_UNKNOWN` looks like on the wire.

use std::fmt;

/// An error code as it appears in a registry's `{"errors":[{"code": …}]}` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The blob is not in the repository.
    BlobUnknown,
    /// The upload failed and the client should start over.
    BlobUploadInvalid,
    /// The upload session is unknown or was cancelled.
    BlobUploadUnknown,
    /// The content does not match its digest, or a digest is malformed.
    DigestInvalid,
    /// A manifest references a blob or manifest the repository does not have.
    ManifestBlobUnknown,
    /// The manifest is malformed, too large, or of an unsupported type.
    ManifestInvalid,
    /// The manifest (by tag or digest) is not in the repository.
    ManifestUnknown,
    /// A repository name breaks the name grammar.
    NameInvalid,
    /// The repository is unknown.
    NameUnknown,
    /// A listing's `n` parameter is not a count.
    PaginationNumberInvalid,
    /// A declared length does not match the content.
    SizeInvalid,
    /// A tag breaks the tag grammar.
    TagInvalid,
    /// A byte range (of a blob or an upload chunk) cannot be satisfied.
    RangeInvalid,
    /// The client must authenticate.
    Unauthorized,
    /// The client may not do this.
    Denied,
    /// The operation is not supported here.
    Unsupported,
    /// The client sent too many requests.
    TooManyRequests,
    /// An `If-Match` or `If-None-Match` condition did not hold (Hallmark's own code: the spec
    /// defines none for conditional requests); nothing was changed.
    PreconditionFailed,
    /// The registry failed; the request may be retried.
    Unknown,
}

/// One row of the table: the code's wire name, its HTTP status and its generic message.
struct Row {
    name: &'static str,
    status: u16,
    message: &'static str,
}

impl ErrorCode {
    /// Every code, in the order of the table.
    pub const ALL: [ErrorCode; 19] = [
        Self::BlobUnknown,
        Self::BlobUploadInvalid,
        Self::BlobUploadUnknown,
        Self::DigestInvalid,
        Self::ManifestBlobUnknown,
        Self::ManifestInvalid,
        Self::ManifestUnknown,
        Self::NameInvalid,
        Self::NameUnknown,
        Self::PaginationNumberInvalid,
        Self::SizeInvalid,
        Self::TagInvalid,
        Self::RangeInvalid,
        Self::Unauthorized,
        Self::Denied,
        Self::Unsupported,
        Self::TooManyRequests,
        Self::PreconditionFailed,
        Self::Unknown,
    ];

    /// The table: the only place that says which status each code is answered with.
    fn row(self) -> Row {
        let (name, status, message) = match self {
            Self::BlobUnknown => ("BLOB_UNKNOWN", 404, "blob unknown to registry"),
            Self::BlobUploadInvalid => ("BLOB_UPLOAD_INVALID", 400, "blob upload invalid"),
            Self::BlobUploadUnknown => (
                "BLOB_UPLOAD_UNKNOWN",
                404,
                "blob upload unknown to registry",
            ),
            Self::DigestInvalid => (
                "DIGEST_INVALID",
                400,
                "provided digest did not match uploaded content",
            ),
            Self::ManifestBlobUnknown => (
                "MANIFEST_BLOB_UNKNOWN",
                400,
                "manifest references a manifest or blob unknown to registry",
            ),
            Self::ManifestInvalid => ("MANIFEST_INVALID", 400, "manifest invalid"),
            Self::ManifestUnknown => ("MANIFEST_UNKNOWN", 404, "manifest unknown to registry"),
            Self::NameInvalid => ("NAME_INVALID", 400, "invalid repository name"),
            Self::NameUnknown => ("NAME_UNKNOWN", 404, "repository name not known to registry"),
            Self::PaginationNumberInvalid => (
                "PAGINATION_NUMBER_INVALID",
                400,
                "invalid number of results requested",
            ),
            Self::SizeInvalid => (
                "SIZE_INVALID",
                400,
                "provided length did not match content length",
            ),
            Self::TagInvalid => ("TAG_INVALID", 400, "manifest tag did not match URI"),
            Self::RangeInvalid => ("RANGE_INVALID", 416, "invalid content range"),
            Self::Unauthorized => ("UNAUTHORIZED", 401, "authentication required"),
            Self::Denied => ("DENIED", 403, "requested access to the resource is denied"),
            Self::Unsupported => ("UNSUPPORTED", 405, "the operation is unsupported"),
            Self::TooManyRequests => ("TOOMANYREQUESTS", 429, "too many requests"),
            Self::PreconditionFailed => (
                "PRECONDITION_FAILED",
                412,
                "a condition of the request did not hold",
            ),
            Self::Unknown => ("UNKNOWN", 500, "unknown error"),
        };
        Row {
            name,
            status,
            message,
        }
    }

    /// The code as written on the wire, such as `BLOB_UNKNOWN`.
    pub fn as_str(self) -> &'static str {
        self.row().name
    }

    /// The HTTP status a registry answers this code with.
    pub fn status(self) -> u16 {
        self.row().status
    }

    /// The generic message for the code; specifics go in the error's detail.
    pub fn message(self) -> &'static str {
        self.row().message
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_matches_the_spec_statuses() {
        let expected = [
            ("BLOB_UNKNOWN", 404),
            ("BLOB_UPLOAD_INVALID", 400),
            ("BLOB_UPLOAD_UNKNOWN", 404),
            ("DIGEST_INVALID", 400),
            ("MANIFEST_BLOB_UNKNOWN", 400),
            ("MANIFEST_INVALID", 400),
            ("MANIFEST_UNKNOWN", 404),
            ("NAME_INVALID", 400),
            ("NAME_UNKNOWN", 404),
            ("PAGINATION_NUMBER_INVALID", 400),
            ("SIZE_INVALID", 400),
            ("TAG_INVALID", 400),
            ("RANGE_INVALID", 416),
            ("UNAUTHORIZED", 401),
            ("DENIED", 403),
            ("UNSUPPORTED", 405),
            ("TOOMANYREQUESTS", 429),
            ("PRECONDITION_FAILED", 412),
            ("UNKNOWN", 500),
        ];
        let actual: Vec<_> = ErrorCode::ALL
            .iter()
            .map(|c| (c.as_str(), c.status()))
            .collect();
        assert_eq!(actual, expected);
        assert!(ErrorCode::ALL.iter().all(|c| !c.message().is_empty()));
    }
}
