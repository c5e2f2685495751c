//! A root filesystem folder, scanned as one layer. Nothing is followed: symlinks are
//! recorded (and resolved later inside the image, as in a layer), and folders reached through
//! a symlink are not entered, so a link to `/` cannot make the scan leave the folder.

use std::fs;
use std::path::Path;

use super::{ImageInventory, SourceError};
use crate::image::layer::Collector;
use crate::image::tar::EntryKind;
use crate::image::Limits;
use crate::inventory::{Inventory, LayerRef};

pub(super) fn scan(root: &Path, limits: &Limits) -> Result<Vec<ImageInventory>, SourceError> {
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| SourceError::Io { path, source }
    };
    let layer_error = |source| SourceError::Layer {
        layer: root.display().to_string(),
        source,
    };
    let mut collector = Collector::new(limits);
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        for item in fs::read_dir(&dir).map_err(io_error(&dir))? {
            let item = item.map_err(io_error(&dir))?;
            let path = item.path();
            let kind = item.file_type().map_err(io_error(&path))?;
            if kind.is_dir() {
                pending.push(path);
                continue;
            }
            let Ok(relative) = path.strip_prefix(root) else {
                continue;
            };
            // Paths that are not UTF-8 hold no metadata any analyzer reads.
            let Some(relative) = relative.to_str() else {
                continue;
            };
            let Some((name, wanted)) = collector.classify(relative).map_err(layer_error)? else {
                continue;
            };
            if kind.is_symlink() {
                let target = fs::read_link(&path).map_err(io_error(&path))?;
                let target = target.to_string_lossy();
                collector
                    .record(
                        name,
                        wanted,
                        EntryKind::Symlink,
                        0,
                        Some(&target),
                        &mut std::io::empty(),
                    )
                    .map_err(layer_error)?;
            } else if kind.is_file() {
                let size = item.metadata().map_err(io_error(&path))?.len();
                let mut file = fs::File::open(&path).map_err(io_error(&path))?;
                collector
                    .record(name, wanted, EntryKind::File, size, None, &mut file)
                    .map_err(layer_error)?;
            }
        }
    }
    let analysis = collector.out;
    let inventory = Inventory::from_layers(&[(LayerRef::default(), &analysis)]);
    Ok(vec![ImageInventory {
        platform: None,
        image: None,
        tags: Vec::new(),
        inventory,
    }])
}
