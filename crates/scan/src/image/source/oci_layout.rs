//! OCI image layouts: `index.json` → (nested indexes →) manifests → config and layers, each
//! blob under `blobs/<algorithm>/<hex>` checked against its digest and size.

use std::path::Path;

use oci::manifest::{
    Descriptor, ImageConfig, ImageIndex, Manifest, MediaType, REF_NAME_ANNOTATION,
};
use oci::Digest;

use super::{
    created_by, inventory_of, open, parse_json, platform_of, platform_selected, read_json,
    read_small, Check, ImageInventory, LayerJob, ScanOptions, SourceError,
};
use crate::cache::LayerCache;
use crate::inventory::LayerRef;

/// Real images nest an index at most once (a layout's index naming a multi-platform index);
/// a deeper nesting is refused rather than followed into a loop.
const MAX_DEPTH: usize = 4;

struct Layout<'a> {
    root: &'a Path,
    options: &'a ScanOptions,
    cache: &'a dyn LayerCache,
}

pub(super) fn scan(
    root: &Path,
    tag: Option<&str>,
    options: &ScanOptions,
    cache: &dyn LayerCache,
) -> Result<Vec<ImageInventory>, SourceError> {
    let index: ImageIndex = read_json(open(&root.join("index.json"))?, "index.json")?;
    let layout = Layout {
        root,
        options,
        cache,
    };
    let mut out = Vec::new();
    for descriptor in &index.manifests {
        let name = descriptor.annotations.get(REF_NAME_ANNOTATION);
        if tag.is_some_and(|t| name.map(String::as_str) != Some(t)) {
            continue;
        }
        layout.visit(descriptor, name.into_iter().cloned().collect(), 0, &mut out)?;
    }
    if out.is_empty() {
        return Err(SourceError::NoImage(root.display().to_string()));
    }
    Ok(out)
}

impl Layout<'_> {
    fn visit(
        &self,
        descriptor: &Descriptor,
        tags: Vec<String>,
        depth: usize,
        out: &mut Vec<ImageInventory>,
    ) -> Result<(), SourceError> {
        if depth > MAX_DEPTH {
            return Err(self.invalid(&descriptor.digest, "indexes nest too deeply"));
        }
        // An index may also list content that is no manifest (an artifact's blob).
        let media_type = descriptor.media_type.as_str();
        if !media_type.is_empty() && !MediaType::MANIFEST_TYPES.contains(&media_type) {
            return Ok(());
        }
        let manifest = Manifest::parse(Some(media_type), &self.blob(descriptor)?)
            .map_err(|e| self.invalid(&descriptor.digest, &e.to_string()))?;
        let image = match manifest {
            Manifest::Index(index) => {
                for child in index.manifests.iter().filter(|c| self.wanted(c)) {
                    self.visit(child, tags.clone(), depth + 1, out)?;
                }
                return Ok(());
            }
            Manifest::Image(image) => image,
        };
        let config: ImageConfig =
            parse_json(&self.blob(&image.config)?, image.config.digest.as_str())?;
        let platform = platform_of(&config.platform);
        if !platform_selected(self.options, platform.as_deref()) {
            return Ok(());
        }
        let history = created_by(&config);
        let mut jobs = Vec::new();
        for (i, layer) in image.layers.iter().enumerate() {
            let path = self.blob_path(&layer.digest);
            jobs.push(LayerJob {
                layer: LayerRef {
                    digest: Some(layer.digest.to_string()),
                    created_by: history.get(i).cloned().flatten(),
                },
                open: Box::new(move || {
                    Ok(Box::new(std::io::BufReader::with_capacity(
                        1 << 16,
                        std::fs::File::open(&path)?,
                    )))
                }),
                check: Check::Blob(layer.digest.clone(), layer.size),
            });
        }
        let inventory = inventory_of(jobs, self.options, self.cache)?;
        out.push(ImageInventory {
            platform,
            image: Some(descriptor.digest.to_string()),
            tags,
            inventory,
        });
        Ok(())
    }

    /// Whether an index entry is an image to scan: not BuildKit's provenance (a manifest for
    /// platform unknown/unknown), and of the platform asked for when it names one.
    fn wanted(&self, child: &Descriptor) -> bool {
        let attestation = child.is_attestation_manifest();
        let Some(p) = &child.platform else {
            return !attestation;
        };
        let platform = platform_of(p);
        !attestation
            && p.os != "unknown"
            && (platform.is_none() || platform_selected(self.options, platform.as_deref()))
    }

    fn blob_path(&self, digest: &Digest) -> std::path::PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().name())
            .join(digest.hex())
    }

    /// Reads a small blob (a manifest, an index or a config) and checks it.
    fn blob(&self, descriptor: &Descriptor) -> Result<Vec<u8>, SourceError> {
        let digest = &descriptor.digest;
        let bytes = read_small(open(&self.blob_path(digest))?, digest.as_str())?;
        let actual = Digest::of(digest.algorithm(), &bytes);
        if actual != *digest || bytes.len() as u64 != descriptor.size {
            return Err(self.invalid(
                digest,
                &format!("the blob's digest is {actual} and its size {}", bytes.len()),
            ));
        }
        Ok(bytes)
    }

    fn invalid(&self, what: &Digest, message: &str) -> SourceError {
        SourceError::Json {
            what: what.to_string(),
            message: message.to_owned(),
        }
    }
}
