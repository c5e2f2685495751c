//! Real registry clients against `hallmark serve`: skopeo, the docker CLI with its daemon, and
//! the `oras` Python SDK. They are ignored by default; `.ci/run` installs the clients, starts
//! dockerd and runs them with `--include-ignored`.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::server::{sha256, Server};

/// Runs a client command, failing the test with its output (and the server's log) if it fails.
pub(crate) fn run(server: &Server, command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{command:?}: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed\nstdout:\n{stdout}\nstderr:\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        server.log()
    );
    stdout
}

/// A ustar archive of regular files, every header field the readers check filled in.
pub(crate) fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, content) in files {
        let mut header = [0u8; 512];
        let mut field = |offset: usize, value: &[u8]| {
            header[offset..offset + value.len()].copy_from_slice(value)
        };
        field(0, name.as_bytes());
        field(100, b"0000644\0");
        field(108, b"0000000\0");
        field(116, b"0000000\0");
        field(124, format!("{:011o}\0", content.len()).as_bytes());
        field(136, b"14000000000\0");
        field(156, b"0");
        field(257, b"ustar\0");
        field(263, b"00");
        field(148, b"        ");
        let checksum: u32 = header.iter().map(|&b| u32::from(b)).sum();
        header[148..156].copy_from_slice(format!("{checksum:06o}\0 ").as_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(content);
        out.resize(out.len().next_multiple_of(512), 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// Writes `content` into an OCI layout's blob folder and returns its descriptor.
pub(crate) fn put_blob(layout: &Path, media_type: &str, content: &[u8]) -> Value {
    let digest = sha256(content);
    let hex = digest.strip_prefix("sha256:").unwrap();
    std::fs::write(layout.join("blobs/sha256").join(hex), content).unwrap();
    json!({ "mediaType": media_type, "digest": digest, "size": content.len() })
}

/// An OCI image layout holding one image of uncompressed tar layers, tagged `tag`; returns
/// the manifest's descriptor.
pub(crate) fn oci_layout(layout: &Path, tag: &str, layers: &[Vec<u8>]) -> Value {
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let layers: Vec<Value> = layers
        .iter()
        .map(|layer| put_blob(layout, "application/vnd.oci.image.layer.v1.tar", layer))
        .collect();
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": { "Cmd": ["/bin/hello"] },
        "rootfs": { "type": "layers", "diff_ids": layers.iter().map(|l| l["digest"].clone()).collect::<Vec<_>>() },
    });
    let config = put_blob(
        layout,
        "application/vnd.oci.image.config.v1+json",
        config.to_string().as_bytes(),
    );
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": layers,
    });
    let mut manifest = put_blob(
        layout,
        "application/vnd.oci.image.manifest.v1+json",
        manifest.to_string().as_bytes(),
    );
    manifest["annotations"] = json!({ "org.opencontainers.image.ref.name": tag });
    let index = json!({ "schemaVersion": 2, "manifests": [manifest] });
    std::fs::write(layout.join("index.json"), index.to_string()).unwrap();
    manifest
}

fn skopeo(server: &Server, args: &[&str]) -> String {
    run(server, Command::new("skopeo").args(args))
}

#[test]
#[ignore = "needs skopeo"]
fn skopeo_copies_a_multi_layer_image_in_and_out_unchanged() {
    let work = tempfile::tempdir().unwrap();
    let server = Server::start(&work.path().join("data"));
    let layers = [
        tar(&[("etc/os-release", b"ID=hallmark-test\n")]),
        tar(&[
            ("bin/hello", b"#!/bin/sh\necho hello\n"),
            ("usr/share/doc/README", &[b'x'; 70_000]),
        ]),
        tar(&[(
            "srv/data.bin",
            &(0..300_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
        )]),
    ];
    let source = work.path().join("source");
    let manifest = oci_layout(&source, "v1", &layers);
    let digest = manifest["digest"].as_str().unwrap();
    let remote = format!("docker://{}/clients/multi", server.host());
    let source_ref = format!("oci:{}:v1", source.display());

    for tag in ["v1", "v2"] {
        let dest = format!("{remote}:{tag}");
        skopeo(
            &server,
            &[
                "copy",
                "--preserve-digests",
                "--dest-tls-verify=false",
                &source_ref,
                &dest,
            ],
        );
    }
    let back = work.path().join("back");
    let back_ref = format!("oci:{}:v1", back.display());
    skopeo(
        &server,
        &[
            "copy",
            "--preserve-digests",
            "--src-tls-verify=false",
            &format!("{remote}:v1"),
            &back_ref,
        ],
    );
    let index: Value =
        serde_json::from_slice(&std::fs::read(back.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], digest);
    for blob in std::fs::read_dir(source.join("blobs/sha256")).unwrap() {
        let blob = blob.unwrap();
        let copied = std::fs::read(back.join("blobs/sha256").join(blob.file_name()))
            .unwrap_or_else(|_| panic!("{:?} did not come back", blob.file_name()));
        assert!(
            copied == std::fs::read(blob.path()).unwrap(),
            "{:?} changed",
            blob.file_name()
        );
    }

    let inspect: Value = serde_json::from_str(&skopeo(
        &server,
        &["inspect", "--tls-verify=false", &format!("{remote}:v1")],
    ))
    .unwrap();
    assert_eq!(inspect["Digest"], digest);
    let layer_digests: Vec<String> = layers.iter().map(|l| sha256(l)).collect();
    assert_eq!(inspect["Layers"], json!(layer_digests));
    let raw = skopeo(
        &server,
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("{remote}:v2"),
        ],
    );
    assert_eq!(
        sha256(raw.as_bytes()),
        digest,
        "the manifest's bytes changed"
    );

    let tags: Value = serde_json::from_str(&skopeo(
        &server,
        &["list-tags", "--tls-verify=false", &remote],
    ))
    .unwrap();
    assert_eq!(tags["Tags"], json!(["v1", "v2"]));

    // skopeo deletes by digest, which takes every tag of that manifest with it.
    skopeo(
        &server,
        &["delete", "--tls-verify=false", &format!("{remote}:v2")],
    );
    let gone = server.send(
        "HEAD",
        &format!("/v2/clients/multi/manifests/{digest}"),
        &[],
        b"",
    );
    assert_eq!(gone.status, 404, "{gone:?}");
    let tags = server.send("GET", "/v2/clients/multi/tags/list", &[], b"");
    let tags: Value = serde_json::from_slice(&tags.body).unwrap();
    assert!(tags["tags"].as_array().is_none_or(Vec::is_empty), "{tags}");
}

/// The docker CLI, talking to the daemon `DOCKER_HOST` names.
pub(crate) fn docker(server: &Server, args: &[&str]) -> String {
    run(
        server,
        Command::new("docker")
            .args(args)
            .env("DOCKER_BUILDKIT", "0"),
    )
}

fn image_id(server: &Server, image: &str) -> String {
    docker(server, &["image", "inspect", "--format", "{{.Id}}", image])
        .trim()
        .to_owned()
}

fn layer_count(server: &Server, image: &str) -> usize {
    docker(
        server,
        &[
            "image",
            "inspect",
            "--format",
            "{{len .RootFS.Layers}}",
            image,
        ],
    )
    .trim()
    .parse()
    .unwrap()
}

#[test]
#[ignore = "needs dockerd"]
fn docker_pushes_and_pulls_through_the_library_mapping() {
    let work = tempfile::tempdir().unwrap();
    let server = Server::start(&work.path().join("data"));
    let host = server.host();
    let rootfs = work.path().join("rootfs.tar");
    std::fs::write(
        &rootfs,
        tar(&[
            ("etc/os-release", b"ID=hallmark-test\n"),
            ("bin/hello", b"hello\n"),
        ]),
    )
    .unwrap();
    let base = format!("hallmark-it-base:{}", server.address().port());
    let python = format!("{host}/library/python:latest");
    let app = format!("{host}/team/app:1");
    let short = format!("{host}/python");

    docker(&server, &["import", &rootfs.display().to_string(), &base]);
    let base_id = image_id(&server, &base);
    docker(&server, &["tag", &base, &python]);
    docker(&server, &["push", &python]);

    let context = work.path().join("context");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(context.join("a.txt"), "first layer of our own\n").unwrap();
    std::fs::write(context.join("b.txt"), vec![b'b'; 200_000]).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        format!(
            "FROM {short}\nCOPY a.txt /srv/a.txt\nCOPY b.txt /srv/b.txt\nLABEL test=hallmark\n"
        ),
    )
    .unwrap();
    docker(
        &server,
        &[
            "build",
            "--network=none",
            "-q",
            "-t",
            &app,
            &context.display().to_string(),
        ],
    );
    let app_id = image_id(&server, &app);
    assert_eq!(layer_count(&server, &app), 3);
    docker(&server, &["push", &app]);

    // Nothing left locally, so every layer comes back from Hallmark.
    docker(&server, &["rmi", &app, &base, &python, &short]);
    docker(&server, &["pull", &short]);
    assert_eq!(image_id(&server, &short), base_id, "library/ mapping");
    docker(&server, &["pull", &app]);
    assert_eq!(image_id(&server, &app), app_id);
    assert_eq!(layer_count(&server, &app), 3);
    let tags = server.send("GET", "/v2/library/python/tags/list", &[], b"");
    assert_eq!(
        serde_json::from_slice::<Value>(&tags.body).unwrap()["tags"],
        json!(["latest"])
    );
    docker(&server, &["rmi", &short, &app]);
}

#[test]
#[ignore = "needs oras"]
fn oras_pushes_an_artifact_with_a_subject_and_finds_it_as_a_referrer() {
    let work = tempfile::tempdir().unwrap();
    let server = Server::start(&work.path().join("data"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/oras_referrers.py");
    let report = run(
        &server,
        Command::new("python3")
            .arg(&script)
            .arg(server.host())
            .current_dir(work.path()),
    );
    let report: Value = serde_json::from_str(report.lines().last().unwrap_or_default())
        .unwrap_or_else(|_| panic!("the script's last line is not JSON:\n{report}"));

    // The script checked the referrers list through oras; check the server's answer once more.
    let subject = report["subject"].as_str().unwrap();
    let path =
        format!("/v2/oras/app/referrers/{subject}?artifactType=application/vnd.example.sbom");
    let reply = server.send("GET", &path, &[], b"");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("oci-filters-applied"), Some("artifactType"));
    let index: Value = serde_json::from_slice(&reply.body).unwrap();
    let digests: Vec<&Value> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["digest"])
        .collect();
    assert_eq!(digests, [&report["sbom"]]);
}
