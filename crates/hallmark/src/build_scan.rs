//! What `hallmark build` does with each image it built, beyond pushing it: the image's layout
//! is scanned once, and that one scan serves two ends. When the data folder is a registry's
//! (it holds the metadata store), the inventory is recorded there with its findings against
//! the stored advisories, so every later `hallmark db import` re-matches what the program
//! built; with `--key`, the SPDX and CycloneDX SBOMs made from it are signed and attached.

use std::path::Path;

use anyhow::Context as _;
use build::engine::BuiltImage;
use build::plan::PlannedBuild;
use scan::image::source::{self, ImageInventory, ImageSource, ScanOptions};
use scan::{AdvisoryDb, MemoryCache};
use store::SqliteMetaStore;

use crate::data_dir::DataArgs;
use crate::stored_scans;

/// Scans built images when something needs their inventory.
pub struct BuildScans {
    recorder: Option<Recorder>,
    signing: bool,
    /// Layer analyses for this run: a child built on its parent's layers reads them once.
    layers: MemoryCache,
}

/// The registry store inventories are recorded in, with the advisories they are matched
/// against (loaded once per run).
struct Recorder {
    runtime: tokio::runtime::Runtime,
    meta: SqliteMetaStore,
    advisories: AdvisoryDb,
}

impl BuildScans {
    /// Records into `data`'s store when the folder holds one (a registry's data folder), and
    /// scans for SBOMs when `signing`. An agent's own folder of records and logs holds no
    /// store: its builds are recorded by `hallmark scan --data` where they are served.
    pub fn open(data: &Path, signing: bool) -> anyhow::Result<BuildScans> {
        let recorder = if data.join(store::METADATA_FILE).is_file() {
            Some(Recorder::open(data)?)
        } else {
            eprintln!(
                "hallmark: {} holds no registry store, so built images are not recorded for re-matching",
                data.display()
            );
            None
        };
        Ok(BuildScans {
            recorder,
            signing,
            layers: MemoryCache::new(),
        })
    }

    /// Scans the image `build` made, when its inventory is recorded or signed, and records it
    /// under `<arch>/<repo>:<first tag>` (the name the registry's own tags give it). Returns
    /// the scanned images, or `None` when nothing needs them.
    pub fn scan(
        &self,
        build: &PlannedBuild,
        image: &BuiltImage,
    ) -> anyhow::Result<Option<Vec<ImageInventory>>> {
        if self.recorder.is_none() && !self.signing {
            return Ok(None);
        }
        let layout = ImageSource::Oci {
            path: image.layout.clone(),
            tag: None,
        };
        let images = source::scan(&layout, &ScanOptions::default(), &self.layers)
            .with_context(|| format!("scanning {}", image.layout.display()))?;
        let packages: usize = images.iter().map(|i| i.inventory.packages.len()).sum();
        eprintln!(
            "hallmark: scanned {} {}: {packages} packages",
            build.arch, build.entry
        );
        if let Some(recorder) = &self.recorder {
            let tag = build.tags.first().map_or("latest", String::as_str);
            let reference = format!("{}/{}:{tag}", build.arch, build.repo);
            recorder.record(&reference, &images)?;
        }
        Ok(Some(images))
    }
}

impl Recorder {
    fn open(data: &Path) -> anyhow::Result<Recorder> {
        // One runtime for the whole run: the store's connections belong to it.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let (meta, advisories) = runtime.block_on(async {
            let (_, meta) = DataArgs {
                data: data.to_owned(),
            }
            .open()
            .await?;
            let advisories = stored_scans::advisories(&meta).await?;
            anyhow::Ok((meta, advisories))
        })?;
        Ok(Recorder {
            runtime,
            meta,
            advisories,
        })
    }

    fn record(&self, reference: &str, images: &[ImageInventory]) -> anyhow::Result<()> {
        self.runtime
            .block_on(stored_scans::record(
                &self.meta,
                reference,
                images,
                &self.advisories,
            ))
            .with_context(|| format!("recording the inventory of {reference}"))
    }
}
