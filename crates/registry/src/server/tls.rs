//! HTTPS on the registry's own accept loop: the certificate and key `serve --tls-cert/--tls-key`
//! name (and the CA of `--tls-client-ca`, for mutual TLS), loaded and checked at start, and
//! each connection's TLS handshake.
//!
//! Under TLS every request goes to hyper: the bytes must be encrypted in user space, so there
//! is nothing for `sendfile(2)` to do, and blob bodies stream in the router's large chunks
//! instead. Only `http/1.1` is offered in ALPN, as hyper is built without HTTP/2.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// How long a client may take to finish its handshake; a connection that never does would
/// otherwise hold a task and a socket until the server stops.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a refused plain-HTTP client is given to read its answer and close.
const DRAIN_BEFORE_CLOSE: Duration = Duration::from_secs(1);

/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// What a plain-HTTP request to the HTTPS port gets, as Go's servers (distribution, zot)
/// answer it, so `curl http://` says what went wrong instead of reporting a reset.
const PLAIN_HTTP_ANSWER: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\
    Content-Type: text/plain; charset=utf-8\r\n\
    Connection: close\r\n\
    Content-Length: 48\r\n\r\n\
    Client sent an HTTP request to an HTTPS server.\n";

/// Why the certificate or key cannot serve HTTPS; each message names the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file could not be read.
    #[error("cannot read the TLS {role} {} (give --tls-{flag} a readable PEM file)", .path.display(), role = .role, flag = .role.flag())]
    Read {
        /// Which of the two files.
        role: TlsFile,
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The certificate file holds no certificate (or is not PEM).
    #[error("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----): give --tls-cert the server's certificate chain{}", .path.display(), detail_suffix(.detail))]
    NoCertificate {
        /// The file.
        path: PathBuf,
        /// What the PEM reader said, when it said more than "nothing found".
        detail: Option<String>,
    },
    /// The key file holds no private key (or is not PEM).
    #[error("{} holds no PEM private key (PKCS#8, RSA or EC): give --tls-key the certificate's private key{}", .path.display(), detail_suffix(.detail))]
    NoKey {
        /// The file.
        path: PathBuf,
        /// What the PEM reader said, when it said more than "nothing found".
        detail: Option<String>,
    },
    /// The client CA file holds no certificate a client's could be checked against.
    #[error("{} holds no usable PEM CA certificate: give --tls-client-ca the CA that signs client certificates{}", .path.display(), detail_suffix(.detail))]
    NoClientCa {
        /// The file.
        path: PathBuf,
        /// What was wrong, when more than "nothing found".
        detail: Option<String>,
    },
    /// The key is not the one the certificate was issued for.
    #[error("the private key {} does not belong to the certificate {}: give --tls-key the key the certificate was issued for", .key.display(), .cert.display())]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// rustls refused the pair for another reason (an unsupported key type, a malformed
    /// certificate).
    #[error("the certificate {} and key {} cannot serve TLS (use an RSA, ECDSA or Ed25519 key with its X.509 certificate)", .cert.display(), .key.display())]
    Unusable {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        source: rustls::Error,
    },
}

fn detail_suffix(detail: &Option<String>) -> String {
    detail
        .as_ref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default()
}

/// Which of the two files a [`TlsError::Read`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFile {
    /// `--tls-cert`.
    Certificate,
    /// `--tls-key`.
    Key,
    /// `--tls-client-ca`.
    ClientCa,
}

impl TlsFile {
    fn flag(self) -> &'static str {
        match self {
            Self::Certificate => "cert",
            Self::Key => "key",
            Self::ClientCa => "client-ca",
        }
    }
}

impl fmt::Display for TlsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Certificate => "certificate",
            Self::Key => "private key",
            Self::ClientCa => "client CA",
        })
    }
}

/// A loaded certificate chain and key, ready to accept TLS connections; see [`crate::serve_tls`].
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Reads a PEM certificate chain (the server's certificate first) and a PEM private key
    /// (PKCS#8, RSA PKCS#1 or SEC1 EC), and checks that the key is the certificate's. With
    /// `client_ca`, every client must present a certificate that CA signed (mutual TLS).
    pub fn from_pem_files(
        cert: &Path,
        key: &Path,
        client_ca: Option<&Path>,
    ) -> Result<Self, TlsError> {
        let chain = read_chain(cert)?;
        let private_key = read_key(key)?;
        let provider = Arc::new(ring::default_provider());
        let unusable = |source| TlsError::Unusable {
            cert: cert.to_owned(),
            key: key.to_owned(),
            source,
        };
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(unusable)?;
        let builder = match client_ca {
            Some(path) => builder.with_client_cert_verifier(client_verifier(path, provider)?),
            None => builder.with_no_client_auth(),
        };
        let mut config =
            builder
                .with_single_cert(chain, private_key)
                .map_err(|error| match error {
                    rustls::Error::InconsistentKeys(_) => TlsError::Mismatch {
                        cert: cert.to_owned(),
                        key: key.to_owned(),
                    },
                    other => unusable(other),
                })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}

fn read_file(role: TlsFile, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        role,
        path: path.to_owned(),
        source,
    })
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_file(TlsFile::Certificate, path)?;
    let no_certificate = |detail| TlsError::NoCertificate {
        path: path.to_owned(),
        detail,
    };
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| no_certificate(Some(format!("{e:?}"))))?;
    if chain.is_empty() {
        return Err(no_certificate(None));
    }
    Ok(chain)
}

/// Checks client certificates against the CAs in `path`.
fn client_verifier(
    path: &Path,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsError> {
    let pem = read_file(TlsFile::ClientCa, path)?;
    let no_ca = |detail| TlsError::NoClientCa {
        path: path.to_owned(),
        detail,
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| no_ca(Some(format!("{e:?}"))))?;
        roots.add(cert).map_err(|e| no_ca(Some(e.to_string())))?;
    }
    if roots.is_empty() {
        return Err(no_ca(None));
    }
    rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| no_ca(Some(e.to_string())))
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read_file(TlsFile::Key, path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|error| TlsError::NoKey {
        path: path.to_owned(),
        detail: match error {
            rustls::pki_types::pem::Error::NoItemsFound => None,
            other => Some(format!("{other:?}")),
        },
    })
}

/// Serves one connection over TLS: the handshake, then hyper for the rest of its life. A
/// failed handshake is the client's affair (a wrong CA, a port scanner, plain HTTP), so it is
/// logged at debug level and only ends this connection.
pub(super) async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    tls: &ServerTls,
    stopping: &CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let handshake = async {
        match first_byte(&stream).await {
            Some(TLS_HANDSHAKE_RECORD) => {}
            first => {
                refuse_non_tls(stream, peer, first).await;
                return None;
            }
        }
        match tls.acceptor.accept(stream).await {
            Ok(stream) => Some(stream),
            Err(error) => {
                tracing::debug!(%peer, "TLS handshake failed: {error}");
                None
            }
        }
    };
    // A handshake is not a request yet: shutting down does not wait for it.
    let stream = tokio::select! {
        done = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake) => match done {
            Ok(Some(stream)) => stream,
            Ok(None) => return,
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return;
            }
        },
        () = stopping.cancelled() => return,
    };
    super::hand_over(stream, peer, app, super::Scheme::Https, stopping).await;
}

/// The client's first byte, without taking it; `None` when it closed or failed first.
async fn first_byte(stream: &TcpStream) -> Option<u8> {
    let mut first = [0u8; 1];
    matches!(stream.peek(&mut first).await, Ok(1)).then_some(first[0])
}

/// Answers a client that spoke plain HTTP (its first byte a letter, as a method starts) with
/// a 400 that says so, and closes; anything else that is not TLS is just closed.
async fn refuse_non_tls(mut stream: TcpStream, peer: SocketAddr, first: Option<u8>) {
    let plain_http = first.is_some_and(|byte| byte.is_ascii_uppercase());
    tracing::debug!(%peer, plain_http, "a connection to the TLS port did not start a handshake");
    if plain_http {
        let _ = stream.write_all(PLAIN_HTTP_ANSWER).await;
    }
    let _ = stream.shutdown().await;
    // Closing with the request still unread would reset the connection, and the client could
    // lose the answer; reading what it sent until it closes (briefly) lets the answer land.
    let _ = tokio::time::timeout(DRAIN_BEFORE_CLOSE, async {
        let mut sink = [0u8; 4096];
        while matches!(stream.read(&mut sink).await, Ok(read) if read > 0) {}
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_http_answer_declares_its_body_length() {
        let text = std::str::from_utf8(PLAIN_HTTP_ANSWER).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
    }

    #[test]
    fn missing_and_empty_files_name_the_file_and_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let error = ServerTls::from_pem_files(&cert, &key, None).unwrap_err();
        assert!(matches!(
            error,
            TlsError::Read {
                role: TlsFile::Certificate,
                ..
            }
        ));
        assert!(error.to_string().contains("--tls-cert"), "{error}");
        std::fs::write(&cert, "not pem").unwrap();
        let error = ServerTls::from_pem_files(&cert, &key, None).unwrap_err();
        assert!(matches!(error, TlsError::NoCertificate { .. }), "{error}");
        assert!(error.to_string().contains("cert.pem"), "{error}");
    }
}
