//! Any bytes given to the Alpine secdb importer (as JSON when they start with `{`, else as
//! YAML) give advisories or reported problems, never a panic; whatever imports can be matched.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scan::import::{import_reader, Format, ImportReport};

mod common;

fuzz_target!(|data: &[u8]| {
    let name = if data.first() == Some(&b'{') {
        "main.json"
    } else {
        "main.yaml"
    };
    let mut report = ImportReport::default();
    let mut advisories = Vec::new();
    import_reader(
        Format::AlpineSecdb,
        name,
        data,
        &mut |a| advisories.push(a),
        &mut report,
    );
    common::match_everything(advisories);
});
