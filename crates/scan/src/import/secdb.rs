//! Alpine's secdb: one file per branch and repository (`v3.11/main.yaml`, or today's
//! `main.json`), `{distroversion, packages: [{pkg: {name, secfixes: {fixed version: [CVE…]}}}]}`.
//!
//! `name` is the origin (source) package, which is what installed packages are matched by.
//! secdb lists only fixes: each (package, CVE) becomes an advisory fixed in that version for
//! the file's branch (`Alpine:v3.11`); the pseudo-version `0` means the branch's package was
//! never affected. An entry may carry more than one id or a trailing remark
//! (`CVE-2019-1 CVE-2019-2`, `CVE-2019-3 (upstream)`), so ids are read as the words that look
//! like ids.

use std::io::Read;

use serde::Deserialize;
use serde_json::Value;

use super::{read_document, ImportReport, RecordError};
use crate::advisory::{Advisory, Affected, Bound, Event, Range, Source, Status};
use crate::cvss::Severity;
use crate::ecosystem::Ecosystem;
use crate::version::{Scheme, Version};

#[derive(Deserialize)]
struct SecdbFile {
    distroversion: String,
    #[serde(default)]
    packages: Vec<Value>,
}

#[derive(Deserialize)]
struct PackageEntry {
    pkg: Pkg,
}

#[derive(Deserialize)]
struct Pkg {
    name: String,
    #[serde(default)]
    secfixes: Option<serde_json::Map<String, Value>>,
}

/// Reads one secdb file and hands an advisory per (package, CVE) to `sink`.
pub fn import(
    file: &str,
    reader: impl Read,
    sink: &mut dyn FnMut(Advisory),
    report: &mut ImportReport,
) {
    let document: SecdbFile = match read_document(file, reader) {
        Ok(d) => d,
        Err(e) => return report.problem(file, None, e),
    };
    let release = document.distroversion;
    for (i, package) in document.packages.into_iter().enumerate() {
        let entry: PackageEntry = match serde_json::from_value(package) {
            Ok(entry) => entry,
            Err(e) => {
                report.problem(file, Some(&format!("packages[{i}]")), e);
                continue;
            }
        };
        let name = entry.pkg.name;
        for (fixed, ids) in entry.pkg.secfixes.unwrap_or_default() {
            let record = format!("{name} {fixed}");
            let ids = match ids_of(&ids) {
                Ok(ids) => ids,
                Err(e) => {
                    report.problem(file, Some(&record), e);
                    continue;
                }
            };
            let (status, events) = if fixed == "0" {
                (Status::NotAffected, vec![Event::Introduced(Bound::Zero)])
            } else {
                match Version::parse(Scheme::Apk, &fixed) {
                    Ok(v) => (
                        Status::Fixed,
                        vec![Event::Introduced(Bound::Zero), Event::Fixed(v)],
                    ),
                    Err(e) => {
                        report.problem(file, Some(&record), e);
                        continue;
                    }
                }
            };
            for id in ids {
                report.advisories += 1;
                sink(Advisory {
                    id,
                    aliases: Vec::new(),
                    summary: String::new(),
                    severity: Severity::Unknown,
                    cvss_score: None,
                    withdrawn: None,
                    informational: None,
                    source: Source::AlpineSecdb,
                    affected: vec![Affected {
                        ecosystem: Ecosystem::Alpine,
                        release: Some(release.clone()),
                        name: name.clone(),
                        ranges: vec![Range::new(events.clone())],
                        versions: Vec::new(),
                        unparsed_versions: Vec::new(),
                        status: Some(status),
                        severity: None,
                    }],
                });
            }
        }
    }
}

/// The ids in one secfixes list: words shaped like `CVE-2019-1234` or `XSA-123`.
fn ids_of(list: &Value) -> Result<Vec<String>, RecordError> {
    let Value::Array(items) = list else {
        return Err(RecordError::Shape(
            "secfixes entries must be lists of ids".into(),
        ));
    };
    let mut ids = Vec::new();
    for item in items {
        let Some(text) = item.as_str() else {
            return Err(RecordError::Shape(format!("{item} is not an id")));
        };
        ids.extend(
            text.split_whitespace()
                .filter(|w| looks_like_id(w))
                .map(str::to_owned),
        );
    }
    Ok(ids)
}

fn looks_like_id(word: &str) -> bool {
    match word.split_once('-') {
        Some((prefix, rest)) => {
            !prefix.is_empty()
                && prefix.bytes().all(|b| b.is_ascii_uppercase())
                && rest.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, text: &str) -> (Vec<Advisory>, ImportReport) {
        crate::import::import_text(crate::import::Format::AlpineSecdb, name, text)
    }

    #[test]
    fn fixes_and_never_affected() {
        let yaml = "distroversion: v3.11\npackages:\n  - pkg:\n      name: musl\n      secfixes:\n        1.1.23-r2:\n          - CVE-2019-14697 (upstream)\n        0:\n          - CVE-2020-1 CVE-2020-2\n";
        let (out, report) = run("main.yaml", yaml);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        let ids: Vec<_> = out
            .iter()
            .map(|a| (a.id.as_str(), a.affected[0].status.unwrap()))
            .collect();
        assert_eq!(
            ids,
            [
                ("CVE-2020-1", Status::NotAffected),
                ("CVE-2020-2", Status::NotAffected),
                ("CVE-2019-14697", Status::Fixed)
            ]
        );
        assert_eq!(out[2].affected[0].release.as_deref(), Some("v3.11"));
    }

    #[test]
    fn malformed_packages_are_reported_alone() {
        let json = r#"{"distroversion": "v3.20", "packages": [
            {"pkg": {"secfixes": {}}},
            {"pkg": {"name": "a", "secfixes": {"1.0-r0": "CVE-1"}}},
            {"pkg": {"name": "b", "secfixes": {"not a version": ["CVE-2"]}}},
            {"pkg": {"name": "c", "secfixes": {"2.0-r1": ["CVE-2024-3"]}}}]}"#;
        let (out, report) = run("main.json", json);
        let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].starts_with("main.json: packages[0]: "),
            "{problems:?}"
        );
        assert!(problems[1].contains("a 1.0-r0"), "{problems:?}");
        assert!(problems[2].contains("b not a version"), "{problems:?}");
        assert_eq!(out.len(), 1);
    }
}
