//! Image sources end to end: OCI layouts (digests checked, multi-platform, tags, the layer
//! cache), docker archives, root filesystem folders, and the glue to the matcher.

use std::path::Path;

use scan::image::source::{scan, ImageInventory, ImageSource, ScanOptions, SourceError};
use scan::{Ecosystem, LayerError, MemoryCache};

use crate::fixtures::{self, gzip, layer, stanza, Item, BOOKWORM_OS_RELEASE};

/// Two layers: a Debian base, then npm and pip packages.
fn layers() -> Vec<(Vec<u8>, Vec<u8>, &'static str)> {
    let base = layer(&[
        Item::File("etc/os-release", BOOKWORM_OS_RELEASE),
        Item::File(
            "var/lib/dpkg/status",
            stanza("libc6", "glibc", "2.36-9+deb12u1").as_bytes(),
        ),
    ]);
    let apps = layer(&[
        Item::Npm("usr/lib/node_modules", "lodash", "4.17.15"),
        Item::Wheel(
            "usr/local/lib/python3.11/site-packages",
            "urllib3",
            "1.26.4",
        ),
    ]);
    vec![
        (
            base.clone(),
            gzip(&base),
            "/bin/sh -c #(nop) ADD file:rootfs in /",
        ),
        (
            apps.clone(),
            fixtures::zstd(&apps),
            "RUN npm install -g lodash@4.17.15 && pip install urllib3==1.26.4",
        ),
    ]
}

/// Scans a source by name with default options and a fresh cache.
fn scan_named(name: String) -> Result<Vec<ImageInventory>, SourceError> {
    scan(
        &ImageSource::parse(&name).unwrap(),
        &options(None),
        &MemoryCache::new(),
    )
}

fn options(platform: Option<&str>) -> ScanOptions {
    ScanOptions {
        platform: platform.map(Into::into),
        ..ScanOptions::default()
    }
}

#[test]
fn oci_layouts_scan_every_platform_through_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let amd64 = fixtures::image(root, "amd64", &layers());
    let arm64 = fixtures::image(root, "arm64", &layers());
    let nested = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [amd64, arm64]});
    let nested = fixtures::blob(
        root,
        "application/vnd.oci.image.index.v1+json",
        &serde_json::to_vec(&nested).unwrap(),
    );
    fixtures::index(root, vec![nested], "1.0");

    let cache = MemoryCache::new();
    let source = ImageSource::parse(&format!("oci:{}:1.0", root.display())).unwrap();
    let images = scan(&source, &options(None), &cache).unwrap();
    assert_eq!(
        images
            .iter()
            .map(|i| i.platform.as_deref().unwrap())
            .collect::<Vec<_>>(),
        ["linux/amd64", "linux/arm64"]
    );
    // Both platforms share their layers: two layers read, once each.
    assert_eq!(cache.len(), 2);
    let inventory = &images[0].inventory;
    assert_eq!(images[0].tags, ["1.0"]);
    let found: Vec<_> = inventory
        .packages
        .iter()
        .map(|p| (p.package.name.as_str(), p.layer, p.package.ecosystem))
        .collect();
    assert_eq!(
        found,
        [
            ("libc6", 0, Ecosystem::Debian),
            ("lodash", 1, Ecosystem::Npm),
            ("urllib3", 1, Ecosystem::PyPI)
        ]
    );
    assert_eq!(
        inventory.layers[1].created_by.as_deref(),
        Some(layers()[1].2)
    );
    assert!(inventory.layers[0]
        .digest
        .as_deref()
        .unwrap()
        .starts_with("sha256:"));

    let arm = scan(&source, &options(Some("linux/arm64")), &cache).unwrap();
    assert_eq!(arm.len(), 1);
    assert!(matches!(
        scan(
            &ImageSource::parse(&format!("oci:{}:2.0", root.display())).unwrap(),
            &options(None),
            &cache
        ),
        Err(SourceError::NoImage(_))
    ));
    // Layers already analysed are never read again: without their blobs the scan still works.
    for layer in &images[0].inventory.layers {
        let digest = layer.digest.as_deref().unwrap();
        std::fs::remove_file(root.join("blobs/sha256").join(&digest["sha256:".len()..])).unwrap();
    }
    let again = scan(&source, &options(None), &cache).unwrap();
    assert_eq!(again[1].inventory, images[1].inventory);
}

#[test]
fn a_tampered_blob_fails_its_digest() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let manifest = fixtures::image(root, "amd64", &layers());
    fixtures::index(root, vec![manifest], "latest");
    // Rewrite the first layer blob with other content of the same size.
    let blobs = root.join("blobs/sha256");
    let first = tamper_largest_gzip(&blobs);
    let err = scan_named(format!("oci:{}", root.display())).unwrap_err();
    match err {
        SourceError::Layer {
            layer,
            source:
                LayerError::Digest { .. }
                | LayerError::Corrupt(_)
                | LayerError::Truncated
                | LayerError::Io(_),
        } => {
            assert!(layer.ends_with(&first), "{layer}")
        }
        other => panic!("{other}"),
    }
}

/// Flips a byte in the middle of the gzip blob; returns its file name.
fn tamper_largest_gzip(blobs: &Path) -> String {
    for entry in std::fs::read_dir(blobs).unwrap() {
        let path = entry.unwrap().path();
        let mut data = std::fs::read(&path).unwrap();
        if data.starts_with(&[0x1f, 0x8b]) {
            let middle = data.len() - 9;
            data[middle] ^= 0x55;
            std::fs::write(&path, data).unwrap();
            return path.file_name().unwrap().to_string_lossy().into_owned();
        }
    }
    panic!("no gzip blob")
}

#[test]
fn docker_archives_check_layers_against_diff_ids() {
    let dir = tempfile::tempdir().unwrap();
    let layers = layers();
    let diff_ids: Vec<_> = layers
        .iter()
        .map(|(tar, ..)| fixtures::sha256(tar))
        .collect();
    // The third layer repeats the first through a symlink, as `docker save` writes it.
    let diff_ids = [
        diff_ids[0].clone(),
        diff_ids[1].clone(),
        diff_ids[0].clone(),
    ];
    let config = fixtures::config("amd64", &["ADD rootfs", "RUN npm", "ADD rootfs"], &diff_ids);
    let config_name = format!("{}.json", fixtures::sha256(&config).hex());
    let manifest = serde_json::json!([{"Config": config_name, "RepoTags": ["app:1"],
        "Layers": ["l0/layer.tar", "l1/layer.tar", "l0-again/layer.tar"]}]);
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let archive = layer(&[
        Item::File("manifest.json", &manifest),
        Item::File(&config_name, &config),
        Item::File("l0/layer.tar", &layers[0].0),
        Item::File("l1/layer.tar", &layers[1].0),
        Item::Link("l0-again/layer.tar", "../l0/layer.tar"),
    ]);
    let path = dir.path().join("image.tar");
    std::fs::write(&path, archive).unwrap();
    let images = scan_named(format!("docker-archive:{}", path.display())).unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].tags, ["app:1"]);
    let names: Vec<_> = images[0]
        .inventory
        .packages
        .iter()
        .map(|p| (p.package.name.as_str(), p.layer))
        .collect();
    // The repeated base layer rewrote the status file with the same libc6: still layer 0.
    assert_eq!(names, [("libc6", 0), ("lodash", 1), ("urllib3", 1)]);

    // A layer whose content does not match its diff id.
    let bad = layer(&[
        Item::File("manifest.json", &serde_json::to_vec(&serde_json::json!([{"Config": config_name, "Layers": ["l1/layer.tar", "l1/layer.tar", "l1/layer.tar"]}])).unwrap()),
        Item::File(&config_name, &config),
        Item::File("l1/layer.tar", &layers[1].0),
    ]);
    std::fs::write(&path, bad).unwrap();
    let err = scan_named(format!("docker-archive:{}", path.display())).unwrap_err();
    assert!(
        matches!(
            err,
            SourceError::Layer {
                source: LayerError::Digest { .. },
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn root_filesystem_folders_never_leave_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::write(
        root.join("var/lib/dpkg/status"),
        stanza("libc6", "glibc", "2.36-9+deb12u1"),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("usr/lib")).unwrap();
    std::fs::write(root.join("usr/lib/os-release"), BOOKWORM_OS_RELEASE).unwrap();
    std::os::unix::fs::symlink("../usr/lib/os-release", root.join("etc/os-release")).unwrap();
    // A link to the host's root must not be entered.
    std::os::unix::fs::symlink("/", root.join("host")).unwrap();
    let images = scan(
        &ImageSource::parse(&format!("dir:{}", root.display())).unwrap(),
        &options(None),
        &scan::cache::NoCache,
    )
    .unwrap();
    let inventory = &images[0].inventory;
    assert_eq!(
        inventory.os.as_ref().unwrap().release().as_deref(),
        Some("12")
    );
    assert_eq!(inventory.packages.len(), 1);
}

#[test]
fn source_names() {
    for (name, expected) in [
        (
            "oci:/tmp/layout",
            Some(ImageSource::Oci {
                path: "/tmp/layout".into(),
                tag: None,
            }),
        ),
        (
            "oci:/tmp/layout:1.0",
            Some(ImageSource::Oci {
                path: "/tmp/layout".into(),
                tag: Some("1.0".into()),
            }),
        ),
        (
            "oci:./a:b/c",
            Some(ImageSource::Oci {
                path: "./a:b/c".into(),
                tag: None,
            }),
        ),
        (
            "docker-archive:/tmp/x.tar",
            Some(ImageSource::DockerArchive("/tmp/x.tar".into())),
        ),
        ("dir:/", Some(ImageSource::Dir("/".into()))),
        ("docker://debian:12", None),
        ("debian", None),
        ("ftp:/x", None),
    ] {
        assert_eq!(ImageSource::parse(name).ok(), expected, "{name}");
    }
}

#[test]
fn inventories_match_against_the_real_advisory_data() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let manifest = fixtures::image(root, "amd64", &layers());
    fixtures::index(root, vec![manifest], "latest");
    let images = scan_named(format!("oci:{}", root.display())).unwrap();
    let inventory = &images[0].inventory;
    let (db, _) = crate::load(scan::Format::Osv, &crate::testdata("npm"));
    let ids = crate::findings(inventory, &db);
    assert_eq!(
        ids,
        ["lodash GHSA-35jh-r3h4-6jhm", "lodash GHSA-p6mc-m468-83gw"]
    );
}
