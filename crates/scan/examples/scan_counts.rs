//! Scans one image and prints the packages of each kind it holds (`name version`), as JSON, for the side-by-side
//! benchmark with Syft and Trivy (`bench/scan.sh`): the same work as `hallmark scan` without
//! matching or printing a report, and without a layer cache, so every layer is read.
//!
//! Usage: `cargo run --release -p scan --example scan_counts -- docker-archive:PATH`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use scan::cache::NoCache;
use scan::image::source::{scan, ImageSource, ScanOptions};

fn main() -> ExitCode {
    let Some(name) = std::env::args().nth(1) else {
        eprintln!("usage: scan_counts IMAGE (oci:PATH[:TAG], docker-archive:PATH, dir:PATH)");
        return ExitCode::FAILURE;
    };
    let images = match ImageSource::parse(&name)
        .map_err(|e| e.to_string())
        .and_then(|source| {
            scan(&source, &ScanOptions::default(), &NoCache).map_err(|e| e.to_string())
        }) {
        Ok(images) => images,
        Err(e) => {
            eprintln!("scan_counts: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for image in &images {
        for package in &image.inventory.packages {
            found
                .entry(format!("{:?}", package.kind).to_lowercase())
                .or_default()
                .push(format!(
                    "{} {}",
                    package.package.name, package.package.version
                ));
        }
    }
    println!("{}", serde_json::to_string(&found).unwrap_or_default());
    ExitCode::SUCCESS
}
