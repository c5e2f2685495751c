//! Malformed and hostile input: every bad record is reported with its file and reason, the
//! import goes on, and nothing panics.

use std::fs;

use scan::import::{import_reader, ImportReport};
use scan::{Format, Scheme, Version};

use crate::load;

#[test]
fn a_folder_of_bad_records_reports_each_and_keeps_the_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"{"id": "GOOD-1", "affected": [{"package": {"ecosystem": "npm", "name": "a"},
        "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}]}]}]}"#;
    // Nesting deep enough to overflow a naive recursive parser's stack.
    let deep = [
        &br#"{"id": "X", "database_specific": "#[..],
        &[b'['; 100_000],
    ]
    .concat();
    let files: [(&str, &[u8]); 7] = [
        ("a-truncated.json", b"{\"id\": \"X\", \"affected\": [{"),
        ("b-binary.json", b"\x00\xff\xfe\x01garbage"),
        ("c-wrong-types.yaml", b"id: 5\naffected: {package: 3}\n"),
        ("d-not-utf8.yaml", b"id: \xff\xfe\n"),
        ("e-deep.json", &deep),
        ("f-good.json", good.as_bytes()),
        ("README.txt", b"skipped: not a record"),
    ];
    for (name, bytes) in files {
        fs::write(dir.path().join(name), bytes).unwrap();
    }
    let (db, report) = load(Format::Osv, dir.path());
    let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        (report.files, report.advisories, problems.len()),
        (6, 1, 5),
        "{problems:#?}"
    );
    for (problem, name) in problems.iter().zip([
        "a-truncated",
        "b-binary",
        "c-wrong-types",
        "d-not-utf8",
        "e-deep",
    ]) {
        assert!(problem.contains(name), "{problem}");
    }
    assert!(problems[4].contains("recursion limit"), "{}", problems[4]);
    assert_eq!(db.advisories()[0].id, "GOOD-1");
}

#[cfg(unix)]
#[test]
fn symbolic_links_are_not_followed() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("x.json"), br#"{"id": "OUTSIDE"}"#).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("x.json"), dir.path().join("y.json")).unwrap();
    let (db, report) = load(Format::Osv, dir.path());
    assert_eq!((report.files, db.advisories().len()), (0, 0));
}

#[test]
fn secdb_and_tracker_reject_wrong_shapes() {
    for (format, name, text, expect) in [
        (
            Format::AlpineSecdb,
            "main.yaml",
            "packages: []\n",
            "missing field `distroversion`",
        ),
        (Format::AlpineSecdb, "main.json", "[]", "JSON"),
        (
            Format::DebianTracker,
            "debian.json",
            "[1, 2]",
            "expected an object of source packages",
        ),
        (
            Format::DebianTracker,
            "debian.json",
            "{\"pkg\": {}} trailing",
            "trailing characters",
        ),
    ] {
        let mut report = ImportReport::default();
        import_reader(format, name, text.as_bytes(), &mut |_| {}, &mut report);
        let problem = report
            .problems
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(
            problem.starts_with(name) && problem.contains(expect),
            "{problem}"
        );
    }
}

#[test]
fn huge_and_odd_versions_are_errors_not_panics() {
    let long = "1.".repeat(50_000) + "1";
    for scheme in [
        Scheme::Dpkg,
        Scheme::Apk,
        Scheme::Rpm,
        Scheme::Pep440,
        Scheme::Semver,
        Scheme::Maven,
    ] {
        for input in [
            "",
            "\u{0}",
            "1:",
            "-",
            "~",
            "+",
            "9".repeat(400).as_str(),
            long.as_str(),
            "1.0\u{202e}",
        ] {
            // Each either parses or is rejected; the message names the scheme.
            if let Err(e) = Version::parse(scheme, input) {
                assert_eq!(e.scheme, scheme);
                assert!(e.to_string().len() < 300, "messages stay short: {e}");
            }
        }
    }
}
