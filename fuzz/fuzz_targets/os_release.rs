//! Any bytes given to the os-release parser must not panic, nor the release keys and purl
//! qualifiers derived from what it read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scan::analyzer::OsRelease;

fuzz_target!(|data: &[u8]| {
    let os = OsRelease::parse(&String::from_utf8_lossy(data));
    let _ = (os.ecosystem(), os.release(), os.purl_distro());
});
