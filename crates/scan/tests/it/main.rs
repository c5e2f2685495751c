//! Integration tests: the importers over the real advisory data in `shared/testdata` (read in
//! place, never copied), matching against it, malformed or hostile input, and images built in
//! the tests (layers, OCI layouts, docker archives, folders) scanned into inventories.

mod archives;
mod binaries;
mod bookworm;
mod debian12;
mod differential;
mod fixtures;
mod images;
mod layers;
mod malformed;
mod real_data;
mod reports;
mod rpm_legacy;
mod rpmdb;

use std::path::PathBuf;

use scan::{import_path, AdvisoryDb, Ecosystem, Format, ImportReport, Package, Status};

/// A folder of the shared advisory test data.
pub fn testdata(dir: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/advisories")
        .join(dir)
}

/// Imports `path` into a fresh database.
pub fn load(format: Format, path: &std::path::Path) -> (AdvisoryDb, ImportReport) {
    let mut db = AdvisoryDb::new();
    let report = import_path(format, path, &mut |a| db.insert(a)).expect("the test data opens");
    (db, report)
}

/// A language package.
pub fn package(ecosystem: Ecosystem, name: &str, version: &str) -> Package {
    Package {
        ecosystem,
        name: name.into(),
        version: version.into(),
        release: None,
        source: None,
    }
}

/// An OS package of `release`, built from `source`.
pub fn os_package(
    ecosystem: Ecosystem,
    release: &str,
    name: &str,
    source: &str,
    version: &str,
) -> Package {
    Package {
        ecosystem,
        name: name.into(),
        version: version.into(),
        release: Some(release.into()),
        source: Some((source.into(), None)),
    }
}

/// The ids of the advisories matching one package, sorted, with their status and fixes.
pub fn matches(db: &AdvisoryDb, package: Package) -> Vec<(String, Status, Vec<String>)> {
    let m = db.match_inventory(std::slice::from_ref(&package));
    assert!(m.unparsable.is_empty(), "{:?}", m.unparsable);
    let mut out: Vec<_> = m
        .findings
        .iter()
        .map(|f| {
            (
                f.advisory.id.clone(),
                f.status,
                f.fixed_in.iter().map(ToString::to_string).collect(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Just the ids of [`matches`].
pub fn ids(db: &AdvisoryDb, package: Package) -> Vec<String> {
    matches(db, package)
        .into_iter()
        .map(|(id, ..)| id)
        .collect()
}

/// `package advisory-id` for each finding of an inventory's match, sorted.
pub fn findings(inventory: &scan::Inventory, db: &AdvisoryDb) -> Vec<String> {
    let matches = inventory.match_advisories(db);
    let mut out: Vec<_> = matches
        .findings
        .iter()
        .map(|f| {
            let package = &inventory.packages[f.package].package;
            format!("{} {}", package.name, f.advisory.id)
        })
        .collect();
    out.sort();
    out
}
