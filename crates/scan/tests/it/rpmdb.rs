//! rpm's SQLite database, made by the real `rpm` tool: packages built with `rpmbuild` (one
//! with a file list long enough to spill into overflow pages, and enough of them that the
//! table needs interior pages), installed with `rpm --justdb`; the analyzer's packages must
//! be what `rpm -qa` prints, and the SQLite reader's rows what Python's sqlite3 module reads.

use std::path::{Path, PathBuf};
use std::process::Command;

use scan::analyzer::rpm::parse_rpmdb;
use scan::analyzer::sqlite::{Database, Value};
use scan::analyzer::Found;
use scan::image::analyze_layer;
use scan::{Inventory, LayerRef, Limits};

use crate::fixtures::{layer, metadata, run, Item};

const PACKAGES: usize = 40;

/// A spec whose main package owns a Python distribution's metadata and many files, with
/// `PACKAGES - 1` small subpackages beside it.
fn spec() -> String {
    let mut spec = String::from(
        "Name: hallmark-big\nVersion: 1.2.3\nRelease: 4.el9\nEpoch: 2\nSummary: t\n\
         License: MIT AND Apache-2.0\nBuildArch: noarch\n%description\nt\n",
    );
    for i in 1..PACKAGES {
        spec += &format!(
            "%package -n hallmark-small{i}\nSummary: t\nLicense: GPL-2.0-only\nVersion: 0.{i}\n\
             %description -n hallmark-small{i}\nt\n%files -n hallmark-small{i}\n/opt/small{i}\n"
        );
    }
    spec += "%install\nd=%{buildroot}/usr/lib/python3.9/site-packages/requests-2.25.0.dist-info\n\
             mkdir -p $d %{buildroot}/opt/many\n\
             printf 'Name: requests\\nVersion: 2.25.0\\n' > $d/METADATA\n\
             for i in $(seq 600); do touch %{buildroot}/opt/many/file-with-a-long-name-$i; done\n";
    for i in 1..PACKAGES {
        spec += &format!("touch %{{buildroot}}/opt/small{i}\n");
    }
    spec += "%files\n/usr/lib/python3.9/site-packages/requests-2.25.0.dist-info\n/opt/many\n";
    spec
}

/// Builds the packages and installs them into a fresh database; returns its file.
pub(crate) fn rpmdb(dir: &Path) -> PathBuf {
    let top = dir.join("rpmbuild");
    std::fs::create_dir_all(top.join("SPECS")).unwrap();
    let spec_path = top.join("SPECS/big.spec");
    std::fs::write(&spec_path, spec()).unwrap();
    run(Command::new("rpmbuild")
        .arg("--define")
        .arg(format!("_topdir {}", top.display()))
        .args(["--quiet", "-bb"])
        .arg(&spec_path));
    let db = dir.join("db");
    run(Command::new("rpm").arg("--initdb").arg("--dbpath").arg(&db));
    let rpms: Vec<PathBuf> = std::fs::read_dir(top.join("RPMS/noarch"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(rpms.len(), PACKAGES);
    run(Command::new("rpm")
        .args(["-i", "--nodeps", "--justdb", "--dbpath"])
        .arg(&db)
        .args(&rpms));
    db.join("rpmdb.sqlite")
}

/// What `rpm -qa` prints of the database in `dir` (`rpm` and its `args` first), one sorted
/// line per package.
pub(crate) fn query(dir: &Path, rpm: &[&str]) -> Vec<String> {
    let (program, args) = rpm.split_first().unwrap_or((&"rpm", &[]));
    let query = run(Command::new(program)
        .args(args)
        .args(["-qa", "--dbpath"])
        .arg(dir)
        .args([
            "--qf",
            "%{NAME} %|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE} %{ARCH} %{SOURCERPM} %{LICENSE}\\n",
        ]));
    let mut lines: Vec<String> = query.lines().map(Into::into).collect();
    lines.sort();
    lines
}

/// The analyzer's packages in [`query`]'s terms, sorted.
pub(crate) fn listing(packages: &[Found]) -> Vec<String> {
    let mut lines: Vec<String> = packages
        .iter()
        .map(|f| {
            let (source, source_version) = f.source.clone().unwrap();
            format!(
                "{} {} {} {source}-{}.src.rpm {}",
                f.name,
                f.version,
                f.arch.as_deref().unwrap(),
                source_version.unwrap().trim_start_matches("2:"),
                f.licenses.join(" ")
            )
        })
        .collect();
    lines.sort();
    lines
}

#[test]
#[ignore = "needs rpm"]
fn rpmdb_packages_match_rpm_query_and_python_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = rpmdb(dir.path());
    let data = std::fs::read(&db).unwrap();

    // The analyzer against `rpm -qa`.
    let (packages, owned) = parse_rpmdb(&data).expect("rpm's own database reads");
    assert_eq!(listing(&packages), query(db.parent().unwrap(), &[]));
    assert!(owned.contains(&"opt/many/file-with-a-long-name-600".to_owned()));
    assert!(owned.contains(&"opt/small39".to_owned()));

    // The SQLite reader against Python's sqlite3: every row id, blob length and digest.
    let python = run(Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3, hashlib, sys\n\
         c = sqlite3.connect(sys.argv[1])\n\
         for hnum, blob in c.execute('select hnum, blob from Packages order by hnum'):\n\
         \x20   print(hnum, len(blob), hashlib.sha256(blob).hexdigest())",
        )
        .arg(&db));
    let database = Database::open(&data).unwrap();
    let mut rows = String::new();
    database
        .walk_table(
            database.table_root("Packages").unwrap(),
            &mut |row, values| {
                let Value::Blob(blob) = values[1] else {
                    panic!("row {row} has no blob")
                };
                let digest = crate::fixtures::sha256(blob);
                rows += &format!("{row} {} {}\n", blob.len(), digest.hex());
            },
        )
        .unwrap();
    assert_eq!(rows, python);
    let largest = python
        .lines()
        .map(|l| l.split(' ').nth(1).unwrap().parse::<usize>().unwrap())
        .max();
    assert!(
        largest.unwrap() > 3 * 4096,
        "the big header spills over pages"
    );

    // In an image: the rpm packages with Red Hat purls, and the Python distribution that rpm
    // installed is not reported a second time.
    let os = b"ID=\"rhel\"\nVERSION_ID=\"9.4\"\n";
    let dist_info = "usr/lib/python3.9/site-packages/requests-2.25.0.dist-info/METADATA";
    let pip = "usr/local/lib/python3.9/site-packages/urllib3-1.26.4.dist-info/METADATA";
    let tar = layer(&[
        Item::File("etc/os-release", os),
        Item::File("var/lib/rpm/rpmdb.sqlite", &data),
        Item::File(dist_info, &metadata("requests", "2.25.0")),
        Item::File(pip, &metadata("urllib3", "1.26.4")),
    ]);
    let analysis = analyze_layer(&tar[..], &Limits::default()).unwrap();
    assert!(analysis.problems.is_empty(), "{:?}", analysis.problems);
    let inventory = Inventory::from_layers(&[(LayerRef::default(), &analysis)]);
    let purls: Vec<&str> = inventory.packages.iter().map(|p| p.purl.as_str()).collect();
    assert_eq!(purls.len(), PACKAGES + 1, "{purls:#?}");
    assert!(purls
        .contains(&"pkg:rpm/redhat/hallmark-big@1.2.3-4.el9?arch=noarch&distro=rhel-9.4&epoch=2"));
    assert!(purls.contains(&"pkg:pypi/urllib3@1.26.4"));
    let big = inventory
        .packages
        .iter()
        .find(|p| p.package.name == "hallmark-big")
        .unwrap();
    assert_eq!(big.package.release.as_deref(), Some("9"));
    assert_eq!(
        big.package.source,
        Some(("hallmark-big".into(), Some("2:1.2.3-4.el9".into())))
    );
    assert_eq!(big.licenses, ["MIT AND Apache-2.0"]);
}
