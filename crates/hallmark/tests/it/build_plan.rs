//! `hallmark build --plan` and the native build path: the plan as a table and as JSON, a
//! native build of what it lists, and a second plan that finds everything up to date.

use std::process::{Command, Output};

use crate::fixture::{header, Workspace};

fn sample(ws: &Workspace) {
    let repo = ws.repo("images");
    let commit = repo.commit(&[
        (
            "base/Dockerfile",
            "FROM scratch\nCOPY hello /\nCMD [\"/hello\"]\n",
        ),
        ("base/hello", "hello\n"),
    ]);
    let head = header(&repo.url(), &commit);
    ws.library(&[(
        "base",
        format!("{head}\nTags: 1, latest\nArchitectures: amd64, arm64v8\nDirectory: base\n"),
    )]);
}

fn hallmark(ws: &Workspace, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .arg("build")
        .arg("--library")
        .arg(ws.path("library"))
        .arg("--data")
        .arg(ws.path("data"))
        .args(args)
        .env_remove("HALLMARK_LIBRARY")
        .env_remove("HALLMARK_DATA")
        .env("HALLMARK_CACHE", ws.path("cache"))
        .output()
        .expect("run hallmark");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The plan's columns without the identity.
fn plan_rows(ws: &Workspace) -> Vec<String> {
    let output = hallmark(ws, &["--plan"]);
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words[..words.len() - 1].join(" ")
        })
        .collect()
}

#[test]
fn the_plan_lists_what_a_native_build_then_makes_up_to_date() {
    let ws = Workspace::new();
    sample(&ws);
    assert_eq!(
        plan_rows(&ws),
        [
            "AGENT ENTRY ENGINE REASON",
            "amd64 base:1 native missing",
            "arm64v8 base:1 native missing",
        ]
    );

    let built = hallmark(&ws, &["--arch", "arm64v8", "--engine", "native"]);
    let text = String::from_utf8(built.stdout).unwrap();
    assert!(text.starts_with("built arm64v8 base:1 sha256:"), "{text}");
    assert_eq!(
        plan_rows(&ws),
        [
            "AGENT ENTRY ENGINE REASON",
            "amd64 base:1 native missing",
            "arm64v8 base:1 native up to date",
        ]
    );

    let json = hallmark(&ws, &["--plan", "--arch", "arm64v8", "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let build = &plan["builds"][0];
    assert_eq!(build["reason"], "up-to-date");
    assert_eq!(build["agent"], "arm64v8");
    let layout = ws.path("data/builds/images").join(
        build["identity"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:"),
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], build["image"]);
}
