//! `hallmark serve --tls-cert/--tls-key` with a private CA the `openssl` CLI made, and skopeo
//! trusting it through `--dest-cert-dir` and `--src-cert-dir`, as an operator would set it up.

use std::process::Command;

use fixture_cache::tls::TestPki;
use serde_json::Value;

use crate::registry_clients::{oci_layout, run, tar};
use crate::server::Server;

#[test]
#[ignore = "needs skopeo"]
fn skopeo_copies_into_and_out_of_an_https_registry_trusting_its_ca() {
    let work = tempfile::tempdir().unwrap();
    let pki = TestPki::new();
    let server = Server::start_tls(
        &work.path().join("data"),
        &pki.server_cert(),
        &pki.server_key(),
    );
    let cert_dir = work.path().join("certs");
    std::fs::create_dir_all(&cert_dir).unwrap();
    std::fs::copy(pki.ca_cert(), cert_dir.join("ca.crt")).unwrap();
    let cert_dir = cert_dir.to_str().unwrap();

    let big: Vec<u8> = (0..2_000_000u32).map(|i| (i % 241) as u8).collect();
    let layers = [
        tar(&[("etc/os-release", b"ID=tls-test\n")]),
        tar(&[("srv/big.bin", &big)]),
    ];
    let source = work.path().join("source");
    let manifest = oci_layout(&source, "v1", &layers);
    let digest = manifest["digest"].as_str().unwrap();
    let remote = format!("docker://{}/clients/tls:v1", server.host());
    let skopeo = |args: &[&str]| run(&server, Command::new("skopeo").args(args));

    skopeo(&[
        "copy",
        "--preserve-digests",
        "--dest-cert-dir",
        cert_dir,
        &format!("oci:{}:v1", source.display()),
        &remote,
    ]);
    let back = work.path().join("back");
    skopeo(&[
        "copy",
        "--preserve-digests",
        "--src-cert-dir",
        cert_dir,
        &remote,
        &format!("oci:{}:v1", back.display()),
    ]);

    let index: Value =
        serde_json::from_slice(&std::fs::read(back.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], digest);
    for blob in std::fs::read_dir(source.join("blobs/sha256")).unwrap() {
        let blob = blob.unwrap();
        let copied = std::fs::read(back.join("blobs/sha256").join(blob.file_name())).unwrap();
        assert!(
            copied == std::fs::read(blob.path()).unwrap(),
            "{:?} changed",
            blob.file_name()
        );
    }

    // Without the CA, skopeo refuses the certificate rather than falling back to plain HTTP.
    let untrusted = Command::new("skopeo")
        .args(["inspect", &remote])
        .output()
        .unwrap();
    assert!(!untrusted.status.success(), "{untrusted:?}");
    let stderr = String::from_utf8_lossy(&untrusted.stderr);
    assert!(stderr.contains("certificate"), "{stderr}");
}

#[test]
fn serve_refuses_half_a_tls_pair_and_unreadable_files_in_one_line() {
    let work = tempfile::tempdir().unwrap();
    let missing = work.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    for (args, expected) in [
        (vec!["--tls-cert", missing], "needs --tls-key"),
        (vec!["--tls-key", missing], "needs --tls-cert"),
        (
            vec!["--tls-cert", missing, "--tls-key", missing],
            "cannot read the TLS certificate",
        ),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_hallmark"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--auth",
                "none",
                "--data",
            ])
            .arg(work.path().join("data"))
            .args(&args)
            .env_remove("HALLMARK_CONFIG")
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?} started");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.trim_end().lines().last().unwrap_or_default();
        assert!(
            last.contains(expected) && last.contains(missing),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
}
