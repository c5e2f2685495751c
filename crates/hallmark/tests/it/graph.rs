//! `hallmark library parents`, `children` and `build-order` against library files whose
//! Dockerfiles live in real git repositories reached through `file://` URLs.

use std::path::Path;
use std::process::{Command, Output};

use crate::fixture::{header, Workspace};

/// base (two architectures, arm64v8 from its own directory), app FROM base with a builder
/// stage, and odd FROM a tag base does not have.
fn sample(ws: &Workspace) {
    let repo = ws.repo("images");
    let commit = repo.commit(&[
        ("base/Dockerfile", "FROM debian:bookworm-slim\n"),
        ("base-arm/Dockerfile", "FROM arm64v8/debian:bookworm-slim\n"),
        (
            "app/Dockerfile",
            "FROM golang:1 AS build\nFROM base:1\nCOPY --from=build /app /app\n",
        ),
        ("odd/Dockerfile", "FROM base:9\n"),
    ]);
    let head = header(&repo.url(), &commit);
    ws.library(&[
        ("base", format!("{head}\nTags: 1\nArchitectures: amd64, arm64v8\nDirectory: base\narm64v8-Directory: base-arm\n")),
        ("app", format!("{head}\nTags: 2, latest\nDirectory: app\n")),
        ("odd", format!("{head}\nTags: 3\nDirectory: odd\n")),
    ]);
}

fn hallmark(ws: &Workspace, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .args(["library", "--library"])
        .arg(ws.path("library"))
        .args(args)
        .env_remove("HALLMARK_LIBRARY")
        .env("HALLMARK_CACHE", ws.path("cache"))
        .output()
        .expect("run hallmark")
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("utf-8 output")
}

#[test]
fn build_order_puts_parents_first_and_fetches_once() {
    let ws = Workspace::new();
    sample(&ws);

    let first = hallmark(&ws, &["build-order", "app", "base"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert_eq!(text(&first.stdout), "base:1\napp:2\n");
    assert!(
        text(&first.stderr).starts_with("hallmark: fetching refs/heads/master from file://"),
        "{}",
        text(&first.stderr)
    );

    let cache = ws.path("cache");
    let cache = cache.to_str().expect("UTF-8 temporary path");
    let again = hallmark(
        &ws,
        &[
            "build-order",
            "--arch",
            "arm64v8",
            "--cache",
            cache,
            "app",
            "base",
        ],
    );
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(text(&again.stdout), "base:1\n");
    assert_eq!(text(&again.stderr), "", "the second run fetches nothing");
}

#[test]
fn parents_as_json_describe_each_image() {
    let ws = Workspace::new();
    sample(&ws);

    let output = hallmark(&ws, &["--format", "json", "parents", "app:latest"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let walk: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let relatives = walk["relatives"].as_array().expect("relatives");
    let summary: Vec<String> = relatives
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}",
                r["image"], r["kind"], r["depth"], r["architectures"]
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            r#""golang:1" "external" 1 ["amd64"]"#,
            r#""base:1" "library" 1 ["amd64"]"#,
            r#""debian:bookworm-slim" "external" 2 ["amd64"]"#,
        ]
    );
    assert_eq!(walk["missing"], serde_json::json!([]));

    let arm = hallmark(
        &ws,
        &["parents", "--arch", "arm64v8", "--depth", "1", "base"],
    );
    assert_eq!(text(&arm.stdout), "arm64v8/debian:bookworm-slim\n");
}

#[test]
fn children_and_missing_parents() {
    let ws = Workspace::new();
    sample(&ws);

    let kids = hallmark(&ws, &["children", "debian"]);
    assert!(kids.status.success(), "{}", text(&kids.stderr));
    assert_eq!(text(&kids.stdout), "base:1\napp:2\n");

    let odd = hallmark(&ws, &["parents", "odd"]);
    assert_eq!(odd.status.code(), Some(1));
    assert_eq!(text(&odd.stdout), "base:9\n");
    assert!(
        text(&odd.stderr).contains(
            "missing parent: odd:3 (amd64) builds FROM base:9, a tag the library does not define"
        ),
        "{}",
        text(&odd.stderr)
    );
}

#[test]
fn unknown_repositories_are_named() {
    let ws = Workspace::new();
    sample(&ws);
    let output = hallmark(&ws, &["parents", "nope"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("no library file for repository \"nope\""),
        "{}",
        text(&output.stderr)
    );
    assert!(
        !Path::new(&ws.path("cache")).join("git").exists(),
        "nothing is fetched for a bad argument"
    );
}
