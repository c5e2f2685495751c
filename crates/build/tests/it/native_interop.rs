//! The native builder against independent tools: its layers are byte for byte what GNU tar
//! writes from the same files, a real Debian root filesystem from `debootstrap` builds into an
//! image skopeo reads and copies, and building it again on another day changes nothing.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use fixture_cache::run;
use oci::manifest::{ImageConfig, ImageIndex, ImageManifest};
use oci::{Digest, DigestAlgorithm};

use crate::native::build_at;

const EPOCH: i64 = 1_700_000_000;

/// GNU tar's layer of `rootfs`: what the native builder must write for `ADD` of any archive
/// of the same files.
fn gnu_tar_layer(rootfs: &Path) -> Vec<u8> {
    let mut names: Vec<Vec<u8>> = fs::read_dir(rootfs)
        .unwrap()
        .map(|e| {
            use std::os::unix::ffi::OsStrExt;
            e.unwrap().file_name().as_bytes().to_vec()
        })
        .collect();
    names.sort();
    let names: Vec<std::ffi::OsString> = names
        .into_iter()
        .map(|n| {
            use std::os::unix::ffi::OsStringExt;
            std::ffi::OsString::from_vec(n)
        })
        .collect();
    run(Command::new("tar")
        .arg("-C")
        .arg(rootfs)
        .args([
            "--sort=name",
            "--numeric-owner",
            &format!("--mtime=@{EPOCH}"),
            "--clamp-mtime",
            "--format=gnu",
            "--blocking-factor=1",
            "-cf",
            "-",
            "--",
        ])
        .args(names))
}

/// The image's only layer, uncompressed, and its diff_id.
fn only_layer(layout: &Path) -> (Vec<u8>, Digest) {
    let read = |digest: &Digest| fs::read(layout.join("blobs/sha256").join(digest.hex())).unwrap();
    let index: ImageIndex =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest: ImageManifest =
        serde_json::from_slice(&read(&index.manifests[0].digest)).unwrap();
    let config: ImageConfig = serde_json::from_slice(&read(&manifest.config.digest)).unwrap();
    assert_eq!(manifest.layers.len(), 1);
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(&read(&manifest.layers[0].digest)[..])
        .read_to_end(&mut tar)
        .unwrap();
    (tar, config.rootfs.diff_ids[0].clone())
}

/// Where two byte strings first differ, for a readable failure.
fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

fn assert_same_layer(ours: &[u8], diff_id: &Digest, gnu: &[u8]) {
    assert_eq!(
        first_difference(ours, gnu),
        None,
        "lengths {} and {}",
        ours.len(),
        gnu.len()
    );
    assert_eq!(diff_id, &Digest::of(DigestAlgorithm::Sha256, gnu));
}

fn set_time(path: &Path, seconds: u64) {
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(seconds);
    // Symbolic links keep the time of their creation; only files and folders are touched.
    if !path.is_symlink() {
        fs::File::open(path).unwrap().set_modified(time).unwrap();
    }
}

#[test]
#[ignore = "needs GNU tar"]
fn layers_equal_gnu_tars_from_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("rootfs");
    let long = "d".repeat(60);
    let files: &[(&str, u32)] = &[
        ("etc/os-release", 0o644),
        ("usr/bin/tool", 0o755),
        ("usr/bin/setuid", 0o4755),
        ("root/.profile", 0o600),
        ("a-b", 0o644),
    ];
    for (path, mode) in files {
        let path = rootfs.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, path.to_string_lossy().as_bytes()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
    }
    let deep = rootfs.join(format!("{long}/{long}"));
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("file-with-a-long-name"), b"long\n").unwrap();
    fs::create_dir_all(rootfs.join("empty")).unwrap();
    fs::set_permissions(rootfs.join("root"), fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink("usr/bin", rootfs.join("bin")).unwrap();
    std::os::unix::fs::symlink(deep.join("file-with-a-long-name"), rootfs.join("far")).unwrap();
    // A hard link whose name sorts before the name the archive first gives the file.
    fs::hard_link(rootfs.join("usr/bin/tool"), rootfs.join("a-tool")).unwrap();
    std::os::unix::fs::chown(rootfs.join("etc/os-release"), Some(101), Some(102)).unwrap();
    set_time(&rootfs.join("etc/os-release"), 1_000);
    set_time(&rootfs.join("usr/bin/tool"), 2_000_000_000);

    let context = dir.path().join("context");
    fs::create_dir_all(&context).unwrap();
    fs::write(
        context.join("Dockerfile"),
        "FROM scratch\nADD rootfs.tar.gz /\n",
    )
    .unwrap();
    // The archive ADD reads is unsorted, with `./` names and owner names: none of it shows.
    run(Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-czf")
        .arg(context.join("rootfs.tar.gz"))
        .arg("."));
    let (built, _) = build_at(SystemTime::now(), &context, dir.path().join("image"));
    let (ours, diff_id) = only_layer(&built.layout);
    assert_same_layer(&ours, &diff_id, &gnu_tar_layer(&rootfs));
}

#[test]
#[ignore = "needs debootstrap, GNU tar and skopeo"]
fn a_debootstrap_rootfs_builds_reproducibly_into_an_image_skopeo_reads() {
    let rootfs = fixture_cache::bookworm_minbase();
    let dir = tempfile::tempdir().unwrap();
    let context = dir.path().join("context");
    fs::create_dir_all(&context).unwrap();
    fs::write(
        context.join("Dockerfile"),
        "FROM scratch\nADD rootfs.tar.gz /\nCMD [\"bash\"]\n",
    )
    .unwrap();
    // A tarball of the whole tree, as the official debian image is made (xz there; gzip here
    // keeps the test quick, and xz is covered by the small builds).
    run(Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .args(["--numeric-owner", "-I", "gzip -1", "-cf"])
        .arg(context.join("rootfs.tar.gz"))
        .arg("."));

    let (today, _) = build_at(SystemTime::now(), &context, dir.path().join("today"));
    let next_year = SystemTime::now() + Duration::from_secs(365 * 86_400);
    let (later, _) = build_at(next_year, &context, dir.path().join("later"));
    assert_eq!(today.manifest_digest, later.manifest_digest);

    let (ours, diff_id) = only_layer(&today.layout);
    assert_same_layer(&ours, &diff_id, &gnu_tar_layer(&rootfs));

    let layout = format!("oci:{}", today.layout.display());
    let inspect: serde_json::Value =
        serde_json::from_slice(&run(Command::new("skopeo").args(["inspect", &layout]))).unwrap();
    assert_eq!(inspect["Digest"], today.manifest_digest.as_str());
    assert_eq!(inspect["Architecture"], "amd64");
    assert_eq!(inspect["Os"], "linux");
    assert_eq!(inspect["Created"], "2023-11-14T22:13:20Z");
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 1);
    // A copy re-reads and verifies every blob against its digest.
    let copy = dir.path().join("copy");
    run(Command::new("skopeo")
        .args(["copy", "--quiet", &layout])
        .arg(format!("dir:{}", copy.display())));
    assert!(copy.join("manifest.json").exists());
}
