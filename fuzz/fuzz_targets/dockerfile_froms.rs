//! Any bytes given to the Dockerfile FROM extractor give images or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = library::dockerfile_froms(&String::from_utf8_lossy(data));
});
