//! Any bytes given to the Python core-metadata parser must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scan::analyzer::{purl, python};

fuzz_target!(|data: &[u8]| {
    if let Some(found) = python::parse_metadata(&String::from_utf8_lossy(data)) {
        let _ = purl(&found, None);
    }
});
