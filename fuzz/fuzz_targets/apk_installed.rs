//! Any bytes given to the apk installed-database parser must not panic, nor the purls of the
//! packages it finds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scan::analyzer::{apk, purl, OsRelease};

fuzz_target!(|data: &[u8]| {
    let os = OsRelease::parse("ID=alpine\nVERSION_ID=3.20.3\n");
    for found in apk::parse_installed(&String::from_utf8_lossy(data)) {
        let _ = purl(&found, Some(&os));
    }
});
