//! The native builder: reproducible across clocks and file times, equal to GNU tar's layers,
//! refusing what it cannot build or what is hostile, and readable by skopeo.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use build::clock::FixedClock;
use build::engine::{BuildRequest, BuiltImage, Engine};
use build::identity::BuildIdentity;
use build::native::NativeEngine;
use oci::manifest::{ImageConfig, ImageIndex, ImageManifest};
use oci::{Architecture, Digest, DigestAlgorithm};

/// 2023-11-14T22:13:20Z, the commit time of every build here.
const EPOCH: i64 = 1_700_000_000;

fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

/// Writes `files` under `dir`; a name ending in `*` is made executable (without the star).
fn write_files(dir: &Path, files: &[(&str, &[u8])]) {
    for (name, content) in files {
        let (name, executable) = match name.strip_suffix('*') {
            Some(name) => (name, true),
            None => (*name, false),
        };
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
        let mode = if executable { 0o755 } else { 0o644 };
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// A tar archive built with the `tar` crate: `(path, content, mode, uid)`; a path ending in
/// `/` is a folder.
fn tar_of(entries: &[(&str, &[u8], u32, u64)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content, mode, uid) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mode(*mode);
        header.set_uid(*uid);
        header.set_gid(*uid);
        // Later than the epoch: clamped; 1_000 stays as it is.
        header.set_mtime(if *uid == 0 { 2_000_000_000 } else { 1_000 });
        if path.ends_with('/') {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            builder.append_data(&mut header, path, &[][..]).unwrap();
        } else {
            header.set_size(content.len() as u64);
            builder.append_data(&mut header, path, *content).unwrap();
        }
    }
    builder.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn xz(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    lzma_rs::xz_compress(&mut &bytes[..], &mut out).unwrap();
    out
}

const DOCKERFILE: &str = "FROM scratch
ARG VERSION=1.0
ADD rootfs.tar.gz /
ADD extra.tar.xz /opt/
COPY --chown=1000:1000 hello.txt bin/ /app/
ENV VERSION=$VERSION PATH=/app
LABEL org.opencontainers.image.version=\"$VERSION\"
WORKDIR /app
USER 1000
EXPOSE 8080
CMD [\"run.sh\"]
";

/// A build context exercising every kind of source.
fn sample_context(dir: &Path) {
    let rootfs = tar_of(&[
        ("./", b"", 0o755, 0),
        ("etc/", b"", 0o755, 0),
        ("etc/os-release", b"ID=sample\n", 0o644, 0),
        ("home/user/", b"", 0o700, 1000),
        ("home/user/.profile", b"old\n", 0o600, 1000),
    ]);
    write_files(
        dir,
        &[
            ("Dockerfile", DOCKERFILE.as_bytes()),
            ("hello.txt", b"hello\n"),
            ("bin/run.sh*", b"#!/bin/sh\necho run\n"),
            ("rootfs.tar.gz", &gzip(&rootfs)),
            (
                "extra.tar.xz",
                &xz(&tar_of(&[("tool", b"tool\n", 0o755, 0)])),
            ),
        ],
    );
}

fn request(context: &Path, output: PathBuf) -> BuildRequest {
    BuildRequest {
        repo: "sample".into(),
        tags: vec!["1".into()],
        shared_tags: vec![],
        arch: Architecture::Amd64,
        identity: BuildIdentity(Digest::of(DigestAlgorithm::Sha256, b"sample")),
        context: context.to_path_buf(),
        dockerfile: "Dockerfile".into(),
        builder: String::new(),
        source_date_epoch: EPOCH,
        parents: vec![],
        output,
    }
}

/// A native build of `context` into `output` with the clock at `clock`, and its log.
pub(crate) fn build_at(clock: SystemTime, context: &Path, output: PathBuf) -> (BuiltImage, String) {
    let engine = NativeEngine::new(Arc::new(FixedClock(clock)));
    let mut log = Vec::new();
    let built = engine
        .build(&request(context, output), &mut log)
        .unwrap_or_else(|err| panic!("{err}"));
    (built, String::from_utf8(log).unwrap())
}

fn blob(layout: &Path, digest: &Digest) -> Vec<u8> {
    let bytes = fs::read(layout.join("blobs/sha256").join(digest.hex())).unwrap();
    assert_eq!(&Digest::of(DigestAlgorithm::Sha256, &bytes), digest);
    bytes
}

fn read_image(layout: &Path) -> (ImageManifest, ImageConfig) {
    let index: ImageIndex =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest: ImageManifest =
        serde_json::from_slice(&blob(layout, &index.manifests[0].digest)).unwrap();
    let config: ImageConfig =
        serde_json::from_slice(&blob(layout, &manifest.config.digest)).unwrap();
    (manifest, config)
}

/// `(path, mode, uid, mtime)` of each entry of a gzip layer, in order.
fn layer_entries(layer: &[u8]) -> Vec<(String, u32, u64, u64)> {
    let mut tar_bytes = Vec::new();
    flate2::read::GzDecoder::new(layer)
        .read_to_end(&mut tar_bytes)
        .unwrap();
    let mut archive = tar::Archive::new(&tar_bytes[..]);
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let header = entry.header();
            (
                String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
                header.mode().unwrap(),
                header.uid().unwrap(),
                header.mtime().unwrap(),
            )
        })
        .collect()
}

/// Sets every file time under `dir` to `time`.
fn touch_all(dir: &Path, time: SystemTime) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            touch_all(&path, time);
        }
        fs::File::options()
            .read(true)
            .open(&path)
            .unwrap()
            .set_modified(time)
            .unwrap();
    }
}

#[test]
fn the_same_source_builds_the_same_image_on_any_day() {
    let dir = tempfile::tempdir().unwrap();
    let (monday, friday) = (dir.path().join("monday"), dir.path().join("friday"));
    sample_context(&monday);
    sample_context(&friday);
    // A checkout on another day, and files touched years apart.
    touch_all(&friday, at(2_100_000_000));
    fs::File::options()
        .read(true)
        .open(friday.join("hello.txt"))
        .unwrap()
        .set_modified(at(1_000))
        .unwrap();

    let (first, first_log) = build_at(at(1_700_000_500), &monday, dir.path().join("a"));
    let (second, second_log) = build_at(at(1_800_000_000), &friday, dir.path().join("b"));
    assert_eq!(first.manifest_digest, second.manifest_digest);
    assert_eq!(first.config_digest, second.config_digest);
    assert_ne!(first_log, second_log, "the logs carry the clock");
    assert!(first_log.contains("step 5/11: COPY --chown=1000:1000 hello.txt bin/ /app/"));

    let (manifest, config) = read_image(&first.layout);
    assert_eq!(config.created.as_deref(), Some("2023-11-14T22:13:20Z"));
    assert_eq!(
        (
            config.platform.architecture.as_str(),
            config.platform.os.as_str()
        ),
        ("amd64", "linux")
    );
    let settings = &config.config;
    assert_eq!(settings.env, ["VERSION=1.0", "PATH=/app"]);
    assert_eq!(settings.labels["org.opencontainers.image.version"], "1.0");
    assert_eq!(settings.working_dir.as_deref(), Some("/app"));
    assert_eq!(settings.user.as_deref(), Some("1000"));
    assert_eq!(settings.cmd.as_deref(), Some(&["run.sh".to_owned()][..]));
    assert!(settings.exposed_ports.contains_key("8080/tcp"));
    assert_eq!(
        config.history.len(),
        9,
        "every instruction but FROM and ARG"
    );
    assert!(config
        .history
        .iter()
        .all(|h| h.created.as_deref() == Some("2023-11-14T22:13:20Z")));
    assert_eq!(manifest.layers.len(), 3);
    assert_eq!(config.rootfs.diff_ids.len(), 3);

    let layers: Vec<_> = manifest
        .layers
        .iter()
        .map(|layer| layer_entries(&blob(&first.layout, &layer.digest)))
        .collect();
    let epoch = EPOCH as u64;
    let expected: [&[(&str, u32, u64, u64)]; 3] = [
        &[
            ("etc/", 0o755, 0, epoch),
            ("etc/os-release", 0o644, 0, epoch),
            ("home/", 0o755, 0, epoch),
            ("home/user/", 0o700, 1000, 1_000),
            ("home/user/.profile", 0o600, 1000, 1_000),
        ],
        &[("opt/", 0o755, 0, epoch), ("opt/tool", 0o755, 0, epoch)],
        &[
            ("app/", 0o755, 1000, epoch),
            ("app/hello.txt", 0o644, 1000, epoch),
            ("app/run.sh", 0o755, 1000, epoch),
        ],
    ];
    for (layer, expected) in layers.iter().zip(expected) {
        let expected: Vec<_> = expected
            .iter()
            .map(|(p, m, u, t)| ((*p).to_owned(), *m, *u, *t))
            .collect();
        assert_eq!(*layer, expected);
    }
}

#[test]
fn what_needs_an_engine_or_breaks_the_rules_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    write_files(&outside, &[("secret", b"secret\n")]);
    /// The Dockerfile, the other files of the context, and what the error says.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a [u8])], &'a str);
    let cases: &[Case] = &[
        (
            "FROM scratch\nCOPY a /\nRUN make\n",
            &[("a", b"a")],
            "line 3: RUN needs the docker engine: set Builder or use --engine docker",
        ),
        (
            "FROM debian:12\nCOPY a /\n",
            &[("a", b"a")],
            "line 1: FROM debian:12 needs the docker engine",
        ),
        (
            "FROM scratch\nCOPY --from=builder /x /\n",
            &[],
            "line 2: COPY --from=builder needs the docker engine",
        ),
        (
            "FROM scratch\nADD https://example.com/x.tar /\n",
            &[],
            "line 2: ADD of a URL (https://example.com/x.tar) needs the docker engine",
        ),
        (
            "FROM scratch\nCOPY missing /\n",
            &[],
            "line 2: missing is not in the build context",
        ),
        (
            "FROM scratch\nCOPY ../outside/secret /\n",
            &[],
            "line 2: ../outside/secret points outside the build context",
        ),
        (
            "FROM scratch\nCOPY link /\n",
            &[],
            "line 2: link points outside the build context",
        ),
        (
            "FROM scratch\nCOPY --chown=app a /\n",
            &[("a", b"a")],
            "--chown=app (user and group names need the image's /etc/passwd; give numeric ids)",
        ),
        (
            "FROM scratch\nCOPY --chmod=999 a /\n",
            &[("a", b"a")],
            "line 2: --chmod=999 is not an octal mode such as 755",
        ),
        (
            "FROM scratch\nEXPOSE web\n",
            &[],
            "line 2: cannot expose \"web\"",
        ),
        (
            "FROM scratch\nCOPY a /a\nCOPY b /a/b\n",
            &[("a", b"a"), ("b", b"b")],
            "line 3: cannot copy to /a/b: something on the way is a file or a link, not a folder",
        ),
        (
            "FROM scratch\nCOPY a /\n",
            &[("a", b"a"), (".dockerignore", b"*.md\n")],
            "the native builder does not apply .dockerignore files",
        ),
    ];
    for (index, (dockerfile, files, expected)) in cases.iter().enumerate() {
        let context = dir.path().join(format!("case{index}"));
        write_files(&context, files);
        write_files(&context, &[("Dockerfile", dockerfile.as_bytes())]);
        std::os::unix::fs::symlink(&outside, context.join("link")).unwrap();
        let output = dir.path().join(format!("out{index}"));
        let engine = NativeEngine::default();
        let result = engine.build(&request(&context, output.clone()), &mut Vec::new());
        let err = result.expect_err(dockerfile);
        assert!(err.to_string().contains(expected), "{dockerfile:?}: {err}");
        assert!(!output.exists(), "{dockerfile:?} left an output");
    }
}

/// One raw tar entry whose name and link are written as given, `..` and all.
fn raw_entry(out: &mut Vec<u8>, name: &str, kind: tar::EntryType, link: &str, content: &[u8]) {
    let mut header = tar::Header::new_gnu();
    {
        let old = header.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_entry_type(kind);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(content.len() as u64);
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(content);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

fn finish_tar(mut out: Vec<u8>) -> Vec<u8> {
    out.extend_from_slice(&[0; 1024]);
    out
}

#[test]
fn hostile_archives_are_refused_with_the_entry_named() {
    use tar::EntryType::{Link, Regular, Symlink};
    let tar_with = |entries: &[(&str, tar::EntryType, &str)]| {
        let mut out = Vec::new();
        for (name, kind, link) in entries {
            raw_entry(&mut out, name, *kind, link, b"data");
        }
        finish_tar(out)
    };
    let mut xattrs = tar::Builder::new(Vec::new());
    xattrs
        .append_pax_extensions([("SCHILY.xattr.security.capability", &b"\x01"[..])])
        .unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_size(1);
    header.set_mode(0o755);
    xattrs
        .append_data(&mut header, "bin/ping", &b"x"[..])
        .unwrap();
    let xattrs = xattrs.into_inner().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "climbing",
            tar_with(&[("a/../../evil", Regular, "")]),
            "entry \"a/../../evil\" climbs out of the extraction folder with `..`",
        ),
        (
            "through a link",
            tar_with(&[("etc", Symlink, "/etc"), ("etc/passwd", Regular, "")]),
            "entry \"etc/passwd\" lies under something that is not a folder",
        ),
        (
            "dangling hard link",
            tar_with(&[("b", Link, "missing")]),
            "hard link \"b\" points at \"missing\", which the archive has not written before it as a file",
        ),
        (
            "hard link climbing",
            tar_with(&[("a", Regular, ""), ("b", Link, "../a")]),
            "hard link \"b\" to \"../a\" climbs out",
        ),
        (
            "extended attributes",
            xattrs,
            "entry \"bin/ping\" carries extended attributes",
        ),
        (
            "bzip2",
            b"BZh91AY&SY".to_vec(),
            "bzip2 archives are not supported",
        ),
        (
            "truncated gzip",
            gzip(&tar_with(&[("a", Regular, "")]))[..30].to_vec(),
            "cannot decompress it",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (index, (what, archive, expected)) in cases.into_iter().enumerate() {
        let context = dir.path().join(format!("case{index}"));
        write_files(
            &context,
            &[
                ("Dockerfile", b"FROM scratch\nADD archive /\n"),
                ("archive", &archive),
            ],
        );
        let output = dir.path().join(format!("out{index}"));
        let err = NativeEngine::default()
            .build(&request(&context, output.clone()), &mut Vec::new())
            .unwrap_err();
        assert!(err.to_string().contains(expected), "{what}: {err}");
        assert!(
            err.to_string().starts_with("line 2: cannot extract"),
            "{what}: {err}"
        );
        assert!(!output.exists());
    }
}

#[test]
fn absolute_entry_paths_land_under_the_destination_and_plain_files_are_copied() {
    let dir = tempfile::tempdir().unwrap();
    let mut archive = Vec::new();
    raw_entry(
        &mut archive,
        "/etc/abs",
        tar::EntryType::Regular,
        "",
        b"abs",
    );
    let archive = finish_tar(archive);
    write_files(
        dir.path(),
        &[
            (
                "Dockerfile",
                b"FROM scratch\nADD archive /srv/\nADD notes.gz /\n",
            ),
            ("archive", &archive),
            ("notes.gz", &gzip(b"not a tar\n")),
        ],
    );
    let (built, _) = build_at(at(0), dir.path(), dir.path().join("out"));
    let (manifest, _) = read_image(&built.layout);
    let names = |index: usize| -> Vec<String> {
        layer_entries(&blob(&built.layout, &manifest.layers[index].digest))
            .into_iter()
            .map(|entry| entry.0)
            .collect()
    };
    assert_eq!(names(0), ["srv/", "srv/etc/", "srv/etc/abs"]);
    assert_eq!(names(1), ["notes.gz"]);
}
