//! Any bytes given to the importer of OSV records must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scan::import::Format;

mod common;

fuzz_target!(|data: &[u8]| common::import_and_match(Format::Osv, data));
