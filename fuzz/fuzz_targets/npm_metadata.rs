//! Any bytes given to the npm `package.json` and lockfile parsers must not panic (both read
//! JSON, so one input exercises both).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scan::analyzer::{npm, purl};

fuzz_target!(|data: &[u8]| {
    if let Some(found) = npm::parse_package_json(data) {
        let _ = purl(&found, None);
    }
    for found in npm::parse_lockfile(data).unwrap_or_default() {
        let _ = purl(&found, None);
    }
});
