//! `hallmark library lint` and `docs` end to end: the real official-images folder, a folder
//! with broken files, and the markdown and JSON of real repositories.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `hallmark [--format FORMAT] library --library DIR ARGS…` and returns whether it
/// succeeded, its stdout and its stderr.
fn run(format: &str, library: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .args(["--format", format, "library", "--library"])
        .arg(library)
        .args(args)
        .output()
        .expect("run hallmark");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("utf-8 output");
    (
        output.status.success(),
        text(output.stdout),
        text(output.stderr),
    )
}

fn real_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/official-images-library")
}

/// All 108 real files pass; README.txt, which is no repository, is the one warning.
#[test]
fn lint_passes_the_real_folder() {
    let (ok, stdout, _) = run("text", &real_folder(), &["lint", "--offline"]);
    assert!(ok, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(
        lines[0].ends_with("README.txt: warning: [not-a-repository] not read: the name is not a repository name (lowercase letters and digits, joined by . _ or -); rename the file or move it out of the folder"),
        "{stdout}"
    );
}

const HEAD: &str = "Maintainers: Jo Doe <jo@example.com> (@jo)\n\
                    GitRepo: https://github.com/example/images.git\n";
const COMMIT: &str = "GitCommit: 0123456789abcdef0123456789abcdef01234567\n";

/// Every file is reported at its lines, broken or not, and errors fail the run; the folder is
/// given as the argument, which wins over --library.
#[test]
fn lint_reports_every_file_and_fails_on_errors() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        ("clean", format!("{HEAD}{COMMIT}\nTags: 1, latest\n")),
        ("naming", format!("{HEAD}{COMMIT}\nTags: 1, latest-1\n")),
        ("uncommitted", format!("{HEAD}\nTags: 1\n")),
        (
            "twice",
            format!("{HEAD}{COMMIT}\nTags: 1\n\nTags: 1\nDirectory: x\n"),
        ),
    ];
    for (name, text) in &files {
        fs::write(dir.path().join(name), text).unwrap();
    }
    let (ok, stdout, _) = run(
        "text",
        Path::new("elsewhere"),
        &["lint", "--offline", dir.path().to_str().unwrap()],
    );
    assert!(!ok);
    let prefix = format!("{}/", dir.path().display());
    let relative: Vec<&str> = stdout
        .lines()
        .map(|l| l.strip_prefix(&prefix).unwrap())
        .collect();
    assert_eq!(
        relative,
        [
            "naming:5: error: [latest-tag] tag \"latest-1\" contains \"latest\": only the tag \"latest\" itself may; rename it (https://github.com/docker-library/official-images#tags-and-aliases)",
            "twice:7: error: [duplicate-tag] duplicate tag \"1\": already used on line 5",
            "uncommitted:4: error: [missing-git-commit] entry \"1\" has no GitCommit (neither in the entry nor in the first paragraph)",
        ]
    );

    let (_, json, _) = run(
        "json",
        Path::new("elsewhere"),
        &["lint", "--offline", dir.path().to_str().unwrap()],
    );
    let findings: serde_json::Value = serde_json::from_str(&json).unwrap();
    let summary: Vec<(&str, &str, &str)> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["repo"].as_str().unwrap(),
                f["rule"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("naming", "latest-tag", "error"),
            ("twice", "duplicate-tag", "error"),
            ("uncommitted", "missing-git-commit", "error"),
        ]
    );
}

/// Runs git in `dir` and returns its output.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=Jo", "-c", "user.email=jo@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(output.status.success(), "git {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Without --offline the FROM checks read each entry's Dockerfile from a git cache: here a
/// local repository whose Dockerfiles build FROM a library tag lacking one architecture, an
/// unpinned outside image, and a Windows base image other than the one Constraints names.
#[test]
fn lint_reads_dockerfiles_through_the_git_cache() {
    let root = tempfile::tempdir().unwrap();
    let src = root.path().join("src");
    let dockerfiles = [
        ("base", "FROM scratch\n"),
        ("app", "FROM debian:bookworm\n"),
        ("ext", "FROM ghcr.io/example/tool:1\n"),
        (
            "win",
            "FROM mcr.microsoft.com/windows/servercore:ltsc2025\n",
        ),
    ];
    for (dir, text) in dockerfiles {
        fs::create_dir_all(src.join(dir)).unwrap();
        fs::write(src.join(dir).join("Dockerfile"), text).unwrap();
    }
    git(&src, &["init", "--quiet", "--initial-branch=master"]);
    git(&src, &["add", "."]);
    git(&src, &["commit", "--quiet", "-m", "Dockerfiles"]);
    let commit = git(&src, &["rev-parse", "HEAD"]);
    let head = format!(
        "Maintainers: Jo Doe <jo@example.com> (@jo)\nGitRepo: {}\nGitCommit: {commit}\n",
        src.display()
    );
    let library = root.path().join("library");
    fs::create_dir_all(&library).unwrap();
    let files = [
        (
            "debian",
            "Tags: bookworm\nArchitectures: amd64, arm64v8\nDirectory: base\n",
        ),
        (
            "app",
            "Tags: 1\nArchitectures: amd64, arm32v7\nDirectory: app\n\n\
             Tags: ext\nDirectory: ext\n\n\
             Tags: win\nArchitectures: windows-amd64\nDirectory: win\n\
             Constraints: windowsservercore-ltsc2022\n",
        ),
    ];
    for (repo, entries) in files {
        fs::write(library.join(repo), format!("{head}\n{entries}")).unwrap();
    }
    let cache = root.path().join("cache");
    let args = ["lint", "--cache", cache.to_str().unwrap()];
    let (ok, stdout, stderr) = run("text", &library, &args);
    assert!(!ok, "{stderr}");
    let found: Vec<&str> = stdout
        .lines()
        .map(|l| l.split(" error: ").nth(1).unwrap_or(l))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(
        found,
        [
            "[from-architecture] FROM debian",
            "[from-unpinned] FROM ghcr.io/example/tool",
            "[constraints] Constraints has \"windowsservercore-ltsc2022\", which none of its FROM images need",
            "[constraints] Constraints lacks \"windowsservercore-ltsc2025\", which its FROM images need",
        ],
        "{stdout}"
    );
    assert!(stdout.contains("[arm32v7]"), "{stdout}");
}

/// The markdown is the library crate's (snapshotted there); here: it reaches stdout whole, and
/// the JSON carries the same groups.
#[test]
fn docs_prints_markdown_and_json() {
    let (ok, markdown, stderr) = run("text", &real_folder(), &["docs", "python"]);
    assert!(ok, "{stderr}");
    assert!(
        markdown.starts_with("(See [\"What's the difference between 'Shared' and 'Simple' tags?\"")
    );
    assert!(markdown.contains("\n-\t[`3.14.7-trixie`, `3.14-trixie`, `3-trixie`, `trixie`](https://github.com/docker-library/python/blob/228f71e70a42ba9f9a092321b971031603bb88ff/3.14/trixie/Dockerfile)\n"));
    assert!(markdown.contains("\n-\t`3.14.7`, `3.14`, `3`, `latest`:\n\t-\t[`3.14.7-trixie`]"));
    assert!(markdown.ends_with(")\n\n"));

    let (ok, json, _) = run("json", &real_folder(), &["docs", "python"]);
    assert!(ok);
    let docs: serde_json::Value = serde_json::from_str(&json).unwrap();
    let bullets = |section: &str| docs[section].as_array().unwrap().len();
    let simple = markdown.lines().filter(|l| l.starts_with("-\t[")).count();
    let shared = markdown.lines().filter(|l| l.starts_with("-\t`")).count();
    assert_eq!((bullets("simple"), bullets("shared")), (simple, shared));
}

#[test]
fn docs_refuses_what_it_cannot_document() {
    let cases = [
        (
            "python:3",
            "docs cover a whole repository: pass \"python\" without the tag",
        ),
        ("nope", "no library file for repository \"nope\""),
    ];
    for (repo, message) in cases {
        let (ok, stdout, stderr) = run("text", &real_folder(), &["docs", repo]);
        assert!(!ok && stdout.is_empty(), "{repo}");
        assert!(stderr.contains(message), "{repo}: {stderr}");
    }
}
