//! Bad library files: every problem is reported at its line, in words a maintainer acts on.

use library::parse;

const HEAD: &str =
    "Maintainers: Jane Doe <jane@example.com> (@jane)\nGitRepo: https://example.com/r.git\n\n";

/// Parses `HEAD` + `body` and returns its diagnostics as `line: message`.
fn diagnostics(body: &str) -> Vec<String> {
    match parse(&format!("{HEAD}{body}")) {
        Ok(file) => panic!("expected problems, parsed {file:?}"),
        Err(error) => error.diagnostics.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn each_problem_is_named_at_its_line() {
    let cases: &[(&str, &[&str])] = &[
        (
            "Tags: 1\nGitCommit: main\n",
            &["5: invalid GitCommit \"main\": must be a commit hash"],
        ),
        (
            "Tags: 1\nGitCommit: abc\nGitFetch: main\n",
            &["6: invalid GitFetch \"main\": must be \"refs/heads/…\" or \"refs/tags/…\""],
        ),
        (
            "Tags: 1\nGitCommit: abc\nArchitectures: amd64, arm64\n",
            &["6: unknown architecture \"arm64\" (expected one of: amd64, arm32v5"],
        ),
        (
            "Tags: 1\nGitCommit: abc\nColour: blue\n",
            &["6: unknown field \"Colour\""],
        ),
        (
            "Tags: 1\nGitCommit: abc\ngitfetch: refs/heads/x\n",
            &["6: unknown field \"gitfetch\": did you mean \"GitFetch\"?"],
        ),
        (
            "Tags: 1\nGitCommit: abc\narm64-GitCommit: abc\n",
            &["6: \"arm64-GitCommit\" overrides GitCommit for unknown architecture \"arm64\""],
        ),
        (
            "Tags: 1\nGitCommit: abc\narm64v8-GitCommit: v2\n",
            &["6: invalid arm64v8-GitCommit \"v2\""],
        ),
        (
            "Tags: 1\nGitCommit: abc\nBuilder: kaniko\n",
            &["6: invalid Builder \"kaniko\": expected buildkit, classic or oci-import"],
        ),
        (
            "Tags: 1, -bad\nGitCommit: abc\n",
            &["4: invalid tag \"-bad\""],
        ),
        (
            "Tags: 1\nGitCommit: abc\n\nTags: 2, 1\nGitCommit: abd\n",
            &["7: duplicate tag \"1\": already used on line 4"],
        ),
        (
            "Tags: 1\nSharedTags: x\nGitCommit: abc\n\nTags: x\nGitCommit: abd\n",
            &["8: tag \"x\" is also a SharedTag of the entry on line 4"],
        ),
        (
            "Tags: 1\nGitCommit: abc\nGitCommit: abd\n",
            &["6: field GitCommit is given twice in this paragraph (first on line 5)"],
        ),
        ("GitCommit: abc\n", &["4: entry has no Tags"]),
        ("Tags: 1\n", &["4: entry \"1\" has no GitCommit"]),
        (
            "Tags: 1\nGitCommit: abc\nArchitectures:\n",
            &["6: Architectures is empty"],
        ),
        (
            "Tags: 1\nGitCommit: abc\nArchitectures: amd64, amd64\n",
            &["6: architecture amd64 is listed twice"],
        ),
        (
            "Tags: 1\nGitCommit: abc\nnot a field\n",
            &["6: expected \"Field: value\""],
        ),
        // Several problems in one file are all reported, in line order.
        (
            "Tags: 1\nGitCommit: zzz\n\nTags: 2\nGitCommit: abc\nArchitectures: sparc\n",
            &[
                "5: invalid GitCommit \"zzz\"",
                "9: unknown architecture \"sparc\"",
            ],
        ),
    ];
    for (body, expected) in cases {
        let found = diagnostics(body);
        assert_eq!(found.len(), expected.len(), "{body:?} gave {found:#?}");
        for (found, expected) in found.iter().zip(expected.iter()) {
            assert!(
                found.starts_with(expected),
                "{body:?}: {found:?} does not start with {expected:?}"
            );
        }
    }
}

#[test]
fn global_paragraph_rules() {
    let cases: &[(&str, &str)] = &[
        (
            "GitRepo: https://example.com/r.git\n",
            "1: missing Maintainers",
        ),
        (
            "Maintainers: Jane Doe\n",
            "1: invalid maintainer \"Jane Doe\"",
        ),
        (
            "Maintainers: Jane (@jane)\nTags: 1\n",
            "2: Tags are not allowed in the first (global) paragraph",
        ),
        (
            "  continued\nMaintainers: Jane (@jane)\n",
            "1: indented continuation line",
        ),
        ("", "1: missing Maintainers"),
    ];
    for (text, expected) in cases {
        let error = parse(text).expect_err(text);
        let first = error.diagnostics[0].to_string();
        assert!(first.starts_with(expected), "{text:?}: {first:?}");
    }
}

#[test]
fn inheritance_overrides_and_merging_follow_bashbrew() {
    let text = "\
# a comment before anything
Maintainers: Jane Doe <jane@example.com> (@jane),
             John Roe (@john)
GitRepo: https://example.com/r.git
GitFetch: refs/heads/main
Architectures: amd64, arm64v8
arm64v8-GitFetch: refs/heads/arm64
Builder: buildkit

Tags: 2.0, 2
SharedTags: latest
# a comment inside a paragraph does not end it
GitCommit: 0123456789abcdef0123456789abcdef01234567
Directory: ./2.0/
arm64v8-GitCommit: fedcba9876543210fedcba9876543210fedcba98

Tags: 2.0-slim
Architectures: amd64
GitCommit: abc
Builder:

Tags: two
SharedTags: latest, two-shared
GitCommit: 0123456789abcdef0123456789abcdef01234567
Directory: 2.0
arm64v8-GitCommit: fedcba9876543210fedcba9876543210fedcba98
";
    let file = parse(text).expect("parses");
    assert_eq!(
        file.global.maintainers,
        ["Jane Doe <jane@example.com> (@jane)", "John Roe (@john)"]
    );
    assert_eq!(
        file.entries.len(),
        2,
        "the third paragraph builds the same thing as the first"
    );
    let first = &file.entries[0];
    assert_eq!(first.tags, ["2.0", "2", "two"]);
    assert_eq!(first.shared_tags, ["latest", "two-shared"]);
    assert_eq!(first.directory, "2.0");
    assert_eq!(first.line.0, 10);
    let arm = first.source(oci::Architecture::Arm64v8);
    assert_eq!(
        (arm.git_fetch, arm.git_commit),
        (
            "refs/heads/arm64",
            "fedcba9876543210fedcba9876543210fedcba98"
        )
    );
    let amd = first.source(oci::Architecture::Amd64);
    assert_eq!(
        (amd.git_fetch, amd.builder),
        ("refs/heads/main", "buildkit")
    );
    let slim = &file.entries[1];
    assert_eq!(
        slim.builder, "",
        "an empty value overrides the inherited one"
    );
    assert_eq!(slim.architectures, [oci::Architecture::Amd64]);

    let printed = library::print(&file);
    assert!(printed.contains("\nBuilder:\n"), "{printed}");
    assert_eq!(parse(&printed).expect("canonical form parses"), file);
}

#[test]
fn line_based_files_are_read_as_bashbrew_reads_them() {
    let text = "\
# maintainer: Jane Doe <jane@example.com> (@jane)

1.0: git://github.com/example/r@0123456789abcdef0123456789abcdef01234567 1.0
latest: git://github.com/example/r@0123456789abcdef0123456789abcdef01234567 1.0
0.9: git://github.com/example/r@fedcba9876543210fedcba9876543210fedcba98 0.9/
";
    let file = parse(text).expect("line-based parses");
    assert_eq!(file.entries.len(), 2);
    assert_eq!(file.entries[0].tags, ["1.0", "latest"]);
    assert_eq!(file.entries[1].directory, "0.9");
    assert_eq!(
        file.entries[0].maintainers,
        ["Jane Doe <jane@example.com> (@jane)"]
    );
    assert_eq!(
        parse(&library::print(&file)).expect("canonical form parses"),
        file
    );

    let bad = "# maintainer: Jane Doe <jane@example.com> (@jane)\n1.0: git://example.com/r@main\n";
    let error = parse(bad).expect_err("a branch is not a commit");
    assert!(
        error.to_string().contains("Maintainers"),
        "the RFC 2822 reading's problems are the ones reported: {error}"
    );
}
