//! Any bytes given to the native builder's Dockerfile parser give instructions or an error
//! naming a line of the input, never a panic; whatever parses can be judged buildable or not.
#![no_main]

use build::native::{native_instructions, parse_dockerfile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count().max(1);
    if let Ok(instructions) = parse_dockerfile(&text) {
        for instruction in &instructions {
            assert!((1..=lines).contains(&instruction.line), "{instruction:?}");
        }
    }
    let _ = native_instructions(&text);
});
