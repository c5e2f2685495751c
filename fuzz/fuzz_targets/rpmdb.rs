//! Any bytes given to the rpm database reader (as an SQLite file) or to the rpm header parser
//! (as one header blob) must give packages or an error, never a panic nor unbounded memory;
//! the purls of what they find must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scan::analyzer::rpm::{parse_rpmdb, Header};
use scan::analyzer::{purl, OsRelease};

fuzz_target!(|data: &[u8]| {
    let os = OsRelease::parse("ID=rhel\nVERSION_ID=9.4\n");
    if let Ok((packages, _owned)) = parse_rpmdb(data) {
        for found in &packages {
            let _ = purl(found, Some(&os));
        }
    }
    if let Ok(header) = Header::parse(data) {
        if let Ok(Some(found)) = header.package() {
            let _ = purl(&found, Some(&os));
        }
        let _ = header.files();
    }
});
