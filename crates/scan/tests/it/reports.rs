//! The report writers over a small image built here (Debian packages, a wheel and npm
//! packages in three layers) matched against the real advisory test data: one snapshot per
//! format, with the creation time and tool version pinned. The `needs …` tests hand SPDX and
//! CycloneDX documents of the real bookworm image to the formats' own validators.

use std::path::Path;
use std::process::Command;

use fixture_cache::run;
use scan::image::source::{scan, ImageSource, ScanOptions};
use scan::report::{cyclonedx, json, sarif, spdx, table};
use scan::{AdvisoryDb, Format, MemoryCache, Report, ReportOptions, Severity};

use crate::fixtures::{self, Item};

const TARGET: &str = "oci:fixture:app";

fn options() -> ReportOptions {
    ReportOptions {
        tool_version: "0.0.0-test".into(),
        created: "2026-01-02T03:04:05Z".into(),
    }
}

/// Debian 12 advisories written for these tests, the npm GHSA records and PyPI's records for
/// `requests`.
pub fn advisories() -> AdvisoryDb {
    let debian12 = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/debian12");
    let mut db = AdvisoryDb::new();
    for dir in [
        debian12,
        crate::testdata("npm"),
        crate::testdata("pypi/vulns/requests"),
    ] {
        scan::import_path(Format::Osv, &dir, &mut |a| db.insert(a)).unwrap();
    }
    db
}

/// An OCI layout of three layers: bookworm's os-release with apt, tar and libc6 (glibc
/// fixed, so not a finding), then `requests` 2.25.0, then lodash 4.17.15 and a scoped package.
fn fixture(root: &Path) {
    let status = [
        fixtures::stanza("apt", "apt", "2.6.1"),
        fixtures::stanza("tar", "tar", "1.34+dfsg-1.2+deb12u1"),
        fixtures::stanza("libc6", "glibc", "2.36-9+deb12u3"),
    ]
    .join("\n");
    let base = fixtures::layer(&[
        Item::File("etc/os-release", fixtures::BOOKWORM_OS_RELEASE),
        Item::File("var/lib/dpkg/status", status.as_bytes()),
    ]);
    let python = fixtures::layer(&[Item::Wheel(
        "usr/local/lib/python3.11/site-packages",
        "requests",
        "2.25.0",
    )]);
    let node = fixtures::layer(&[
        Item::Npm("srv/app/node_modules", "lodash", "4.17.15"),
        Item::Npm("srv/app/node_modules", "@types/node", "20.1.0"),
    ]);
    let manifest = fixtures::image(
        root,
        "amd64",
        &[
            (base.clone(), fixtures::gzip(&base), "ADD rootfs.tar /"),
            (
                python.clone(),
                fixtures::gzip(&python),
                "RUN pip install requests==2.25.0",
            ),
            (
                node.clone(),
                fixtures::gzip(&node),
                "RUN npm install lodash@4.17.15 @types/node@20.1.0",
            ),
        ],
    );
    fixtures::index(root, vec![manifest], "app");
}

fn with_report(check: impl FnOnce(&Report<'_>)) {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    let source = ImageSource::parse(&format!("oci:{}:app", dir.path().display())).unwrap();
    let images = scan(&source, &ScanOptions::default(), &MemoryCache::new()).unwrap();
    let db = advisories();
    check(&Report::new(TARGET, images, &db, options()));
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap()
}

#[test]
fn every_format_of_a_small_image() {
    with_report(|report| {
        let ids: Vec<&str> = report.images[0]
            .findings
            .iter()
            .map(|f| f.advisory.id.as_str())
            .collect();
        // Worst first; glibc is at its fixed version, so DSA-5514-1 is absent.
        assert_eq!(
            ids,
            [
                "GHSA-35jh-r3h4-6jhm",
                "GHSA-p6mc-m468-83gw",
                "DEBIAN-CVE-2011-3374",
                "PYSEC-2023-74",
                "DEBIAN-CVE-2005-2541",
            ]
        );
        assert_eq!(report.count_at_or_above(Severity::High), 2);
        insta::assert_snapshot!("table", table::write(report));
        insta::assert_snapshot!("json", pretty(&json::write(report)));
        insta::assert_snapshot!("sarif", pretty(&sarif::write(report)));
        insta::assert_snapshot!("spdx", pretty(&spdx::write(report)));
        insta::assert_snapshot!("cyclonedx", pretty(&cyclonedx::write(report)));
    });
}

#[test]
fn the_same_scan_prints_the_same_bytes() {
    let mut outputs = Vec::new();
    for _ in 0..2 {
        with_report(|report| {
            outputs.push(
                [
                    table::write(report),
                    pretty(&json::write(report)),
                    pretty(&sarif::write(report)),
                    pretty(&spdx::write(report)),
                    pretty(&cyclonedx::write(report)),
                ]
                .join("\n"),
            );
        });
    }
    assert_eq!(outputs[0], outputs[1]);
}

/// Writes the SPDX and CycloneDX documents of the end-to-end bookworm image to `dir`.
fn bookworm_documents(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let layout = dir.join("layout");
    std::fs::create_dir_all(&layout).unwrap();
    crate::bookworm::write_layout(&layout);
    let source = ImageSource::parse(&format!("oci:{}:e2e", layout.display())).unwrap();
    let images = scan(&source, &ScanOptions::default(), &MemoryCache::new()).unwrap();
    let db = crate::bookworm::advisories();
    let report = Report::new("oci:bookworm:e2e", images, &db, options());
    assert!(!report.images[0].findings.is_empty());
    let spdx_path = dir.join("bookworm.spdx.json");
    let cyclonedx_path = dir.join("bookworm.cdx.json");
    std::fs::write(&spdx_path, pretty(&spdx::write(&report))).unwrap();
    std::fs::write(&cyclonedx_path, pretty(&cyclonedx::write(&report))).unwrap();
    (spdx_path, cyclonedx_path)
}

#[test]
#[ignore = "needs pyspdxtools, debootstrap, pip and npm"]
fn pyspdxtools_accepts_the_bookworm_spdx_document() {
    let dir = tempfile::tempdir().unwrap();
    let (spdx_path, _) = bookworm_documents(dir.path());
    run(Command::new("pyspdxtools").arg("-i").arg(&spdx_path));
}

/// cyclonedx-python-lib's strict validator: the 1.6 JSON schema with no extra properties.
const CYCLONEDX_STRICT: &str = "
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())
if error is not None:
    sys.exit(f'invalid: {error}')
";

#[test]
#[ignore = "needs cyclonedx-python-lib, debootstrap, pip and npm"]
fn cyclonedx_strict_validator_accepts_the_bookworm_bom() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cyclonedx_path) = bookworm_documents(dir.path());
    run(Command::new("python3")
        .args(["-c", CYCLONEDX_STRICT])
        .arg(&cyclonedx_path));
}
