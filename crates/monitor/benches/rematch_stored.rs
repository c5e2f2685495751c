//! Re-matching 1,000 stored inventories after an advisory import, through the SQLite store, as
//! `hallmark db import` does it (goal: under 2 s).
//!
//! Run with `cargo bench -p monitor --bench rematch_stored`. Two scenarios: the store holds the
//! real advisory test data but 30 PyPI records (a daily import: few changes), or all of it but
//! npm and PyPI (their first import: many changes), and 1,000 inventories of 300 packages
//! recorded with their findings against it; then the whole data is imported and the timed part
//! runs: loading every stored advisory, reading every stored inventory, matching, diffing, and
//! writing the new findings and the outbox events. Inventories are synthetic but shaped like images: Debian,
//! Alpine and language packages, a third of them named in some advisory; a fixed seed keeps
//! every run the same.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oci::{Digest, DigestAlgorithm};
use scan::analyzer::PackageKind;
use scan::{Ecosystem, Format, InstalledPackage, Inventory, Package};
use store::{MetaStore, SqliteMetaStore};

const INVENTORIES: usize = 1_000;
const PACKAGES: usize = 300;
const NOW: &str = "2026-11-23T00:00:00Z";

fn data(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/advisories")
        .join(dir)
}

/// A deterministic stream of numbers (xorshift64).
fn numbers() -> impl FnMut(usize) -> usize {
    let mut state = 0x5eed_cafe_f00d_d00d_u64;
    move |below| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % below as u64) as usize
    }
}

fn installed(
    ecosystem: Ecosystem,
    name: String,
    version: String,
    index: usize,
) -> InstalledPackage {
    let (kind, release) = match ecosystem {
        Ecosystem::Debian => (PackageKind::Deb, Some("12".to_owned())),
        Ecosystem::Alpine => (PackageKind::Apk, Some("v3.11".to_owned())),
        Ecosystem::PyPI => (PackageKind::Python, None),
        _ => (PackageKind::Npm, None),
    };
    let source = release.as_ref().map(|_| (name.clone(), None));
    InstalledPackage {
        purl: format!("pkg:generic/{name}@{version}"),
        path: format!("pkg/{index}/{name}"),
        package: Package {
            ecosystem,
            name,
            version,
            release,
            source,
        },
        kind,
        licenses: vec![],
        layer: index % 4,
    }
}

fn inventories(db: &scan::AdvisoryDb) -> Vec<Inventory> {
    let ecosystems = [
        Ecosystem::Debian,
        Ecosystem::Alpine,
        Ecosystem::PyPI,
        Ecosystem::Npm,
    ];
    let known: Vec<Vec<String>> = ecosystems
        .iter()
        .map(|e| {
            let mut names: Vec<String> = db
                .advisories()
                .iter()
                .flat_map(|a| &a.affected)
                .filter(|a| a.ecosystem == *e)
                .map(|a| a.name.clone())
                .collect();
            names.sort();
            names.dedup();
            names
        })
        .collect();
    let mut below = numbers();
    (0..INVENTORIES)
        .map(|_| {
            let packages = (0..PACKAGES)
                .map(|i| {
                    let e = i % ecosystems.len();
                    let name = if below(3) == 0 && !known[e].is_empty() {
                        known[e][below(known[e].len())].clone()
                    } else {
                        format!("pkg-{}", below(5_000))
                    };
                    let base = format!("{}.{}.{}", below(5), below(30), below(20));
                    let version = match ecosystems[e] {
                        Ecosystem::Debian => format!("{base}-{}", below(4) + 1),
                        Ecosystem::Alpine => format!("{base}-r{}", below(4)),
                        _ => base,
                    };
                    installed(ecosystems[e], name, version, i)
                })
                .collect();
            Inventory {
                packages,
                ..Inventory::default()
            }
        })
        .collect()
}

/// A copy of the PyPI data in `dir` without its first `left_out` records (by path): importing
/// the whole data after it is a daily import that brings a few new advisories.
fn pypi_without(left_out: usize, dir: &Path) -> PathBuf {
    let mut files = Vec::new();
    let mut folders = vec![data("pypi")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    let copy = dir.join("pypi-older");
    for (n, file) in files.iter().enumerate().skip(left_out) {
        let to = copy.join(format!(
            "{n}-{}",
            file.file_name().unwrap().to_string_lossy()
        ));
        std::fs::create_dir_all(&copy).unwrap();
        std::fs::copy(file, to).unwrap();
    }
    copy
}

/// Stores the data of `older` and 1,000 scans matched against it, imports the whole data, and
/// times the re-match that follows.
async fn scenario(name: &str, older: &[(Format, PathBuf, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let meta = SqliteMetaStore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    let imports = [
        (Format::Osv, "go", "go"),
        (Format::Osv, "rust-crates", "rustsec"),
        (Format::AlpineSecdb, "alpine-secdb", "alpine"),
        (Format::DebianTracker, "debian-tracker-json", "debian"),
        (Format::Osv, "npm", "ghsa-npm"),
        (Format::Osv, "pypi", "pypa"),
    ];
    for (format, path, source) in older {
        monitor::import_advisories(&meta, *format, path, source, 1, NOW)
            .await
            .unwrap();
    }
    // Package names come from all the data, so the new advisories find packages to match.
    let mut all = scan::AdvisoryDb::new();
    for (format, path, _) in &imports {
        scan::import_path(*format, &data(path), &mut |a| all.insert(a)).unwrap();
    }
    let before = monitor::load_advisories(&meta).await.unwrap().db;
    for (n, inventory) in inventories(&all).iter().enumerate() {
        let digest = Digest::of(DigestAlgorithm::Sha256, n.to_string().as_bytes());
        let matches = inventory.match_advisories(&before);
        let reference = format!("bench/image:{n}");
        monitor::record_scan(&meta, &digest, Some(&reference), inventory, &matches, 2)
            .await
            .unwrap();
    }
    let start = Instant::now();
    for (format, path, source) in &imports {
        monitor::import_advisories(&meta, *format, &data(path), source, 3, NOW)
            .await
            .unwrap();
    }
    let import = start.elapsed();

    let start = Instant::now();
    let loaded = monitor::load_advisories(&meta).await.unwrap();
    let load = start.elapsed();
    // The parts, measured alone: reading the stored inventories, and parsing plus matching
    // them in memory on one core.
    let start = Instant::now();
    let stored = meta.inventories().await.unwrap();
    let read = start.elapsed();
    let start = Instant::now();
    let findings: usize = stored
        .iter()
        .map(|s| {
            let inventory: Inventory = serde_json::from_str(&s.inventory).unwrap();
            inventory.match_advisories(&loaded.db).findings.len()
        })
        .sum();
    let matching = start.elapsed();
    let start = Instant::now();
    let outcome = monitor::rematch(&meta, &loaded.db, 4).await.unwrap();
    let rematch = start.elapsed();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name}: import of all the data: {:.0} ms; load of {} stored advisories: {:.0} ms; \
         re-match of {} stored inventories x {PACKAGES} packages: {:.0} ms ({} images changed, \
         {} events); load + re-match: {:.0} ms; of which reading the inventories {:.0} ms, \
         parsing and matching them on one core {:.0} ms ({findings} findings)",
        ms(import),
        loaded.db.advisories().len(),
        ms(load),
        outcome.images,
        ms(rematch),
        outcome.changed.len(),
        outcome.events.len(),
        ms(load + rematch),
        ms(read),
        ms(matching),
    );
    assert_eq!(outcome.images, INVENTORIES);
    assert!(
        !outcome.events.is_empty(),
        "the new data must change findings"
    );
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let first_four = [
        (Format::Osv, data("go"), "go"),
        (Format::Osv, data("rust-crates"), "rustsec"),
        (Format::AlpineSecdb, data("alpine-secdb"), "alpine"),
        (Format::DebianTracker, data("debian-tracker-json"), "debian"),
    ];
    // A daily import: the same data but 30 PyPI records that are new.
    let mut few = first_four.to_vec();
    few.push((Format::Osv, data("npm"), "ghsa-npm"));
    few.push((Format::Osv, pypi_without(30, dir.path()), "pypa"));
    scenario("few changes (30 new PyPI records)", &few).await;
    // The first import of two whole ecosystems (npm and PyPI) over images already scanned.
    scenario(
        "many changes (npm and PyPI imported for the first time)",
        &first_four,
    )
    .await;
}

fn main() {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}
