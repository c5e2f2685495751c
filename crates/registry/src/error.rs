//! Registry errors as the distribution spec writes them: a code from [`oci::ErrorCode`]'s
//! table, whose status is the response status, and a `{"errors":[…]}` JSON body.

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use oci::{DigestError, ErrorCode};
use store::{BlobError, MetaError};

/// An error on its way to the client.
#[derive(Debug)]
pub struct RegistryError {
    code: ErrorCode,
    detail: String,
    headers: Vec<(HeaderName, String)>,
}

impl RegistryError {
    /// An error with `code` and a detail saying what went wrong and what to do.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a response header, such as the `Range` a 416 on an upload carries.
    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The error's code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        if self.code == ErrorCode::Unknown {
            tracing::error!(detail = %self.detail, "request failed");
        }
        let status = StatusCode::from_u16(self.code.status())
            .expect("the error-code table holds valid statuses");
        let body = serde_json::json!({
            "errors": [{
                "code": self.code.as_str(),
                "message": self.code.message(),
                "detail": self.detail,
            }]
        });
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::try_from(value) {
                headers.insert(name, value);
            }
        }
        response
    }
}

impl From<DigestError> for RegistryError {
    fn from(error: DigestError) -> Self {
        Self::new(ErrorCode::DigestInvalid, error.to_string())
    }
}

impl From<BlobError> for RegistryError {
    fn from(error: BlobError) -> Self {
        let code = match &error {
            BlobError::NotFound(_) => ErrorCode::BlobUnknown,
            BlobError::DigestMismatch { .. } => ErrorCode::DigestInvalid,
            BlobError::RangeNotSatisfiable { size } => {
                return Self::new(ErrorCode::RangeInvalid, error.to_string())
                    .with_header(header::CONTENT_RANGE, format!("bytes */{size}"));
            }
            BlobError::InvalidUploadId(_) | BlobError::UploadUnknown(_) => {
                ErrorCode::BlobUploadUnknown
            }
            BlobError::UploadOffsetMismatch { .. } | BlobError::UploadBusy(_) => {
                ErrorCode::RangeInvalid
            }
            BlobError::UploadTruncated { .. }
            | BlobError::HashState(_)
            | BlobError::BodyRead(_) => ErrorCode::BlobUploadInvalid,
            BlobError::UploadExists(_) | BlobError::Io { .. } => ErrorCode::Unknown,
        };
        Self::new(code, error.to_string())
    }
}

impl From<MetaError> for RegistryError {
    fn from(error: MetaError) -> Self {
        let code = match &error {
            MetaError::RepositoryUnknown(_) => ErrorCode::NameUnknown,
            MetaError::BlobUnknown(_) | MetaError::ManifestUnknown(_) => {
                ErrorCode::ManifestBlobUnknown
            }
            MetaError::ManifestInUse(_) => ErrorCode::Denied,
            MetaError::UploadUnknown(_) => ErrorCode::BlobUploadUnknown,
            MetaError::UploadOffsetConflict { .. } => ErrorCode::RangeInvalid,
            MetaError::TagMoved { .. } => ErrorCode::PreconditionFailed,
            MetaError::AccountUnknown(_) | MetaError::OrganisationUnknown(_) => ErrorCode::Denied,
            MetaError::Corrupt { .. } | MetaError::Digest(_) | MetaError::Database(_) => {
                ErrorCode::Unknown
            }
        };
        Self::new(code, error.to_string())
    }
}

/// What services return.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
