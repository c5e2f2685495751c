//! Image scanning: which packages an image holds, which layer brought each one, and which
//! known vulnerabilities affect them.
//!
//! Images are read by [`image`]: an OCI layout, a docker archive or a root filesystem folder
//! ([`image::source`]), each layer walked once as a tar stream (gzip, zstd or plain) without
//! writing anything to disk, under limits that turn hostile layers into errors. The
//! [`analyzer`]s read the few files that record packages (os-release, dpkg, apk, rpm's database
//! in its SQLite, Berkeley DB and NDB forms, Python, npm and Java metadata) and the executables
//! that embed theirs (Go, cargo-auditable);
//! per-layer results are cached by layer digest ([`cache`]) and merged into an
//! [`Inventory`] that attributes each package to the layer that introduced it.
//!
//! Advisories come in through the importers in [`import`] — OSV records (JSON or YAML, from a
//! folder or a zip), the Debian security tracker's JSON export and Alpine's secdb — and land
//! in an [`AdvisoryDb`], which indexes them by ecosystem, release and package name. Matching
//! an inventory of [`Package`]s then yields [`Finding`]s with the fixed-in versions, the
//! distribution's status (fixed, unfixed, no-DSA, won't fix), a severity (computed from CVSS
//! v3 vectors by [`cvss`] where a vector exists) and a link to the CVE record.
//!
//! Versions are compared with each ecosystem's own rules ([`version`]: dpkg, apk, rpm,
//! PEP 440, semver, Maven), parsed once at import. OS packages match only their own
//! distribution's advisories, by source package and release; see [`matching`].
//!
//! A [`report::Report`] holds the findings and inventories of a scan and writes them as a
//! table, JSON, SARIF 2.1.0, SPDX 2.3 or CycloneDX 1.6 ([`report`]).
//!
//! The crate is synchronous and does no network I/O: importers and layer walkers read any
//! [`std::io::Read`], and malformed input is reported, never a panic.

#![deny(missing_docs)]

pub mod advisory;
pub mod analyzer;
pub mod cache;
pub mod changes;
pub mod cvss;
pub mod ecosystem;
pub mod image;
pub mod import;
pub mod inventory;
pub mod matching;
pub mod report;
pub mod version;

pub use advisory::{Advisory, Affected, Source, Status};
pub use cache::{DiskCache, LayerCache, MemoryCache};
pub use cvss::Severity;
pub use ecosystem::Ecosystem;
pub use image::{LayerError, Limits};
pub use import::{import_path, Format, ImportError, ImportReport, Problem, RecordError};
pub use inventory::{InstalledPackage, Inventory, LayerRef};
pub use matching::{AdvisoryDb, Finding, Matches, Package};
pub use report::{Report, ReportOptions};
pub use version::{Scheme, Version, VersionError};
