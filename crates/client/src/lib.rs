//! A blocking client for the OCI Distribution API (and the Docker Registry v2 API it grew
//! from), so Hallmark can pull, push, tag and find referrers on its own registry or any other.
//!
//! It authenticates the way docker does: anonymously first; on a `401` it reads the
//! `WWW-Authenticate` challenge, fetches a bearer token from the realm (with Basic credentials,
//! or a refresh token `docker login` stored) or sends Basic credentials, caches what it earned
//! per scope and retries. Credentials come from [`ClientOptions::creds`] or the docker config
//! file: its `auths`, or the credential helper (`docker-credential-<name> get`) its
//! `credHelpers` or `credsStore` names, as the docker CLI reads them.
//!
//! Requests that may be sent twice (reads, manifest `PUT`s; blob uploads start again from
//! their `POST`) are retried on broken connections, `429`, `502`, `503` and `504`, honouring
//! `Retry-After`, as [`ClientOptions::retry`] says. A blob download that breaks midway is
//! resumed from the last byte received (see [`BlobReader`]).
//!
//! Everything fetched is checked against its digest before the caller sees it as whole: blobs
//! and manifests fetched by digest hash to that digest, manifests fetched by tag to the
//! `Docker-Content-Digest` the registry announced, and a mismatch is an error, never data.
//! Loopback registries are spoken to over plain HTTP, others over HTTPS unless
//! [`ClientOptions::insecure`].
//!
//! A registry with a private CA or a client certificate is trusted the way docker and skopeo
//! trust it: from its folder `<certs.d>/<host[:port]>/` (`*.crt` CA roots, `*.cert` and
//! `*.key` a client certificate) under `~/.config/containers/certs.d`,
//! `/etc/containers/certs.d` or `/etc/docker/certs.d`, or from [`ClientOptions::cert_dir`].
//! Such a registry gets HTTPS even on a loopback address.
//!
//! ```no_run
//! # fn main() -> Result<(), client::ClientError> {
//! let client = client::Client::new(client::ClientOptions::default())?;
//! let repo = client::Repository::parse("127.0.0.1:5000/library/debian")?;
//! let manifest = client.manifest(&repo, "bookworm")?;
//! println!("{} {}", manifest.digest, manifest.media_type);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod auth;
mod blobs;
mod certs;
mod cred_helper;
mod error;
pub mod header;
mod login;
mod manifests;
mod reference;
mod retry;
mod transport;

use std::path::PathBuf;

pub use auth::{Credentials, Secret};
pub use blobs::BlobReader;
pub use error::ClientError;
pub use manifests::{FetchedManifest, ManifestInfo};
pub use oci::TagExpected;
pub use reference::{ImageRef, Repository};
pub use retry::RetryPolicy;

/// How a [`Client`] authenticates and connects.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Credentials for every registry this client talks to (`--creds USER:PASS`), or only
    /// for [`ClientOptions::creds_registry`]; when `None`, the docker config file's entry for
    /// the registry, if any.
    pub creds: Option<Credentials>,
    /// The one registry (`host[:port]`, as references name it) that `creds` are sent to;
    /// every other registry gets the docker config's entry. `None` sends them everywhere,
    /// which suits a command that talks to one registry; a build agent that also reads
    /// external parents must not hand its robot's secret to their registries.
    pub creds_registry: Option<String>,
    /// Plain HTTP to every registry (loopback registries get it anyway unless they have a
    /// certificate folder).
    pub insecure: bool,
    /// The docker config file; `None` for `$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
    /// How many tags to ask for per page of a listing; `None` lets the registry choose.
    pub page_size: Option<u32>,
    /// How requests that fail in a way that may pass are retried.
    pub retry: RetryPolicy,
    /// A folder of certificates for every registry, as skopeo's `--cert-dir`: `*.crt` CA
    /// roots, and a `*.cert` with its `*.key` as the client certificate. When `None`, each
    /// registry's folder in the certs.d folders docker and the containers tools read.
    pub cert_dir: Option<PathBuf>,
}

/// A registry client. It is `Send + Sync`: share one by reference between threads, and they
/// share its connections and the tokens it earned.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    options: ClientOptions,
    docker_config: auth::DockerConfig,
    cache: auth::AuthCache,
    certs: certs::CertDirs,
}

impl Client {
    /// A client with `options`; reads the docker config file now, so a broken one is reported
    /// before any request.
    pub fn new(options: ClientOptions) -> Result<Self, ClientError> {
        let docker_config = auth::DockerConfig::load(options.docker_config.as_deref())?;
        Ok(Self {
            agent: transport::agent(),
            certs: certs::CertDirs::new(options.cert_dir.clone()),
            options,
            docker_config,
            cache: auth::AuthCache::default(),
        })
    }
}
