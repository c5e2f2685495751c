//! What a registry sends back is untrusted: any bytes given to the client's header parsers
//! (`WWW-Authenticate`, `Link`, `Retry-After`) or to the manifest parser give a value or an
//! error, never a panic, and every parsed challenge keeps its scheme and parameter names in
//! lowercase.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci::manifest::{Manifest, MediaType};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for challenge in client::header::Challenge::parse_all(&text) {
        assert_eq!(challenge.scheme, challenge.scheme.to_ascii_lowercase());
        assert!(challenge.params.keys().all(|k| *k == k.to_ascii_lowercase()));
    }
    if let Some(target) = client::header::next_link(&text) {
        assert!(text.contains(target));
    }
    let _ = client::header::retry_after(&text, std::time::SystemTime::UNIX_EPOCH);
    for declared in [None, Some(MediaType::OCI_MANIFEST), Some(MediaType::DOCKER_MANIFEST_LIST)] {
        if let Ok(manifest) = Manifest::parse(declared, data) {
            let _ = manifest.subject();
        }
    }
});
