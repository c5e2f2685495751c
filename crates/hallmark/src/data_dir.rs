//! The data folder the store commands (`gc`, `fsck`) work on: the same option, environment
//! variable and default as `hallmark serve`, so one setting points all of them at one registry.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use store::{FsBlobStore, SqliteMetaStore};

/// Where the registry's data lives.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// Data folder holding the metadata database and the blobs.
    #[arg(long, env = "HALLMARK_DATA", default_value = "hallmark-data")]
    pub data: PathBuf,
}

impl DataArgs {
    /// Opens the folder's stores, refusing a folder that does not exist rather than creating
    /// an empty registry there, which would make a mistyped path look clean.
    pub async fn open(&self) -> anyhow::Result<(FsBlobStore, SqliteMetaStore)> {
        anyhow::ensure!(
            self.data.join(store::METADATA_FILE).is_file(),
            "{} holds no registry data (no {}): pass --data or set HALLMARK_DATA",
            self.data.display(),
            store::METADATA_FILE
        );
        store::open_embedded(&self.data)
            .await
            .with_context(|| format!("opening the data folder {}", self.data.display()))
    }
}

/// Runs one store command to completion on a small runtime: these commands are sequential,
/// and file work goes to the blocking pool anyway.
pub fn block_on<T>(
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(work)
}
