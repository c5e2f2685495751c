//! Any bytes given to the Java archive reader (as a zip, with nested archives under a small
//! budget) or to the manifest and properties parsers (as text) must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scan::analyzer::java::{java_properties, manifest_fields, parse_archive};
use scan::analyzer::purl;

fuzz_target!(|data: &[u8]| {
    if let Ok(found) = parse_archive(data, 1 << 20) {
        for package in &found {
            let _ = purl(package, None);
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = manifest_fields(&text);
    let _ = java_properties(&text);
});
