//! OSV data from a zip archive, the way OSV publishes `all.zip` per ecosystem.

use std::io::Write;

use scan::{Ecosystem, Format, ImportError};
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

use crate::{ids, load, package, testdata};

/// Zips the npm advisories (deflated), a broken record and a file that is not a record.
fn npm_zip(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("npm-all.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let mut names: Vec<_> = std::fs::read_dir(testdata("npm"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for file in names {
        zip.start_file(file.file_name().unwrap().to_string_lossy(), options)
            .unwrap();
        zip.write_all(&std::fs::read(&file).unwrap()).unwrap();
    }
    zip.start_file("broken/GHSA-xxxx.json", options).unwrap();
    zip.write_all(b"{\"id\": \"GHSA-xxxx\", \"affected\": [")
        .unwrap();
    zip.start_file("LICENSE", options).unwrap();
    zip.write_all(b"not a record").unwrap();
    zip.finish().unwrap();
    path
}

#[test]
fn osv_zip_imports_like_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (db, report) = load(Format::Osv, &npm_zip(dir.path()));
    assert_eq!((report.files, report.advisories), (9, 8));
    let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with("broken/GHSA-xxxx.json: JSON: EOF"),
        "{problems:?}"
    );
    assert_eq!(
        ids(&db, package(Ecosystem::Npm, "minimist", "1.2.5")),
        ["GHSA-xvch-5gv4-984h"]
    );
}

#[test]
fn a_file_that_is_not_a_zip_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.zip");
    std::fs::write(&path, b"PK\x03\x04 truncated").unwrap();
    let err = scan::import_path(Format::Osv, &path, &mut |_| {}).unwrap_err();
    assert!(matches!(err, ImportError::Zip { .. }), "{err}");
    let missing =
        scan::import_path(Format::Osv, &dir.path().join("missing"), &mut |_| {}).unwrap_err();
    assert!(matches!(missing, ImportError::Io { .. }), "{missing}");
}
