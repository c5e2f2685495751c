//! Any bytes given to the access-token verifier are refused or accepted without a panic; random
//! bytes never carry a valid signature, so they are always refused.
#![no_main]

use std::sync::{Arc, OnceLock};

use access::clock::ManualClock;
use access::token::{TokenKey, TokenVerifier};
use libfuzzer_sys::fuzz_target;

fn verifier() -> &'static TokenVerifier {
    static VERIFIER: OnceLock<TokenVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let key = TokenKey::from_secret_bytes(&[7; 32]).expect("a valid fixed key");
        let clock = Arc::new(ManualClock::at_unix_seconds(1_700_000_000));
        TokenVerifier::new("issuer", "service", vec![key.public_key().clone()], clock)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    assert!(verifier().verify(&text).is_err());
});
