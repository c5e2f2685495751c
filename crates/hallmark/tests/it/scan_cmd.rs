//! `hallmark scan` over an OCI layout built here (Debian packages, a wheel and npm packages,
//! one layer each) with the real advisory test data: the findings, the exit code of
//! `--severity`, the JSON shape, the document formats, and `--format` refusals elsewhere.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use oci::{Digest, DigestAlgorithm};
use serde_json::{json, Value};

/// The same scans of images pushed to a Hallmark registry with skopeo.
mod registry;

const OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nID=debian\n";

fn advisories(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/advisories")
        .join(dir)
}

/// The Debian 12 records the scan crate's tests hold (no offline Debian 12 feed exists).
fn debian12() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scan/tests/data/debian12")
}

/// An uncompressed tar layer of regular files.
fn layer(files: &[(&str, String)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, path, content.as_bytes())
            .unwrap();
    }
    builder.into_inner().unwrap()
}

/// Stores `data` as a blob of the layout and returns its descriptor.
fn blob(root: &Path, media_type: &str, data: &[u8]) -> Value {
    let digest = Digest::of(DigestAlgorithm::Sha256, data);
    let dir = root.join("blobs/sha256");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(digest.hex()), data).unwrap();
    json!({"mediaType": media_type, "digest": digest.to_string(), "size": data.len()})
}

fn dpkg_stanza(name: &str, version: &str) -> String {
    format!("Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\nDescription: x\n")
}

/// An OCI layout tagged `app`: bookworm with apt and tar (each open in Debian 12), requests
/// 2.25.0, and lodash 4.17.15 with minimist 1.2.5. Returns the layers' digests.
fn layout(root: &Path) -> Vec<String> {
    layout_for(root, &["amd64"])
}

/// In `dir`: the [`layout`] (returned first) and an empty data folder for `--data`.
async fn layout_and_data(dir: &Path) -> (PathBuf, PathBuf) {
    let layout_dir = dir.join("layout");
    std::fs::create_dir(&layout_dir).unwrap();
    layout(&layout_dir);
    let data = dir.join("data");
    drop(store::open_embedded(&data).await.unwrap());
    (layout_dir, data)
}

/// [`layout`] for each of `architectures` (an image index when there are several).
fn layout_for(root: &Path, architectures: &[&str]) -> Vec<String> {
    let layers = [
        (
            layer(&[
                ("etc/os-release", OS_RELEASE.to_owned()),
                (
                    "var/lib/dpkg/status",
                    [
                        dpkg_stanza("apt", "2.6.1"),
                        dpkg_stanza("tar", "1.34+dfsg-1.2+deb12u1"),
                    ]
                    .join("\n"),
                ),
            ]),
            "ADD rootfs.tar /",
        ),
        (
            layer(&[(
                "usr/local/lib/python3.11/site-packages/requests-2.25.0.dist-info/METADATA",
                "Metadata-Version: 2.1\nName: requests\nVersion: 2.25.0\nLicense: Apache 2.0\n"
                    .to_owned(),
            )]),
            "RUN pip install requests==2.25.0",
        ),
        (
            layer(&[
                (
                    "srv/app/node_modules/lodash/package.json",
                    r#"{"name":"lodash","version":"4.17.15","license":"MIT"}"#.to_owned(),
                ),
                (
                    "srv/app/node_modules/minimist/package.json",
                    r#"{"name":"minimist","version":"1.2.5","license":"MIT"}"#.to_owned(),
                ),
            ]),
            "RUN npm install lodash@4.17.15 minimist@1.2.5",
        ),
    ];
    let tar = "application/vnd.oci.image.layer.v1.tar";
    let descriptors: Vec<Value> = layers.iter().map(|(l, _)| blob(root, tar, l)).collect();
    let digests: Vec<String> = descriptors
        .iter()
        .map(|d| d["digest"].as_str().unwrap().to_owned())
        .collect();
    let history: Vec<Value> = layers
        .iter()
        .map(|(_, c)| json!({"created_by": c}))
        .collect();
    let mut manifests: Vec<Value> = architectures
        .iter()
        .map(|architecture| {
            // With several platforms each gets a layer of its own, as real images do.
            let (mut layers, mut diff_ids, mut history) =
                (descriptors.clone(), digests.clone(), history.clone());
            if architectures.len() > 1 {
                let own = layer(&[("etc/architecture", architecture.to_string())]);
                let own = blob(root, tar, &own);
                diff_ids.push(own["digest"].as_str().unwrap().to_owned());
                layers.push(own);
                history.push(json!({"created_by": format!("COPY {architecture} /")}));
            }
            let config = json!({
                "architecture": architecture, "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": diff_ids},
                "history": history,
            });
            let config = blob(
                root,
                "application/vnd.oci.image.config.v1+json",
                &serde_json::to_vec(&config).unwrap(),
            );
            let manifest = json!({
                "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config, "layers": layers,
            });
            let mut descriptor = blob(
                root,
                "application/vnd.oci.image.manifest.v1+json",
                &serde_json::to_vec(&manifest).unwrap(),
            );
            descriptor["platform"] = json!({"architecture": architecture, "os": "linux"});
            descriptor
        })
        .collect();
    // Several platforms sit behind an image index, as registries serve them.
    let mut top = if manifests.len() == 1 {
        manifests.remove(0)
    } else {
        let index = json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        });
        blob(
            root,
            "application/vnd.oci.image.index.v1+json",
            &serde_json::to_vec(&index).unwrap(),
        )
    };
    top["annotations"] = json!({"org.opencontainers.image.ref.name": "app"});
    let index = json!({"schemaVersion": 2, "manifests": [top]});
    std::fs::write(root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(
        root.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    digests
}

/// Runs `hallmark [global…] scan oci:ROOT:app [options…]` with every advisory source, times
/// pinned.
fn scan_with(root: &Path, global: &[&str], options: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hallmark"));
    command
        .env("SOURCE_DATE_EPOCH", "1767225600")
        .args(global)
        .arg("scan")
        .arg(format!("oci:{}:app", root.display()))
        .args(options);
    for source in [debian12(), advisories("npm"), advisories("pypi/vulns")] {
        command.arg("--advisories").arg(source);
    }
    command.output().expect("run hallmark")
}

/// [`scan_with`] without options.
fn scan(root: &Path, global: &[&str]) -> Output {
    scan_with(root, global, &[])
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
fn json_lists_every_package_and_finding_with_its_layer() {
    let dir = tempfile::tempdir().unwrap();
    let digests = layout(dir.path());
    let output = scan(dir.path(), &["--format", "json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = stdout_json(&output);
    assert_eq!(report["created"], "2026-01-01T00:00:00Z");
    let image = &report["images"][0];
    assert_eq!(image["platform"], "linux/amd64");
    assert_eq!(image["os"]["release"], "12");
    let packages: Vec<String> = image["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} {} {} layer {}",
                p["ecosystem"].as_str().unwrap(),
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap(),
                p["layer"]
            )
        })
        .collect();
    assert_eq!(
        packages,
        [
            "Debian apt 2.6.1 layer 0",
            "Debian tar 1.34+dfsg-1.2+deb12u1 layer 0",
            "PyPI requests 2.25.0 layer 1",
            "npm lodash 4.17.15 layer 2",
            "npm minimist 1.2.5 layer 2",
        ]
    );
    let mut findings: Vec<String> = image["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let layer = &f["layer"];
            assert_eq!(
                layer["digest"],
                digests[layer["index"].as_u64().unwrap() as usize]
            );
            assert!(f["link"].as_str().unwrap().starts_with("https://"), "{f}");
            format!(
                "{} {} {}",
                f["package"].as_str().unwrap(),
                f["id"].as_str().unwrap(),
                f["status"].as_str().unwrap()
            )
        })
        .collect();
    findings.sort();
    assert_eq!(
        findings,
        [
            "apt DEBIAN-CVE-2011-3374 unfixed",
            "lodash GHSA-35jh-r3h4-6jhm fixed",
            "lodash GHSA-p6mc-m468-83gw fixed",
            "minimist GHSA-xvch-5gv4-984h fixed",
            "requests PYSEC-2023-74 fixed",
            "tar DEBIAN-CVE-2005-2541 unfixed",
        ]
    );
    let credited: Vec<&str> = report["attributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        credited,
        [
            "Debian Security Tracker",
            "GitHub Advisory Database",
            "PyPA Advisory Database"
        ]
    );
    assert_eq!(report["summary"]["findings"], 6);
}

#[test]
fn severity_sets_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    layout(dir.path());
    let report = stdout_json(&scan(dir.path(), &["--format", "json"]));
    // The data rates these findings so (the Debian records and PYSEC-2023-74 carry no
    // rating); the thresholds below straddle them.
    assert_eq!(
        report["summary"]["by_severity"],
        json!({"CRITICAL": 1, "HIGH": 2, "MEDIUM": 0, "LOW": 0, "UNKNOWN": 3})
    );
    for threshold in ["low", "medium", "high", "critical"] {
        let output = scan_with(dir.path(), &[], &["--severity", threshold]);
        assert_eq!(output.status.code(), Some(1), "--severity {threshold}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains("findings at"), "{stderr}");
    }
    // With PyPI data alone the one finding is unrated, below every threshold.
    let unrated = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .args(["scan", "--severity", "low", "--advisories"])
        .arg(advisories("pypi/vulns"))
        .arg(format!("oci:{}:app", dir.path().display()))
        .output()
        .unwrap();
    let table = String::from_utf8(unrated.stdout).unwrap();
    assert!(table.contains("PYSEC-2023-74"), "{table}");
    assert_eq!(unrated.status.code(), Some(0));
}

#[test]
fn the_table_shows_layers_links_and_credits() {
    let dir = tempfile::tempdir().unwrap();
    let digests = layout(dir.path());
    let output = scan(dir.path(), &[]);
    let text = String::from_utf8(output.stdout).unwrap();
    let header = text
        .lines()
        .find(|l| l.starts_with("SEVERITY"))
        .expect(&text);
    for column in ["PACKAGE", "INSTALLED", "FIXED IN", "LAYER", "ADVISORY"] {
        assert!(header.contains(column), "{header}");
    }
    let lodash = text
        .lines()
        .find(|l| l.contains("GHSA-35jh-r3h4-6jhm"))
        .expect(&text);
    let npm_layer = &digests[2].trim_start_matches("sha256:")[..12];
    assert!(lodash.contains("4.17.21"), "{lodash}");
    assert!(
        lodash.contains(&format!("#2 {npm_layer} RUN npm install")),
        "{lodash}"
    );
    assert!(
        lodash.contains("https://www.cve.org/CVERecord?id=CVE-2021-23337"),
        "{lodash}"
    );
    assert!(
        text.contains("GitHub Advisory Database (CC-BY-4.0"),
        "{text}"
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!("layer {}:", digests[0])),
        "{stderr}"
    );
}

#[test]
fn multi_platform_images_scan_every_platform_or_the_one_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    layout_for(dir.path(), &["amd64", "arm64"]);
    let platforms = |options: &[&str]| -> Vec<String> {
        let output = scan_with(dir.path(), &["--format", "json"], options);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report = stdout_json(&output);
        report["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|image| {
                assert_eq!(image["findings"].as_array().unwrap().len(), 6);
                image["platform"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    assert_eq!(platforms(&[]), ["linux/amd64", "linux/arm64"]);
    assert_eq!(platforms(&["--platform", "linux/arm64"]), ["linux/arm64"]);
    let none = scan_with(dir.path(), &[], &["--platform", "linux/s390x"]);
    assert_eq!(none.status.code(), Some(1));
    let stderr = String::from_utf8(none.stderr).unwrap();
    assert!(stderr.contains("matches the tag and platform"), "{stderr}");
}

#[test]
fn document_formats_come_out_whole() {
    let dir = tempfile::tempdir().unwrap();
    layout(dir.path());
    for (format, field, value) in [
        ("sarif", "version", "2.1.0"),
        ("spdx-json", "spdxVersion", "SPDX-2.3"),
        ("cyclonedx-json", "specVersion", "1.6"),
    ] {
        let output = scan(dir.path(), &["--format", format]);
        assert!(output.status.success(), "{format}");
        assert_eq!(stdout_json(&output)[field], value, "{format}");
    }
}

#[test]
fn other_commands_refuse_scan_formats_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .args(["--format", "sarif", "gc", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr,
        "hallmark: --format sarif is only for `hallmark scan`; this command prints text or json\n"
    );
}

#[test]
fn bad_inputs_are_one_line_errors() {
    for (args, message) in [
        (vec!["scan", "Not/A:Reference"], "Not/A:Reference"),
        (
            vec!["scan", "oci:/nonexistent/layout"],
            "/nonexistent/layout",
        ),
        (
            vec!["scan", "dir:.", "--advisories", "nvd=x"],
            "\"nvd\" is not an advisory format",
        ),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_hallmark"))
            .args(&args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn data_folders_receive_the_scanned_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let (layout_dir, data) = layout_and_data(dir.path()).await;
    let output = scan(&layout_dir, &["--format", "json"]);
    assert!(output.status.success());
    let with_data = {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hallmark"));
        command
            .args(["--format", "json", "scan"])
            .arg(format!("oci:{}:app", layout_dir.display()))
            .arg("--data")
            .arg(&data)
            .arg("--advisories")
            .arg(advisories("npm"));
        command.output().unwrap()
    };
    assert!(
        with_data.status.success(),
        "{}",
        String::from_utf8_lossy(&with_data.stderr)
    );
    let report = stdout_json(&with_data);
    let digest = report["images"][0]["digest"].as_str().unwrap().to_owned();
    let (_, meta) = store::open_embedded(&data).await.unwrap();
    let stored = store::MetaStore::inventories(&meta).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].digest.to_string(), digest);
    assert_eq!(
        stored[0].references,
        [format!("oci:{}:app", layout_dir.display())]
    );
    // The stored findings are the scan's: the npm advisories given with --advisories.
    for id in [
        "GHSA-35jh-r3h4-6jhm",
        "GHSA-p6mc-m468-83gw",
        "GHSA-xvch-5gv4-984h",
    ] {
        assert!(stored[0].findings.contains(id), "{}", stored[0].findings);
    }
    assert!(
        !stored[0].findings.contains("PYSEC-"),
        "{}",
        stored[0].findings
    );
}

#[tokio::test]
async fn scans_match_imported_advisories_and_later_imports_rematch_them() {
    let dir = tempfile::tempdir().unwrap();
    let (layout_dir, data) = layout_and_data(dir.path()).await;
    let hallmark = |args: &[&str]| -> Output {
        let output = Command::new(env!("CARGO_BIN_EXE_hallmark"))
            .env("SOURCE_DATE_EPOCH", "1767225600")
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    };
    let data_arg = data.to_str().unwrap();
    hallmark(&[
        "db",
        "--data",
        data_arg,
        "import",
        advisories("npm").to_str().unwrap(),
    ]);
    let image = format!("oci:{}:app", layout_dir.display());
    let scanned = stdout_json(&hallmark(&[
        "--format", "json", "scan", &image, "--data", data_arg,
    ]));
    let mut ids: Vec<&str> = scanned["images"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "GHSA-35jh-r3h4-6jhm",
            "GHSA-p6mc-m468-83gw",
            "GHSA-xvch-5gv4-984h"
        ]
    );
    // Importing Debian's records re-matches the inventory the scan recorded.
    let imported = stdout_json(&hallmark(&[
        "--format",
        "json",
        "db",
        "--data",
        data_arg,
        "import",
        debian12().to_str().unwrap(),
    ]));
    let changes = imported["changes"].to_string();
    for expected in [
        "DEBIAN-CVE-2011-3374",
        "DEBIAN-CVE-2005-2541",
        image.as_str(),
    ] {
        assert!(changes.contains(expected), "{expected}: {changes}");
    }
}
