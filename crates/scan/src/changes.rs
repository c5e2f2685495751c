//! What changed for one image between two matches of its inventory: the findings as they are
//! kept between matches ([`StoredFinding`]) and their difference ([`diff`]), told as new
//! findings, fixed ones and withdrawn ones.
//!
//! A finding is the same finding in both matches when the advisory id and the package (path,
//! name and version) are the same. One that disappeared is *fixed* when the advisory, still
//! in force, now names a fixed version at or below the installed one; otherwise the advisory
//! was withdrawn, removed, or no longer names the package, and it is *withdrawn*. Everything
//! here is a pure function of its inputs.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::advisory::{Advisory, Status};
use crate::cvss::Severity;
use crate::inventory::Inventory;
use crate::matching::{AdvisoryDb, Matches, Package};
use crate::version::Version;

/// A finding as it is kept between matches: enough to report it and to tell it apart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StoredFinding {
    /// The advisory's id.
    pub advisory: String,
    /// The package's metadata file in the image.
    pub path: String,
    /// The package's name.
    pub package: String,
    /// The installed version.
    pub version: String,
    /// Fixed, unfixed, no-DSA or won't fix.
    pub status: Status,
    /// The versions that fix it, lowest first.
    pub fixed_in: Vec<String>,
    /// The severity for this package.
    pub severity: Severity,
}

impl StoredFinding {
    fn key(&self) -> (&str, &str, &str, &str) {
        (&self.advisory, &self.path, &self.package, &self.version)
    }
}

/// The findings of `matches` (a match of `inventory`) in their stored form, sorted.
pub fn stored_findings(inventory: &Inventory, matches: &Matches<'_>) -> Vec<StoredFinding> {
    let mut out: Vec<StoredFinding> = matches
        .findings
        .iter()
        .map(|f| {
            let installed = &inventory.packages[f.package];
            StoredFinding {
                advisory: f.advisory.id.clone(),
                path: installed.path.clone(),
                package: installed.package.name.clone(),
                version: installed.package.version.clone(),
                status: f.status,
                fixed_in: f.fixed_in.iter().map(ToString::to_string).collect(),
                severity: f.severity,
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What happened to a finding between two matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// The advisory affects the package and did not before.
    New,
    /// The advisory now names a fixed version at or below the installed one.
    Fixed,
    /// The advisory was withdrawn or removed, or no longer names the package.
    Withdrawn,
}

/// One change of one image's findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What happened.
    pub kind: ChangeKind,
    /// The finding: as matched now for a new one, as matched before otherwise.
    pub finding: StoredFinding,
}

/// The advisories of a database by id, built once for diffing many images.
#[derive(Debug)]
pub struct AdvisoryIndex<'db> {
    by_id: HashMap<&'db str, Vec<&'db Advisory>>,
}

impl<'db> AdvisoryIndex<'db> {
    /// Indexes the advisories in force in `db` (withdrawn ones are not in it).
    pub fn new(db: &'db AdvisoryDb) -> AdvisoryIndex<'db> {
        let mut by_id: HashMap<&str, Vec<&Advisory>> = HashMap::new();
        for advisory in db.advisories() {
            by_id
                .entry(advisory.id.as_str())
                .or_default()
                .push(advisory);
        }
        AdvisoryIndex { by_id }
    }

    /// Whether an advisory `id` in force names, for `package`, a fixed version at or below
    /// the installed one.
    pub fn fixed_at_or_below(&self, id: &str, package: &Package) -> bool {
        let (name, version) = package.advisory_name_and_version();
        let Ok(installed) = Version::parse(package.ecosystem.scheme(), version) else {
            return false;
        };
        let name = package.ecosystem.normalize_name(name);
        let os = package.ecosystem.is_os();
        self.by_id
            .get(id)
            .into_iter()
            .flatten()
            .flat_map(|a| &a.affected)
            .filter(|a| a.ecosystem == package.ecosystem)
            .filter(|a| !os || a.release == package.release)
            .filter(|a| a.ecosystem.normalize_name(&a.name) == name)
            .flat_map(|a| &a.ranges)
            .flat_map(|r| r.fixed_versions())
            .any(|fixed| *fixed <= installed)
    }
}

/// The changes from `before` to `after`, two matches of `inventory` (the second against the
/// advisories `index` holds): new findings first, then fixed and withdrawn ones, each in
/// finding order.
pub fn diff(
    before: &[StoredFinding],
    after: &[StoredFinding],
    inventory: &Inventory,
    index: &AdvisoryIndex<'_>,
) -> Vec<Change> {
    let was: BTreeMap<_, _> = before.iter().map(|f| (f.key(), f)).collect();
    let is: BTreeMap<_, _> = after.iter().map(|f| (f.key(), f)).collect();
    let mut changes: Vec<Change> = is
        .iter()
        .filter(|(key, _)| !was.contains_key(*key))
        .map(|(_, f)| Change {
            kind: ChangeKind::New,
            finding: (*f).clone(),
        })
        .collect();
    for (key, finding) in &was {
        if is.contains_key(key) {
            continue;
        }
        let package = inventory.packages.iter().find(|p| {
            (
                p.path.as_str(),
                p.package.name.as_str(),
                p.package.version.as_str(),
            ) == (key.1, key.2, key.3)
        });
        let fixed = package.is_some_and(|p| index.fixed_at_or_below(key.0, &p.package));
        changes.push(Change {
            kind: if fixed {
                ChangeKind::Fixed
            } else {
                ChangeKind::Withdrawn
            },
            finding: (*finding).clone(),
        });
    }
    changes.sort_by(|a, b| (a.kind, &a.finding).cmp(&(b.kind, &b.finding)));
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::PackageKind;
    use crate::ecosystem::Ecosystem;
    use crate::import::{import_reader, Format, ImportReport};
    use crate::inventory::InstalledPackage;

    fn db(records: &[&str]) -> AdvisoryDb {
        let mut db = AdvisoryDb::new();
        let mut report = ImportReport::default();
        for record in records {
            import_reader(
                Format::Osv,
                "r.json",
                record.as_bytes(),
                &mut |a| db.insert(a),
                &mut report,
            );
        }
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        db
    }

    /// An OSV record for `package` of `ecosystem` with these range events.
    fn record(id: &str, ecosystem: &str, package: &str, events: &str, extra: &str) -> String {
        format!(
            r#"{{"id":"{id}",{extra}"affected":[{{"package":{{"ecosystem":"{ecosystem}","name":"{package}"}},
            "ranges":[{{"type":"ECOSYSTEM","events":[{events}]}}]}}]}}"#
        )
    }

    fn inventory() -> Inventory {
        let installed = |ecosystem, name: &str, version: &str, release: Option<&str>, source| {
            InstalledPackage {
                package: Package {
                    ecosystem,
                    name: name.into(),
                    version: version.into(),
                    release: release.map(Into::into),
                    source,
                },
                kind: PackageKind::Npm,
                purl: String::new(),
                licenses: vec![],
                layer: 0,
                path: format!("{name}/package.json"),
            }
        };
        Inventory {
            packages: vec![
                installed(Ecosystem::Npm, "lodash", "4.17.15", None, None),
                installed(
                    Ecosystem::Debian,
                    "libc6",
                    "2.36-9+deb12u3",
                    Some("12"),
                    Some(("glibc".into(), None)),
                ),
                installed(Ecosystem::PyPI, "Jinja2", "2.11.2", None, None),
            ],
            ..Inventory::default()
        }
    }

    /// A change as the table writes it: kind, advisory, package.
    type Seen = (ChangeKind, String, String);

    fn changes(before: &[&str], after: &[&str]) -> Vec<Seen> {
        let inventory = inventory();
        let (old, new) = (db(before), db(after));
        let was = stored_findings(&inventory, &inventory.match_advisories(&old));
        let is = stored_findings(&inventory, &inventory.match_advisories(&new));
        diff(&was, &is, &inventory, &AdvisoryIndex::new(&new))
            .into_iter()
            .map(|c| (c.kind, c.finding.advisory, c.finding.package))
            .collect()
    }

    #[test]
    fn findings_come_and_go_as_the_advisories_change() {
        let lodash = record("GHSA-L", "npm", "lodash", r#"{"introduced":"0"}"#, "");
        let lodash_fixed = record(
            "GHSA-L",
            "npm",
            "lodash",
            r#"{"introduced":"0"},{"fixed":"4.17.12"}"#,
            "",
        );
        let lodash_narrowed = record(
            "GHSA-L",
            "npm",
            "lodash",
            r#"{"introduced":"0"},{"last_affected":"4.17.11"}"#,
            "",
        );
        let lodash_withdrawn = record(
            "GHSA-L",
            "npm",
            "lodash",
            r#"{"introduced":"0"}"#,
            r#""withdrawn":"2024-01-01T00:00:00Z","#,
        );
        let glibc_open = record("DSA-X", "Debian:12", "glibc", r#"{"introduced":"0"}"#, "");
        let glibc_fixed = record(
            "DSA-X",
            "Debian:12",
            "glibc",
            r#"{"introduced":"0"},{"fixed":"2.36-9+deb12u3"}"#,
            "",
        );
        // The fix is for another release: bookworm's package is not fixed by it.
        let glibc_other_release = record(
            "DSA-X",
            "Debian:11",
            "glibc",
            r#"{"introduced":"0"},{"fixed":"2.31-13+deb11u7"}"#,
            "",
        );
        let jinja = record("PYSEC-J", "PyPI", "jinja2", r#"{"introduced":"0"}"#, "");
        let new = |id: &str, package: &str| (ChangeKind::New, id.to_owned(), package.to_owned());
        let fixed =
            |id: &str, package: &str| (ChangeKind::Fixed, id.to_owned(), package.to_owned());
        let withdrawn =
            |id: &str, package: &str| (ChangeKind::Withdrawn, id.to_owned(), package.to_owned());
        let cases: Vec<(Vec<&str>, Vec<&str>, Vec<Seen>)> = vec![
            (
                vec![],
                vec![&lodash, &jinja],
                vec![new("GHSA-L", "lodash"), new("PYSEC-J", "Jinja2")],
            ),
            (vec![&lodash], vec![&lodash], vec![]),
            (
                vec![&lodash],
                vec![&lodash_fixed],
                vec![fixed("GHSA-L", "lodash")],
            ),
            (
                vec![&lodash],
                vec![&lodash_narrowed],
                vec![withdrawn("GHSA-L", "lodash")],
            ),
            (
                vec![&lodash],
                vec![&lodash_withdrawn],
                vec![withdrawn("GHSA-L", "lodash")],
            ),
            (
                vec![&lodash, &jinja],
                vec![&jinja],
                vec![withdrawn("GHSA-L", "lodash")],
            ),
            (
                vec![&glibc_open],
                vec![&glibc_fixed],
                vec![fixed("DSA-X", "libc6")],
            ),
            (
                vec![&glibc_open],
                vec![&glibc_other_release],
                vec![withdrawn("DSA-X", "libc6")],
            ),
            (
                vec![&glibc_fixed, &lodash_fixed],
                vec![&glibc_open, &lodash],
                vec![new("DSA-X", "libc6"), new("GHSA-L", "lodash")],
            ),
        ];
        for (before, after, expected) in cases {
            assert_eq!(
                changes(&before, &after),
                expected,
                "{before:?} -> {after:?}"
            );
        }
    }

    #[test]
    fn stored_findings_round_trip_as_json() {
        let inventory = inventory();
        let db = db(&[&record(
            "GHSA-L",
            "npm",
            "lodash",
            r#"{"introduced":"0"},{"fixed":"4.17.20"}"#,
            r#""database_specific":{"severity":"HIGH"},"#,
        )]);
        let findings = stored_findings(&inventory, &inventory.match_advisories(&db));
        let json = serde_json::to_string(&findings).unwrap();
        assert_eq!(
            json,
            r#"[{"advisory":"GHSA-L","path":"lodash/package.json","package":"lodash","version":"4.17.15","status":"fixed","fixed_in":["4.17.20"],"severity":"HIGH"}]"#
        );
        let back: Vec<StoredFinding> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, findings);
    }
}
