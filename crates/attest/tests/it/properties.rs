//! Properties of PAE and envelopes over arbitrary payloads and types.

use std::sync::OnceLock;

use attest::dsse::{pae, Envelope};
use attest::PrivateKey;
use proptest::prelude::*;

fn key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate().unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn envelopes_round_trip_byte_for_byte(payload in proptest::collection::vec(any::<u8>(), 0..512), payload_type in "\\PC{0,40}") {
        let envelope = Envelope::sign(&payload_type, payload.clone(), key());
        let read = Envelope::from_json(&envelope.to_json()).unwrap();
        prop_assert_eq!(&read.payload, &payload);
        prop_assert!(read.verifies_with(&read.signatures[0], key().public_key()));
        prop_assert_eq!(read, envelope);
    }

    #[test]
    fn pae_is_injective(a_type in "\\PC{0,8}", a in proptest::collection::vec(any::<u8>(), 0..16),
                        b_type in "\\PC{0,8}", b in proptest::collection::vec(any::<u8>(), 0..16)) {
        prop_assume!((a_type.as_str(), a.as_slice()) != (b_type.as_str(), b.as_slice()));
        prop_assert_ne!(pae(&a_type, &a), pae(&b_type, &b));
    }

    #[test]
    fn envelope_parsing_never_panics(json in "\\PC{0,200}") {
        let _ = Envelope::from_json(json.as_bytes());
    }
}
