//! The embedded deployment: blob files and the SQLite database side by side in one data folder,
//! so `hallmark serve --data DIR` needs nothing but the binary.

use std::path::Path;

use crate::blob::BlobError;
use crate::fs::{FsBlobStore, DEFAULT_TEMP_GRACE};
use crate::meta::MetaError;
use crate::sqlite::SqliteMetaStore;

/// The metadata database's name inside the data folder.
pub const METADATA_FILE: &str = "metadata.db";

/// A failure in work that spans both stores.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Blob storage failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
}

/// Opens (creating if needed) both stores of the data folder `data`.
pub async fn open_embedded(data: &Path) -> Result<(FsBlobStore, SqliteMetaStore), StoreError> {
    // Blob storage first: it creates the folder the database file goes into.
    let blobs = FsBlobStore::open(data, DEFAULT_TEMP_GRACE).await?;
    let meta = SqliteMetaStore::open(&data.join(METADATA_FILE)).await?;
    Ok((blobs, meta))
}
