//! Parse and validate every real library file, many times, and report the time per pass.
//!
//! Run with `cargo bench -p library --bench parse_folder`. The files are read into memory
//! first, so the number is the parser's, not the disk's.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

const PASSES: usize = 200;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/official-images-library");
    let mut texts = Vec::new();
    for entry in fs::read_dir(&dir).expect("read the testdata folder") {
        let path = entry.expect("folder entry").path();
        if path.file_name().is_some_and(|n| n != "README.txt") {
            texts.push(fs::read_to_string(&path).expect("read a library file"));
        }
    }
    let bytes: usize = texts.iter().map(String::len).sum();

    let mut times: Vec<Duration> = (0..PASSES)
        .map(|_| {
            let start = Instant::now();
            for text in &texts {
                std::hint::black_box(
                    library::parse(std::hint::black_box(text)).expect("real files parse"),
                );
            }
            start.elapsed()
        })
        .collect();
    times.sort();
    let median = times[PASSES / 2];
    println!(
        "parse+validate {} files ({} KiB): median {:.2} ms, min {:.2} ms per pass over {PASSES} passes ({:.0} MiB/s)",
        texts.len(),
        bytes / 1024,
        median.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        bytes as f64 / median.as_secs_f64() / (1024.0 * 1024.0),
    );
}
