//! Verification end to end, as a table: each case changes one thing about a correctly signed
//! image and names the one reason it must be rejected with (or `ok`).

use attest::cosign::{Bundle, SimpleSigning};
use attest::dsse::Envelope;
use attest::policy::{Category, PolicySet};
use attest::verify::{verify, Evidence, Outcome, Report, Target, TargetKind};
use attest::PrivateKey;
use oci::TrustTier;

use crate::fixture::{at, Signed, REPOSITORY};

const STRICT: &str = r#"
[[policy]]
name = "official"
scopes = ["library/*"]
level = "strict"
source-repository = "https://github.com/docker-library/python"
commit = "0123456789ABCDEF0123456789abcdef01234567"
builder-id = "https://hallmark.test/builders/official"
minimum-tier = "official"
"#;

struct Case {
    name: &'static str,
    /// Changes the evidence of a correctly signed image.
    evidence: fn(&Signed) -> Vec<Evidence>,
    /// TOML lines added to the signing key's key set entry.
    key_lines: &'static str,
    /// The policy file (replacing `strict` with the level under test, when there is one).
    policy: String,
    tier: Option<TrustTier>,
    expected: &'static str,
}

fn case(
    name: &'static str,
    evidence: fn(&Signed) -> Vec<Evidence>,
    expected: &'static str,
) -> Case {
    Case {
        name,
        evidence,
        key_lines: "",
        policy: STRICT.to_owned(),
        tier: Some(TrustTier::Official),
        expected,
    }
}

fn flip_last_byte(bytes: &mut [u8]) {
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
}

fn bundle_with_flipped_signature(signed: &Signed) -> Vec<Evidence> {
    let Evidence::Bundle(mut bundle) = signed.bundle() else {
        unreachable!()
    };
    flip_last_byte(&mut bundle.dsse_envelope.signatures[0].sig);
    vec![Evidence::Bundle(bundle)]
}

fn run(case: &Case) -> Report {
    let signed = Signed::new();
    let evidence = (case.evidence)(&signed);
    let keys = signed.keys(case.key_lines);
    let policies = PolicySet::from_toml(&case.policy).unwrap();
    let target = Target {
        repository: REPOSITORY,
        digest: &signed.digest,
        kind: TargetKind::Image,
        tier: case.tier,
    };
    verify(
        &target,
        &evidence,
        &keys,
        policies.for_repository(REPOSITORY),
        at("2027-01-01T00:00:00Z"),
    )
}

fn reason(report: &Report) -> String {
    match report.verdict() {
        Ok(()) => "ok".to_owned(),
        Err(failure) => {
            // The JSON tag and `reason()` are the same name, which the CLI relies on.
            let json = serde_json::to_value(failure).unwrap();
            assert_eq!(json["reason"], failure.reason());
            failure.reason().to_owned()
        }
    }
}

#[test]
fn each_change_is_rejected_with_its_own_reason() {
    let cases = vec![
        case("correctly signed and attested", Signed::evidence, "ok"),
        case("nothing found", |_| vec![], "not-signed"),
        case(
            "only an attestation, no signature: copied without it",
            |s| vec![Evidence::Attestation(s.provenance_envelope())],
            "signature-not-mirrored",
        ),
        case(
            "tampered simple-signing payload",
            |s| {
                let Evidence::SimpleSigning(mut signed) = s.simple_signing() else {
                    unreachable!()
                };
                signed.payload = String::from_utf8(signed.payload)
                    .unwrap()
                    .replace("\"optional\"", " \"optional\"")
                    .into_bytes();
                vec![Evidence::SimpleSigning(signed)]
            },
            "signature-invalid",
        ),
        case(
            "tampered attestation payload",
            |s| {
                let mut envelope = s.provenance_envelope();
                let text = String::from_utf8(envelope.payload).unwrap();
                envelope.payload = text
                    .replace("docker-library/python", "docker-library/pythoN")
                    .into_bytes();
                vec![s.bundle(), Evidence::Attestation(envelope)]
            },
            "signature-invalid",
        ),
        case(
            "flipped signature byte",
            bundle_with_flipped_signature,
            "signature-invalid",
        ),
        case(
            "flipped simple-signing signature byte",
            |s| {
                let Evidence::SimpleSigning(mut signed) = s.simple_signing() else {
                    unreachable!()
                };
                flip_last_byte(&mut signed.signature);
                vec![Evidence::SimpleSigning(signed)]
            },
            "signature-invalid",
        ),
        case(
            "simple signing of another claim type",
            |s| {
                let mut payload = SimpleSigning::new("r/p", &s.digest, s.signed_at);
                payload.critical.signature_type = "atomic container signature".into();
                vec![Evidence::SimpleSigning(payload.sign(&s.key))]
            },
            "claim-mismatch",
        ),
        case(
            "attestation signed under another payload type",
            |s| {
                let mut envelope = s.provenance_envelope();
                let payload = std::mem::take(&mut envelope.payload);
                let retyped = Envelope::sign("application/json", payload, &s.key);
                vec![s.bundle(), Evidence::Attestation(retyped)]
            },
            "claim-mismatch",
        ),
        case(
            "provenance in a bundle counts as an attestation, not a signature (so the signature is missing here)",
            |s| {
                vec![Evidence::Bundle(Bundle::wrap(
                    s.provenance_envelope(),
                    &s.key,
                ))]
            },
            "signature-not-mirrored",
        ),
        case(
            "signed with the wrong key",
            |s| {
                let stranger = PrivateKey::generate().unwrap();
                vec![Evidence::Bundle(Bundle::sign_image(
                    "r/p",
                    &s.digest,
                    s.signed_at,
                    &stranger,
                ))]
            },
            "untrusted-key",
        ),
        Case {
            key_lines: "valid-until = 2025-01-01T00:00:00Z",
            ..case("expired key", Signed::evidence, "key-expired")
        },
        Case {
            key_lines: "valid-from = 2025-07-01T00:00:00Z",
            ..case("key not yet valid", Signed::evidence, "key-expired")
        },
        Case {
            key_lines: "distrusted = true",
            ..case("distrusted key", Signed::evidence, "key-distrusted")
        },
        Case {
            key_lines: "valid-until = 2025-12-31T00:00:00Z",
            ..case(
                "key retired after it signed (rotation)",
                Signed::evidence,
                "ok",
            )
        },
        case(
            "statement whose subject is another digest",
            |s| vec![s.another_image().bundle()],
            "claim-mismatch",
        ),
        case(
            "simple signing of another digest",
            |s| vec![s.another_image().simple_signing()],
            "claim-mismatch",
        ),
        Case {
            policy: STRICT.replace("docker-library/python", "someone-else/python"),
            ..case(
                "provenance from an unexpected repository",
                Signed::evidence,
                "provenance-mismatch",
            )
        },
        Case {
            policy: STRICT.replace("builders/official", "builders/laptop"),
            ..case(
                "provenance from an unexpected builder",
                Signed::evidence,
                "provenance-mismatch",
            )
        },
        case(
            "no provenance where the policy wants one",
            |s| vec![s.bundle()],
            "provenance-mismatch",
        ),
        Case {
            tier: Some(TrustTier::Community),
            ..case("tier below policy", Signed::evidence, "tier-below-policy")
        },
        Case {
            tier: None,
            ..case("a registry without tiers", Signed::evidence, "tier-unknown")
        },
        Case {
            tier: None,
            policy: STRICT.replace("minimum-tier = \"official\"", ""),
            ..case("no tier needed, none known", Signed::evidence, "ok")
        },
        Case {
            policy: STRICT.replace("strict", "permissive"),
            key_lines: "distrusted = true",
            ..case(
                "permissive records a distrusted key",
                Signed::evidence,
                "ok",
            )
        },
        Case {
            policy: STRICT.replace("strict", "audit"),
            tier: Some(TrustTier::Community),
            ..case(
                "audit records an unsigned community image",
                |_| vec![],
                "ok",
            )
        },
        Case {
            policy: STRICT.replace("strict", "audit"),
            ..case(
                "audit still rejects a broken signature",
                bundle_with_flipped_signature,
                "signature-invalid",
            )
        },
        Case {
            policy: STRICT.replace("library/*", "acme/*"),
            tier: Some(TrustTier::Community),
            ..case(
                "no policy in scope: signatures only",
                |s| vec![s.simple_signing()],
                "ok",
            )
        },
    ];
    let mut wrong = Vec::new();
    for case in &cases {
        let report = run(case);
        let actual = reason(&report);
        if actual != case.expected {
            wrong.push(format!(
                "{}: expected {}, got {actual}\n{report:#?}",
                case.name, case.expected
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn a_passing_report_lists_every_check_it_made() {
    let report = run(&case("all", Signed::evidence, "ok"));
    assert_eq!(report.policy, "official");
    let categories: Vec<Category> = report.checks.iter().map(|check| check.category).collect();
    for category in [
        Category::Integrity,
        Category::Authenticity,
        Category::KeyValidity,
        Category::Provenance,
        Category::Tier,
    ] {
        assert!(
            categories.contains(&category),
            "{category:?} missing from {report:#?}"
        );
    }
    assert!(
        report
            .checks
            .iter()
            .all(|check| matches!(check.outcome, Outcome::Passed { .. })),
        "{report:#?}"
    );
    let types: Vec<&str> = report
        .attestations
        .iter()
        .map(|found| found.predicate_type.as_str())
        .collect();
    assert_eq!(types, ["https://slsa.dev/provenance/v1"]);
    assert_eq!(report.attestations[0].key, "release");
    // The report is what `--format json` prints.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["checks"][0]["outcome"], "passed", "{json:#}");
}

#[test]
fn logged_failures_stay_visible() {
    let report = run(&Case {
        policy: STRICT.replace("strict", "permissive"),
        key_lines: "valid-until = 2025-01-01T00:00:00Z",
        ..case("permissive", Signed::evidence, "ok")
    });
    assert_eq!(report.verdict(), Ok(()));
    let logged = report
        .checks
        .iter()
        .filter(|check| matches!(check.outcome, Outcome::Logged { .. }))
        .count();
    assert_eq!(logged, 3, "one per signed item: {report:#?}");
}
