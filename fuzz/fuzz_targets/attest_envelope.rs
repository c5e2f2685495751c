//! Any bytes read as a DSSE envelope, a Sigstore bundle, an in-toto statement or a
//! simple-signing payload are refused or read without a panic; an envelope that reads
//! round-trips through JSON unchanged, and verification of whatever was read finishes with a
//! report and never accepts it (random bytes carry no valid signature).
#![no_main]

use std::sync::OnceLock;

use attest::cosign::{Bundle, SignedPayload, SimpleSigning};
use attest::dsse::Envelope;
use attest::keyset::KeySet;
use attest::statement::Statement;
use attest::verify::{verify, Evidence, Target, TargetKind};
use attest::{PrivateKey, Timestamp};
use libfuzzer_sys::fuzz_target;

fn keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = PrivateKey::generate().expect("the system random generator works");
        KeySet::single(key.public_key().clone())
    })
}

fuzz_target!(|data: &[u8]| {
    let mut evidence = Vec::new();
    if let Ok(envelope) = Envelope::from_json(data) {
        assert_eq!(Envelope::from_json(&envelope.to_json()).ok(), Some(envelope.clone()));
        evidence.push(Evidence::Attestation(envelope));
    }
    if let Ok(bundle) = Bundle::from_json(data) {
        evidence.push(Evidence::Bundle(bundle));
    }
    let _ = Statement::from_payload(data);
    if SimpleSigning::from_payload(data).is_ok() {
        let signed = SignedPayload { payload: data.to_vec(), signature: data.to_vec() };
        evidence.push(Evidence::SimpleSigning(signed));
    }
    let digest = oci::Digest::of(oci::DigestAlgorithm::Sha256, data);
    let target = Target {
        repository: "library/fuzz",
        digest: &digest,
        kind: TargetKind::Image,
        tier: Some(oci::TrustTier::Official),
    };
    let report = verify(&target, &evidence, keys(), None, Timestamp::from_unix_seconds(0));
    assert!(report.verdict().is_err());
});
