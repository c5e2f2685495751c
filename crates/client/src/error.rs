//! Everything that can go wrong talking to a registry, each message naming what to do.

use std::io;
use std::path::PathBuf;

use oci::{Digest, DigestError, ErrorCode, ReferenceError};
use serde::Deserialize;

use oci::TagExpected;

/// A failure of a registry call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The text is not an image reference.
    #[error("invalid image reference {input:?}: {source}")]
    Reference {
        /// The text given.
        input: String,
        /// Why it does not parse.
        source: ReferenceError,
    },
    /// The reference pins a digest Hallmark does not accept.
    #[error("invalid image reference {input:?}: {source}")]
    Digest {
        /// The text given.
        input: String,
        /// Why the digest is refused.
        source: DigestError,
    },
    /// A repository was wanted, but the text names a tag or digest too.
    #[error("{0:?} names a tag or digest: give a repository as HOST[:PORT]/NAME")]
    NotARepository(String),
    /// `--creds` is not `USER:PASSWORD`.
    #[error("credentials must be USER:PASSWORD (the user name may not be empty)")]
    InvalidCredentials,
    /// The docker config file cannot be read or parsed.
    #[error("docker config {path}: {detail}; fix the file, or pass --creds USER:PASS")]
    DockerConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The docker config keeps this registry's credentials in a helper program, and it did
    /// not give them.
    #[error(
        "docker-credential-{helper} could not give the credentials for {host}: {detail}; fix \
         the helper (try `echo {host} | docker-credential-{helper} get`) or pass --creds USER:PASS"
    )]
    CredentialHelper {
        /// The registry.
        host: String,
        /// The helper's name (`desktop`, `pass`, `ecr-login`, …).
        helper: String,
        /// What went wrong, on one line.
        detail: String,
    },
    /// The registry cannot be reached, or the connection broke.
    #[error("cannot reach {url}: {source}; check the registry address, and use --insecure for a plain-HTTP registry")]
    Transport {
        /// What was asked.
        url: String,
        /// What failed.
        source: Box<ureq::Error>,
    },
    /// A file in a certificate folder (`--cert-dir`, or a certs.d folder) cannot be used.
    #[error("certificate file {}: {detail}; fix or remove it", path.display())]
    CertFile {
        /// The file (or folder).
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The registry's TLS certificate is not signed by a CA this client trusts.
    #[error("the TLS certificate of {host} is not trusted ({detail}): {advice}")]
    UntrustedCertificate {
        /// The registry (or token service) `host[:port]`.
        host: String,
        /// What the TLS library said about the certificate.
        detail: String,
        /// Where to put the CA certificate that would make it trusted.
        advice: String,
    },
    /// The registry wants a client certificate (mutual TLS) and got none it accepts.
    #[error("{host} refused the TLS connection for want of a client certificate it accepts ({detail}): {advice}")]
    ClientCertificate {
        /// The registry `host[:port]`.
        host: String,
        /// What the TLS library said.
        detail: String,
        /// Where the client certificate and key go.
        advice: String,
    },
    /// A loopback registry without a certificate folder was spoken to in plain HTTP, and it
    /// serves HTTPS.
    #[error("{host} serves HTTPS, but it has no certificate folder, so this client spoke plain HTTP to it: {advice}")]
    ServesHttps {
        /// The registry `host[:port]`.
        host: String,
        /// Where to put its CA certificate, which makes the client use HTTPS.
        advice: String,
    },
    /// The registry wants credentials it was not given, or refused the ones given.
    #[error("401 from {host}: {}", unauthorized_fix(user.as_deref(), message))]
    Unauthorized {
        /// The registry (or token service).
        host: String,
        /// The user whose credentials were refused, if any were sent.
        user: Option<String>,
        /// The registry's message.
        message: String,
    },
    /// The caller is known but may not do this.
    #[error("403 from {host}: {} may not do this to {repository} ({message}); use an account that may", user.as_deref().unwrap_or("an anonymous client"))]
    Denied {
        /// The registry.
        host: String,
        /// The repository.
        repository: String,
        /// The user, if credentials were sent.
        user: Option<String>,
        /// The registry's message.
        message: String,
    },
    /// The registry answered with an error status.
    #[error("{host} answered {status}{}: {message}", code_text.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Registry {
        /// The registry.
        host: String,
        /// The HTTP status.
        status: u16,
        /// The OCI error code of the first error in the body, when it is a known one.
        code: Option<ErrorCode>,
        /// The code as sent, known or not.
        code_text: Option<String>,
        /// The registry's message (and detail), or the status's meaning.
        message: String,
    },
    /// A conditional push ([`crate::Client::put_manifest_if`]) found the tag otherwise than
    /// expected: another client moved it since it was read. Nothing was changed.
    #[error("{host} did not move {reference}: it is no longer {expected} ({message}); read it again and retry")]
    TagMoved {
        /// The registry.
        host: String,
        /// The tag, `name:tag`.
        reference: String,
        /// What the push expected the tag to be.
        expected: TagExpected,
        /// The registry's message.
        message: String,
    },
    /// Content does not hash to the digest it was fetched or pushed by.
    #[error(
        "{what} from {host} does not match its digest: expected {expected}, got {actual}; the \
         registry or something between served other bytes, so they were discarded"
    )]
    DigestMismatch {
        /// The registry.
        host: String,
        /// What was checked (`blob sha256:…`, `manifest latest`).
        what: String,
        /// The digest asked for or announced.
        expected: Digest,
        /// The digest of what arrived.
        actual: Digest,
    },
    /// The registry's token service is on plain HTTP on another machine: credentials would
    /// cross the network unencrypted.
    #[error("the registry's token service {realm} is plain HTTP: pass --insecure to send credentials to it anyway")]
    InsecureRealm {
        /// The token service's URL.
        realm: String,
    },
    /// The connection broke while a body was read.
    #[error("reading {url}: {source}; retry")]
    Body {
        /// What was being read.
        url: String,
        /// The failure.
        source: io::Error,
    },
    /// Content to push does not hash to the digest it is pushed by.
    #[error("the {what} does not hash to {expected} but to {actual}: push it by its own digest")]
    WrongDigest {
        /// What was to be pushed.
        what: String,
        /// The digest it was to be pushed by.
        expected: Digest,
        /// Its actual digest.
        actual: Digest,
    },
    /// The registry's answer breaks the protocol.
    #[error("{host} sent an invalid answer to {request}: {detail}")]
    InvalidResponse {
        /// The registry (or token service).
        host: String,
        /// Which call.
        request: String,
        /// What is wrong.
        detail: String,
    },
    /// A request failed in a way that may pass later (a broken connection, `429`, `502`,
    /// `503`, `504`) on every attempt this client makes.
    #[error("{source} ({})", gave_up(*attempts, *asked_wait))]
    GaveUp {
        /// How many times the request was sent.
        attempts: u32,
        /// The wait the registry asked for when it is longer than this client waits.
        asked_wait: Option<std::time::Duration>,
        /// The last attempt's failure.
        source: Box<ClientError>,
    },
    /// A local file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
}

fn unauthorized_fix(user: Option<&str>, message: &str) -> String {
    match user {
        None => format!("{message}; pass --creds USER:PASS or run docker login"),
        Some(user) => {
            format!("{message}; the credentials of {user:?} were refused: check the user name and password")
        }
    }
}

fn gave_up(attempts: u32, asked_wait: Option<std::time::Duration>) -> String {
    let tries = if attempts == 1 { "attempt" } else { "attempts" };
    match asked_wait {
        None => format!("gave up after {attempts} {tries}"),
        Some(wait) => format!(
            "gave up after {attempts} {tries}: the registry asks to wait {} s, longer than this \
             client waits; try again later",
            wait.as_secs()
        ),
    }
}

impl ClientError {
    /// Whether the registry said the manifest, blob or repository does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Registry { status: 404, .. })
    }

    /// The OCI error code the registry sent, if any.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Registry { code, .. } => *code,
            Self::Unauthorized { .. } => Some(ErrorCode::Unauthorized),
            Self::Denied { .. } => Some(ErrorCode::Denied),
            Self::TagMoved { .. } => Some(ErrorCode::PreconditionFailed),
            Self::GaveUp { source, .. } => source.code(),
            _ => None,
        }
    }
}

/// The first error of an OCI error body (`{"errors":[{"code","message","detail"}]}`).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ErrorBody {
    pub code: Option<String>,
    pub message: Option<String>,
}

impl ErrorBody {
    /// Reads a body that may or may not be an OCI error; anything else gives an empty one.
    pub fn parse(body: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct Errors {
            errors: Vec<Entry>,
        }
        #[derive(Deserialize)]
        struct Entry {
            code: Option<String>,
            message: Option<String>,
            detail: Option<serde_json::Value>,
        }
        let Ok(Errors { errors }) = serde_json::from_slice::<Errors>(body) else {
            return Self::default();
        };
        let Some(first) = errors.into_iter().next() else {
            return Self::default();
        };
        let detail = first.detail.and_then(|detail| match detail {
            serde_json::Value::String(text) if !text.is_empty() => Some(text),
            serde_json::Value::Null | serde_json::Value::String(_) => None,
            other => Some(other.to_string()),
        });
        let message = match (first.message.filter(|m| !m.is_empty()), detail) {
            (Some(message), Some(detail)) => Some(format!("{message}: {detail}")),
            (message, detail) => message.or(detail),
        };
        Self {
            code: first.code,
            message,
        }
    }

    /// The code as one of the OCI spec's, if it is one.
    pub fn known_code(&self) -> Option<ErrorCode> {
        let code = self.code.as_deref()?;
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_give_their_first_code_and_message() {
        let cases: [(&str, Option<&str>, Option<&str>); 6] = [
            (
                r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#,
                Some("MANIFEST_UNKNOWN"),
                Some(r#"manifest unknown: {"Tag":"x"}"#),
            ),
            (
                r#"{"errors":[{"code":"DENIED","message":"","detail":"no push"},{"code":"UNKNOWN"}]}"#,
                Some("DENIED"),
                Some("no push"),
            ),
            (
                r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down","detail":null}]}"#,
                Some("TOOMANYREQUESTS"),
                Some("slow down"),
            ),
            (r#"{"errors":[]}"#, None, None),
            ("404 page not found", None, None),
            ("", None, None),
        ];
        for (body, code, message) in cases {
            let parsed = ErrorBody::parse(body.as_bytes());
            assert_eq!(parsed.code.as_deref(), code, "{body}");
            assert_eq!(parsed.message.as_deref(), message, "{body}");
        }
        let custom = ErrorBody {
            code: Some("NOT_A_SPEC_CODE".into()),
            message: None,
        };
        assert_eq!(custom.known_code(), None);
        let known = ErrorBody::parse(br#"{"errors":[{"code":"BLOB_UNKNOWN"}]}"#);
        assert_eq!(known.known_code(), Some(ErrorCode::BlobUnknown));
    }

    #[test]
    fn messages_name_the_fix() {
        let anonymous = ClientError::Unauthorized {
            host: "r.example".into(),
            user: None,
            message: "authentication required".into(),
        };
        assert_eq!(
            anonymous.to_string(),
            "401 from r.example: authentication required; pass --creds USER:PASS or run docker login"
        );
        let refused = ClientError::Unauthorized {
            host: "r.example".into(),
            user: Some("ann".into()),
            message: "invalid credentials".into(),
        };
        assert!(
            refused.to_string().contains("\"ann\" were refused"),
            "{refused}"
        );
        let registry = ClientError::Registry {
            host: "r.example".into(),
            status: 404,
            code: Some(ErrorCode::ManifestUnknown),
            code_text: Some("MANIFEST_UNKNOWN".into()),
            message: "manifest unknown".into(),
        };
        assert_eq!(
            registry.to_string(),
            "r.example answered 404 MANIFEST_UNKNOWN: manifest unknown"
        );
        assert!(registry.is_not_found());
    }
}
