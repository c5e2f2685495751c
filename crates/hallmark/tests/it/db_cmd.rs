//! `hallmark db import`, `status` and `events` over stored image inventories: real advisory
//! data (`shared/testdata/advisories`, and the Debian 12 records of the scan crate's tests)
//! imported in steps, each step's reported changes asserted per tag, and the outbox read back.
//!
//! The images are root filesystem folders holding real package metadata (os-release, dpkg
//! status, npm package.json, Python METADATA), scanned by the scan crate and recorded the way
//! `hallmark scan --data` records them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fixture_cache::run_output;
use oci::{Digest, DigestAlgorithm};
use scan::image::source::{scan, ImageSource, ScanOptions};
use serde_json::Value;

use crate::json_answers::db_changes;

const NPM: &str = "../../../shared/testdata/advisories/npm";
const DEBIAN12: &str = "../scan/tests/data/debian12";

fn path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A root filesystem with a dpkg database, npm packages and a Python distribution.
fn rootfs(dir: &Path, dpkg: &[(&str, &str, &str)], npm: &[(&str, &str)], pypi: &[(&str, &str)]) {
    let write = |relative: &str, text: String| {
        let file = dir.join(relative);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    };
    write(
        "etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n".into(),
    );
    let status: Vec<String> = dpkg
        .iter()
        .map(|(name, source, version)| {
            format!("Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nSource: {source}\nVersion: {version}\n")
        })
        .collect();
    write("var/lib/dpkg/status", status.join("\n"));
    for (name, version) in npm {
        write(
            &format!("srv/app/node_modules/{name}/package.json"),
            format!("{{\"name\":\"{name}\",\"version\":\"{version}\",\"license\":\"MIT\"}}"),
        );
    }
    for (name, version) in pypi {
        write(
            &format!("usr/local/lib/python3.11/site-packages/{name}-{version}.dist-info/METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        );
    }
}

/// Scans `dir` and records it as `reference` in the data folder, with no advisories stored yet.
async fn record(data: &Path, dir: &Path, reference: &str) {
    let images = scan(
        &ImageSource::Dir(dir.to_owned()),
        &ScanOptions::default(),
        &scan::cache::NoCache,
    )
    .unwrap();
    let (_, meta) = store::open_embedded(data).await.unwrap();
    let db = monitor::load_advisories(&meta).await.unwrap().db;
    let inventory = &images[0].inventory;
    let digest = Digest::of(DigestAlgorithm::Sha256, reference.as_bytes());
    let matches = inventory.match_advisories(&db);
    monitor::record_scan(&meta, &digest, Some(reference), inventory, &matches, 1)
        .await
        .unwrap();
}

fn hallmark(data: &Path, args: &[&str]) -> Output {
    run_output(
        Command::new(env!("CARGO_BIN_EXE_hallmark"))
            .args(args)
            .env("HALLMARK_DATA", data),
    )
}

/// `db import` as JSON, with its changes as `tag kind advisory package@version`, sorted.
fn import(data: &Path, dir: &Path, source: &str) -> (Value, Vec<String>) {
    let output = hallmark(
        data,
        &[
            "db",
            "import",
            dir.to_str().unwrap(),
            "--source",
            source,
            "--format",
            "json",
        ],
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut changes = db_changes(&report);
    changes.sort();
    (report, changes)
}

/// A folder holding copies of some files of `from`, as an older or partial feed would.
fn subset(into: &Path, from: &Path, names: &[&str]) -> PathBuf {
    std::fs::create_dir_all(into).unwrap();
    for name in names {
        std::fs::copy(from.join(name), into.join(name)).unwrap();
    }
    into.to_owned()
}

#[tokio::test]
async fn imports_report_new_fixed_and_withdrawn_findings_per_tag() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    store::open_embedded(&data).await.unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    rootfs(
        &old,
        &[
            ("libc6", "glibc", "2.36-9+deb12u1"),
            ("libsope1", "sope", "5.8.0-1+deb12u1"),
        ],
        &[("lodash", "4.17.15"), ("minimist", "1.2.5")],
        &[("Jinja2", "2.11.2")],
    );
    rootfs(
        &new,
        &[("libc6", "glibc", "2.36-9+deb12u3")],
        &[("lodash", "4.17.21"), ("minimist", "1.2.6")],
        &[],
    );
    record(&data, &old, "library/app:1").await;
    record(&data, &new, "library/app:2").await;

    // Step 1: part of the npm data.
    let npm_part = subset(
        &dir.path().join("npm-part"),
        &path(NPM),
        &["GHSA-p6mc-m468-83gw.json", "GHSA-vh95-rmgr-6w4m.json"],
    );
    let (report, changes) = import(&data, &npm_part, "npm");
    assert_eq!(
        (report["records"].as_u64(), report["images"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(
        changes,
        ["library/app:1 new GHSA-p6mc-m468-83gw lodash@4.17.15"]
    );
    let first_event = report["events"][0].as_i64().unwrap();

    // Step 2: all of it, under the same source name.
    let (_, changes) = import(&data, &path(NPM), "npm");
    assert_eq!(
        changes,
        [
            "library/app:1 new GHSA-35jh-r3h4-6jhm lodash@4.17.15",
            "library/app:1 new GHSA-xvch-5gv4-984h minimist@1.2.5",
        ]
    );

    // Step 3: the partial data again; what it lacks is gone.
    let (_, changes) = import(&data, &npm_part, "npm");
    assert_eq!(
        changes,
        [
            "library/app:1 withdrawn GHSA-35jh-r3h4-6jhm lodash@4.17.15",
            "library/app:1 withdrawn GHSA-xvch-5gv4-984h minimist@1.2.5",
        ]
    );

    // Step 4: Debian's record for sope as it stood before the fix was published (open in
    // bookworm), then the Debian 12 records as they stand.
    let before_fix = dir.path().join("debian12-old");
    std::fs::create_dir_all(&before_fix).unwrap();
    let record =
        std::fs::read_to_string(path(DEBIAN12).join("DEBIAN-CVE-2025-53603.json")).unwrap();
    let open = record.replace(r#", {"fixed": "5.8.0-1+deb12u1"}"#, "");
    assert_ne!(open, record, "the fixed event was taken out");
    std::fs::write(before_fix.join("DEBIAN-CVE-2025-53603.json"), open).unwrap();
    let (_, changes) = import(&data, &before_fix, "debian12");
    assert_eq!(
        changes,
        ["library/app:1 new DEBIAN-CVE-2025-53603 libsope1@5.8.0-1+deb12u1"]
    );
    let (_, changes) = import(&data, &path(DEBIAN12), "debian12");
    assert_eq!(
        changes,
        [
            "library/app:1 fixed DEBIAN-CVE-2025-53603 libsope1@5.8.0-1+deb12u1",
            "library/app:1 new DSA-5514-1 libc6@2.36-9+deb12u1",
        ]
    );

    // The outbox holds every change in order; a reader resumes after the first event.
    let events = hallmark(
        &data,
        &[
            "db",
            "events",
            "--since",
            &first_event.to_string(),
            "--format",
            "json",
        ],
    );
    let events: Value = serde_json::from_slice(&events.stdout).unwrap();
    let kinds: Vec<(&str, &str)> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["advisory"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds.len(), 7, "{kinds:?}");
    assert_eq!(kinds[..2].iter().filter(|(k, _)| *k == "new").count(), 2);
    assert_eq!(
        kinds[2..4]
            .iter()
            .filter(|(k, _)| *k == "withdrawn")
            .count(),
        2
    );
    assert_eq!(kinds[4], ("new", "DEBIAN-CVE-2025-53603"));
    assert!(kinds[5..].contains(&("fixed", "DEBIAN-CVE-2025-53603")));
    assert!(events[0]["id"].as_i64().unwrap() > first_event);
    assert_eq!(events[0]["tag"], "library/app:1");

    let status = hallmark(&data, &["db", "status", "--format", "json"]);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    let sources: Vec<(&str, u64)> = status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["records"].as_u64().unwrap()))
        .collect();
    assert_eq!(sources, [("debian12", 4), ("npm", 2)]);
    assert_eq!(status["images"], 2);
    assert_eq!(status["advisories_in_force"], 6);
}

#[tokio::test]
async fn text_output_is_a_table_per_tag() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    store::open_embedded(&data).await.unwrap();
    let image = dir.path().join("image");
    rootfs(&image, &[], &[("lodash", "4.17.15")], &[]);
    record(&data, &image, "library/node:14").await;
    let output = hallmark(&data, &["db", "import", path(NPM).to_str().unwrap()]);
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["TAG", "CHANGE", "ADVISORY", "PACKAGE", "STATUS", "FIXED", "IN"]
    );
    assert!(lines[1].starts_with("library/node:14  new"), "{text}");
    assert_eq!(
        lines.last().unwrap(),
        &"source npm: 8 records stored; 1 stored images re-matched: 2 new, 0 fixed, 0 withdrawn"
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("stored 8 records from 8 files as source \"npm\""),
        "{stderr}"
    );

    let status = hallmark(&data, &["db", "status"]);
    let status = String::from_utf8(status.stdout).unwrap();
    assert!(
        status.lines().nth(1).unwrap().starts_with("npm     8"),
        "{status}"
    );
}
