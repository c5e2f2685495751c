//! The git cache: fetching once, falling back to every branch and tag, and its errors.

use std::fs;

use build::source::SourceError;
use library::BuildSource;

use crate::fixture::{git, Workspace};

fn source<'a>(
    url: &'a str,
    git_fetch: &'a str,
    commit: &'a str,
    directory: &'a str,
) -> BuildSource<'a> {
    BuildSource {
        git_repo: url,
        git_fetch,
        git_commit: commit,
        directory,
        file: "Dockerfile",
        builder: "",
    }
}

#[test]
fn reads_files_at_their_commit_and_fetches_each_commit_once() {
    let ws = Workspace::new();
    let repo = ws.repo("src");
    let first = repo.commit(&[("Dockerfile", "FROM debian:12\n")]);
    let second = repo.commit(&[("Dockerfile", "FROM debian:13\n")]);
    let url = repo.url();
    let (cache, fetches) = ws.cache();

    let text = cache
        .read_file(&source(&url, "refs/heads/master", &first, "."))
        .unwrap();
    assert_eq!(text, "FROM debian:12\n");
    // Fetching master brought the second commit along: reading it needs no fetch.
    let text = cache
        .read_file(&source(&url, "refs/heads/master", &second, "./"))
        .unwrap();
    assert_eq!(text, "FROM debian:13\n");
    assert_eq!(
        *fetches.lock().unwrap(),
        [format!("fetching refs/heads/master from {url}")]
    );
    let pins = git(
        cache.dir(),
        &[
            "for-each-ref",
            "--format=%(objectname)",
            "refs/hallmark/commits/",
        ],
    );
    let mut expected = [first.as_str(), second.as_str()];
    expected.sort();
    assert_eq!(pins, expected.join("\n"));

    // A later run finds the commits in the cache even with the repository gone.
    fs::remove_dir_all(&repo.dir).unwrap();
    let (cache, fetches) = ws.cache();
    let short = &first[..12];
    assert_eq!(
        cache
            .ensure_commit(&source(&url, "refs/heads/master", short, "."))
            .unwrap(),
        first
    );
    assert!(fetches.lock().unwrap().is_empty());
}

#[test]
fn falls_back_to_every_branch_and_tag_when_git_fetch_misses_the_commit() {
    let ws = Workspace::new();
    let repo = ws.repo("src");
    repo.commit(&[("Dockerfile", "FROM debian:12\n")]);
    repo.checkout_new_branch("feature");
    let feature = repo.commit(&[("sub/Dockerfile", "FROM alpine:3\n")]);
    let url = repo.url();
    let (cache, fetches) = ws.cache();

    let text = cache
        .read_file(&source(&url, "refs/heads/master", &feature, "sub"))
        .unwrap();
    assert_eq!(text, "FROM alpine:3\n");
    assert_eq!(
        *fetches.lock().unwrap(),
        [
            format!("fetching refs/heads/master from {url}"),
            format!("fetching every branch and tag from {url}"),
        ]
    );
}

#[test]
fn errors_say_what_to_check() {
    let ws = Workspace::new();
    let repo = ws.repo("src");
    let commit = repo.commit(&[("Dockerfile", "FROM debian:12\n")]);
    let url = repo.url();
    let missing_url = format!("file://{}", ws.path("nowhere").display());
    let unknown_commit = "0123456789abcdef0123456789abcdef01234567";
    let (cache, _) = ws.cache();

    type IsKind = fn(&SourceError) -> bool;
    let cases: &[(BuildSource<'_>, IsKind, &str)] = &[
        (
            source(&missing_url, "refs/heads/master", &commit, "."),
            |e| matches!(e, SourceError::Unreachable { .. }),
            "cannot fetch from",
        ),
        (
            source(&url, "refs/heads/master", unknown_commit, "."),
            |e| matches!(e, SourceError::CommitNotFound { .. }),
            "neither refs/heads/master nor any other branch or tag leads to it",
        ),
        (
            source(&url, "refs/heads/gone", unknown_commit, "."),
            |e| matches!(e, SourceError::CommitNotFound { .. }),
            "neither refs/heads/gone nor",
        ),
        (
            source(&url, "refs/heads/master", &commit, "nope"),
            |e| matches!(e, SourceError::FileMissing { .. }),
            "nope/Dockerfile is not a file at commit",
        ),
        (
            source(&url, "refs/heads/master", "master", "."),
            |e| matches!(e, SourceError::InvalidCommit(_)),
            "is not a commit id",
        ),
    ];
    for (source, is_kind, expected) in cases {
        let err = cache.read_file(source).unwrap_err();
        assert!(
            is_kind(&err) && err.to_string().contains(expected),
            "{source:?}: {err}"
        );
    }
}
