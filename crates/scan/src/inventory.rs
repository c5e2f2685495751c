//! From layer analyses to an image's inventory: the layers applied in order (whiteouts and
//! opaque folders delete what lies below), each package attributed to the layer that
//! introduced it, and the glue to the matcher.
//!
//! Attribution follows the file that records the package. dpkg's `status` is rewritten whole
//! by every layer that runs apt, so the last layer to write it says nothing about who
//! installed `libc6`; a package keeps the layer in which it first appeared at that path with
//! that version, as long as every later rewrite still lists it. An upgrade, or a removal and
//! reinstallation, attributes it anew.

use std::collections::{BTreeMap, HashSet};

use crate::analyzer::{purl, wanted, FileKind, FileRecord, Found, OsRelease, PackageKind};
use crate::ecosystem::Ecosystem;
use crate::image::LayerAnalysis;
use crate::matching::{AdvisoryDb, Matches, Package};

/// A layer as the inventory names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LayerRef {
    /// The layer's digest (the blob's, or the diff id), when the source has one.
    pub digest: Option<String>,
    /// The image history's `created_by` for the layer, when given.
    pub created_by: Option<String>,
}

/// A package in an image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InstalledPackage {
    /// The package in the matcher's terms (ecosystem, release, source package).
    pub package: Package,
    /// What kind of metadata it came from.
    pub kind: PackageKind,
    /// Its package URL.
    pub purl: String,
    /// Licences as its metadata states them.
    pub licenses: Vec<String>,
    /// The index of the layer that introduced it.
    pub layer: usize,
    /// The metadata file that records it.
    pub path: String,
}

/// Everything found in one image (one platform of a multi-platform image). It serialises as
/// stored for monitoring (see the `monitor` crate).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Inventory {
    /// The distribution, if the image has an os-release.
    pub os: Option<OsRelease>,
    /// The layers, bottom first.
    pub layers: Vec<LayerRef>,
    /// The packages, by layer then path.
    pub packages: Vec<InstalledPackage>,
    /// Metadata files that could not be used.
    pub problems: Vec<String>,
}

struct Slot<'a> {
    record: &'a FileRecord,
    /// For each package of the record, the layer that introduced it.
    introduced: Vec<usize>,
}

/// How many symlinks a path may pass through before resolution gives up (as the kernel's
/// ELOOP limit does).
const MAX_LINKS: usize = 40;

impl Inventory {
    /// Applies `layers` (bottom first) and collects the packages of the merged image.
    pub fn from_layers(layers: &[(LayerRef, &LayerAnalysis)]) -> Inventory {
        let mut view: BTreeMap<&str, Slot<'_>> = BTreeMap::new();
        let mut problems = Vec::new();
        for (index, (_, analysis)) in layers.iter().enumerate() {
            for dir in &analysis.opaque_dirs {
                remove_under(&mut view, dir, false);
            }
            for path in &analysis.whiteouts {
                remove_under(&mut view, path, true);
            }
            for (path, record) in &analysis.files {
                let previous = view.get(path.as_str());
                let introduced = packages_of(record)
                    .iter()
                    .map(|found| {
                        previous
                            .and_then(|p| {
                                let at =
                                    packages_of(p.record).iter().position(|f| same(f, found))?;
                                Some(p.introduced[at])
                            })
                            .unwrap_or(index)
                    })
                    .collect();
                view.insert(path, Slot { record, introduced });
            }
            problems.extend(analysis.problems.iter().cloned());
        }
        let os = ["etc/os-release", "usr/lib/os-release"]
            .iter()
            .find_map(|p| match resolve(&view, p)? {
                FileRecord::OsRelease(os) => Some(os.clone()),
                _ => None,
            });
        let owned: HashSet<&str> = view
            .values()
            .flat_map(|s| match s.record {
                FileRecord::Owned(paths) | FileRecord::OwningPackages { owned: paths, .. } => {
                    paths.as_slice()
                }
                _ => &[],
            })
            .map(String::as_str)
            .collect();
        let mut packages = Vec::new();
        for (path, slot) in &view {
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            match slot.record {
                // A language package that a dpkg or rpm package installed is that package's
                // business: reporting it again as PyPI, npm, Go… would match upstream ranges
                // against a distribution's backported fixes.
                FileRecord::Packages(found)
                    if found.iter().any(|f| f.kind.is_language())
                        && (owned.contains(path) || owned.contains(dir)) =>
                {
                    continue
                }
                FileRecord::Lockfile(_) if has_installed_npm(&view, dir) => continue,
                FileRecord::OwningPackages { .. } if superseded_rpm_database(&view, path) => {
                    continue
                }
                _ => {}
            }
            for (found, &layer) in packages_of(slot.record).iter().zip(&slot.introduced) {
                packages.push(installed(found, os.as_ref(), layer, path));
            }
        }
        packages.sort_by(|a, b| (a.layer, &a.path).cmp(&(b.layer, &b.path)));
        Inventory {
            os,
            layers: layers.iter().map(|(l, _)| l.clone()).collect(),
            packages,
            problems,
        }
    }

    /// The packages in the matcher's terms, in inventory order.
    pub fn matchable(&self) -> Vec<Package> {
        self.packages.iter().map(|p| p.package.clone()).collect()
    }

    /// The advisories affecting the image's packages; findings index [`Inventory::packages`].
    pub fn match_advisories<'db>(&self, db: &'db AdvisoryDb) -> Matches<'db> {
        db.match_inventory(&self.matchable())
    }
}

fn packages_of(record: &FileRecord) -> &[Found] {
    match record {
        FileRecord::Packages(found)
        | FileRecord::Lockfile(found)
        | FileRecord::OwningPackages {
            packages: found, ..
        } => found,
        _ => &[],
    }
}

fn same(a: &Found, b: &Found) -> bool {
    (&a.name, &a.version, &a.arch) == (&b.name, &b.version, &b.arch)
}

/// Removes `path` (when `itself`) and everything under it.
fn remove_under(view: &mut BTreeMap<&str, Slot<'_>>, path: &str, itself: bool) {
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    };
    let doomed: Vec<&str> = view
        .range(prefix.as_str()..)
        .map(|(k, _)| *k)
        .take_while(|k| k.starts_with(&prefix))
        .collect();
    for key in doomed {
        view.remove(key);
    }
    if itself {
        view.remove(path);
    }
}

/// The record at `path`, following links (which already point inside the image).
fn resolve<'a>(view: &BTreeMap<&str, Slot<'a>>, path: &str) -> Option<&'a FileRecord> {
    let mut path = path;
    for _ in 0..MAX_LINKS {
        match view.get(path)?.record {
            FileRecord::Link(target) => path = target,
            record => return Some(record),
        }
    }
    None
}

fn has_installed_npm(view: &BTreeMap<&str, Slot<'_>>, dir: &str) -> bool {
    let prefix = if dir.is_empty() {
        "node_modules/".to_owned()
    } else {
        format!("{dir}/node_modules/")
    };
    view.range(prefix.as_str()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .any(|(_, s)| matches!(s.record, FileRecord::Packages(f) if f.iter().any(|f| f.kind == PackageKind::Npm)))
}

/// rpm reads one database, the backend it is configured for. An older one beside a newer one
/// is what a conversion (`rpmdb --rebuilddb` to another backend) can leave behind, so only
/// the newest form in a folder counts: SQLite, then NDB, then Berkeley DB.
fn superseded_rpm_database(view: &BTreeMap<&str, Slot<'_>>, path: &str) -> bool {
    let Some((dir, _)) = path.rsplit_once('/') else {
        return false;
    };
    let newer: &[&str] = match wanted(path) {
        Some(FileKind::RpmBdb) => &["rpmdb.sqlite", "Packages.db"],
        Some(FileKind::RpmNdb) => &["rpmdb.sqlite"],
        _ => &[],
    };
    newer.iter().any(|name| {
        matches!(
            resolve(view, &format!("{dir}/{name}")),
            Some(FileRecord::OwningPackages { .. })
        )
    })
}

fn installed(found: &Found, os: Option<&OsRelease>, layer: usize, path: &str) -> InstalledPackage {
    let os_ecosystem = os.and_then(OsRelease::ecosystem);
    let (ecosystem, release) = match found.kind {
        PackageKind::Deb => match os_ecosystem {
            Some(e @ (Ecosystem::Debian | Ecosystem::Ubuntu)) => {
                (e, os.and_then(OsRelease::release))
            }
            _ => (Ecosystem::Debian, None),
        },
        PackageKind::Apk => match os_ecosystem {
            Some(Ecosystem::Alpine) => (Ecosystem::Alpine, os.and_then(OsRelease::release)),
            _ => (Ecosystem::Alpine, None),
        },
        PackageKind::Rpm => match os_ecosystem {
            Some(Ecosystem::RedHat) => (Ecosystem::RedHat, os.and_then(OsRelease::release)),
            _ => (Ecosystem::RedHat, None),
        },
        PackageKind::Python => (Ecosystem::PyPI, None),
        PackageKind::Npm => (Ecosystem::Npm, None),
        PackageKind::Go => (Ecosystem::Go, None),
        PackageKind::Cargo => (Ecosystem::CratesIo, None),
        PackageKind::Maven => (Ecosystem::Maven, None),
    };
    InstalledPackage {
        package: Package {
            ecosystem,
            name: found.name.clone(),
            version: found.version.clone(),
            release,
            source: found.source.clone(),
        },
        kind: found.kind,
        purl: purl(found, os),
        licenses: found.licenses.clone(),
        layer,
        path: path.to_owned(),
    }
}
