//! Any bytes given to the reader of rpm's Berkeley DB `Packages` file must give packages or an
//! error, never a panic, a hang on a cyclic overflow chain, nor memory beyond the file's size;
//! the purls of what it finds must not panic either. Seeds: one-package databases in both byte
//! orders, written by `db5.3_load` with the header blob of a package built by `rpmbuild`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scan::analyzer::rpm::parse_bdb;
use scan::analyzer::{purl, OsRelease};

fuzz_target!(|data: &[u8]| {
    let os = OsRelease::parse("ID=centos\nVERSION_ID=7\n");
    if let Ok((packages, _owned)) = parse_bdb(data) {
        for found in &packages {
            let _ = purl(found, Some(&os));
        }
    }
});
