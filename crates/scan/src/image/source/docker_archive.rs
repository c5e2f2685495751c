//! `docker save` archives: `manifest.json` names each image's config and layer tars inside
//! the archive. The archive is indexed once (entry name → offset) and each layer is then read
//! in place, checked against the config's `diff_ids`.

use std::collections::HashMap;
use std::io::BufReader;
use std::path::Path;

use oci::manifest::{DockerArchiveEntry, ImageConfig};
use oci::Digest;

use super::{
    created_by, inventory_of, open, parse_json, platform_of, platform_selected, read_json,
    read_small, seek_to, Check, ImageInventory, LayerJob, ScanOptions, SourceError,
};
use crate::cache::LayerCache;
use crate::image::layer::{normalize, resolve_link};
use crate::image::tar::{EntryKind, TarReader};
use crate::inventory::LayerRef;

/// Where each file of the archive is, and its links (`docker save` links a layer tar that
/// two images share instead of storing it twice).
#[derive(Default)]
struct ArchiveIndex {
    files: HashMap<String, (u64, u64)>,
    links: HashMap<String, String>,
}

impl ArchiveIndex {
    fn find(&self, name: &str) -> Option<(u64, u64)> {
        let mut name = normalize(name).ok()??;
        for _ in 0..40 {
            if let Some(&found) = self.files.get(&name) {
                return Some(found);
            }
            name = self.links.get(&name)?.clone();
        }
        None
    }
}

pub(super) fn scan(
    path: &Path,
    options: &ScanOptions,
    cache: &dyn LayerCache,
) -> Result<Vec<ImageInventory>, SourceError> {
    let layer_error = |source| SourceError::Layer {
        layer: path.display().to_string(),
        source,
    };
    let mut tar = TarReader::new(BufReader::new(open(path)?), options.limits.max_header);
    let mut index = ArchiveIndex::default();
    while let Some(entry) = tar.next_entry().map_err(layer_error)? {
        let Some(name) = normalize(&entry.path).map_err(layer_error)? else {
            continue;
        };
        let dir = name.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
        match (entry.kind, entry.link) {
            (EntryKind::File, _) => {
                index.files.insert(name, (tar.position(), entry.size));
            }
            (EntryKind::Symlink, Some(target)) => {
                index.links.insert(name, resolve_link(&dir, &target));
            }
            (EntryKind::Hardlink, Some(target)) => {
                index.links.insert(name, resolve_link("", &target));
            }
            _ => {}
        }
    }
    let member = |name: &str| {
        index.find(name).ok_or_else(|| SourceError::Json {
            what: "manifest.json".into(),
            message: format!("it names {name:?}, which the archive lacks"),
        })
    };
    let read_member = |name: &str| -> Result<Box<dyn std::io::Read>, SourceError> {
        let (offset, size) = member(name)?;
        seek_to(path, offset, size).map_err(|source| SourceError::Io {
            path: path.to_owned(),
            source,
        })
    };
    let entries: Vec<DockerArchiveEntry> =
        read_json(read_member("manifest.json")?, "manifest.json")?;
    let mut out = Vec::new();
    for entry in entries {
        let config_bytes = read_small(read_member(&entry.config)?, &entry.config)?;
        let config: ImageConfig = parse_json(&config_bytes, &entry.config)?;
        let platform = platform_of(&config.platform);
        if !platform_selected(options, platform.as_deref()) {
            continue;
        }
        let config_digest = Digest::of(oci::DigestAlgorithm::Sha256, &config_bytes);
        if config.rootfs.diff_ids.len() != entry.layers.len() {
            return Err(SourceError::Json {
                what: entry.config.clone(),
                message: format!(
                    "{} diff_ids for {} layers",
                    config.rootfs.diff_ids.len(),
                    entry.layers.len()
                ),
            });
        }
        let history = created_by(&config);
        let mut jobs = Vec::new();
        for (i, (layer, diff_id)) in entry.layers.iter().zip(&config.rootfs.diff_ids).enumerate() {
            let (offset, size) = member(layer)?;
            let archive = path.to_owned();
            jobs.push(LayerJob {
                layer: LayerRef {
                    digest: Some(diff_id.to_string()),
                    created_by: history.get(i).cloned().flatten(),
                },
                open: Box::new(move || seek_to(&archive, offset, size)),
                check: Check::DiffId(diff_id.clone()),
            });
        }
        let inventory = inventory_of(jobs, options, cache)?;
        out.push(ImageInventory {
            platform,
            image: Some(config_digest.to_string()),
            tags: entry.repo_tags,
            inventory,
        });
    }
    if out.is_empty() {
        return Err(SourceError::NoImage(path.display().to_string()));
    }
    Ok(out)
}
