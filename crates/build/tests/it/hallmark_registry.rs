//! Hallmark's registry in process, on a loopback port, for the tests that push, pull and
//! publish through a real registry; it stops when dropped.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use registry::{Registry, RegistryConfig};
use store::{FsBlobStore, SqliteMetaStore};

/// The registry on the embedded stores, as `hallmark serve` runs it.
pub type EmbeddedRegistry = Registry<FsBlobStore, SqliteMetaStore>;

pub struct HallmarkRegistry {
    pub address: SocketAddr,
    _data: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

impl HallmarkRegistry {
    /// An open registry, as `hallmark serve --auth none`.
    pub fn open() -> Self {
        Self::start(|registry, _| async { registry })
    }

    /// A registry over a fresh data folder; `prepare` sees it and its metadata store before
    /// the first request (to add accounts, private repositories, token auth).
    pub fn start<Prepare, Prepared>(prepare: Prepare) -> Self
    where
        Prepare: FnOnce(EmbeddedRegistry, SqliteMetaStore) -> Prepared,
        Prepared: Future<Output = EmbeddedRegistry>,
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let data = tempfile::tempdir().unwrap();
        let folder = data.path().to_owned();
        let address = runtime.block_on(async move {
            let (blobs, meta) = store::open_embedded(&folder).await.unwrap();
            let registry = Registry::new(blobs, meta.clone(), RegistryConfig::default());
            let app = registry::shared_router(Arc::new(prepare(registry, meta).await));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            tokio::spawn(registry::serve(listener, app, std::future::pending()));
            address
        });
        Self {
            address,
            _data: data,
            _runtime: runtime,
        }
    }
}
