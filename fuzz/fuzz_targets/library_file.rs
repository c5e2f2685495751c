//! Any bytes given to the library file parser give a model or diagnostics, never a panic, and
//! every model survives the canonical printer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(file) = library::parse(&text) {
        let printed = library::print(&file);
        let reparsed = library::parse(&printed).expect("canonical form parses");
        assert_eq!(reparsed, file);
    }
});
