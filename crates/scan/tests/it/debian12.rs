//! Debian:12 packages against Debian:12 advisories in OSV form (`tests/data/debian12`), next to
//! upstream advisories for the same software: OS packages must match only their distribution.

use std::path::PathBuf;

use scan::{Ecosystem, Format, Status};

use crate::{load, matches, os_package};

fn db() -> scan::AdvisoryDb {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/debian12");
    let (db, report) = load(Format::Osv, &dir);
    assert_eq!((report.advisories, report.problems.len()), (4, 0));
    db
}

#[test]
fn bookworm_libc6_matches_through_its_source_package() {
    let db = db();
    let libc6 = |release, version| {
        matches(
            &db,
            os_package(Ecosystem::Debian, release, "libc6", "glibc", version),
        )
    };
    assert_eq!(
        libc6("12", "2.36-9+deb12u1"),
        [(
            "DSA-5514-1".to_owned(),
            Status::Fixed,
            vec!["2.36-9+deb12u3".to_owned()]
        )]
    );
    assert!(libc6("12", "2.36-9+deb12u3").is_empty());
    assert!(libc6("12", "2.36-9+deb12u10").is_empty());
    assert_eq!(libc6("11", "2.31-13+deb11u6")[0].2, ["2.31-13+deb11u7"]);
    // bookworm's version is far above bullseye's fix, yet bullseye's range must not decide it.
    assert!(libc6("13", "2.36-9+deb12u1").is_empty());
}

#[test]
fn the_binary_name_alone_does_not_match() {
    let db = db();
    let mut package = os_package(Ecosystem::Debian, "12", "libsope1", "sope", "5.8.0-1");
    assert_eq!(matches(&db, package.clone()).len(), 1);
    package.source = None;
    assert!(matches(&db, package).is_empty());
}

#[test]
fn upstream_ranges_never_reach_os_packages() {
    // An upstream (PyPI) advisory for a name that is also a Debian source package.
    let mut db = db();
    let pypi = r#"{"id": "PYSEC-X", "affected": [{"package": {"ecosystem": "PyPI", "name": "glibc"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}"#;
    let mut report = scan::ImportReport::default();
    scan::import::osv::import(
        "pypi.json",
        pypi.as_bytes(),
        &mut |a| db.insert(a),
        &mut report,
    );
    let found = matches(
        &db,
        os_package(Ecosystem::Debian, "12", "libc6", "glibc", "2.36-9+deb12u3"),
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn finding_links_and_binnmu_source_versions() {
    let db = db();
    let mut package = os_package(
        Ecosystem::Debian,
        "12",
        "libc6",
        "glibc",
        "2.36-9+deb12u1+b1",
    );
    // A binNMU's binary version differs from the source version the advisory speaks of.
    package.source = Some(("glibc".into(), Some("2.36-9+deb12u3".into())));
    let m = db.match_inventory(std::slice::from_ref(&package));
    assert!(m.findings.is_empty());
    package.source = Some(("glibc".into(), Some("2.36-9+deb12u2".into())));
    let m = db.match_inventory(std::slice::from_ref(&package));
    assert_eq!(
        m.findings[0].advisory.link(),
        "https://www.cve.org/CVERecord?id=CVE-2023-4911"
    );
}
