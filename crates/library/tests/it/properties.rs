//! Properties of the parser over generated input: it never panics, and whatever it accepts
//! survives `parse → print → parse` unchanged.

use library::{parse, print};
use proptest::prelude::*;

/// Lines that are likely to matter to the parser: real fields with good and bad values,
/// overrides, comments, continuations and blank lines.
fn library_line() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        Just("Maintainers"),
        Just("Tags"),
        Just("SharedTags"),
        Just("Architectures"),
        Just("GitRepo"),
        Just("GitFetch"),
        Just("GitCommit"),
        Just("Directory"),
        Just("File"),
        Just("Builder"),
        Just("Constraints"),
        Just("arm64v8-GitCommit"),
        Just("s390x-Directory"),
        Just("windows-amd64-File"),
        Just("bogus-GitCommit"),
    ];
    let value = prop_oneof![
        Just("Jane Doe <j@example.com> (@jane)".to_owned()),
        Just("amd64, arm64v8".to_owned()),
        Just("windows-amd64".to_owned()),
        Just("refs/heads/main".to_owned()),
        Just("0123abc".to_owned()),
        Just("buildkit".to_owned()),
        Just("1, 1.0, latest".to_owned()),
        Just("./a/../b/".to_owned()),
        Just(String::new()),
        "[ -~]{0,12}",
    ];
    prop_oneof![
        4 => (field, value).prop_map(|(f, v)| format!("{f}: {v}")),
        1 => Just(String::new()),
        1 => Just("# comment".to_owned()),
        1 => "[ \t][ -~]{0,10}",
        1 => "[ -~]{0,16}",
    ]
}

fn assert_round_trip(text: &str) {
    if let Ok(file) = parse(text) {
        let printed = print(&file);
        let reparsed = parse(&printed)
            .unwrap_or_else(|e| panic!("canonical form does not parse:\n{e}\n---\n{printed}"));
        assert_eq!(
            reparsed, file,
            "canonical form changes the model:\n{printed}"
        );
    }
}

/// Inputs the fuzzer found, kept so they stay fixed.
#[test]
fn fuzzer_findings_round_trip() {
    let findings: &[&[u8]] = &[
        // A maintainer folded across lines printed back with its line break inside.
        b"Maintainers: A <a@example.com> (@a),\n \x81\0\x06  B (@b),\x03\0\x80\n   \xea\xdf  C (@c)\nGitRepo: https://example.com/r.git\n",
    ];
    for input in findings {
        assert_round_trip(&String::from_utf8_lossy(input));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_bytes_give_a_model_or_a_diagnostic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        assert_round_trip(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn library_shaped_text_round_trips(lines in proptest::collection::vec(library_line(), 0..40)) {
        assert_round_trip(&lines.join("\n"));
    }

    #[test]
    fn every_diagnostic_points_at_a_line_of_the_input(lines in proptest::collection::vec(library_line(), 0..40)) {
        let text = lines.join("\n");
        if let Err(error) = parse(&text) {
            prop_assert!(!error.diagnostics.is_empty());
            let line_count = text.lines().count().max(1);
            for diagnostic in &error.diagnostics {
                prop_assert!((1..=line_count).contains(&diagnostic.line), "{diagnostic} outside 1..={line_count}");
            }
        }
    }
}
