//! Re-matching 1,000 stored inventories of ~300 packages against the real advisory test data,
//! as `hallmark db import` must after new data arrives (goal: under 2 s).
//!
//! Run with `cargo bench -p scan --bench match_inventories`. Inventories are synthetic but
//! shaped like images: Alpine and Debian packages named after real source packages in the
//! data, plus PyPI, npm, Go and crates packages, about a third of them named in some advisory.
//! A fixed seed keeps every run matching the same inventories.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use scan::{import_path, AdvisoryDb, Ecosystem, Format, Package};

const INVENTORIES: usize = 1_000;
const PACKAGES: usize = 300;
const RUNS: usize = 5;

/// xorshift64: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn load(db: &mut AdvisoryDb) -> Duration {
    let root =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/advisories");
    let start = Instant::now();
    for (format, dir) in [
        (Format::Osv, "pypi"),
        (Format::Osv, "go"),
        (Format::Osv, "rust-crates"),
        (Format::Osv, "npm"),
        (Format::AlpineSecdb, "alpine-secdb"),
        (Format::DebianTracker, "debian-tracker-json/debian.json"),
    ] {
        import_path(format, &root.join(dir), &mut |a| db.insert(a)).expect("the test data opens");
    }
    start.elapsed()
}

/// Names per ecosystem taken from the advisories, so that lookups find something to compare.
fn names(db: &AdvisoryDb, ecosystem: Ecosystem) -> Vec<String> {
    let mut names: Vec<String> = db
        .advisories()
        .iter()
        .flat_map(|a| &a.affected)
        .filter(|a| a.ecosystem == ecosystem)
        .map(|a| a.name.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn inventory(rng: &mut Rng, known: &[(Ecosystem, Vec<String>)]) -> Vec<Package> {
    let mut packages = Vec::with_capacity(PACKAGES);
    for i in 0..PACKAGES {
        let (ecosystem, names) = &known[i % known.len()];
        let (major, minor, patch) = (rng.below(5), rng.below(30), rng.below(20));
        // Two in three packages are unknown to the advisories, as in real images.
        let name = if rng.below(3) == 0 {
            names[rng.below(names.len())].clone()
        } else {
            format!("pkg-{}", rng.below(5_000))
        };
        let (version, release) = match ecosystem {
            Ecosystem::Alpine => (
                format!("{major}.{minor}.{patch}-r{}", rng.below(4)),
                Some("v3.11".to_owned()),
            ),
            Ecosystem::Debian => (
                format!("{major}.{minor}.{patch}-{}", rng.below(4) + 1),
                Some("12".to_owned()),
            ),
            Ecosystem::Go => (format!("v{major}.{minor}.{patch}"), None),
            _ => (format!("{major}.{minor}.{patch}"), None),
        };
        let source = release.as_ref().map(|_| (name.clone(), None));
        packages.push(Package {
            ecosystem: *ecosystem,
            name,
            version,
            release,
            source,
        });
    }
    packages
}

fn main() {
    let mut db = AdvisoryDb::new();
    let import_time = load(&mut db);
    let known: Vec<(Ecosystem, Vec<String>)> = [
        Ecosystem::Alpine,
        Ecosystem::Debian,
        Ecosystem::PyPI,
        Ecosystem::Npm,
        Ecosystem::Go,
        Ecosystem::CratesIo,
    ]
    .into_iter()
    .map(|e| (e, names(&db, e)))
    .collect();
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let inventories: Vec<Vec<Package>> = (0..INVENTORIES)
        .map(|_| inventory(&mut rng, &known))
        .collect();

    let mut times = Vec::new();
    let mut findings = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        findings = inventories
            .iter()
            .map(|inv| db.match_inventory(inv).findings.len())
            .sum::<usize>();
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "imported {} advisories in {:.2?}; matched {INVENTORIES} inventories x {PACKAGES} packages \
         ({findings} findings): median {:.2?}, min {:.2?} over {RUNS} runs",
        db.advisories().len(),
        import_time,
        times[RUNS / 2],
        times[0],
    );
}
