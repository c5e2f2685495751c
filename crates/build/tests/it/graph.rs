//! The FROM graph of a library whose Dockerfiles live in real git repositories: multi-stage
//! builds, `COPY --from`, ARG-based FROMs, per-architecture directories and a second
//! repository fetched from its own branch.

use std::path::PathBuf;

use build::source::GitCache;
use library::{build_order, children, parents, GraphError, Library};
use oci::Architecture;

use crate::fixture::{header, Workspace};

/// A workspace with four repositories: base (two architectures, arm64v8 from its own
/// directory), lang FROM base with a builder stage, tool (another git repository, branch
/// `dev`) FROM base, and app FROM lang by ARG and mounting tool.
fn sample(ws: &Workspace) -> PathBuf {
    let images = ws.repo("images");
    let commit = images.commit(&[
        ("base/Dockerfile", "FROM debian:bookworm-slim\n"),
        ("base-arm64/Dockerfile", "ARG BASE=arm64v8/debian:bookworm-slim\nFROM $BASE\n"),
        (
            "lang/Dockerfile",
            "FROM golang:1.22 AS build\nRUN go build ./...\n\nFROM base:1\nCOPY --from=build /out /usr/local/bin/\nCOPY --from=busybox:1.36 /bin/busybox /bin/\n",
        ),
        (
            "app/Dockerfile",
            "ARG LANG_TAG=2\nFROM lang:${LANG_TAG} AS app\nRUN --mount=type=bind,from=tool:4,source=/t,target=/t true\n",
        ),
    ]);
    let tools = ws.repo("tools");
    tools.commit(&[("README", "tools\n")]);
    tools.checkout_new_branch("dev");
    let tool_commit = tools.commit(&[("Dockerfile", "# escape=`\nFROM base `\n  AS tool\n")]);
    let head = header(&images.url(), &commit);
    ws.library(&[
        (
            "base",
            format!("{head}\nTags: 1, latest\nArchitectures: amd64, arm64v8\nDirectory: base\narm64v8-Directory: base-arm64\n"),
        ),
        ("lang", format!("{head}\nTags: 2\nArchitectures: amd64, arm64v8\nDirectory: lang\n")),
        ("app", format!("{head}\nTags: 3\nDirectory: app\n")),
        (
            "tool",
            format!("{}GitFetch: refs/heads/dev\n\nTags: 4\n", header(&tools.url(), &tool_commit)),
        ),
    ])
}

fn load(dir: &std::path::Path) -> Library {
    let (library, errors) = Library::load_dir(dir).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    library
}

#[test]
fn parents_children_and_build_order_come_from_the_dockerfiles() {
    let ws = Workspace::new();
    let library = load(&sample(&ws));
    let (cache, fetches) = ws.cache();

    let walk = parents(&library, &cache, &["app:3"], None, None).unwrap();
    let found: Vec<(&str, usize)> = walk
        .relatives
        .iter()
        .map(|r| (r.image.as_str(), r.depth))
        .collect();
    assert_eq!(
        found,
        [
            ("lang:2", 1),
            ("tool:4", 1),
            ("golang:1.22", 2),
            ("base:1", 2),
            ("busybox:1.36", 2),
            ("base:latest", 2),
            ("debian:bookworm-slim", 3),
        ]
    );
    assert!(walk.missing.is_empty());

    let walk = parents(
        &library,
        &cache,
        &["base"],
        Some(Architecture::Arm64v8),
        None,
    )
    .unwrap();
    let images: Vec<&str> = walk.relatives.iter().map(|r| r.image.as_str()).collect();
    assert_eq!(images, ["arm64v8/debian:bookworm-slim"]);

    let walk = children(&library, &cache, &["base:latest"], None, None).unwrap();
    let kids: Vec<(&str, usize)> = walk
        .relatives
        .iter()
        .map(|r| (r.image.as_str(), r.depth))
        .collect();
    assert_eq!(kids, [("lang:2", 1), ("tool:4", 1), ("app:3", 2)]);

    let order = build_order::<&str>(&library, &cache, None, None).unwrap();
    let steps: Vec<&str> = order.steps.iter().map(|s| s.entry.as_str()).collect();
    assert_eq!(steps, ["base:1", "lang:2", "tool:4", "app:3"]);

    // Two repositories, one fetch each: every later question was answered from the cache.
    assert_eq!(fetches.lock().unwrap().len(), 2, "{fetches:?}");
}

#[test]
fn a_cycle_through_the_dockerfiles_is_named() {
    let ws = Workspace::new();
    let dir = sample(&ws);
    let images = ws.repo("images");
    let commit = images.commit(&[("base/Dockerfile", "FROM app:3\n")]);
    let text = std::fs::read_to_string(dir.join("base")).unwrap();
    let old_commit = text
        .lines()
        .find_map(|l| l.strip_prefix("GitCommit: "))
        .unwrap();
    std::fs::write(dir.join("base"), text.replace(old_commit, &commit)).unwrap();
    let library = load(&dir);
    let (cache, _) = ws.cache();

    let err = build_order(&library, &cache, Some(&["app", "base", "lang"]), None).unwrap_err();
    assert_eq!(
        err,
        GraphError::Cycle(
            ["app:3", "lang:2", "base:1", "app:3"]
                .map(String::from)
                .to_vec()
        )
    );
}

#[test]
fn a_broken_dockerfile_names_its_entry_and_line() {
    let ws = Workspace::new();
    let repo = ws.repo("broken");
    let commit = repo.commit(&[(
        "Dockerfile",
        "FROM debian:12\nARG LATE\nFROM debian:$LATE\n",
    )]);
    let dir = ws.library(&[(
        "broken",
        format!("{}\nTags: 1\n", header(&repo.url(), &commit)),
    )]);
    let library = load(&dir);
    let cache = GitCache::open(&ws.path("cache")).unwrap();

    let err = parents(&library, &cache, &["broken"], None, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cannot read the FROM lines of broken:1 for amd64: Dockerfile at commit {commit}: line 3: $LATE has no value here: declare `ARG LATE=…` before the first FROM")
    );
}
