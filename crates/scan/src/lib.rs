//! Vulnerability matching for the packages found in images: the part of scanning that needs
//! no image at all.
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
//! The crate is synchronous and does no network I/O: importers read any [`std::io::Read`],
//! and malformed records are reported, never fatal, and never a panic.

#![deny(missing_docs)]

pub mod advisory;
pub mod cvss;
pub mod ecosystem;
pub mod import;
pub mod matching;
pub mod version;

pub use advisory::{Advisory, Affected, Source, Status};
pub use cvss::Severity;
pub use ecosystem::Ecosystem;
pub use import::{import_path, Format, ImportError, ImportReport, Problem, RecordError};
pub use matching::{AdvisoryDb, Finding, Matches, Package};
pub use version::{Scheme, Version, VersionError};
