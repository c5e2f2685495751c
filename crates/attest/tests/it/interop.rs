//! Envelopes made elsewhere: one signed by OpenSSL (through Python's cryptography) with its own
//! JSON spacing and a high-S signature, read, verified and kept byte for byte.

use attest::dsse::Envelope;
use attest::keyset::KeySet;
use attest::verify::{verify, Evidence, Target, TargetKind};
use attest::PublicKey;

use crate::fixture::{at, digest_of};

const ENVELOPE: &[u8] = include_bytes!("../data/openssl-envelope.json");
const PUBLIC_KEY: &str = include_str!("../data/openssl-envelope.pub");

#[test]
fn envelopes_from_openssl_verify_and_keep_their_bytes() {
    let key = PublicKey::from_pem(PUBLIC_KEY).unwrap();
    let envelope = Envelope::from_json(ENVELOPE).unwrap();
    let signature = &envelope.signatures[0];
    assert_eq!(
        signature.keyid,
        key.key_id(),
        "the same key id from another implementation"
    );
    assert!(envelope.verifies_with(signature, &key));
    assert!(String::from_utf8_lossy(&envelope.payload).contains("\n \"subject\": ["));

    let rewritten = Envelope::from_json(&envelope.to_json()).unwrap();
    assert_eq!(rewritten.payload, envelope.payload);
    assert!(rewritten.verifies_with(&rewritten.signatures[0], &key));

    let digest = digest_of(b"hello");
    let target = Target {
        repository: "library/hello",
        digest: &digest,
        kind: TargetKind::Image,
        tier: Some(oci::TrustTier::Official),
    };
    let evidence = [Evidence::Attestation(envelope)];
    let report = verify(
        &target,
        &evidence,
        &KeySet::single(key),
        None,
        at("2026-01-01T00:00:00Z"),
    );
    assert_eq!(report.attestations.len(), 1, "{report:#?}");
    assert_eq!(
        report.attestations[0].predicate_type,
        "https://example.com/test/v1"
    );
}
