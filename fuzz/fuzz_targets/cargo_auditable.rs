//! Any bytes given to the cargo-auditable reader (as a compressed `.dep-v0` section) must give
//! crates or an error within the inflation limit, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scan::analyzer::cargo_auditable::parse_section;
use scan::analyzer::purl;

fuzz_target!(|data: &[u8]| {
    if let Ok(crates) = parse_section(data, 1 << 16) {
        for found in &crates {
            let _ = purl(found, None);
        }
    }
});
