//! Any bytes given to the streaming Debian security tracker importer give advisories or
//! reported problems, never a panic; whatever imports can be matched.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scan::import::{import_reader, Format, ImportReport};

mod common;

fuzz_target!(|data: &[u8]| {
    let mut report = ImportReport::default();
    let mut advisories = Vec::new();
    import_reader(
        Format::DebianTracker,
        "debian.json",
        data,
        &mut |a| advisories.push(a),
        &mut report,
    );
    common::match_everything(advisories);
});
