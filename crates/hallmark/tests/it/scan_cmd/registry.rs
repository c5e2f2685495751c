//! `hallmark scan` by registry reference: the layout images pushed to `hallmark serve` with
//! skopeo scan as they did from the layout, and only the platform asked for is pulled.

use std::process::Command;

use super::{advisories, debian12, layout, layout_for, scan, stdout_json};

/// Runs skopeo, panicking with its output on failure.
fn skopeo(args: &[&str]) {
    let output = Command::new("skopeo")
        .args(args)
        .output()
        .expect("run skopeo");
    assert!(
        output.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
#[ignore = "needs skopeo"]
fn images_pushed_to_a_hallmark_registry_scan_by_reference() {
    let work = tempfile::tempdir().unwrap();
    let server = crate::server::Server::start(&work.path().join("data"));
    let source = work.path().join("source");
    std::fs::create_dir(&source).unwrap();
    layout(&source);
    let local = stdout_json(&scan(&source, &["--format", "json"]));
    skopeo(&[
        "copy",
        "--preserve-digests",
        "--dest-tls-verify=false",
        &format!("oci:{}:app", source.display()),
        &format!("docker://{}/library/app:1", server.host()),
    ]);
    for reference in [
        format!("docker://{}/library/app:1", server.host()),
        format!("{}/app:1", server.host()),
    ] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hallmark"));
        command
            .env("SOURCE_DATE_EPOCH", "1767225600")
            .args(["--format", "json", "scan", &reference]);
        for source in [debian12(), advisories("npm"), advisories("pypi/vulns")] {
            command.arg("--advisories").arg(source);
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{reference}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let pulled = stdout_json(&output);
        assert_eq!(pulled["target"], reference.as_str());
        // The same manifest, packages and findings as the layout it was pushed from.
        for field in ["digest", "packages", "findings"] {
            assert_eq!(
                pulled["images"][0][field], local["images"][0][field],
                "{reference} {field}"
            );
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("pulling layer sha256:"), "{stderr}");
    }
}

#[test]
#[ignore = "needs skopeo"]
fn multi_platform_registry_images_pull_only_the_platform_asked_for() {
    let work = tempfile::tempdir().unwrap();
    let server = crate::server::Server::start(&work.path().join("data"));
    let source = work.path().join("source");
    std::fs::create_dir(&source).unwrap();
    layout_for(&source, &["amd64", "arm64"]);
    let reference = format!("{}/library/multi:1", server.host());
    skopeo(&[
        "copy",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
        &format!("oci:{}:app", source.display()),
        &format!("docker://{reference}"),
    ]);
    let platforms = |options: &[&str]| -> (Vec<String>, usize) {
        let output = Command::new(env!("CARGO_BIN_EXE_hallmark"))
            .args(["--format", "json", "scan", &reference])
            .args(options)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report = stdout_json(&output);
        let platforms = report["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["platform"].as_str().unwrap().to_owned())
            .collect();
        let stderr = String::from_utf8(output.stderr).unwrap();
        (platforms, stderr.matches("pulling layer").count())
    };
    // The three shared layers are pulled once, each platform's own layer only for it.
    assert_eq!(
        platforms(&[]),
        (vec!["linux/amd64".into(), "linux/arm64".into()], 5)
    );
    assert_eq!(
        platforms(&["--platform", "linux/arm64"]),
        (vec!["linux/arm64".into()], 4)
    );
}
