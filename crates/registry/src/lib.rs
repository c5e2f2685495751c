//! Hallmark's registry: the OCI Distribution 1.1 API (and the Docker Registry v2 API it grew
//! from) over the [`store`] traits, as an [`axum::Router`].
//!
//! The layers follow trow's: [`router`] parses each request path into a route and hands it,
//! in one line per endpoint, to a service method on [`Registry`]; services speak to the
//! [`store::BlobStore`] and [`store::MetaStore`] traits and never to files or SQL. Errors carry
//! an [`oci::ErrorCode`], whose one table decides the status. Blob bodies stream through in
//! large chunks both ways; no blob is ever held in memory whole.
//!
//! With [`Registry::with_auth`], every route checks a bearer token first (see `auth`), and
//! `/token` issues them; without it the registry is open to everyone, for local experiments.
//! The admin JSON API (`/admin/v1/…`) manages accounts, organisations, tiers, visibility and
//! reads the audit log, with [`admin`]'s helpers that `hallmark admin` shares.
//!
//! A manifest push honours `If-Match` and `If-None-Match` against the tag's current digest
//! (the `ETag` of manifest responses), checked and moved as one compare-and-set in the store,
//! so clients that read, change and write a tag lose nothing to each other (412 otherwise).
//!
//! [`serve`] runs the router on a listener; it sends blob GETs from the blob store's local files
//! with `sendfile(2)` and hands every other request to hyper.
//!
//! Beside it sit Docker Hub's search (`/v1/search`, which `docker search` and `podman search`
//! speak) and its repository API (`/v2/repositories/<namespace>/<name>/` and `tags/`), read
//! from the store's catalogue; every answer about a repository carries its [`oci::TrustTier`].

#![deny(missing_docs)]

pub mod admin;
mod auth;
mod body;
mod catalogue;
mod conditional;
mod error;
mod manifest;
mod metrics;
mod name;
mod pulls;
mod route;
mod routes;
mod server;
mod service;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use store::{BlobStore, MetaStore};

pub use auth::{Auth, AuthConfig};
pub use conditional::Preconditions;
pub use error::RegistryError;
pub use metrics::Metrics;
pub use name::{Reference, RepositoryName, MAX_NAME_LEN};
pub use route::{AdminRoute, Route};
pub use routes::{router, shared_router};
pub use server::{read_blob_get_head, serve, serve_tls, ServerTls, TlsError, TlsFile};

/// The registry's limits and policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    /// The largest manifest accepted on PUT, in bytes.
    pub max_manifest_bytes: usize,
    /// How long an upload session stays usable after it starts.
    pub upload_ttl: Duration,
    /// Whether `POST …/blobs/uploads/?mount=<digest>` without `from` mounts a blob that any
    /// repository has (the spec's automatic content discovery).
    pub automatic_mount: bool,
    /// How long pulls are counted in memory before they are added to the store in one write.
    pub pull_count_interval: Duration,
    /// The folder of build logs (`<data>/build-logs`, written by `hallmark build`), served at
    /// `/v2/<arch>/<repo>/builds/<tag>/log`; `None` serves none.
    pub build_logs: Option<std::path::PathBuf>,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            max_manifest_bytes: 4 << 20,
            upload_ttl: Duration::from_secs(24 * 60 * 60),
            automatic_mount: true,
            pull_count_interval: Duration::from_secs(5),
            build_logs: None,
        }
    }
}

/// The registry's state: its stores, limits and metrics, shared by every request.
#[derive(Debug)]
pub struct Registry<B, M> {
    blobs: B,
    meta: M,
    config: RegistryConfig,
    metrics: Arc<Metrics>,
    pulls: pulls::PullCounter,
    /// Token authentication; `None` serves everyone everything (`hallmark serve --auth none`).
    auth: Option<Auth>,
}

impl<B: BlobStore, M: MetaStore> Registry<B, M> {
    /// A registry over `blobs` and `meta`.
    pub fn new(blobs: B, meta: M, config: RegistryConfig) -> Self {
        Self {
            pulls: pulls::PullCounter::new(config.pull_count_interval),
            blobs,
            meta,
            config,
            metrics: Arc::new(Metrics::default()),
            auth: None,
        }
    }

    /// The same registry with every route behind token authentication.
    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// The counters `/metrics` reports.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Records the pulls counted in memory now; a server calls it once it stopped serving, so
    /// a graceful stop loses no count.
    pub async fn flush_pulls(&self) -> Result<(), store::MetaError> {
        self.pulls.flush(&self.meta).await
    }
}

/// The current time in Unix milliseconds, the unit the metadata store records.
fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
