//! Two entries sharing a SharedTag on one architecture, end to end with the native builder:
//! the amd64 and arm64v8 agents build and push, `hallmark publish` lists every entry's image
//! for every architecture in the tag's index in the library file's order (each descriptor with
//! its platform from the image config and its entry), the agent's own `amd64/<repo>` keeps
//! both entries under the SharedTag, and a failed build's log is read through every tag of
//! its entry, by the CLI and the API, while the published tags stay as they were.

use std::process::{Command, Output};

use serde_json::Value;

use crate::auth_clients::{add_robot, serve_with_publisher};
use crate::fixture::{header, SourceRepo, Workspace};
use crate::server::{sha256, Server};

fn hallmark(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hallmark"));
    command
        .args(args)
        .env_remove("HALLMARK_LIBRARY")
        .env_remove("HALLMARK_DATA")
        .env_remove("HALLMARK_CACHE");
    command
}

fn run(command: &mut Command) -> Output {
    let output = command.output().expect("run hallmark");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `library/hello`: entry `a` on amd64 and arm64v8, entry `b` on amd64, both sharing
/// `latest`; `b` built from `b_commit`.
fn library(ws: &Workspace, repo: &SourceRepo, commit: &str, b_commit: &str) {
    let head = header(&repo.url(), commit);
    ws.library(&[(
        "hello",
        format!(
            "{head}\nTags: a, a1\nSharedTags: latest\nArchitectures: amd64, arm64v8\nDirectory: a\n\n\
             Tags: b\nSharedTags: latest\nArchitectures: amd64\nGitCommit: {b_commit}\nDirectory: b\n"
        ),
    )]);
}

/// `hallmark build` as the agent of `arch` with its robot, logging into the server's data.
fn agent_build(ws: &Workspace, server: &Server, arch: &str, robot: &str) -> Output {
    hallmark(&["build", "--arch", arch, "--engine", "native", "--registry"])
        .arg(server.host())
        .arg("--creds")
        .arg(robot)
        .arg("--library")
        .arg(ws.path("library"))
        .arg("--cache")
        .arg(ws.path("cache"))
        .arg("--data")
        .arg(ws.path("data"))
        .output()
        .expect("run hallmark build")
}

fn publish(ws: &Workspace, server: &Server) -> Value {
    let output = run(hallmark(&["--format", "json", "publish", "--registry"])
        .arg(server.host())
        .args(["--creds", "pat:pat-pw", "--library"])
        .arg(ws.path("library")));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// GET `path` as an anonymous puller of `name`: a pull token first.
fn pull(server: &Server, name: &str, path: &str) -> Vec<u8> {
    let reply = server.send(
        "GET",
        &format!("/token?service=hallmark&scope=repository:{name}:pull"),
        &[],
        b"",
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let token: Value = serde_json::from_slice(&reply.body).unwrap();
    let bearer = format!("Bearer {}", token["token"].as_str().unwrap());
    let accept =
        "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";
    let reply = server.send(
        "GET",
        &format!("/v2/{name}/{path}"),
        &[("authorization", &bearer), ("accept", accept)],
        b"",
    );
    assert_eq!(reply.status, 200, "{path}: {reply:?}");
    reply.body
}

fn manifest(server: &Server, name: &str, reference: &str) -> Vec<u8> {
    pull(server, name, &format!("manifests/{reference}"))
}

/// An index's manifests as `entry os/architecture[/variant] digest`.
fn listing(index: &[u8]) -> Vec<String> {
    let index: Value = serde_json::from_slice(index).unwrap();
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let p = &m["platform"];
            let variant = p["variant"].as_str().map(|v| format!("/{v}"));
            format!(
                "{} {}/{}{} {}",
                m["annotations"]["com.github.hallmark-oci.entry"]
                    .as_str()
                    .unwrap(),
                p["os"].as_str().unwrap(),
                p["architecture"].as_str().unwrap(),
                variant.unwrap_or_default(),
                m["digest"].as_str().unwrap()
            )
        })
        .collect()
}

/// What `publish --format json` did to `tag`, one `entry@arch=outcome` each.
fn outcomes(published: &Value, tag: &str) -> Vec<String> {
    let found = published
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["tag"] == tag)
        .unwrap_or_else(|| panic!("{tag} in {published:#}"));
    found["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let field = |name: &str| o[name].as_str().unwrap().to_owned();
            format!("{}@{}={}", field("entry"), field("arch"), field("outcome"))
        })
        .collect()
}

/// The digest of `<arch>/hello:<tag>`.
fn digest(server: &Server, arch: &str, tag: &str) -> String {
    sha256(&manifest(server, &format!("{arch}/hello"), tag))
}

/// The build log of `<arch>/hello:<tag>` through the registry.
fn api_log(server: &Server, arch: &str, tag: &str) -> String {
    let log = pull(
        server,
        &format!("{arch}/hello"),
        &format!("builds/{tag}/log"),
    );
    String::from_utf8(log).unwrap()
}

#[test]
fn entries_sharing_a_tag_on_one_architecture_are_all_published_and_logged_per_tag() {
    let ws = Workspace::new();
    let repo = ws.repo("images");
    let commit = repo.commit(&[
        ("a/Dockerfile", "FROM scratch\nCOPY a.txt /\n"),
        ("a/a.txt", "a\n"),
        ("b/Dockerfile", "FROM scratch\nCOPY b.txt /\n"),
        ("b/b.txt", "b\n"),
    ]);
    library(&ws, &repo, &commit, &commit);
    let (data, server) = serve_with_publisher(ws.root.path());
    assert_eq!(data, ws.path("data"));
    let amd64 = format!(
        "builder-amd64:{}",
        add_robot(&data, "builder-amd64", &["amd64/*:push"])
    );
    let arm64 = format!(
        "builder-arm64v8:{}",
        add_robot(&data, "builder-arm64v8", &["arm64v8/*:push"])
    );
    for (arch, robot) in [("amd64", &amd64), ("arm64v8", &arm64)] {
        let built = agent_build(&ws, &server, arch, robot);
        assert!(
            built.status.success(),
            "{arch}: {}",
            String::from_utf8_lossy(&built.stderr)
        );
    }
    let published = publish(&ws, &server);
    assert_eq!(
        outcomes(&published, "latest"),
        [
            "hello:a@amd64=updated",
            "hello:a@arm64v8=updated",
            "hello:b@amd64=updated"
        ]
    );
    assert_eq!(outcomes(&published, "b"), ["hello:b@amd64=updated"]);
    let (a_amd, a_arm, b_amd) = (
        digest(&server, "amd64", "a"),
        digest(&server, "arm64v8", "a"),
        digest(&server, "amd64", "b"),
    );
    assert_ne!(a_amd, b_amd);
    let latest = manifest(&server, "library/hello", "latest");
    assert_eq!(
        listing(&latest),
        [
            format!("hello:a linux/amd64 {a_amd}"),
            format!("hello:a linux/arm64/v8 {a_arm}"),
            format!("hello:b linux/amd64 {b_amd}"),
        ],
        "every entry's image for every architecture, in the file's order"
    );
    assert_eq!(
        listing(&manifest(&server, "library/hello", "a1")),
        [
            format!("hello:a linux/amd64 {a_amd}"),
            format!("hello:a linux/arm64/v8 {a_arm}"),
        ],
        "a Tag names its one entry"
    );
    assert_eq!(
        listing(&manifest(&server, "amd64/hello", "latest")),
        [
            format!("hello:a linux/amd64 {a_amd}"),
            format!("hello:b linux/amd64 {b_amd}"),
        ],
        "the amd64 agent's SharedTag keeps both entries, not the last one pushed"
    );

    // Entry b's new commit cannot build: its log is read through each of b's tags, a's tags
    // keep a's log, and publishing again leaves every tag as it was.
    let broken = repo.commit(&[("b/Dockerfile", "FROM scratch\nCOPY missing.txt /\n")]);
    library(&ws, &repo, &commit, &broken);
    let failed = agent_build(&ws, &server, "amd64", &amd64);
    assert!(!failed.status.success(), "the broken build fails");
    let cli_log = |image: &str| {
        let output = run(hallmark(&["build", "logs", image, "--data"]).arg(&data));
        String::from_utf8(output.stdout).unwrap()
    };
    let b_log = cli_log("amd64/hello:b");
    assert!(b_log.contains("missing.txt"), "{b_log}");
    assert_eq!(
        cli_log("hello:latest"),
        b_log,
        "the newest build sharing latest"
    );
    assert_eq!(api_log(&server, "amd64", "b"), b_log);
    assert_eq!(api_log(&server, "amd64", "latest"), b_log);
    let a_log = api_log(&server, "amd64", "a1");
    assert_ne!(a_log, b_log);
    assert_eq!(cli_log("hello:a"), a_log);
    assert_eq!(
        cli_log("arm64v8/hello:a1"),
        api_log(&server, "arm64v8", "latest")
    );
    let again = publish(&ws, &server);
    assert_eq!(
        outcomes(&again, "latest"),
        [
            "hello:a@amd64=unchanged",
            "hello:a@arm64v8=unchanged",
            "hello:b@amd64=unchanged"
        ]
    );
    assert_eq!(manifest(&server, "library/hello", "latest"), latest);
}
