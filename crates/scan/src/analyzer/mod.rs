//! Package analyzers: which files of a layer hold package metadata ([`wanted`]) and what they
//! say ([`analyze_file`]). Each parser reads bytes and returns what it found; none of them
//! touches a filesystem, so a layer is analysed from a tar stream alone.
//!
//! The analyzers: `os-release` ([`os_release`]), dpkg ([`dpkg`]), apk ([`apk`]), rpm's
//! database in its SQLite, Berkeley DB and NDB forms ([`rpm`]), Python ([`python`]), npm ([`npm`]), Java archives ([`java`]), and
//! executables ([`binary`]: Go build info, cargo-auditable's dependency list). A change to what any of them reports must bump
//! [`ANALYZER_VERSION`], because cached layer analyses are keyed by it.

pub mod apk;
pub mod binary;
pub mod cargo_auditable;
pub mod dpkg;
pub mod elf;
pub mod go_buildinfo;
pub mod java;
pub mod npm;
pub mod os_release;
mod purl;
pub mod python;
pub mod rpm;
pub mod rpm_bdb;
pub mod rpm_ndb;
pub mod sqlite;

use serde::{Deserialize, Serialize};

pub use os_release::OsRelease;
pub use purl::purl;

/// The version of everything the analyzers report; part of every layer-cache key.
pub const ANALYZER_VERSION: u32 = 3;

/// A kind of metadata file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileKind {
    /// `etc/os-release`, `usr/lib/os-release`.
    OsRelease,
    /// dpkg's `status` or one file of `status.d/`.
    DpkgStatus,
    /// `var/lib/dpkg/info/<package>.list`.
    DpkgFileList,
    /// apk's `installed` database.
    ApkInstalled,
    /// `*.dist-info/METADATA` or `*.egg-info/PKG-INFO`.
    PythonMetadata,
    /// `node_modules/[@scope/]name/package.json`.
    NpmPackage,
    /// An application's `package-lock.json`, outside any `node_modules`.
    NpmLockfile,
    /// rpm's SQLite database, `rpmdb.sqlite`.
    RpmDb,
    /// rpm's Berkeley DB database, `Packages`.
    RpmBdb,
    /// rpm's NDB database, `Packages.db`.
    RpmNdb,
    /// A Java archive: `*.jar`, `*.war`, `*.ear` (and Jenkins' `*.hpi`, `*.jpi`).
    JavaArchive,
    /// Any other regular file: an executable may embed its packages (Go, cargo-auditable).
    /// Only files that start with ELF's magic are read further, see [`binary`].
    Binary,
}

/// The kind of metadata at a normalised path (relative, no leading `/`), or `None` for a file
/// no analyzer reads. Only these files' contents are ever read from a layer.
pub fn wanted(path: &str) -> Option<FileKind> {
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    Some(match (dir, file) {
        ("etc" | "usr/lib", "os-release") => FileKind::OsRelease,
        ("var/lib/dpkg", "status") => FileKind::DpkgStatus,
        // distroless writes `<package>` and `<package>.md5sums` side by side.
        ("var/lib/dpkg/status.d", f) if !f.ends_with(".md5sums") => FileKind::DpkgStatus,
        ("var/lib/dpkg/info", f) if f.ends_with(".list") => FileKind::DpkgFileList,
        // Merged-/usr images may carry apk's database under usr/lib.
        ("lib/apk/db" | "usr/lib/apk/db", "installed") => FileKind::ApkInstalled,
        (d, "METADATA") if d.ends_with(".dist-info") => FileKind::PythonMetadata,
        (d, "PKG-INFO") if d.ends_with(".egg-info") => FileKind::PythonMetadata,
        // distutils writes `<name>-<version>.egg-info` as a single PKG-INFO file (Debian's
        // python3-* packages still ship some so); a folder of that name is not read.
        (_, f) if f.ends_with(".egg-info") => FileKind::PythonMetadata,
        (_, "package.json") if is_installed_npm_package(dir) => FileKind::NpmPackage,
        (_, "package-lock.json") if !path.split('/').any(|s| s == "node_modules") => {
            FileKind::NpmLockfile
        }
        ("var/lib/rpm" | "usr/lib/sysimage/rpm", "rpmdb.sqlite") => FileKind::RpmDb,
        ("var/lib/rpm" | "usr/lib/sysimage/rpm", "Packages") => FileKind::RpmBdb,
        ("var/lib/rpm" | "usr/lib/sysimage/rpm", "Packages.db") => FileKind::RpmNdb,
        (_, f) if java::is_archive_name(f) => FileKind::JavaArchive,
        _ => return None,
    })
}

/// Whether `dir` is `…/node_modules/name` or `…/node_modules/@scope/name`: a package's own
/// folder, not one of the many `package.json` files packages keep in their subfolders.
fn is_installed_npm_package(dir: &str) -> bool {
    let parts: Vec<&str> = dir.rsplit('/').take(3).collect();
    match parts.as_slice() {
        [name, "node_modules", ..] => !name.starts_with(['.', '@']),
        [name, scope, "node_modules"] => scope.starts_with('@') && !name.starts_with('.'),
        _ => false,
    }
}

/// What kind of package a [`Found`] is; the ecosystem of OS packages is decided later, from
/// the image's os-release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PackageKind {
    /// A dpkg package (Debian, Ubuntu).
    Deb,
    /// An apk package (Alpine).
    Apk,
    /// A Python distribution.
    Python,
    /// An npm package.
    Npm,
    /// An rpm package (Red Hat, Fedora, SUSE and their relatives).
    Rpm,
    /// A Go module compiled into a binary (the Go toolchain itself is `stdlib`).
    Go,
    /// A Rust crate compiled into a binary, as cargo-auditable records it.
    Cargo,
    /// A Java artifact in a Maven repository's terms (`groupId:artifactId`).
    Maven,
}

impl PackageKind {
    /// Whether packages of this kind come from a language's registry. Such a package inside a
    /// file that an OS package installed is that OS package's business.
    pub fn is_language(self) -> bool {
        !matches!(self, PackageKind::Deb | PackageKind::Apk | PackageKind::Rpm)
    }
}

/// A package as a metadata file describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    /// The kind.
    pub kind: PackageKind,
    /// The name as written.
    pub name: String,
    /// The version as written.
    pub version: String,
    /// The source package and its version when given (dpkg `Source:`, apk origin).
    pub source: Option<(String, Option<String>)>,
    /// The architecture (OS packages).
    pub arch: Option<String>,
    /// Licences as the metadata states them.
    pub licenses: Vec<String>,
}

/// What one metadata file says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileRecord {
    /// The distribution.
    OsRelease(OsRelease),
    /// Installed packages.
    Packages(Vec<Found>),
    /// Packages from an application's lockfile; they count only if no `node_modules` beside
    /// the lockfile holds installed packages.
    Lockfile(Vec<Found>),
    /// Paths a dpkg package owns.
    Owned(Vec<String>),
    /// A package database that also lists the paths its packages own (rpm).
    OwningPackages {
        /// The installed packages.
        packages: Vec<Found>,
        /// Every path any of them owns, normalised like layer paths.
        owned: Vec<String>,
    },
    /// A symlink or hard link at a wanted path, to this normalised target (resolved once the
    /// layers are merged, inside the image only).
    Link(String),
}

/// Parses one wanted file; an error says why the file is not usable (the caller records it as
/// a problem). Parsers never panic on any bytes. `max_file` bounds what an archive may unpack
/// into memory (nested Java archives). [`FileKind::Binary`] is read from the stream by
/// [`binary::read_binary`] instead.
pub fn analyze_file(kind: FileKind, data: &[u8], max_file: u64) -> Result<FileRecord, String> {
    let text = || String::from_utf8_lossy(data);
    let unusable = || format!("not usable {kind:?} metadata");
    Ok(match kind {
        FileKind::OsRelease => FileRecord::OsRelease(OsRelease::parse(&text())),
        FileKind::DpkgStatus => FileRecord::Packages(dpkg::parse_status(&text())),
        FileKind::DpkgFileList => FileRecord::Owned(dpkg::parse_file_list(&text())),
        FileKind::ApkInstalled => FileRecord::Packages(apk::parse_installed(&text())),
        FileKind::PythonMetadata => {
            FileRecord::Packages(vec![python::parse_metadata(&text()).ok_or_else(unusable)?])
        }
        FileKind::NpmPackage => {
            FileRecord::Packages(vec![npm::parse_package_json(data).ok_or_else(unusable)?])
        }
        FileKind::NpmLockfile => {
            FileRecord::Lockfile(npm::parse_lockfile(data).ok_or_else(unusable)?)
        }
        FileKind::RpmDb | FileKind::RpmBdb | FileKind::RpmNdb => {
            let parse = match kind {
                FileKind::RpmBdb => rpm::parse_bdb,
                FileKind::RpmNdb => rpm::parse_ndb,
                _ => rpm::parse_rpmdb,
            };
            let (packages, owned) = parse(data).map_err(|e| e.to_string())?;
            FileRecord::OwningPackages { packages, owned }
        }
        FileKind::JavaArchive => {
            FileRecord::Packages(java::parse_archive(data, max_file).map_err(|e| e.to_string())?)
        }
        FileKind::Binary => return Err("executables are read from the stream".to_owned()),
    })
}

/// Marks page `number` (from 1) of a database file as read, refusing a page outside
/// `visited` and a page read before: in a walk that reads each page once (a cycle or a page
/// shared by two chains is corruption), no hostile file costs more than one pass.
pub(crate) fn visit_page(visited: &mut [bool], number: u32) -> Result<(), &'static str> {
    let seen = visited
        .get_mut(number as usize)
        .filter(|_| number != 0)
        .ok_or("page number outside the file")?;
    if std::mem::replace(seen, true) {
        return Err("page reached twice (a cycle or shared page)");
    }
    Ok(())
}

/// Splits stanza-based databases (dpkg, apk) into paragraphs of lines: any run of blank or
/// whitespace-only lines separates two paragraphs.
pub(crate) fn paragraphs(text: &str) -> impl Iterator<Item = Vec<&str>> {
    let mut lines = text.lines().peekable();
    std::iter::from_fn(move || {
        while lines.peek().is_some_and(|l| l.trim().is_empty()) {
            lines.next();
        }
        let mut paragraph = Vec::new();
        while let Some(line) = lines.next_if(|l| !l.trim().is_empty()) {
            paragraph.push(line);
        }
        (!paragraph.is_empty()).then_some(paragraph)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wanted_paths() {
        use FileKind::*;
        for (path, kind) in [
            ("etc/os-release", Some(OsRelease)),
            ("usr/lib/os-release", Some(OsRelease)),
            ("etc/os-release.bak", None),
            ("var/lib/dpkg/status", Some(DpkgStatus)),
            ("var/lib/dpkg/status-old", None),
            ("var/lib/dpkg/status.d/libssl3", Some(DpkgStatus)),
            ("var/lib/dpkg/status.d/libssl3.md5sums", None),
            ("var/lib/dpkg/info/libc6:amd64.list", Some(DpkgFileList)),
            ("var/lib/dpkg/info/libc6:amd64.md5sums", None),
            ("lib/apk/db/installed", Some(ApkInstalled)),
            (
                "usr/local/lib/python3.12/site-packages/requests-2.25.0.dist-info/METADATA",
                Some(PythonMetadata),
            ),
            (
                "usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO",
                Some(PythonMetadata),
            ),
            ("app/x.dist-info/RECORD", None),
            (
                "usr/lib/python3/dist-packages/distro_info-1.5.egg-info",
                Some(PythonMetadata),
            ),
            ("app/node_modules/lodash/package.json", Some(NpmPackage)),
            (
                "app/node_modules/@types/node/package.json",
                Some(NpmPackage),
            ),
            (
                "app/node_modules/a/node_modules/b/package.json",
                Some(NpmPackage),
            ),
            ("app/node_modules/lodash/fp/package.json", None),
            ("app/node_modules/@types/package.json", None),
            ("app/node_modules/.bin/package.json", None),
            ("app/package.json", None),
            ("app/package-lock.json", Some(NpmLockfile)),
            ("package-lock.json", Some(NpmLockfile)),
            ("app/node_modules/qs/package-lock.json", None),
            ("app/node_modules/.package-lock.json", None),
            ("var/lib/rpm/rpmdb.sqlite", Some(RpmDb)),
            ("usr/lib/sysimage/rpm/rpmdb.sqlite", Some(RpmDb)),
            ("var/lib/rpm/rpmdb.sqlite-wal", None),
            ("var/lib/rpm/Packages", Some(RpmBdb)),
            ("usr/lib/sysimage/rpm/Packages.db", Some(RpmNdb)),
            ("var/lib/rpm/Packages.db", Some(RpmNdb)),
            ("var/lib/rpm/Packages.db-journal", None),
            ("var/lib/dpkg/Packages", None),
            ("opt/app/lib/guava-31.1-jre.jar", Some(JavaArchive)),
            ("usr/local/tomcat/webapps/ROOT.war", Some(JavaArchive)),
            ("opt/app/lib/guava.jar.sha1", None),
        ] {
            assert_eq!(wanted(path), kind, "{path}");
        }
    }

    #[test]
    fn paragraphs_split_on_any_blank_run() {
        let text = "\n\na: 1\nb: 2\n\n\n \t\nc: 3\n\n";
        let got: Vec<_> = paragraphs(text).collect();
        assert_eq!(got, [vec!["a: 1", "b: 2"], vec!["c: 3"]]);
    }
}
