//! OCI image layouts: `index.json` → (nested indexes →) manifests → config and layers, each
//! blob under `blobs/<algorithm>/<hex>` checked against its digest and size.

use std::collections::HashMap;
use std::path::Path;

use oci::Digest;
use serde::Deserialize;

use super::{
    created_by, inventory_of, open, platform_of, platform_selected, read_json, Check, ImageConfig,
    ImageInventory, LayerJob, ScanOptions, SourceError,
};
use crate::cache::LayerCache;
use crate::inventory::LayerRef;

const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Real images nest an index at most once (a layout's index naming a multi-platform index);
/// a deeper nesting is refused rather than followed into a loop.
const MAX_DEPTH: usize = 4;

#[derive(Debug, Clone, Deserialize)]
struct Descriptor {
    digest: String,
    size: u64,
    #[serde(default)]
    platform: Option<Platform>,
    #[serde(default)]
    annotations: HashMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Platform {
    architecture: String,
    os: String,
    #[serde(default)]
    variant: Option<String>,
}

/// An index or a manifest: which one is told by what it holds.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Document {
    manifests: Vec<Descriptor>,
    config: Option<Descriptor>,
    layers: Vec<Descriptor>,
}

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
    let (index, _): (Document, _) = read_json(open(&root.join("index.json"))?, "index.json")?;
    let layout = Layout {
        root,
        options,
        cache,
    };
    let mut out = Vec::new();
    for descriptor in &index.manifests {
        let name = descriptor.annotations.get(REF_NAME);
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
        let document: Document = self.blob_json(descriptor)?;
        for child in &document.manifests {
            // BuildKit stores provenance as a manifest for platform unknown/unknown.
            let attestation = child
                .annotations
                .get("vnd.docker.reference.type")
                .is_some_and(|t| t == "attestation-manifest");
            let platform = child
                .platform
                .as_ref()
                .and_then(|p| platform_of(&p.os, &p.architecture, p.variant.as_deref()));
            if attestation || child.platform.as_ref().is_some_and(|p| p.os == "unknown") {
                continue;
            }
            if platform.is_some() && !platform_selected(self.options, platform.as_deref()) {
                continue;
            }
            self.visit(child, tags.clone(), depth + 1, out)?;
        }
        let Some(config_descriptor) = &document.config else {
            return Ok(());
        };
        let config: ImageConfig = self.blob_json(config_descriptor)?;
        let platform = platform_of(&config.os, &config.architecture, config.variant.as_deref());
        if !platform_selected(self.options, platform.as_deref()) {
            return Ok(());
        }
        let history = created_by(&config);
        let mut jobs = Vec::new();
        for (i, layer) in document.layers.iter().enumerate() {
            let digest = self.digest(&layer.digest)?;
            let path = self.blob_path(&digest);
            jobs.push(LayerJob {
                layer: LayerRef {
                    digest: Some(digest.to_string()),
                    created_by: history.get(i).cloned().flatten(),
                },
                open: Box::new(move || {
                    Ok(Box::new(std::io::BufReader::with_capacity(
                        1 << 16,
                        std::fs::File::open(&path)?,
                    )))
                }),
                check: Check::Blob(digest, layer.size),
            });
        }
        let inventory = inventory_of(jobs, self.options, self.cache)?;
        out.push(ImageInventory {
            platform,
            image: Some(descriptor.digest.clone()),
            tags,
            inventory,
        });
        Ok(())
    }

    fn digest(&self, text: &str) -> Result<Digest, SourceError> {
        Digest::parse(text).map_err(|e| self.invalid(text, &e.to_string()))
    }

    fn blob_path(&self, digest: &Digest) -> std::path::PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().name())
            .join(digest.hex())
    }

    /// Reads and checks a JSON blob.
    fn blob_json<T: serde::de::DeserializeOwned>(
        &self,
        descriptor: &Descriptor,
    ) -> Result<T, SourceError> {
        let digest = self.digest(&descriptor.digest)?;
        let (value, bytes) = read_json(open(&self.blob_path(&digest))?, &descriptor.digest)?;
        let actual = Digest::of(digest.algorithm(), &bytes);
        if actual != digest || bytes.len() as u64 != descriptor.size {
            return Err(self.invalid(
                &descriptor.digest,
                &format!("the blob's digest is {actual} and its size {}", bytes.len()),
            ));
        }
        Ok(value)
    }

    fn invalid(&self, what: &str, message: &str) -> SourceError {
        SourceError::Json {
            what: what.to_owned(),
            message: message.to_owned(),
        }
    }
}
