//! What a scan tells people and tools: the findings and the inventory of every scanned image,
//! written as a table ([`table`]), a stable JSON document ([`json`]), SARIF 2.1.0 ([`sarif`]),
//! SPDX 2.3 JSON ([`spdx`]) and CycloneDX 1.6 JSON ([`cyclonedx`]).
//!
//! Every writer is a pure function of a [`Report`]: findings are sorted once when the report
//! is made (worst first, then by package and advisory), packages keep inventory order, and
//! the only inputs that change between runs — the creation time and the tool's version — come
//! in through [`ReportOptions`], so tests pin them and two runs over the same image and data
//! print the same bytes.

pub mod attribution;
pub mod cyclonedx;
pub mod json;
mod licenses;
pub mod sarif;
pub mod spdx;
pub mod table;

use std::cmp::Reverse;

use crate::cvss::Severity;
use crate::image::source::ImageInventory;
use crate::inventory::{InstalledPackage, LayerRef};
use crate::matching::{AdvisoryDb, Finding};

pub use attribution::Attribution;

/// What the writers need besides the scan itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportOptions {
    /// The tool's version, as the documents name their creator.
    pub tool_version: String,
    /// When the report was made, RFC 3339 in UTC to the second (`2026-11-23T06:00:00Z`).
    pub created: String,
}

/// One scanned image (one platform of a multi-platform image) with its findings.
#[derive(Debug)]
pub struct ScannedImage<'db> {
    /// The image and its inventory.
    pub image: ImageInventory,
    /// The findings, worst first; each indexes `image.inventory.packages`.
    pub findings: Vec<Finding<'db>>,
    /// Packages whose version could not be compared, as `name version: why`.
    pub unmatched: Vec<String>,
}

/// A scan of one target (which may hold several images) matched against advisory data.
#[derive(Debug)]
pub struct Report<'db> {
    /// The target as the user named it (`oci:layout:tag`, `registry/repo:tag`).
    pub target: String,
    /// The images, in the order the source listed them.
    pub images: Vec<ScannedImage<'db>>,
    /// Creation time and tool version.
    pub options: ReportOptions,
}

impl<'db> Report<'db> {
    /// Matches each image's inventory against `db` and sorts the findings.
    pub fn new(
        target: impl Into<String>,
        images: Vec<ImageInventory>,
        db: &'db AdvisoryDb,
        options: ReportOptions,
    ) -> Report<'db> {
        let images = images
            .into_iter()
            .map(|image| {
                let matches = image.inventory.match_advisories(db);
                let packages = &image.inventory.packages;
                let mut findings = matches.findings;
                findings.sort_by(|a, b| finding_key(packages, a).cmp(&finding_key(packages, b)));
                let unmatched = matches
                    .unparsable
                    .iter()
                    .map(|u| {
                        let p = &packages[u.index].package;
                        format!("{} {}: {}", p.name, p.version, u.error)
                    })
                    .collect();
                ScannedImage {
                    image,
                    findings,
                    unmatched,
                }
            })
            .collect();
        Report {
            target: target.into(),
            images,
            options,
        }
    }

    /// How many findings (over every image) are at `threshold` or worse.
    pub fn count_at_or_above(&self, threshold: Severity) -> usize {
        self.images
            .iter()
            .flat_map(|i| &i.findings)
            .filter(|f| f.severity >= threshold)
            .count()
    }

    /// The credits owed to the advisory data behind the findings, each once, sorted.
    pub fn attributions(&self) -> Vec<&'static Attribution> {
        let mut out: Vec<&'static Attribution> = self
            .images
            .iter()
            .flat_map(|i| &i.findings)
            .filter_map(|f| attribution::of(f.advisory))
            .collect();
        out.sort_by_key(|a| a.name);
        out.dedup_by_key(|a| a.name);
        out
    }
}

impl ScannedImage<'_> {
    /// The package a finding names.
    pub fn package_of(&self, finding: &Finding<'_>) -> &InstalledPackage {
        &self.image.inventory.packages[finding.package]
    }

    /// The layer a package came from.
    pub fn layer_of(&self, package: &InstalledPackage) -> Option<&LayerRef> {
        self.image.inventory.layers.get(package.layer)
    }

    /// A name for the image among the target's images: its platform, else its digest.
    pub fn label(&self) -> String {
        self.image
            .platform
            .clone()
            .or_else(|| self.image.image.clone())
            .unwrap_or_else(|| "image".to_owned())
    }
}

/// Worst first, then by package name, installed version and advisory id, so ties never
/// depend on the order advisories were imported in.
fn finding_key<'a>(
    packages: &'a [InstalledPackage],
    finding: &'a Finding<'_>,
) -> (Reverse<Severity>, &'a str, &'a str, &'a str, usize) {
    let package = &packages[finding.package].package;
    (
        Reverse(finding.severity),
        &package.name,
        &package.version,
        &finding.advisory.id,
        finding.package,
    )
}

/// The first 12 hex digits of a digest, as `docker images` shows image ids.
pub fn short_digest(digest: &str) -> &str {
    let hex = digest.split_once(':').map_or(digest, |(_, hex)| hex);
    hex.get(..12).unwrap_or(hex)
}

/// The fixed-in column: the fixing versions, or what the distribution says instead.
pub fn fixed_in_text(finding: &Finding<'_>) -> String {
    use crate::advisory::Status;
    if !finding.fixed_in.is_empty() {
        let versions: Vec<String> = finding.fixed_in.iter().map(ToString::to_string).collect();
        return versions.join(", ");
    }
    match finding.status {
        Status::NoDsa => "(no DSA)",
        Status::WontFix => "(won't fix)",
        Status::NotAffected => "(not affected)",
        Status::Fixed | Status::Unfixed => "(unfixed)",
    }
    .to_owned()
}

/// A UUID (version 5 layout, RFC 9562) derived from `seed`, so documents that need a unique
/// serial get one that is stable for the same scan and time.
pub(crate) fn uuid_from(seed: &str) -> String {
    let digest = oci::Digest::of(oci::DigestAlgorithm::Sha256, seed.as_bytes());
    let hex = digest.hex();
    let version = format!("5{}", &hex[13..16]);
    let variant_nibble = u8::from_str_radix(&hex[16..17], 16).unwrap_or(0) & 0x3 | 0x8;
    format!(
        "{}-{}-{version}-{variant_nibble:x}{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[17..20],
        &hex[20..32]
    )
}

/// The seed of a report's document identifiers: what was scanned and when.
pub(crate) fn identity_seed(report: &Report<'_>) -> String {
    let mut seed = format!("{}\n{}", report.target, report.options.created);
    for image in &report.images {
        seed.push('\n');
        seed.push_str(image.image.image.as_deref().unwrap_or("-"));
    }
    seed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_have_the_version_5_layout() {
        let uuid = uuid_from("x");
        let parts: Vec<&str> = uuid.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('5'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
        assert_eq!(uuid, uuid_from("x"));
        assert_ne!(uuid, uuid_from("y"));
    }

    #[test]
    fn short_digests() {
        assert_eq!(short_digest("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short_digest("abc"), "abc");
    }
}
