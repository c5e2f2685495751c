//! The example library end to end: `examples/make-sources.sh` creates its sources, an amd64
//! agent builds debian-mini with the native builder and hello on the Docker engine (its FROM
//! pulled by digest from the registry), pushing each to `amd64/<repo>` with its own robot;
//! `hallmark publish` assembles `library/<repo>`; skopeo and docker pull the result and the
//! image runs. A failing build then leaves the published tags as they were, its log readable.
//!
//! The Debian root filesystem is the workspace's shared `target/scan-e2e/bookworm-minbase`
//! (crate `fixture-cache`): made once with debootstrap (minutes) by whichever test binary
//! needs it first, then reused.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use fixture_cache::run_output as check;
use serde_json::Value;

use crate::auth_clients::{add_robot, serve_with_publisher};
use crate::json_answers::{predicate_types, SIGNED_PREDICATES};
use crate::server::Server;

fn hallmark(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hallmark"));
    command.args(args);
    command
}

/// `hallmark build` as the amd64 agent: robot credentials, the server's data folder (where
/// logs are served from), pushing to the registry.
fn agent_build(example: &Path, cache: &Path, data: &Path, host: &str, robot: &str) -> Output {
    let library = example.join("library");
    hallmark(&[
        "build",
        "--arch",
        "amd64",
        "--registry",
        host,
        "--creds",
        robot,
    ])
    .arg("--key")
    .arg(data.join("release.key"))
    .arg("--library")
    .arg(library)
    .arg("--cache")
    .arg(cache)
    .arg("--data")
    .arg(data)
    .output()
    .expect("run hallmark build")
}

fn skopeo_raw(image: &str) -> Value {
    let output =
        check(Command::new("skopeo").args(["inspect", "--tls-verify=false", "--raw", image]));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn platforms(index: &Value) -> Vec<String> {
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            )
        })
        .collect()
}

/// The `Authorization` value of an anonymous puller of `name`.
fn pull_bearer(server: &Server, name: &str) -> String {
    let scope = format!("repository:{name}:pull");
    let reply = server.send(
        "GET",
        &format!("/token?service=hallmark&scope={scope}"),
        &[],
        b"",
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let token: Value = serde_json::from_slice(&reply.body).unwrap();
    format!("Bearer {}", token["token"].as_str().unwrap())
}

/// The build log through the registry, as an anonymous puller gets it: a pull token first.
fn build_log(server: &Server, name: &str, tag: &str) -> String {
    let bearer = pull_bearer(server, name);
    let path = format!("/v2/{name}/builds/{tag}/log");
    let reply = server.send("GET", &path, &[("authorization", &bearer)], b"");
    assert_eq!(reply.status, 200, "{reply:?}");
    String::from_utf8(reply.body).unwrap()
}

#[test]
#[ignore = "needs dockerd, skopeo and debootstrap"]
fn the_example_library_builds_publishes_pulls_and_survives_a_failed_build() {
    let work = tempfile::tempdir().unwrap();
    // The script writes the sources and library anew from the shared root filesystem.
    let example = work.path().join("example");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/make-sources.sh");
    check(
        Command::new("bash")
            .arg(script)
            .arg(&example)
            .arg(fixture_cache::bookworm_minbase()),
    );
    let cache = work.path().join("cache");

    let (data, server) = serve_with_publisher(work.path());
    let host = server.host();
    let amd64 = format!(
        "builder-amd64:{}",
        add_robot(&data, "builder-amd64", &["amd64/*:push"])
    );
    add_robot(&data, "builder-arm64v8", &["arm64v8/*:push"]);

    // The agent signs its provenance and the publisher signs the index with the same key.
    let key = data.join("release");
    check(
        hallmark(&["key", "generate"])
            .arg(&key)
            .env_remove("HALLMARK_KEY_PASSWORD"),
    );
    let built = agent_build(&example, &cache, &data, &host, &amd64);
    assert!(
        built.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&built.stderr),
        server.log()
    );
    assert_parent_layers_shared(
        &host,
        &built.stderr,
        "amd64/debian-mini:bookworm",
        "amd64/hello:1.0",
    );
    let published = check(
        hallmark(&[
            "--format",
            "json",
            "publish",
            "--registry",
            &host,
            "--creds",
            "pat:pat-pw",
        ])
        .arg("--key")
        .arg(key.with_extension("key"))
        .arg("--library")
        .arg(example.join("library")),
    );
    let published: Value = serde_json::from_slice(&published.stdout).unwrap();
    let signed = published[0]["signed"].as_array().unwrap();
    assert_eq!(
        signed.len(),
        2,
        "the index and its amd64 image: {published:#}"
    );
    let library = fs::read_to_string(example.join("library/hello")).unwrap();
    let field = |name: &str| {
        library
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap()
            .trim()
            .to_owned()
    };
    let policy = |repository: &str| {
        let path = work.path().join("policy.toml");
        let text = format!(
            "[[policy]]\nname = \"official\"\nscopes = [\"library/*\"]\nlevel = \"strict\"\n\
             source-repository = \"{repository}\"\ncommit = \"{}\"\n\
             builder-id = \"https://github.com/hallmark-oci/hallmark/agents/amd64\"\n",
            field("GitCommit:")
        );
        fs::write(&path, text).unwrap();
        path
    };
    let verify = |policy: &Path| {
        let output = hallmark(&[
            "--format",
            "json",
            "verify",
            &format!("{host}/library/hello:1.0"),
        ])
        .arg("--key")
        .arg(key.with_extension("pub"))
        .arg("--policy")
        .arg(policy)
        .output()
        .unwrap();
        let answer: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)));
        (output.status.success(), answer)
    };
    let (passed, verified) = verify(&policy(&field("GitRepo:")));
    assert!(passed, "{verified:#}");
    let manifests = verified["manifests"].as_array().unwrap();
    assert_eq!(
        manifests.len(),
        2,
        "the amd64 image, then the index: {verified:#}"
    );
    assert_eq!(
        predicate_types(&manifests[0]),
        SIGNED_PREDICATES,
        "{verified:#}"
    );
    assert_rematched_after_import(&data);
    let (passed, refused) = verify(&policy("file:///elsewhere/hello"));
    assert!(!passed, "{refused:#}");
    assert!(
        refused["failure"].to_string().contains("GitRepo"),
        "the provenance names another repository: {refused:#}"
    );
    let tags: Vec<String> = published
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let platforms: Vec<String> = p["platforms"]
                .as_array()
                .unwrap()
                .iter()
                .map(|platform| format!("{}={}", platform["arch"], platform["outcome"]))
                .collect();
            format!(
                "{}:{} {}",
                p["repository"].as_str().unwrap(),
                p["tag"].as_str().unwrap(),
                platforms.join(" ")
            )
        })
        .collect();
    for expected in [
        "library/hello:1.0",
        "library/hello:latest",
        "library/debian-mini:bookworm",
        "library/debian-mini:latest",
    ] {
        let line = tags
            .iter()
            .find(|t| t.starts_with(&format!("{expected} ")))
            .unwrap_or_else(|| panic!("{expected} in {tags:?}"));
        assert!(
            line.contains(r#""amd64"="updated""#) && line.contains(r#""arm64v8"="missing""#),
            "{line}"
        );
    }

    let index = skopeo_raw(&format!("docker://{host}/library/hello:1.0"));
    // The amd64 image and its attestation manifest, as BuildKit lays them out.
    assert_eq!(platforms(&index), ["linux/amd64", "unknown/unknown"]);
    let layout = work.path().join("pulled");
    check(
        Command::new("skopeo")
            .args(["copy", "--src-tls-verify=false"])
            .arg(format!("docker://{host}/library/hello:latest"))
            .arg(format!("oci:{}:latest", layout.display())),
    );
    check(Command::new("docker").args(["pull", &format!("{host}/library/hello:1")]));
    let greeting = check(Command::new("docker").args([
        "run",
        "--rm",
        "--network=none",
        &format!("{host}/library/hello:1"),
    ]));
    assert_eq!(
        String::from_utf8_lossy(&greeting.stdout),
        "Hello from an image Hallmark built and published.\n"
    );
    let log = build_log(&server, "amd64/hello", "1.0");
    assert!(log.contains("RUN useradd"), "{log}");

    // The amd64 robot may not push into arm64v8's namespace.
    let refused = Command::new("skopeo")
        .args([
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--dest-creds",
            &amd64,
        ])
        .arg(format!("docker://{host}/amd64/hello:1.0"))
        .arg(format!("docker://{host}/arm64v8/hello:1.0"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr).to_lowercase();
    assert!(
        !refused.status.success()
            && (stderr.contains("denied")
                || stderr.contains("403")
                || stderr.contains("unauthorized")),
        "{stderr}"
    );

    // A commit whose RUN fails: the build fails, the log says why, library/ is untouched.
    let before = skopeo_raw(&format!("docker://{host}/library/hello:1.0"));
    let source = example.join("sources/hello");
    fs::write(
        source.join("Dockerfile"),
        "FROM debian-mini:bookworm\nRUN echo about to fail; exit 7\n",
    )
    .unwrap();
    check(Command::new("git").arg("-C").arg(&source).args([
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.invalid",
        "commit",
        "-qam",
        "broken",
    ]));
    let commit = String::from_utf8(
        check(
            Command::new("git")
                .arg("-C")
                .arg(&source)
                .args(["rev-parse", "HEAD"]),
        )
        .stdout,
    )
    .unwrap();
    let library_file = example.join("library/hello");
    let text = fs::read_to_string(&library_file).unwrap();
    let old_commit = text
        .lines()
        .find_map(|l| l.strip_prefix("GitCommit: "))
        .unwrap()
        .to_owned();
    fs::write(&library_file, text.replace(&old_commit, commit.trim())).unwrap();
    let failed = agent_build(&example, &cache, &data, &host, &amd64);
    assert!(!failed.status.success(), "the broken build fails");
    let cli_log = check(
        hallmark(&["build", "logs", "hello:latest", "--arch", "amd64"])
            .arg("--data")
            .arg(&data),
    );
    let log = build_log(&server, "amd64/hello", "1.0");
    assert_eq!(
        String::from_utf8_lossy(&cli_log.stdout),
        log,
        "the CLI and the API show one log, whichever tag of the entry names it"
    );
    assert_eq!(build_log(&server, "amd64/hello", "latest"), log);
    assert!(
        log.contains("about to fail") && log.contains("non-zero code: 7"),
        "{log}"
    );
    check(
        hallmark(&[
            "publish",
            "--registry",
            &host,
            "--creds",
            "pat:pat-pw",
            "hello",
        ])
        .arg("--library")
        .arg(example.join("library")),
    );
    assert_eq!(
        skopeo_raw(&format!("docker://{host}/library/hello:1.0")),
        before,
        "the published tag is untouched"
    );

    // Built twice into an empty data folder, the native debian-mini comes out identical.
    let checked = check(
        hallmark(&[
            "build",
            "debian-mini",
            "--arch",
            "amd64",
            "--verify-reproducible",
        ])
        .arg("--library")
        .arg(example.join("library"))
        .arg("--cache")
        .arg(&cache)
        .arg("--data")
        .arg(work.path().join("verify")),
    );
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert!(
        stderr.contains("reproducible? amd64 debian-mini:bookworm identical"),
        "{stderr}"
    );

    assert_external_parent(work.path(), &cache, &data, &server, &amd64);
}

/// The layer digests of `image` (`HOST/NAME:TAG`).
fn layer_digests(image: &str) -> Vec<String> {
    skopeo_raw(&format!("docker://{image}"))["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|layer| layer["digest"].as_str().unwrap().to_owned())
        .collect()
}

/// A child built on the engine starts with its parent's published blobs, which the agent
/// mounted from the parent's repository instead of uploading a copy: the registry holds each
/// once and a client pulls each once.
fn assert_parent_layers_shared(host: &str, agent_stderr: &[u8], parent: &str, child: &str) {
    let parent_layers = layer_digests(&format!("{host}/{parent}"));
    let child_layers = layer_digests(&format!("{host}/{child}"));
    assert!(child_layers.len() > parent_layers.len(), "{child_layers:?}");
    assert_eq!(child_layers[..parent_layers.len()], parent_layers[..]);
    let repo = |image: &str| image.split(':').next().unwrap().to_owned();
    let stderr = String::from_utf8_lossy(agent_stderr);
    for digest in &parent_layers {
        let mounted = format!("{}: mounted {digest} from {}", repo(child), repo(parent));
        assert!(stderr.contains(&mounted), "{mounted} in:\n{stderr}");
    }
}

/// `hallmark --format json build --plan` of `library` as the amd64 agent would plan it.
fn external_plan(library: &Path, cache: &Path, data: &Path) -> Value {
    let output = check(
        hallmark(&["--format", "json", "build", "--plan", "--arch", "amd64"])
            .arg("--library")
            .arg(library)
            .arg("--cache")
            .arg(cache)
            .arg("--data")
            .arg(data),
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The statements of the attestations pushed beside `name@digest`, as their payloads' text.
fn attestation_payloads(server: &Server, name: &str, digest: &str) -> Vec<String> {
    use base64ct::Encoding as _;
    let bearer = pull_bearer(server, name);
    let get = |path: &str, accept: &str| {
        let headers = [("accept", accept), ("authorization", bearer.as_str())];
        let reply = server.send("GET", path, &headers, b"");
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        serde_json::from_slice::<Value>(&reply.body).unwrap()
    };
    let referrers = get(
        &format!("/v2/{name}/referrers/{digest}"),
        "application/vnd.oci.image.index.v1+json",
    );
    let mut payloads = Vec::new();
    for referrer in referrers["manifests"].as_array().unwrap() {
        let digest = referrer["digest"].as_str().unwrap();
        let manifest = get(
            &format!("/v2/{name}/manifests/{digest}"),
            "application/vnd.oci.image.manifest.v1+json",
        );
        for layer in manifest["layers"].as_array().unwrap() {
            let blob = layer["digest"].as_str().unwrap();
            let envelope = get(&format!("/v2/{name}/blobs/{blob}"), "*/*");
            let Some(payload) = envelope["payload"].as_str() else {
                continue;
            };
            let bytes = base64ct::Base64::decode_vec(payload).unwrap();
            payloads.push(String::from_utf8(bytes).unwrap());
        }
    }
    payloads
}

/// A FROM naming an image on another registry: the plan pins it to the digest its tag names
/// there, the engine builds on exactly that image and keeps its published layers, the signed
/// provenance names the digest, and a moved tag plans a rebuild as a new parent digest.
fn assert_external_parent(work: &Path, cache: &Path, data: &Path, server: &Server, robot: &str) {
    let host = server.host();
    let vendor = Server::start(&work.join("vendor-data"));
    let base = format!("{}/vendor/base:1", vendor.host());
    // debian-mini as the daemon holds it since hello was built on it, pushed by docker with
    // its own compression: other blobs than the ones the agent published.
    check(Command::new("docker").args(["tag", "debian-mini:bookworm", &base]));
    check(Command::new("docker").args(["push", &base]));
    let source = work.join("sources/vendored");
    fs::create_dir_all(&source).unwrap();
    fs::write(
        source.join("Dockerfile"),
        format!("FROM {base}\nRUN echo vendored > /etc/vendored\n"),
    )
    .unwrap();
    let git = |args: &[&str]| {
        let output = check(Command::new("git").arg("-C").arg(&source).args(args));
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    git(&["init", "--quiet"]);
    git(&["add", "Dockerfile"]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.invalid",
        "commit",
        "-qm",
        "vendored",
    ]);
    let library = work.join("vendored-library");
    fs::create_dir_all(&library).unwrap();
    fs::write(
        library.join("vendored"),
        format!(
            "Maintainers: T <t@example.invalid> (@t)\nGitRepo: file://{}\nGitCommit: {}\n\n\
             Tags: 1\nArchitectures: amd64\n",
            source.display(),
            git(&["rev-parse", "HEAD"])
        ),
    )
    .unwrap();

    let planned = external_plan(&library, cache, data);
    let row = &planned["builds"][0];
    assert_eq!(row["reason"], "missing", "{planned:#}");
    let pinned = row["parents"][0]["pin"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let inspected = check(
        Command::new("skopeo")
            .args(["inspect", "--tls-verify=false"])
            .arg(format!("docker://{base}")),
    );
    let inspected: Value = serde_json::from_slice(&inspected.stdout).unwrap();
    assert_eq!(
        inspected["Digest"],
        pinned.as_str(),
        "the tag's digest in its registry"
    );

    let built = hallmark(&[
        "build",
        "--arch",
        "amd64",
        "--registry",
        &host,
        "--creds",
        robot,
    ])
    .arg("--key")
    .arg(data.join("release.key"))
    .arg("--library")
    .arg(&library)
    .arg("--cache")
    .arg(cache)
    .arg("--data")
    .arg(data)
    .output()
    .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let vendor_layers = layer_digests(&base);
    let child_layers = layer_digests(&format!("{host}/amd64/vendored:1"));
    assert_ne!(
        vendor_layers,
        layer_digests(&format!("{host}/amd64/debian-mini:bookworm")),
        "docker push compressed the layers anew"
    );
    assert_eq!(child_layers[..vendor_layers.len()], vendor_layers[..]);
    let child = check(
        Command::new("skopeo")
            .args(["inspect", "--tls-verify=false"])
            .arg(format!("docker://{host}/amd64/vendored:1")),
    );
    let child: Value = serde_json::from_slice(&child.stdout).unwrap();
    let payloads =
        attestation_payloads(server, "amd64/vendored", child["Digest"].as_str().unwrap());
    let hex = pinned.trim_start_matches("sha256:");
    assert!(
        payloads.iter().any(|p| p.contains("slsa.dev/provenance")
            && p.contains(hex)
            && p.contains("vendor/base")),
        "the provenance names {base} at {pinned}: {payloads:#?}"
    );

    // The tag moves: the plan says why the entry builds again.
    check(Command::new("docker").args(["tag", &format!("{host}/library/hello:1"), &base]));
    check(Command::new("docker").args(["push", &base]));
    let planned = external_plan(&library, cache, data);
    let row = &planned["builds"][0];
    assert_eq!(row["reason"], "new-parent-digest", "{planned:#}");
    assert_ne!(row["parents"][0]["pin"]["value"], pinned.as_str());
}

/// Every image the agent built was recorded in the registry's store (the build's data
/// folder): importing advisory data re-matches them, and the change shows under the tags they
/// were built and published as. apt is unfixed in Debian 12, so every bookworm image has it.
fn assert_rematched_after_import(data: &Path) {
    let debian12 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scan/tests/data/debian12");
    let imported = check(
        hallmark(&["--format", "json", "db", "import", "--source", "debian12"])
            .arg(debian12)
            .env("HALLMARK_DATA", data),
    );
    let report: Value = serde_json::from_slice(&imported.stdout).unwrap();
    assert_eq!(report["images"], 2, "debian-mini and hello: {report:#}");
    let tags: BTreeSet<&str> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "new" && c["finding"]["advisory"] == "DEBIAN-CVE-2011-3374")
        .map(|c| c["tag"].as_str().unwrap())
        .collect();
    for tag in [
        "amd64/debian-mini:bookworm",
        "amd64/hello:1.0",
        "library/debian-mini:latest",
        "library/hello:1.0",
    ] {
        assert!(tags.contains(tag), "{tag} in {tags:?}");
    }
}
