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
///
/// A connection that breaks mid-body is resumed, as containerd and docker do: the reader asks
/// for the rest with `Range: bytes=<received>-` and goes on hashing where it stopped, up to the
/// client's retry policy's attempts in a row without progress. A registry that answers the
/// range with the whole blob instead (`200`) has the part already read skipped.
pub struct BlobReader<'c> {
    client: &'c Client,
    repository: Repository,
    body: ureq::BodyReader<'static>,
    hasher: Option<Hasher>,
    expected: Digest,
    length: Option<u64>,
    /// Bytes hashed so far.
    received: u64,
    /// Resumes since the last byte arrived.
    stalled_resumes: u32,
}

impl BlobReader<'_> {
    /// The length the registry announced, if it did.
    pub fn content_length(&self) -> Option<u64> {
        self.length
    }

    /// Hashes what arrived and, at the end, checks the digest.
    fn hash_in(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(hasher) = &mut self.hasher else {
            return Ok(0);
        };
        if !buf.is_empty() {
            hasher.update(buf);
            self.received += buf.len() as u64;
            self.stalled_resumes = 0;
            return Ok(buf.len());
        }
        let actual = self.hasher.take().map(Hasher::finish);
        match actual {
            Some(actual) if actual != self.expected => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                ClientError::DigestMismatch {
                    host: self.repository.api_host().to_owned(),
                    what: format!("blob {}", self.expected),
                    expected: self.expected.clone(),
                    actual,
                },
            )),
            _ => Ok(0),
        }
    }

    /// Whether the body ended before the bytes the registry announced.
    fn is_short(&self) -> bool {
        self.hasher.is_some() && self.length.is_some_and(|length| self.received < length)
    }

    /// After the body broke (`broken`), asks for the rest of the blob after a backoff and
    /// reads on from the new answer; gives up when the retry policy's attempts for this
    /// stretch are spent.
    fn resume(&mut self, broken: io::Error) -> io::Result<()> {
        let policy = &self.client.options.retry;
        self.stalled_resumes += 1;
        let broken = ClientError::Body {
            url: self.describe(),
            source: broken,
        };
        if self.stalled_resumes >= policy.attempts {
            return Err(io::Error::other(ClientError::GaveUp {
                attempts: self.stalled_resumes,
                asked_wait: None,
                source: Box::new(broken),
            }));
        }
        std::thread::sleep(policy.backoff(self.stalled_resumes));
        let call = self
            .client
            .blob_call(Method::GET, &self.repository, &self.expected)
            .header("Range", format!("bytes={}-", self.received));
        let response = self
            .client
            .expect(call, &[200, 206])
            .map_err(io::Error::other)?;
        let whole = response.status() == 200;
        if !whole && content_range_start(&response) != Some(self.received) {
            return Err(io::Error::other(ClientError::InvalidResponse {
                host: self.repository.api_host().to_owned(),
                request: self.describe(),
                detail: format!(
                    "asked for the bytes from {}, got the range {}",
                    self.received,
                    header(&response, "content-range").unwrap_or("(none)")
                ),
            }));
        }
        self.body = response.into_body().into_reader();
        if whole {
            // The part already hashed comes again; it is skipped, and the digest at the end
            // still covers every byte kept.
            io::copy(&mut (&mut self.body).take(self.received), &mut io::sink())?;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("blob {} from {}", self.expected, self.repository)
    }
}

/// The first byte of a `206`'s `Content-Range: bytes <first>-<last>/<size>`.
fn content_range_start(response: &ureq::http::Response<ureq::Body>) -> Option<u64> {
    let range = header(response, "content-range")?.strip_prefix("bytes ")?;
    range.split_once('-')?.0.trim().parse().ok()
}

impl fmt::Debug for BlobReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobReader")
            .field("expected", &self.expected)
            .field("repository", &self.repository)
            .field("length", &self.length)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl Read for BlobReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let broken = match self.body.read(buf) {
                Ok(0) if self.is_short() => io::Error::from(io::ErrorKind::UnexpectedEof),
                Ok(n) => return self.hash_in(&buf[..n]),
                Err(error) if self.hasher.is_some() => error,
                Err(error) => return Err(error),
            };
            self.resume(broken)?;
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
    ) -> Result<BlobReader<'_>, ClientError> {
        let call = self.blob_call(Method::GET, repository, digest);
        let response = self.expect(call, &[200])?;
        let length = header(&response, "content-length").and_then(|v| v.parse().ok());
        Ok(BlobReader {
            client: self,
            repository: repository.clone(),
            body: response.into_body().into_reader(),
            hasher: Some(Hasher::new(digest.algorithm())),
            expected: digest.clone(),
            length,
            received: 0,
            stalled_resumes: 0,
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

    /// A read (`GET` or `HEAD`) of the blob `digest` in `repository`.
    fn blob_call<'r>(
        &self,
        method: Method,
        repository: &'r Repository,
        digest: &Digest,
    ) -> Call<'r> {
        let url = self.url(repository, &format!("blobs/{digest}"));
        Call::new(method, repository, url, pull(repository))
    }

    /// Whether the repository has the blob.
    pub fn blob_exists(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<bool, ClientError> {
        let call = self.blob_call(Method::HEAD, repository, digest);
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
