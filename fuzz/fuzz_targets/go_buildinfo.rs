//! Any bytes given to the executable reader (as an ELF file held whole, and streamed past
//! with a file limit below its size) or to the Go build info parser (as a header) must give
//! packages or problems, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scan::analyzer::binary::{analyze_elf, read_binary};
use scan::analyzer::go_buildinfo::{packages, read};
use scan::analyzer::purl;

fuzz_target!(|data: &[u8]| {
    for found in analyze_elf(data, 1 << 16).packages {
        let _ = purl(&found, None);
    }
    let _ = read_binary(&mut &data[..], data.len() as u64, 64);
    if let Ok(info) = read(data, None) {
        let _ = packages(&info);
    }
});
