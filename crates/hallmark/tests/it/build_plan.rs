//! `hallmark build --plan` and the native build path: the plan as a table and as JSON, a
//! native build of what it lists, a second plan that finds everything up to date, and a build
//! into a registry's data folder that the next advisory import re-matches.

use std::process::{Command, Output};

use fixture_cache::run_output;

use crate::fixture::{header, Workspace};
use crate::json_answers::db_changes;

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
    run_output(
        Command::new(env!("CARGO_BIN_EXE_hallmark"))
            .arg("build")
            .arg("--library")
            .arg(ws.path("library"))
            .arg("--data")
            .arg(ws.path("data"))
            .args(args)
            .env_remove("HALLMARK_LIBRARY")
            .env_remove("HALLMARK_DATA")
            .env("HALLMARK_CACHE", ws.path("cache")),
    )
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

/// A build into a registry's data folder records the built image's inventory in its store,
/// so the next advisory import re-matches what was built, under the name it was built as.
#[tokio::test]
async fn a_build_into_a_registry_data_folder_is_re_matched_by_db_import() {
    let ws = Workspace::new();
    let repo = ws.repo("images");
    let commit = repo.commit(&[
        ("mini/Dockerfile", "FROM scratch\nCOPY rootfs/ /\n"),
        (
            "mini/rootfs/etc/os-release",
            "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
        ),
        (
            "mini/rootfs/var/lib/dpkg/status",
            "Package: apt\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.6.1\n",
        ),
    ]);
    let head = header(&repo.url(), &commit);
    ws.library(&[(
        "mini",
        format!("{head}\nTags: 12, latest\nArchitectures: amd64\nDirectory: mini\n"),
    )]);
    store::open_embedded(&ws.path("data")).await.unwrap();
    let built = hallmark(&ws, &["--arch", "amd64", "--engine", "native"]);
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(
        stderr.contains("scanned amd64 mini:12: 1 packages"),
        "{stderr}"
    );

    let debian12 =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scan/tests/data/debian12");
    let imported = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .args(["--format", "json", "db", "import", "--source", "debian12"])
        .arg(debian12)
        .env("HALLMARK_DATA", ws.path("data"))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&imported.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&imported.stderr)));
    assert_eq!(
        db_changes(&report),
        ["amd64/mini:12 new DEBIAN-CVE-2011-3374 apt@2.6.1"],
        "{report:#}"
    );
}
