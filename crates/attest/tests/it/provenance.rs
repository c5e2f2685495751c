//! Provenance says what the library entry says, architecture overrides included.

use attest::provenance::{Provenance, BUILD_TYPE, SLSA_PROVENANCE_V1};
use attest::statement::Statement;
use oci::Architecture;

use crate::fixture::{Signed, BUILDER_ID};

#[test]
fn provenance_follows_the_entry_for_each_architecture() {
    let signed = Signed::new();
    for (arch, commit) in [
        (
            Architecture::Amd64,
            "0123456789abcdef0123456789abcdef01234567",
        ),
        (
            Architecture::Arm64v8,
            "89abcdef0123456789abcdef0123456789abcdef",
        ),
    ] {
        let provenance = signed.provenance(arch);
        let json = serde_json::to_value(&provenance).unwrap();
        let expected = serde_json::json!({
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "GitRepo": "https://github.com/docker-library/python.git",
                    "GitFetch": "refs/heads/master",
                    "GitCommit": commit,
                    "Directory": "3.13/bookworm",
                    "File": "Dockerfile",
                    "Builder": "",
                    "Tags": ["3.13.1-bookworm", "3.13-bookworm"],
                    "SharedTags": ["3.13.1", "3.13"],
                    "arch": arch.to_string(),
                },
                "resolvedDependencies": [
                    {
                        "uri": "git+https://github.com/docker-library/python.git@refs/heads/master",
                        "digest": {"gitCommit": commit},
                    },
                    {
                        "name": "docker.io/library/buildpack-deps:bookworm",
                        "digest": {"sha256": crate::fixture::digest_of(b"parent").hex()},
                    },
                ],
            },
            "runDetails": {
                "builder": {"id": BUILDER_ID},
                "metadata": {
                    "invocationId": "run-42",
                    "startedOn": "2025-06-01T11:00:00Z",
                    "finishedOn": "2025-06-01T12:00:00Z",
                },
            },
        });
        assert_eq!(json, expected, "{arch}");

        let statement = provenance.statement("registry.test/library/python", &signed.digest);
        let read = Statement::from_payload(&statement.to_payload()).unwrap();
        assert_eq!(read.predicate_type, SLSA_PROVENANCE_V1);
        assert!(read.is_about(&signed.digest));
        assert_eq!(
            Provenance::from_statement(&read).unwrap().unwrap(),
            provenance
        );
    }
}

#[test]
fn the_build_type_names_the_page_that_defines_it() {
    let (_, page) = BUILD_TYPE
        .split_once("/blob/main/")
        .expect("a path in Hallmark's source tree");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(page);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        text.contains(BUILD_TYPE),
        "{} does not state its URI",
        path.display()
    );
    for field in [
        "GitRepo",
        "GitCommit",
        "Directory",
        "File",
        "Builder",
        "Tags",
        "arch",
    ] {
        assert!(
            text.contains(&format!("`{field}`")),
            "{field} is not documented"
        );
    }
}
