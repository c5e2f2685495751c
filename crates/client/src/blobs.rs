//! Blobs: fetched through a reader that checks the digest at the end, written to files only
//! once checked, and pushed with a HEAD first so existing content is not sent again.

use std::fmt;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use oci::manifest::Descriptor;
use oci::{Digest, Hasher};
use ureq::http::Method;

use crate::retry::Attempt;
use crate::transport::{check_announced, header, pull, push, resolve, with_query, Call, Payload};
use crate::{Client, ClientError, Repository};

/// A blob's content as it arrives, hashed on the way; reading past the end fails with
/// [`ClientError::DigestMismatch`] (inside an `io::Error` of kind `InvalidData`) if the content
/// is not what its digest names, so a caller that reads to the end never accepts other bytes.
pub struct BlobReader {
    body: ureq::BodyReader<'static>,
    hasher: Option<Hasher>,
    expected: Digest,
    host: String,
    length: Option<u64>,
}

impl BlobReader {
    /// The length the registry announced, if it did.
    pub fn content_length(&self) -> Option<u64> {
        self.length
    }
}

impl fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobReader")
            .field("expected", &self.expected)
            .field("host", &self.host)
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.body.read(buf)?;
        let Some(hasher) = &mut self.hasher else {
            return Ok(n);
        };
        if n > 0 {
            hasher.update(&buf[..n]);
            return Ok(n);
        }
        let actual = self.hasher.take().map(Hasher::finish);
        match actual {
            Some(actual) if actual != self.expected => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                ClientError::DigestMismatch {
                    host: self.host.clone(),
                    what: format!("blob {}", self.expected),
                    expected: self.expected.clone(),
                    actual,
                },
            )),
            _ => Ok(0),
        }
    }
}

/// The client error inside an `io::Error` from a [`BlobReader`], or the I/O failure as one.
fn from_io(error: io::Error, url: impl FnOnce() -> String) -> ClientError {
    error
        .downcast::<ClientError>()
        .unwrap_or_else(|source| ClientError::Body { url: url(), source })
}

impl Client {
    /// A reader of the blob that verifies its digest at the end (see [`BlobReader`]).
    pub fn blob_reader(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<BlobReader, ClientError> {
        let url = self.url(repository, &format!("blobs/{digest}"));
        let call = Call::new(Method::GET, repository, url, pull(repository));
        let response = self.expect(call, &[200])?;
        let length = header(&response, "content-length").and_then(|v| v.parse().ok());
        Ok(BlobReader {
            body: response.into_body().into_reader(),
            hasher: Some(Hasher::new(digest.algorithm())),
            expected: digest.clone(),
            host: repository.api_host().to_owned(),
            length,
        })
    }

    /// The whole blob in memory, verified. For layers, prefer [`Client::blob_to_file`] or
    /// [`Client::blob_reader`].
    pub fn blob(&self, repository: &Repository, digest: &Digest) -> Result<Vec<u8>, ClientError> {
        let mut reader = self.blob_reader(repository, digest)?;
        let mut content = Vec::new();
        reader
            .read_to_end(&mut content)
            .map_err(|e| from_io(e, || format!("blob {digest} from {repository}")))?;
        Ok(content)
    }

    /// Downloads the blob to `path`: into a temporary file beside it, synced, verified, then
    /// renamed, so `path` holds the whole verified blob or is left as it was. Returns the size.
    pub fn blob_to_file(
        &self,
        repository: &Repository,
        digest: &Digest,
        path: &Path,
    ) -> Result<u64, ClientError> {
        let io_error = |source| ClientError::Io {
            path: path.to_owned(),
            source,
        };
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let mut reader = self.blob_reader(repository, digest)?;
        let temporary = tempfile::NamedTempFile::new_in(folder).map_err(io_error)?;
        let mut writer = BufWriter::with_capacity(1 << 16, temporary.as_file());
        let size = io::copy(&mut reader, &mut writer)
            .map_err(|e| from_io(e, || format!("blob {digest} from {repository}")))?;
        writer.flush().map_err(io_error)?;
        drop(writer);
        temporary.as_file().sync_all().map_err(io_error)?;
        temporary.persist(path).map_err(|e| io_error(e.error))?;
        Ok(size)
    }

    /// Whether the repository has the blob.
    pub fn blob_exists(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<bool, ClientError> {
        let url = self.url(repository, &format!("blobs/{digest}"));
        let call = Call::new(Method::HEAD, repository, url, pull(repository));
        let response = self.expect(call, &[200, 404])?;
        Ok(response.status() == 200)
    }

    /// Pushes `size` bytes from `content` (from where it stands) as the blob `digest`,
    /// unless the repository has it already. Returns whether it was uploaded. The registry
    /// checks the digest and refuses other content (`DIGEST_INVALID`); the digest it reports
    /// back is checked here. An upload that fails in a way that may pass starts again, with
    /// `content` sought back to where it stood.
    pub fn push_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        size: u64,
        mut content: impl Read + Seek,
    ) -> Result<bool, ClientError> {
        if self.blob_exists(repository, digest)? {
            return Ok(false);
        }
        let start = content
            .stream_position()
            .map_err(|source| unreadable(digest, source))?;
        let mut content = Rewound {
            reader: content,
            start,
            size,
            digest,
        };
        self.upload(repository, digest, &mut content)?;
        Ok(true)
    }

    /// Pushes `content` (unless present) and returns its descriptor with `media_type`.
    pub fn push_blob_bytes(
        &self,
        repository: &Repository,
        media_type: &str,
        content: &[u8],
    ) -> Result<Descriptor, ClientError> {
        let descriptor = Descriptor::of(media_type, content);
        if !self.blob_exists(repository, &descriptor.digest)? {
            self.upload(repository, &descriptor.digest, &mut { content })?;
        }
        Ok(descriptor)
    }

    /// Asks the registry to link the blob from `from` (on the same registry) into
    /// `repository` without uploading it. Returns whether it did; when it did not (it lacks
    /// the blob, or does not mount), the upload it opened instead is cancelled.
    pub fn mount_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        from: &Repository,
    ) -> Result<bool, ClientError> {
        let url = self.url(repository, "blobs/uploads/");
        let url = with_query(
            &with_query(&url, "mount", digest.as_str()),
            "from",
            from.name(),
        );
        let call =
            Call::new(Method::POST, repository, url.clone(), push(repository)).also(pull(from));
        let response = self.expect(call, &[201, 202])?;
        if response.status() == 201 {
            return Ok(true);
        }
        if let Some(location) = header(&response, "location") {
            let upload = resolve(&url, location);
            let cancel = Call::new(Method::DELETE, repository, upload, push(repository));
            // The upload would expire anyway; a failed cancel must not fail the caller.
            let _ = self.send(cancel);
        }
        Ok(false)
    }

    /// `POST` for an upload, then one `PUT` with the content and its digest; started again
    /// from the `POST` (with the payload `content` gives for that attempt, counted from 1)
    /// when either fails in a way that may pass.
    fn upload(
        &self,
        repository: &Repository,
        digest: &Digest,
        content: &mut dyn Content,
    ) -> Result<(), ClientError> {
        let mut attempt = 0;
        self.retrying(|| {
            attempt += 1;
            let url = self.url(repository, "blobs/uploads/");
            let start = Call::new(Method::POST, repository, url.clone(), push(repository));
            let response = match self.attempt(start, &[202])? {
                Attempt::Done(response) => response,
                Attempt::Transient(error, wait) => return Ok(Attempt::Transient(error, wait)),
            };
            let location =
                header(&response, "location").ok_or_else(|| ClientError::InvalidResponse {
                    host: repository.api_host().to_owned(),
                    request: format!("POST {url}"),
                    detail: "the upload answer has no Location".to_owned(),
                })?;
            let target = with_query(&resolve(&url, location), "digest", digest.as_str());
            let finish = Call::new(Method::PUT, repository, target, push(repository))
                .header("content-type", "application/octet-stream")
                .body(content.payload(attempt)?);
            Ok(match self.attempt(finish, &[201])? {
                Attempt::Done(response) => Attempt::Done(check_announced(
                    repository,
                    &response,
                    digest,
                    "pushed blob",
                )?),
                Attempt::Transient(error, wait) => Attempt::Transient(error, wait),
            })
        })
    }
}

/// What an upload sends, again for each attempt.
trait Content {
    /// The body of attempt `attempt` (counted from 1).
    fn payload(&mut self, attempt: u32) -> Result<Payload<'_>, ClientError>;
}

impl Content for &[u8] {
    fn payload(&mut self, _attempt: u32) -> Result<Payload<'_>, ClientError> {
        Ok(Payload::Bytes(self))
    }
}

/// A stream sent from `start` on every attempt.
struct Rewound<'d, R> {
    reader: R,
    start: u64,
    size: u64,
    digest: &'d Digest,
}

impl<R: Read + Seek> Content for Rewound<'_, R> {
    fn payload(&mut self, attempt: u32) -> Result<Payload<'_>, ClientError> {
        if attempt > 1 {
            self.reader
                .seek(SeekFrom::Start(self.start))
                .map_err(|source| unreadable(self.digest, source))?;
        }
        Ok(Payload::Stream(&mut self.reader, self.size))
    }
}

fn unreadable(digest: &Digest, source: io::Error) -> ClientError {
    ClientError::Body {
        url: format!("the content of blob {digest}"),
        source,
    }
}
