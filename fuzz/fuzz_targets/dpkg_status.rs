//! Any bytes given to the dpkg status and file-list parsers must not panic, nor the purls of
//! the packages they find.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scan::analyzer::{dpkg, purl, OsRelease};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let os = OsRelease::parse("ID=debian\nVERSION_ID=12\n");
    for found in dpkg::parse_status(&text) {
        let _ = purl(&found, Some(&os));
    }
    let _ = dpkg::parse_file_list(&text);
});
