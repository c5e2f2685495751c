//! Any bytes given to the reader of rpm's NDB `Packages.db` file must give packages or an
//! error, never a panic nor memory beyond the list of its slots; the purls of what it finds
//! must not panic either. Seed: a one-package database written by rpm 4.16's `ndb` backend.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scan::analyzer::rpm::parse_ndb;
use scan::analyzer::{purl, OsRelease};

fuzz_target!(|data: &[u8]| {
    let os = OsRelease::parse("ID=sles\nVERSION_ID=15.5\n");
    if let Ok((packages, _owned)) = parse_ndb(data) {
        for found in &packages {
            let _ = purl(found, Some(&os));
        }
    }
});
