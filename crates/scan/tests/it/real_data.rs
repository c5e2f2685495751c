//! Each importer over its real data: record counts, the malformed records the data really
//! has, spot checks of real advisories, and matching known-vulnerable and fixed versions.

use scan::{Ecosystem, Format, Severity, Status};

use crate::{ids, load, matches, os_package, package, testdata};

fn problem_lines(report: &scan::ImportReport) -> Vec<String> {
    // Paths are shortened to the part below the test data folder so the lists read plainly.
    let root = testdata("").display().to_string();
    report
        .problems
        .iter()
        .map(|p| p.to_string().replace(&root, ""))
        .collect()
}

#[test]
fn pypi_yaml_advisories() {
    let (db, report) = load(Format::Osv, &testdata("pypi"));
    assert_eq!((report.files, report.advisories), (2661, 2661));
    assert_eq!(db.withdrawn(), 10);
    // The only records PEP 440 rejects: a git-describe version and a date.
    assert_eq!(
        problem_lines(&report),
        [
            "pypi/vulns/binderhub/PYSEC-2021-371.yaml: PYSEC-2021-371 binderhub: invalid PEP 440 version \"0.2.0-n653\": expected [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]",
            "pypi/vulns/steam/PYSEC-2019-125.yaml: PYSEC-2019-125 steam: invalid PEP 440 version \"2019-09-12\": expected [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]",
        ]
    );
    let django = db
        .advisories()
        .iter()
        .find(|a| a.id == "PYSEC-2007-1")
        .expect("PYSEC-2007-1");
    assert_eq!(django.aliases, ["CVE-2007-5712"]);
    assert_eq!(
        django.affected[0].ranges[0]
            .fixed_versions()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["1.1"]
    );
    assert_eq!(
        matches(&db, package(Ecosystem::PyPI, "Django", "1.0.2"))[0].0,
        "PYSEC-2007-1"
    );

    // The counts the test data's README gives for the pip layer of its realistic image.
    let expected = [
        ("requests", "2.25.0", 1),
        ("urllib3", "1.26.4", 3),
        ("Jinja2", "2.11.2", 1),
        ("PyYAML", "5.3.1", 1),
        ("Django", "3.2", 25),
        ("idna", "2.10", 1),
        ("certifi", "2020.12.5", 2),
        ("sqlparse", "0.4.1", 2),
    ];
    let mut total = 0;
    for (name, version, count) in expected {
        let found = ids(&db, package(Ecosystem::PyPI, name, version));
        assert_eq!(found.len(), count, "{name} {version}: {found:?}");
        total += found.len();
    }
    assert_eq!(total, 36);
    // PyYAML's one advisory (CVE-2020-14343) is fixed in 5.4.
    let pyyaml = matches(&db, package(Ecosystem::PyPI, "pyyaml", "5.3.1"));
    assert_eq!(
        (pyyaml[0].1, pyyaml[0].2.as_slice()),
        (Status::Fixed, ["5.4".to_owned()].as_slice())
    );
    assert!(ids(&db, package(Ecosystem::PyPI, "PyYAML", "5.4")).is_empty());
    assert!(ids(&db, package(Ecosystem::PyPI, "requests", "2.32.3")).is_empty());
}

#[test]
fn npm_github_advisories() {
    let (db, report) = load(Format::Osv, &testdata("npm"));
    assert_eq!((report.advisories, report.problems.len()), (8, 0));
    // The README's expected findings for the npm layer of the realistic image.
    for (name, version, expected) in [
        (
            "lodash",
            "4.17.15",
            &["GHSA-35jh-r3h4-6jhm", "GHSA-p6mc-m468-83gw"][..],
        ),
        ("minimist", "1.2.5", &["GHSA-xvch-5gv4-984h"]),
        ("handlebars", "4.7.6", &["GHSA-f2jv-r9rf-7988"]),
        ("express", "4.17.1", &["GHSA-rv95-896h-c2vc"]),
        ("qs", "6.7.0", &["GHSA-hrpp-h998-j3pp"]),
        ("lodash", "4.17.21", &[]),
        ("minimist", "1.2.6", &[]),
        ("express", "5.0.0-beta.3", &[]),
        ("express", "5.0.0-alpha.8", &["GHSA-rv95-896h-c2vc"]),
    ] {
        assert_eq!(
            ids(&db, package(Ecosystem::Npm, name, version)),
            expected,
            "{name} {version}"
        );
    }
    // qs has nine backport ranges; 6.7.0 is fixed by the 6.7.x backport only.
    let qs = matches(&db, package(Ecosystem::Npm, "qs", "6.7.0"));
    assert_eq!(qs[0].2, ["6.7.3"]);
    let handlebars = db
        .advisories()
        .iter()
        .find(|a| a.id == "GHSA-f2jv-r9rf-7988")
        .expect("f2jv");
    assert_eq!(
        (handlebars.cvss_score, handlebars.severity),
        (Some(9.8), Severity::Critical)
    );
    assert_eq!(
        handlebars.link(),
        "https://www.cve.org/CVERecord?id=CVE-2021-23369"
    );
    // The same record's Maven entries match Maven coordinates with Maven ordering.
    assert_eq!(
        ids(
            &db,
            package(Ecosystem::Maven, "org.webjars.npm:handlebars", "4.7.6")
        ),
        ["GHSA-f2jv-r9rf-7988"]
    );
    assert!(ids(
        &db,
        package(Ecosystem::Maven, "org.webjars.npm:handlebars", "4.7.7")
    )
    .is_empty());
}

#[test]
fn go_advisories() {
    let (db, report) = load(Format::Osv, &testdata("go"));
    assert_eq!((report.advisories, report.problems.len()), (4291, 0));
    assert_eq!(db.withdrawn(), 17);
    assert_eq!(
        ids(
            &db,
            package(Ecosystem::Go, "github.com/gin-gonic/gin", "v1.5.0")
        )
        .first()
        .map(String::as_str),
        Some("GO-2020-0001")
    );
    assert!(!ids(
        &db,
        package(Ecosystem::Go, "github.com/gin-gonic/gin", "v1.6.0")
    )
    .contains(&"GO-2020-0001".to_owned()));
    // GO-2022-0969: the standard library, two branches with their own fixes.
    let stdlib = |v| {
        matches(&db, package(Ecosystem::Go, "stdlib", v))
            .into_iter()
            .find(|m| m.0 == "GO-2022-0969")
    };
    assert_eq!(
        stdlib("v1.18.5").map(|m| m.2),
        Some(vec!["1.18.6".to_owned()])
    );
    assert_eq!(
        stdlib("v1.19.0").map(|m| m.2),
        Some(vec!["1.19.1".to_owned()])
    );
    assert_eq!(stdlib("v1.19.1"), None);
}

#[test]
fn rust_advisories() {
    let (db, report) = load(Format::Osv, &testdata("rust-crates"));
    assert_eq!((report.advisories, report.problems.len()), (1206, 0));
    assert_eq!(db.withdrawn(), 13);
    assert_eq!(
        ids(&db, package(Ecosystem::CratesIo, "openssl", "0.8.3"))
            .first()
            .map(String::as_str),
        Some("RUSTSEC-2016-0001")
    );
    assert!(!ids(&db, package(Ecosystem::CratesIo, "openssl", "0.9.0"))
        .contains(&"RUSTSEC-2016-0001".to_owned()));
    let libusb = db
        .advisories()
        .iter()
        .find(|a| a.id == "RUSTSEC-2016-0004")
        .expect("libusb");
    assert_eq!(libusb.informational.as_deref(), Some("unmaintained"));
}

#[test]
fn alpine_secdb() {
    let (db, report) = load(Format::AlpineSecdb, &testdata("alpine-secdb"));
    assert_eq!((report.files, report.advisories), (18, 12782));
    let problems = problem_lines(&report);
    // The data's real typos (`4.8.0.-r1`, `2.7.16-33`) and one mis-indented list.
    assert_eq!(problems.len(), 25, "{problems:#?}");
    assert!(problems.contains(&"alpine-secdb/v3.11/main.yaml: python2 2.7.16-33: invalid apk version \"2.7.16-33\": expected digits[.digits][letter][_suffix[N]][~hash][-rN]".to_owned()));
    assert!(problems.contains(
        &"alpine-secdb/v3.6/main.yaml: heimdal 7.4.0-r0: secfixes entries must be lists of ids"
            .to_owned()
    ));

    let musl = |release, version| {
        matches(
            &db,
            os_package(Ecosystem::Alpine, release, "musl", "musl", version),
        )
    };
    let cve = "CVE-2019-14697".to_owned();
    assert_eq!(
        musl("v3.11", "1.1.23-r1"),
        [(cve.clone(), Status::Fixed, vec!["1.1.23-r2".to_owned()])]
    );
    assert!(musl("v3.11", "1.1.23-r2").is_empty());
    assert!(musl("v3.11", "1.1.24-r0").is_empty());
    // A release the data does not cover has no advisories, whatever other branches say.
    assert!(musl("v3.20", "1.1.1-r0").is_empty());
    let openssl = ids(
        &db,
        os_package(
            Ecosystem::Alpine,
            "v3.11",
            "libssl1.1",
            "openssl",
            "1.1.1d-r2",
        ),
    );
    assert_eq!(openssl, ["CVE-2019-1551"]);
}

#[test]
fn debian_tracker_json() {
    let (db, report) = load(
        Format::DebianTracker,
        &testdata("debian-tracker-json/debian.json"),
    );
    // Seven CVE entries; chromium-browser's names no release (`[]`), so six advisories.
    assert_eq!((report.advisories, report.problems.len()), (6, 0));
    let sope = |version| {
        matches(
            &db,
            os_package(Ecosystem::Debian, "12", "libsope1", "sope", version),
        )
    };
    assert_eq!(
        sope("5.8.0-1"),
        [(
            "CVE-2025-53603".to_owned(),
            Status::Fixed,
            vec!["5.8.0-1+deb12u1".to_owned()]
        )]
    );
    assert!(sope("5.8.0-1+deb12u1").is_empty());
    let chromium = |release| {
        matches(
            &db,
            os_package(Ecosystem::Debian, release, "chromium", "chromium", "90.0-1"),
        )
    };
    assert_eq!(
        chromium("10"),
        [("CVE-2022-0456".to_owned(), Status::WontFix, vec![])]
    );
    assert_eq!(chromium("11")[0].2, ["98.0.4758.80-1~deb11u1"]);
    // Fixed version `0`: this package was never affected in any release.
    let prototype = ids(
        &db,
        os_package(
            Ecosystem::Debian,
            "10",
            "libjs-prototype",
            "prototypejs",
            "1.5.0-1",
        ),
    );
    assert_eq!(prototype, ["CVE-2008-7220"]);
    let severity = db
        .advisories()
        .iter()
        .find(|a| a.id == "CVE-2008-7220")
        .map(|a| a.severity);
    assert_eq!(severity, Some(Severity::High));
}

#[test]
fn cvss_scores_of_every_real_vector_match_the_reference() {
    let table = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/cvss_v3_scores.tsv"
    ))
    .unwrap();
    let rows: Vec<(&str, f64)> = table
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (vector, score) = l.split_once('\t').unwrap();
            (vector, score.parse().unwrap())
        })
        .collect();
    assert_eq!(rows.len(), 127);
    for (vector, score) in rows {
        assert_eq!(scan::cvss::base_score(vector), Ok(score), "{vector}");
    }
}
