//! `hallmark library list` and `cat` on the real official-images library files: the tags
//! bashbrew lists, the canonical form, and clear errors for bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn real_library() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/official-images-library")
}

fn hallmark(library: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .arg("library")
        .arg("--library")
        .arg(library)
        .args(args)
        .output()
        .expect("run hallmark")
}

fn stdout_of(library: &Path, args: &[&str]) -> String {
    let output = hallmark(library, args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

#[test]
fn list_snapshots_match_bashbrew() {
    for repo in ["python", "debian", "ubuntu", "golang", "busybox"] {
        let listed = stdout_of(&real_library(), &["list", repo]);
        insta::assert_snapshot!(format!("list_{repo}"), listed);
        let uniq = stdout_of(&real_library(), &["list", "--uniq", repo]);
        insta::assert_snapshot!(format!("list_uniq_{repo}"), uniq);
    }
}

/// Checked by hand against bashbrew's rules: a tag names its own entry (all of whose tags are
/// listed), a SharedTag names every entry sharing it, `--arch` keeps only entries built for it.
#[test]
fn list_selects_entries_like_bashbrew() {
    let lib = real_library();
    let bookworm = stdout_of(&lib, &["list", "debian:bookworm"]);
    assert!(bookworm.lines().any(|l| l == "debian:12"), "{bookworm}");
    assert!(bookworm.lines().all(|l| l.starts_with("debian:")));

    let latest = stdout_of(&lib, &["list", "--uniq", "python:latest"]);
    assert_eq!(
        latest.lines().count(),
        3,
        "python:latest is shared by trixie and two Windows entries:\n{latest}"
    );

    let windows_only = stdout_of(
        &lib,
        &["list", "--uniq", "--arch", "windows-amd64", "python"],
    );
    assert!(
        windows_only.lines().all(|l| l.contains("windows")),
        "{windows_only}"
    );

    let repos = stdout_of(&lib, &["list", "--repos", "python", "debian"]);
    assert_eq!(repos, "python\ndebian\n");
}

#[test]
fn list_all_covers_every_file_and_json_matches_text() {
    let lib = real_library();
    let text = stdout_of(&lib, &["list", "--all", "--uniq"]);
    let json: serde_json::Value = serde_json::from_str(&stdout_of(
        &lib,
        &["--format", "json", "list", "--all", "--uniq"],
    ))
    .expect("json");
    let entries = json.as_array().expect("array");
    assert_eq!(entries.len(), text.lines().count());
    let repos: std::collections::BTreeSet<_> = entries
        .iter()
        .map(|e| e["repo"].as_str().expect("repo"))
        .collect();
    // 108 files; clefos, gazebo, php-zendserver and unit are deprecated and have no entries.
    assert_eq!(repos.len(), 104);
}

#[test]
fn cat_prints_a_canonical_form_that_cat_reproduces() {
    let lib = real_library();
    let tmp = tempfile::tempdir().expect("tempdir");
    for repo in ["python", "busybox", "eclipse-temurin"] {
        let canonical = stdout_of(&lib, &["cat", repo]);
        std::fs::write(tmp.path().join(repo), &canonical).expect("write");
        assert_eq!(stdout_of(tmp.path(), &["cat", repo]), canonical, "{repo}");
        assert_eq!(
            stdout_of(&lib, &["list", repo]),
            stdout_of(tmp.path(), &["list", repo]),
            "{repo}: the canonical form lists other tags"
        );
    }
    insta::assert_snapshot!("cat_busybox", stdout_of(&lib, &["cat", "busybox"]));
    let json: serde_json::Value =
        serde_json::from_str(&stdout_of(&lib, &["--format", "json", "cat", "busybox"]))
            .expect("json");
    assert_eq!(
        json[0]["global"]["arch_overrides"]["arm64v8-GitFetch"],
        "refs/heads/dist-arm64v8"
    );
}

#[test]
fn broken_files_are_reported_with_file_and_line_and_do_not_hide_others() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let good = "Maintainers: A B <a@example.com> (@ab)\nGitRepo: https://example.com/r.git\n\nTags: 1, latest\nGitCommit: 0123abc\n";
    std::fs::write(tmp.path().join("good"), good).expect("write");
    let broken = "Maintainers: A B <a@example.com> (@ab)\nGitRepo: https://example.com/r.git\n\nTags: 1\nGitCommit: main\nArchitectures: amd64, arm64\nColour: blue\n";
    std::fs::write(tmp.path().join("broken"), broken).expect("write");
    std::fs::write(
        tmp.path().join("also-broken"),
        "this is not a library file\n",
    )
    .expect("write");

    let output = hallmark(tmp.path(), &["list", "--all"]);
    assert!(!output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "good:1\ngood:latest\n"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let broken_path = tmp.path().join("broken");
    for expected in [
        format!("{}:5: invalid GitCommit \"main\"", broken_path.display()),
        format!(
            "{}:6: unknown architecture \"arm64\"",
            broken_path.display()
        ),
        format!("{}:7: unknown field \"Colour\"", broken_path.display()),
        format!(
            "{}:1: expected \"Field: value\"",
            tmp.path().join("also-broken").display()
        ),
    ] {
        assert!(
            stderr.contains(&expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }

    let output = hallmark(tmp.path(), &["cat", "broken"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains(":7: unknown field"));

    let output = hallmark(tmp.path(), &["list", "good:2"]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("repository \"good\" has no tag \"2\"")
    );
}
