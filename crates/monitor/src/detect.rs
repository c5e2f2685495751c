//! Telling which kind of advisory data a path holds, so `hallmark db import PATH` needs no
//! flag for the usual cases: a zip is OSV (osv.dev's exports are zips); otherwise the first
//! data file decides: an object with an `id` is an OSV record, one with `packages` beside
//! `distroversion` or `reponame` is an Alpine secdb file, any other object is the Debian
//! tracker's export (keyed by source package).

use std::path::{Path, PathBuf};

use scan::Format;
use serde_json::Value;

use crate::MonitorError;

/// The kind of advisory data at `path`.
pub fn detect_format(path: &Path) -> Result<Format, MonitorError> {
    let unknown = || MonitorError::UnknownFormat(path.display().to_string());
    if has_extension(path, "zip") {
        return Ok(Format::Osv);
    }
    let file = if path.is_dir() {
        first_data_file(path).ok_or_else(unknown)?
    } else {
        path.to_owned()
    };
    let bytes = std::fs::read(&file).map_err(|source| scan::ImportError::Io {
        path: file.clone(),
        source,
    })?;
    let value: Value = if has_extension(&file, "yaml") || has_extension(&file, "yml") {
        serde_yaml_ng::from_slice(&bytes).map_err(|_| unknown())?
    } else {
        serde_json::from_slice(&bytes).map_err(|_| unknown())?
    };
    let object = value.as_object().ok_or_else(unknown)?;
    Ok(if object.contains_key("id") {
        Format::Osv
    } else if object.contains_key("packages")
        && (object.contains_key("distroversion") || object.contains_key("reponame"))
    {
        Format::AlpineSecdb
    } else {
        Format::DebianTracker
    })
}

fn has_extension(path: &Path, extension: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(extension))
}

/// The first `.json`, `.yaml` or `.yml` file under `dir`, in name order, depth first.
fn first_data_file(dir: &Path) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    entries.into_iter().find_map(|path| {
        if path.is_dir() {
            first_data_file(&path)
        } else {
            ["json", "yaml", "yml"]
                .iter()
                .any(|e| has_extension(&path, e))
                .then_some(path)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_test_data_is_told_apart() {
        let data =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/advisories");
        for (dir, expected) in [
            ("pypi", Format::Osv),
            ("npm", Format::Osv),
            ("go", Format::Osv),
            ("rust-crates", Format::Osv),
            ("alpine-secdb", Format::AlpineSecdb),
            ("debian-tracker-json", Format::DebianTracker),
            ("debian-tracker-json/debian.json", Format::DebianTracker),
        ] {
            assert_eq!(detect_format(&data.join(dir)).unwrap(), expected, "{dir}");
        }
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            detect_format(empty.path()),
            Err(MonitorError::UnknownFormat(_))
        ));
    }
}
