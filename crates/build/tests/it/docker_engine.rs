//! The Docker engine against a real dockerd (`DOCKER_HOST`, as `.ci/run` starts it): builds
//! with RUN steps and no network, reproducibility by clamping, and failures that leave no
//! image behind but a readable log.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use build::docker::{Daemon, DockerEngine, ParentRegistry};
use build::engine::{BuildRequest, BuiltImage, Engine, EngineError};
use build::identity::BuildIdentity;
use oci::manifest::{ImageConfig, ImageManifest};
use oci::{Architecture, Digest, DigestAlgorithm};

pub(crate) const BASE: &str = "hallmark-test/dash-base:1";
const EPOCH: i64 = 1_700_000_000;

/// A base image with only dash and the C library, imported with `docker import`: enough for
/// RUN steps, and made without any registry.
pub(crate) fn import_base(dir: &Path) {
    let rootfs = dir.join("rootfs");
    let dash = Path::new("/bin/dash");
    let ldd = Command::new("ldd").arg(dash).output().expect("ldd");
    let mut files: Vec<PathBuf> = vec![dash.to_owned()];
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        files.extend(
            line.split_whitespace()
                .filter(|word| word.starts_with('/'))
                .map(PathBuf::from),
        );
    }
    for file in files {
        let target = rootfs.join(file.strip_prefix("/").unwrap());
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(fs::canonicalize(&file).unwrap(), &target).unwrap();
    }
    std::os::unix::fs::symlink("dash", rootfs.join("bin/sh")).unwrap();
    let tar = dir.join("rootfs.tar");
    run(Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tar)
        .arg("."));
    run(Command::new("docker").arg("import").arg(&tar).arg(BASE));
}

pub(crate) fn run(command: &mut Command) {
    let output = command.output().expect("command runs");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

pub(crate) fn request(context: &Path, output: PathBuf) -> BuildRequest {
    BuildRequest {
        repo: "hello".to_owned(),
        tags: vec!["1".to_owned()],
        shared_tags: vec!["latest".to_owned()],
        arch: Architecture::Amd64,
        identity: BuildIdentity(Digest::of(DigestAlgorithm::Sha256, b"a test build")),
        context: context.to_owned(),
        dockerfile: PathBuf::from("Dockerfile"),
        builder: String::new(),
        source_date_epoch: EPOCH,
        parents: Vec::new(),
        output,
    }
}

pub(crate) fn engine(reproducible: bool) -> DockerEngine {
    let daemon = Daemon::from_env().expect("DOCKER_HOST names a unix socket");
    let parents = ParentRegistry {
        host: "127.0.0.1:1".to_owned(),
        auth: None,
    };
    let client = client::Client::new(client::ClientOptions::default()).unwrap();
    DockerEngine::new(daemon, parents, client)
        .reproducible(reproducible)
        .no_cache(true)
}

pub(crate) fn build(
    engine: &DockerEngine,
    request: &BuildRequest,
) -> (Result<BuiltImage, EngineError>, String) {
    let mut log = Vec::new();
    let result = engine.build(request, &mut log);
    (result, String::from_utf8(log).unwrap())
}

pub(crate) fn blob(layout: &Path, digest: &Digest) -> Vec<u8> {
    let bytes = fs::read(layout.join("blobs/sha256").join(digest.hex())).unwrap();
    assert_eq!(
        &Digest::of(DigestAlgorithm::Sha256, &bytes),
        digest,
        "blob content is its digest"
    );
    bytes
}

/// A temporary folder with the base image imported and a build context holding `dockerfile`.
pub(crate) fn context_with(dockerfile: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    import_base(dir.path());
    let context = dir.path().join("context");
    fs::create_dir_all(&context).unwrap();
    fs::write(context.join("Dockerfile"), dockerfile).unwrap();
    (dir, context)
}

#[test]
#[ignore = "needs dockerd"]
fn builds_run_steps_offline_and_clamped_builds_are_identical() {
    let (dir, context) = context_with(&format!(
        "FROM {BASE}\nCOPY greeting /etc/greeting\nRUN [\"/bin/sh\", \"-c\", \"echo built > /etc/note\"]\nCMD [\"/bin/sh\"]\n"
    ));
    fs::write(context.join("greeting"), "hello\n").unwrap();

    let mut digests = Vec::new();
    for round in 0..2 {
        let output = dir.path().join(format!("clamped-{round}"));
        let (built, log) = build(&engine(true), &request(&context, output.clone()));
        let built = built.unwrap_or_else(|err| panic!("{err}\n{log}"));
        assert!(log.contains("Step 3/4 : RUN"), "{log}");
        let manifest: ImageManifest =
            serde_json::from_slice(&blob(&output, &built.manifest_digest)).unwrap();
        let config: ImageConfig =
            serde_json::from_slice(&blob(&output, &manifest.config.digest)).unwrap();
        assert_eq!(config.platform.architecture, "amd64");
        assert_eq!(
            manifest.layers.len(),
            3,
            "the base and the two steps that add files"
        );
        for layer in &manifest.layers {
            blob(&output, &layer.digest);
        }
        assert!(
            config.created.as_deref() == Some("2023-11-14T22:13:20Z"),
            "{:?}",
            config.created
        );
        digests.push(built.manifest_digest);
    }
    assert_eq!(
        digests[0], digests[1],
        "two clamped builds of one source are identical"
    );

    let (unclamped, log) = build(
        &engine(false),
        &request(&context, dir.path().join("unclamped")),
    );
    let unclamped = unclamped.unwrap_or_else(|err| panic!("{err}\n{log}"));
    assert_ne!(
        unclamped.manifest_digest, digests[0],
        "the engine's own clock shows without clamping"
    );
}

#[test]
#[ignore = "needs dockerd"]
fn a_failing_run_step_leaves_no_image_and_a_readable_log() {
    let (dir, context) = context_with(&format!("FROM {BASE}\nRUN echo about to fail && exit 3\n"));
    let output = dir.path().join("out");
    let (result, log) = build(&engine(true), &request(&context, output.clone()));
    let error = result.expect_err("the RUN step fails");
    assert!(
        error.to_string().contains("returned a non-zero code: 3"),
        "{error}"
    );
    assert!(log.contains("about to fail"), "{log}");
    assert!(
        !output.exists(),
        "a failed build leaves nothing at its output"
    );
}
