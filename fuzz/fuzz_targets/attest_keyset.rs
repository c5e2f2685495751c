//! Any text read as a key set, a verification policy, a public key or a timestamp is refused
//! or read without a panic; a policy that reads answers scope questions without a panic.
#![no_main]

use attest::keyset::KeySet;
use attest::policy::PolicySet;
use attest::{PublicKey, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(keys) = KeySet::from_toml(&text) {
        for key in keys.keys() {
            let _ = key.judge(Timestamp::from_unix_seconds(0));
        }
    }
    if let Ok(policies) = PolicySet::from_toml(&text) {
        for repository in ["library/python", "acme/app", "x"] {
            let _ = policies.for_repository(repository);
        }
    }
    let _ = PublicKey::from_pem(&text);
    if let Ok(stamp) = text.parse::<Timestamp>() {
        assert_eq!(stamp.to_string().parse::<Timestamp>(), Ok(stamp));
    }
});
