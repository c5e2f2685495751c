//! A registry data folder's part in a scan (`hallmark scan --data`, and `hallmark build` into
//! a registry's data folder): the advisories `hallmark db import` stored are matched, and each
//! scanned image's inventory is recorded with its findings, so that the next import re-matches
//! it without reading a layer.

use oci::Digest;
use scan::image::source::ImageInventory;
use scan::AdvisoryDb;
use store::MetaStore;

/// The stored advisories; records that no longer read back are counted on stderr.
pub async fn advisories(meta: &impl MetaStore) -> anyhow::Result<AdvisoryDb> {
    let loaded = monitor::load_advisories(meta).await?;
    if let Some(first) = loaded.problems.first() {
        eprintln!(
            "hallmark: {} stored advisory records do not read back; the first: {first}; import that source again",
            loaded.problems.len()
        );
    }
    Ok(loaded.db)
}

/// Records every scanned image that has a manifest digest (OCI layouts and registry images;
/// a docker archive has only its config's, and a folder none, so those are not recorded).
pub async fn record(
    meta: &impl MetaStore,
    reference: &str,
    images: &[ImageInventory],
    db: &AdvisoryDb,
) -> anyhow::Result<()> {
    let now_ms = now_ms();
    for image in images {
        let digest = match (reference.starts_with("docker-archive:"), &image.image) {
            (false, Some(digest)) => Digest::parse(digest)?,
            _ => {
                eprintln!("hallmark: {reference} has no manifest digest, so its inventory is not recorded");
                continue;
            }
        };
        let matches = image.inventory.match_advisories(db);
        monitor::record_scan(
            meta,
            &digest,
            Some(reference),
            &image.inventory,
            &matches,
            now_ms,
        )
        .await?;
    }
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
