//! Layers, OCI layouts and docker archives built in memory for the image tests, including
//! the malformed kinds a real tool would refuse to write.

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;

use oci::{Digest, DigestAlgorithm};

/// One entry of a test layer.
pub enum Item<'a> {
    File(&'a str, &'a [u8]),
    Link(&'a str, &'a str),
    Hard(&'a str, &'a str),
    Dir(&'a str),
    /// An installed wheel (name, version) in a site-packages folder: its `METADATA`.
    Wheel(&'a str, &'a str, &'a str),
    /// An installed npm package (name, version) in a `node_modules` folder: its `package.json`.
    Npm(&'a str, &'a str, &'a str),
}

/// An uncompressed tar layer. Names are written raw, so `..` and absolute paths survive.
pub fn layer(items: &[Item<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for item in items {
        let mut header = tar::Header::new_gnu();
        let (path, data, kind, link): (Cow<str>, Cow<[u8]>, tar::EntryType, Option<&str>) =
            match *item {
                Item::File(p, d) => (p.into(), d.into(), tar::EntryType::Regular, None),
                Item::Link(p, t) => (p.into(), b"".into(), tar::EntryType::Symlink, Some(t)),
                Item::Hard(p, t) => (p.into(), b"".into(), tar::EntryType::Link, Some(t)),
                Item::Dir(p) => (p.into(), b"".into(), tar::EntryType::Directory, None),
                Item::Wheel(site, name, version) => (
                    format!("{site}/{name}-{version}.dist-info/METADATA").into(),
                    metadata(name, version).into(),
                    tar::EntryType::Regular,
                    None,
                ),
                Item::Npm(modules, name, version) => (
                    format!("{modules}/{name}/package.json").into(),
                    package_json(name, version).into(),
                    tar::EntryType::Regular,
                    None,
                ),
            };
        header.set_entry_type(kind);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        let name = &mut header.as_gnu_mut().unwrap().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        if let Some(link) = link {
            header.as_gnu_mut().unwrap().linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_cksum();
        builder.append(&header, &*data).unwrap();
    }
    builder.into_inner().unwrap()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

pub fn sha256(data: &[u8]) -> Digest {
    Digest::of(DigestAlgorithm::Sha256, data)
}

/// Writes a blob into an OCI layout and returns its descriptor.
pub fn blob(root: &Path, media_type: &str, data: &[u8]) -> serde_json::Value {
    let digest = sha256(data);
    let dir = root.join("blobs/sha256");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(digest.hex()), data).unwrap();
    serde_json::json!({"mediaType": media_type, "digest": digest.to_string(), "size": data.len()})
}

/// An image config with one history entry per layer (plus an empty one, as `ENV` makes).
pub fn config(arch: &str, created_by: &[&str], diff_ids: &[Digest]) -> Vec<u8> {
    let mut history = vec![serde_json::json!({"created_by": "ENV X=1", "empty_layer": true})];
    history.extend(
        created_by
            .iter()
            .map(|c| serde_json::json!({"created_by": c})),
    );
    let diff_ids: Vec<String> = diff_ids.iter().map(ToString::to_string).collect();
    serde_json::to_vec(&serde_json::json!({
        "architecture": arch, "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }))
    .unwrap()
}

/// Writes an image (config + compressed layers) into a layout; returns the manifest's
/// descriptor. `layers` are (uncompressed tar, compressed blob, created_by).
pub fn image(root: &Path, arch: &str, layers: &[(Vec<u8>, Vec<u8>, &str)]) -> serde_json::Value {
    let diff_ids: Vec<Digest> = layers.iter().map(|(tar, ..)| sha256(tar)).collect();
    let created: Vec<&str> = layers.iter().map(|(.., c)| *c).collect();
    let config = blob(
        root,
        "application/vnd.oci.image.config.v1+json",
        &config(arch, &created, &diff_ids),
    );
    let layers: Vec<_> = layers
        .iter()
        .map(|(_, blob_data, _)| {
            blob(
                root,
                "application/vnd.oci.image.layer.v1.tar+gzip",
                blob_data,
            )
        })
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config, "layers": layers,
    });
    let mut descriptor = blob(
        root,
        "application/vnd.oci.image.manifest.v1+json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    descriptor["platform"] = serde_json::json!({"architecture": arch, "os": "linux"});
    descriptor
}

/// Writes `index.json` naming `manifests`, the first tagged `tag`.
pub fn index(root: &Path, mut manifests: Vec<serde_json::Value>, tag: &str) {
    manifests[0]["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": tag});
    let index = serde_json::json!({"schemaVersion": 2, "manifests": manifests});
    std::fs::write(root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(
        root.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
}

pub const BOOKWORM_OS_RELEASE: &[u8] = b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";

/// A dpkg stanza.
pub fn stanza(name: &str, source: &str, version: &str) -> String {
    format!("Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nSource: {source}\nVersion: {version}\nDescription: test\n long text\n")
}

/// A wheel's METADATA.
pub fn metadata(name: &str, version: &str) -> Vec<u8> {
    format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nLicense: MIT\n\nText\n")
        .into_bytes()
}

/// An installed npm package.json.
pub fn package_json(name: &str, version: &str) -> Vec<u8> {
    format!(r#"{{"name":"{name}","version":"{version}","license":"MIT"}}"#).into_bytes()
}

/// Runs an outside tool the tests compare with, panicking with its stderr when it fails;
/// returns its stdout.
pub fn run(command: &mut std::process::Command) -> String {
    String::from_utf8(fixture_cache::run(command)).unwrap()
}
