//! Packages embedded in files rather than recorded in a database: Go build info and
//! cargo-auditable data in executables, Maven metadata in Java archives. Real binaries and
//! jars where the machine has them (Debian's skopeo, a crate built with `cargo auditable`,
//! Debian's Maven jars), checked against an independent source and the real advisory data.

use std::path::{Path, PathBuf};
use std::process::Command;

use scan::analyzer::java::parse_archive;
use scan::image::{analyze_layer, LayerAnalysis};
use scan::{Ecosystem, Format, Inventory, LayerRef, Limits};

use crate::fixtures::{layer, run, Item, BOOKWORM_OS_RELEASE};
use crate::{findings, load, testdata};

fn analyze(tar: &[u8], limits: &Limits) -> LayerAnalysis {
    let analysis = analyze_layer(tar, limits).expect("the layer reads");
    assert!(analysis.problems.is_empty(), "{:?}", analysis.problems);
    analysis
}

fn inventory(analysis: &LayerAnalysis) -> Inventory {
    Inventory::from_layers(&[(LayerRef::default(), analysis)])
}

/// `purl` of each package, sorted.
fn purls(inventory: &Inventory) -> Vec<String> {
    let mut out: Vec<_> = inventory.packages.iter().map(|p| p.purl.clone()).collect();
    out.sort();
    out
}

fn varint_string(text: &[u8], out: &mut Vec<u8>) {
    let mut n = text.len();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(text);
}

/// An executable whose only content is Go ≥ 1.18 build info, at a 16-byte offset after the
/// ELF magic (as in a binary stripped of its section headers).
fn go_executable(go: &str, modules: &str) -> Vec<u8> {
    let mut file = b"\x7fELF".to_vec();
    file.resize(4096, 0);
    file.extend_from_slice(b"\xff Go buildinf:\x08\x02");
    file.resize(4096 + 32, 0);
    varint_string(go.as_bytes(), &mut file);
    let sentinels = [[0x30; 16], [0xf9; 16]];
    let modules = [&sentinels[0][..], modules.as_bytes(), &sentinels[1][..]].concat();
    varint_string(&modules, &mut file);
    file
}

#[test]
fn go_binary_with_old_dependencies_matches_go_advisories() {
    let binary = go_executable(
        "go1.21.0",
        "path\texample.com/server\nmod\texample.com/server\t(devel)\t\n\
         dep\tgolang.org/x/net\tv0.7.0\th1:rJrUqqhjsgNp7KqAIc25s9pZnjU7TUcSY7HcVZjdn1g=\n\
         dep\tgithub.com/sirupsen/logrus\tv1.9.3\th1:x=\nbuild\tGOARCH=amd64\n",
    );
    let tar = layer(&[
        Item::File("etc/os-release", BOOKWORM_OS_RELEASE),
        Item::File("usr/local/bin/server", &binary),
        Item::File("usr/local/bin/script", b"#!/bin/sh\nexit 0\n"),
    ]);
    let inventory = inventory(&analyze(&tar, &Limits::default()));
    assert_eq!(
        purls(&inventory),
        [
            "pkg:golang/github.com/sirupsen/logrus@v1.9.3",
            "pkg:golang/golang.org/x/net@v0.7.0",
            "pkg:golang/stdlib@1.21.0",
        ]
    );
    let (db, _) = load(Format::Osv, &testdata("go/osv"));
    let found = findings(&inventory, &db);
    // x/net's HTML tokenizer fix came in v0.13.0; Go 1.21.0 predates 1.21.1's fixes.
    assert!(
        found.contains(&"golang.org/x/net GO-2023-1988".to_owned()),
        "{found:?}"
    );
    assert!(
        found.contains(&"stdlib GO-2023-2041".to_owned()),
        "{found:?}"
    );
    assert!(!found
        .iter()
        .any(|f| f.starts_with("github.com/sirupsen/logrus")));
}

/// `golang-1.19 (= 1.19.8-2)` in a Debian package's `Built-Using:` → `1.19.8`.
fn debian_built_with_go(package: &str) -> String {
    let status = run(Command::new("dpkg").args(["-s", package]));
    let built_using = status
        .lines()
        .find_map(|l| l.strip_prefix("Built-Using: "))
        .expect("Debian's Go packages say what they were built with");
    let go = built_using
        .split(", ")
        .find(|p| p.starts_with("golang-1."))
        .expect("a golang-1.N toolchain");
    let version = go.split("(= ").nth(1).unwrap().trim_end_matches(')');
    version.split('-').next().unwrap().to_owned()
}

#[test]
#[ignore = "needs skopeo"]
fn debian_skopeo_binary_names_its_go_toolchain() {
    let binary = std::fs::read("/usr/bin/skopeo").unwrap();
    let go = debian_built_with_go("skopeo");
    let tar = layer(&[
        Item::File("etc/os-release", BOOKWORM_OS_RELEASE),
        Item::File("usr/bin/skopeo", &binary),
    ]);
    // Read whole, and streamed past with a file limit below the binary's size.
    for max_file in [Limits::default().max_file, 1 << 20] {
        let limits = Limits {
            max_file,
            ..Limits::default()
        };
        let inventory = inventory(&analyze(&tar, &limits));
        // Debian builds Go programs outside module mode: the toolchain is all they record.
        assert_eq!(purls(&inventory), [format!("pkg:golang/stdlib@{go}")]);
        let (db, _) = load(Format::Osv, &testdata("go/osv"));
        let found = findings(&inventory, &db);
        if go == "1.19.8" {
            assert!(
                found.contains(&"stdlib GO-2023-1751".to_owned()),
                "{found:?}"
            );
        }
        assert!(!found.is_empty(), "Go {go} has known advisories");
    }
    // Installed by dpkg, it is the Debian package's business, not reported again.
    let list = std::fs::read("/var/lib/dpkg/info/skopeo.list").unwrap();
    let owned = layer(&[
        Item::File("usr/bin/skopeo", &binary),
        Item::File("var/lib/dpkg/info/skopeo.list", &list),
    ]);
    assert!(inventory(&analyze(&owned, &Limits::default()))
        .packages
        .is_empty());
}

/// Builds a binary crate depending on smallvec 1.6.0 with `cargo auditable build`, cached
/// under the workspace's target folder.
fn auditable_binary() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/scan-e2e/auditable");
    let binary = dir.join("target/debug/auditable-fixture");
    if binary.exists() {
        return binary;
    }
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"auditable-fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
         [dependencies]\nsmallvec = \"=1.6.0\"\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        "fn main() {\n    let v: smallvec::SmallVec<[u8; 4]> = smallvec::smallvec![1, 2];\n    \
         println!(\"{}\", v.len());\n}\n",
    )
    .unwrap();
    run(Command::new("cargo")
        .args(["auditable", "build", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target")));
    binary
}

#[test]
#[ignore = "needs cargo-auditable"]
fn cargo_auditable_binary_matches_rustsec() {
    let binary = std::fs::read(auditable_binary()).unwrap();
    let tar = layer(&[Item::File("usr/local/bin/fixture", &binary)]);
    let inventory = inventory(&analyze(&tar, &Limits::default()));
    assert_eq!(purls(&inventory), ["pkg:cargo/smallvec@1.6.0"]);
    let package = &inventory.packages[0].package;
    assert_eq!(package.ecosystem, Ecosystem::CratesIo);
    let (db, _) = load(Format::Osv, &testdata("rust-crates/crates"));
    assert_eq!(findings(&inventory, &db), ["smallvec RUSTSEC-2021-0003"]);
}

/// `(groupId:artifactId, version, jar)` of every jar in Debian's Maven repository, whose path
/// (`/usr/share/maven-repo/<group path>/<artifact>/<version>/<artifact>-<version>.jar`) names
/// its coordinates.
fn maven_repo_jars() -> Vec<(String, String, PathBuf)> {
    let root = Path::new("/usr/share/maven-repo");
    let mut out = Vec::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let parts: Vec<&str> = path
                .strip_prefix(root)
                .unwrap()
                .iter()
                .map(|p| p.to_str().unwrap())
                .collect();
            let [group @ .., artifact, version, file] = parts.as_slice() else {
                continue;
            };
            // Debian also links jars under unversioned `debian` and wildcard `3.x` folders.
            let exact = *version != "debian" && !version.split('.').any(|p| p == "x");
            if exact && *file == format!("{artifact}-{version}.jar") {
                out.push((
                    format!("{}:{artifact}", group.join(".")),
                    version.to_string(),
                    path,
                ));
            }
        }
    }
    out
}

#[test]
#[ignore = "needs maven"]
fn debian_maven_jars_name_their_coordinates() {
    let jars = maven_repo_jars();
    assert!(jars.len() > 20, "{jars:?}");
    let mut confirmed = Vec::new();
    for (coordinates, version, path) in &jars {
        let data = std::fs::read(path).unwrap();
        let found =
            parse_archive(&data, 64 << 20).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // A jar Maven built names itself in pom.properties, and must agree with the repo.
        if let Some(own) = found.iter().find(|f| &f.name == coordinates) {
            assert_eq!(&own.version, version, "{}", path.display());
            confirmed.push(coordinates.as_str());
        }
    }
    for known in [
        "org.apache.maven:maven-core",
        "org.apache.maven:maven-artifact",
        "org.apache.maven.resolver:maven-resolver-api",
    ] {
        assert!(confirmed.contains(&known), "{known} in {confirmed:?}");
    }
}

/// A zip of `(name, content)` entries.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        let options = zip::write::SimpleFileOptions::default();
        writer.start_file(*name, options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn war_with_an_old_nested_jar_matches_maven_advisories() {
    let handlebars = zip_of(&[(
        "META-INF/maven/org.webjars.npm/handlebars/pom.properties",
        b"groupId=org.webjars.npm\nartifactId=handlebars\nversion=4.7.6\n",
    )]);
    let war = zip_of(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\n\r\n"),
        ("WEB-INF/lib/handlebars-4.7.6.jar", &handlebars),
    ]);
    let tar = layer(&[Item::File("srv/app.war", &war)]);
    let inventory = inventory(&analyze(&tar, &Limits::default()));
    assert_eq!(
        purls(&inventory),
        ["pkg:maven/org.webjars.npm/handlebars@4.7.6"]
    );
    let (db, _) = load(Format::Osv, &testdata("npm"));
    assert_eq!(
        findings(&inventory, &db),
        ["org.webjars.npm:handlebars GHSA-f2jv-r9rf-7988"]
    );
}
