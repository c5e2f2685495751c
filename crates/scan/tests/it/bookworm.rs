//! End to end over real parts: a Debian bookworm root filesystem from `debootstrap
//! --variant=minbase`, a layer of old pip packages and a layer of old npm packages, assembled
//! as an OCI layout and scanned. Every package dpkg-query, pip and `npm ls` say is installed
//! must be found in its own layer, with the advisories the real test data holds for it.
//!
//! The three folders are built once under `target/scan-e2e` (debootstrap takes minutes; the
//! root filesystem is the one every test binary shares, see the `fixture-cache` crate) and
//! reused; delete them to rebuild.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use fixture_cache::{bookworm_minbase, cached};
use scan::image::source::{scan, ImageSource, ScanOptions};
use scan::{AdvisoryDb, Ecosystem, Format, MemoryCache, Status};

use crate::fixtures::{self, run};

const PIP: &[&str] = &[
    "requests==2.25.0",
    "urllib3==1.26.4",
    "Jinja2==2.11.2",
    "idna==2.10",
    "certifi==2020.12.5",
    "sqlparse==0.4.1",
    "Django==3.2",
    "chardet==3.0.4",
];
const NPM: &[&str] = &[
    "lodash@4.17.15",
    "minimist@1.2.5",
    "handlebars@4.7.6",
    "express@4.17.1",
    "qs@6.7.0",
];
const SITE_PACKAGES: &str = "usr/local/lib/python3.11/site-packages";
const APP: &str = "srv/app";

fn pip_layer() -> PathBuf {
    cached("pip-layer", |dir| {
        run(Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--target",
            ])
            .arg(dir.join(SITE_PACKAGES))
            .args(PIP));
    })
}

fn npm_layer() -> PathBuf {
    cached("npm-layer", |dir| {
        run(Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--save-exact",
                "--prefix",
            ])
            .arg(dir.join(APP))
            .args(NPM));
    })
}

/// The folder as a tar stream, written by GNU tar as image builders do.
fn tar_of(dir: &Path) -> Vec<u8> {
    let output = Command::new("tar")
        .args(["--numeric-owner", "--sort=name", "-C"])
        .arg(dir)
        .args(["-cf", "-", "."])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn gzip_fast(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

pub fn advisories() -> AdvisoryDb {
    let mut db = AdvisoryDb::new();
    let mut report = scan::ImportReport::default();
    let debian12 = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/debian12");
    for (format, dir) in [
        (Format::Osv, crate::testdata("pypi/vulns")),
        (Format::Osv, crate::testdata("npm")),
        (Format::Osv, debian12),
    ] {
        let r = scan::import_path(format, &dir, &mut |a| db.insert(a)).unwrap();
        report.advisories += r.advisories;
    }
    db
}

/// Writes the image (the minbase root filesystem, the pip layer and the npm layer) as an OCI
/// layout in `layout`, tagged `e2e`, building the parts first if they are not cached.
pub fn write_layout(layout: &Path) {
    let (rootfs, pip, npm) = (bookworm_minbase(), pip_layer(), npm_layer());
    let base = tar_of(&rootfs);
    let python = tar_of(&pip);
    let node = tar_of(&npm);
    let manifest = fixtures::image(
        layout,
        "amd64",
        &[
            (
                base.clone(),
                gzip_fast(&base),
                "debootstrap --variant=minbase bookworm",
            ),
            (
                python.clone(),
                gzip_fast(&python),
                "RUN pip install requests==2.25.0 …",
            ),
            (
                node.clone(),
                fixtures::zstd(&node),
                "RUN npm install lodash@4.17.15 …",
            ),
        ],
    );
    fixtures::index(layout, vec![manifest], "e2e");
}

#[test]
#[ignore = "needs debootstrap, pip and npm"]
fn bookworm_minbase_with_pip_and_npm_layers() {
    let (rootfs, npm) = (bookworm_minbase(), npm_layer());
    let layout = tempfile::tempdir().unwrap();
    write_layout(layout.path());
    let source = ImageSource::parse(&format!("oci:{}:e2e", layout.path().display())).unwrap();
    let images = scan(&source, &ScanOptions::default(), &MemoryCache::new()).unwrap();
    let inventory = &images[0].inventory;
    assert_eq!(
        inventory.os.as_ref().and_then(|o| o.release()).as_deref(),
        Some("12")
    );
    assert!(inventory.problems.is_empty(), "{:?}", inventory.problems);

    let found = |ecosystem: Ecosystem, layer: usize| -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for p in inventory
            .packages
            .iter()
            .filter(|p| p.package.ecosystem == ecosystem)
        {
            assert_eq!(p.layer, layer, "{} {}", p.package.name, p.path);
            out.insert(format!("{} {}", p.package.name, p.package.version));
        }
        out
    };
    // dpkg-query over the same database is the reference for what is installed.
    let admin = rootfs.join("var/lib/dpkg");
    let dpkg: BTreeSet<String> = run(Command::new("dpkg-query")
        .arg(format!("--admindir={}", admin.display()))
        .args(["-W", "-f", "${db:Status-Status} ${Package} ${Version}\\n"]))
    .lines()
    .filter_map(|l| l.strip_prefix("installed "))
    .map(str::to_owned)
    .collect();
    assert!(dpkg.len() > 80, "{}", dpkg.len());
    assert_eq!(found(Ecosystem::Debian, 0), dpkg);

    let pip_expected: BTreeSet<String> = PIP.iter().map(|p| p.replace("==", " ")).collect();
    assert_eq!(found(Ecosystem::PyPI, 1), pip_expected);

    // `npm ls` lists every installed package folder once; the scan finds one per folder.
    let npm_ls = run(Command::new("npm")
        .args(["ls", "--all", "--parseable", "--prefix"])
        .arg(npm.join(APP)));
    let mut folders: BTreeSet<PathBuf> = npm_ls.lines().skip(1).map(PathBuf::from).collect();
    folders.retain(|f| f.join("package.json").exists());
    let scanned: BTreeSet<PathBuf> = inventory
        .packages
        .iter()
        .filter(|p| p.package.ecosystem == Ecosystem::Npm)
        .map(|p| npm.join(Path::new(&p.path).parent().unwrap()))
        .collect();
    assert_eq!(scanned, folders);
    let npm_found = found(Ecosystem::Npm, 2);
    for wanted in NPM {
        assert!(npm_found.contains(&wanted.replace('@', " ")), "{wanted}");
    }

    let db = advisories();
    let matches = inventory.match_advisories(&db);
    assert!(matches.unparsable.is_empty(), "{:?}", matches.unparsable);
    let mut per_package: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for f in &matches.findings {
        let p = &inventory.packages[f.package];
        if p.package.ecosystem == Ecosystem::Debian {
            assert_eq!(f.status, Status::Unfixed, "{}", f.advisory.id);
        }
        per_package
            .entry(p.package.name.clone())
            .or_default()
            .insert(&f.advisory.id);
    }
    let counts: BTreeMap<&str, usize> = per_package
        .iter()
        .map(|(k, v)| (k.as_str(), v.len()))
        .collect();
    // The PyPI counts are the test data README's, from a naive evaluation with `packaging`.
    let expected = BTreeMap::from([
        ("apt", 1),
        // Built from the apt source package, so the advisory reaches it through `Source:`.
        ("libapt-pkg6.0", 1),
        ("tar", 1),
        ("requests", 1),
        ("urllib3", 3),
        ("Jinja2", 1),
        ("Django", 25),
        ("idna", 1),
        ("certifi", 2),
        ("sqlparse", 2),
        ("lodash", 2),
        ("minimist", 1),
        ("handlebars", 1),
        ("express", 1),
        ("qs", 1),
    ]);
    assert_eq!(counts, expected);
}
