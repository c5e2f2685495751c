//! Matching installed packages against advisories.
//!
//! Architecture Invariant: an OS package (Debian, Ubuntu, Alpine, Red Hat) is matched only
//! against its own distribution's advisories for its release, by source package and source
//! version, never against upstream ranges: distributions backport fixes without changing the
//! upstream version, so upstream ranges would report fixed packages as vulnerable. Language
//! packages are matched against their ecosystem's advisories by name.
//!
//! The database indexes affected entries by ecosystem, release and normalised name, so
//! matching an inventory costs a few hash lookups per package plus the comparisons for the
//! few advisories that name it; nothing is parsed while matching except installed versions.

use std::collections::HashMap;

use crate::advisory::{Advisory, Status};
use crate::cvss::Severity;
use crate::ecosystem::Ecosystem;
use crate::version::{Version, VersionError};

/// An installed package, as an analyzer reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Package {
    /// The ecosystem.
    pub ecosystem: Ecosystem,
    /// The (binary) package name.
    pub name: String,
    /// The installed version.
    pub version: String,
    /// For OS packages, the distribution release (`12`, `v3.20`, `22.04:LTS`).
    pub release: Option<String>,
    /// For OS packages, the source package (dpkg `Source:`, apk origin) and its version when
    /// it differs from the binary's (binNMUs: `1.2-3+b1` built from `1.2-3`).
    pub source: Option<(String, Option<String>)>,
}

impl Package {
    /// The name and version advisories speak of: for OS packages the source package and its
    /// version (distributions publish advisories per source package), else the package's own.
    pub fn advisory_name_and_version(&self) -> (&str, &str) {
        match (&self.source, self.ecosystem.is_os()) {
            (Some((source, source_version)), true) => (
                source.as_str(),
                source_version.as_deref().unwrap_or(&self.version),
            ),
            _ => (self.name.as_str(), self.version.as_str()),
        }
    }
}

/// One advisory that affects one installed package.
#[derive(Debug, Clone)]
pub struct Finding<'db> {
    /// Index of the package in the matched inventory.
    pub package: usize,
    /// The advisory.
    pub advisory: &'db Advisory,
    /// Fixed, unfixed, no-DSA or won't fix.
    pub status: Status,
    /// The versions that fix it, lowest first (several for backported fixes).
    pub fixed_in: Vec<&'db Version>,
    /// The package's severity for this advisory.
    pub severity: Severity,
}

/// A package whose installed version does not parse, so only exact enumerated versions could
/// be checked for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("package {index}: {error}")]
pub struct UnmatchedVersion {
    /// Index of the package in the matched inventory.
    pub index: usize,
    /// Why the version was rejected.
    pub error: VersionError,
}

/// The result of matching one inventory.
#[derive(Debug, Default)]
pub struct Matches<'db> {
    /// The findings, in inventory order.
    pub findings: Vec<Finding<'db>>,
    /// Packages whose version could not be parsed.
    pub unparsable: Vec<UnmatchedVersion>,
}

type Entry = (u32, u32);

/// Advisories with an index by (ecosystem, release, package name).
#[derive(Debug, Default)]
pub struct AdvisoryDb {
    advisories: Vec<Advisory>,
    index: HashMap<Ecosystem, HashMap<String, HashMap<String, Vec<Entry>>>>,
    withdrawn: usize,
}

impl AdvisoryDb {
    /// An empty database.
    pub fn new() -> AdvisoryDb {
        AdvisoryDb::default()
    }

    /// Adds an advisory and indexes its affected packages. Withdrawn advisories are counted
    /// and kept out of the index, so they never match.
    pub fn insert(&mut self, advisory: Advisory) {
        if advisory.withdrawn.is_some() {
            self.withdrawn += 1;
            return;
        }
        let at = u32::try_from(self.advisories.len()).expect("fewer than 4 billion advisories");
        for (i, affected) in advisory.affected.iter().enumerate() {
            let release = if affected.ecosystem.is_os() {
                affected.release.clone().unwrap_or_default()
            } else {
                String::new()
            };
            let name = affected
                .ecosystem
                .normalize_name(&affected.name)
                .into_owned();
            let entry = (
                at,
                u32::try_from(i).expect("fewer than 4 billion affected entries"),
            );
            self.index
                .entry(affected.ecosystem)
                .or_default()
                .entry(release)
                .or_default()
                .entry(name)
                .or_default()
                .push(entry);
        }
        self.advisories.push(advisory);
    }

    /// The advisories held (withdrawn ones excluded).
    pub fn advisories(&self) -> &[Advisory] {
        &self.advisories
    }

    /// How many withdrawn advisories were left out.
    pub fn withdrawn(&self) -> usize {
        self.withdrawn
    }

    /// Finds the advisories affecting each package of `inventory`.
    pub fn match_inventory(&self, inventory: &[Package]) -> Matches<'_> {
        let mut out = Matches::default();
        for (index, package) in inventory.iter().enumerate() {
            if let Err(error) = self.match_package(index, package, &mut out.findings) {
                out.unparsable.push(UnmatchedVersion { index, error });
            }
        }
        out
    }

    /// Appends the findings for one package (numbered `index`) to `findings`.
    pub fn match_package<'db>(
        &'db self,
        index: usize,
        package: &Package,
        findings: &mut Vec<Finding<'db>>,
    ) -> Result<(), VersionError> {
        let ecosystem = package.ecosystem;
        let (name, version_text) = package.advisory_name_and_version();
        let release = if ecosystem.is_os() {
            // An OS package without a release cannot be matched safely against any release.
            match &package.release {
                Some(r) => r.as_str(),
                None => return Ok(()),
            }
        } else {
            ""
        };
        let Some(entries) = self
            .index
            .get(&ecosystem)
            .and_then(|by_release| by_release.get(release))
            .and_then(|by_name| by_name.get(ecosystem.normalize_name(name).as_ref()))
        else {
            return Ok(());
        };
        let installed = Version::parse(ecosystem.scheme(), version_text);
        let first = findings.len();
        for &(a, i) in entries {
            let advisory = &self.advisories[a as usize];
            let affected = &advisory.affected[i as usize];
            if affected.status == Some(Status::NotAffected) {
                continue;
            }
            let mut hit = affected.unparsed_versions.iter().any(|v| v == version_text);
            let mut fixed_in = Vec::new();
            if let Ok(installed) = &installed {
                hit |= affected.versions.contains(installed);
                for range in &affected.ranges {
                    let verdict = range.evaluate(installed);
                    hit |= verdict.affected;
                    fixed_in.extend(verdict.fixed_in);
                }
            }
            if !hit {
                continue;
            }
            if fixed_in.is_empty() {
                // Matched by an enumerated version that no range covers: name the lowest
                // fix above the installed version (any fix when it does not parse).
                let above = |f: &&Version| installed.as_ref().map_or(true, |v| *f > v);
                let lowest = affected
                    .ranges
                    .iter()
                    .flat_map(|r| r.fixed_versions())
                    .filter(above)
                    .min();
                fixed_in.extend(lowest);
            }
            let status = match affected.status {
                Some(Status::Fixed) | None if !fixed_in.is_empty() => Status::Fixed,
                Some(Status::Fixed) | None => Status::Unfixed,
                Some(other) => other,
            };
            let severity = affected.severity.unwrap_or(advisory.severity);
            // Several affected entries of one advisory may name the package (GHSA splits
            // backport ranges so); they make one finding with every fix.
            if let Some(same) = findings[first..]
                .iter_mut()
                .find(|f| std::ptr::eq(f.advisory, advisory))
            {
                same.fixed_in.extend(fixed_in);
                same.fixed_in.sort();
                same.fixed_in.dedup();
                same.severity = same.severity.max(severity);
                if same.status == Status::Unfixed && !same.fixed_in.is_empty() {
                    same.status = Status::Fixed;
                }
                continue;
            }
            fixed_in.sort();
            fixed_in.dedup();
            findings.push(Finding {
                package: index,
                advisory,
                status,
                fixed_in,
                severity,
            });
        }
        installed.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::{Affected, Bound, Event, Range, Source};
    use crate::version::Scheme;

    fn advisory(
        id: &str,
        ecosystem: Ecosystem,
        release: Option<&str>,
        name: &str,
        fixed: &str,
    ) -> Advisory {
        let scheme = ecosystem.scheme();
        Advisory {
            id: id.into(),
            aliases: vec![],
            summary: String::new(),
            severity: Severity::High,
            cvss_score: None,
            withdrawn: None,
            informational: None,
            source: Source::Osv,
            affected: vec![Affected {
                ecosystem,
                release: release.map(Into::into),
                name: name.into(),
                ranges: vec![Range::new(vec![
                    Event::Introduced(Bound::Zero),
                    Event::Fixed(Version::parse(scheme, fixed).unwrap()),
                ])],
                versions: vec![],
                unparsed_versions: vec![],
                status: None,
                severity: None,
            }],
        }
    }

    fn package(
        ecosystem: Ecosystem,
        name: &str,
        version: &str,
        release: Option<&str>,
        source: Option<&str>,
    ) -> Package {
        Package {
            ecosystem,
            name: name.into(),
            version: version.into(),
            release: release.map(Into::into),
            source: source.map(|s| (s.into(), None)),
        }
    }

    #[test]
    fn os_packages_match_their_own_release_by_source() {
        let mut db = AdvisoryDb::new();
        db.insert(advisory(
            "CVE-2023-4911",
            Ecosystem::Debian,
            Some("12"),
            "glibc",
            "2.36-9+deb12u3",
        ));
        db.insert(advisory(
            "CVE-2023-4911",
            Ecosystem::Debian,
            Some("11"),
            "glibc",
            "2.31-13+deb11u7",
        ));
        let inventory = [
            package(
                Ecosystem::Debian,
                "libc6",
                "2.36-9+deb12u1",
                Some("12"),
                Some("glibc"),
            ),
            package(
                Ecosystem::Debian,
                "libc6",
                "2.36-9+deb12u3",
                Some("12"),
                Some("glibc"),
            ),
            package(
                Ecosystem::Debian,
                "libc6",
                "2.36-9+deb12u1",
                None,
                Some("glibc"),
            ),
            package(
                Ecosystem::Debian,
                "glibc",
                "2.36-9+deb12u1",
                Some("13"),
                None,
            ),
        ];
        let m = db.match_inventory(&inventory);
        assert_eq!(m.findings.len(), 1);
        assert_eq!(
            (m.findings[0].package, m.findings[0].status),
            (0, Status::Fixed)
        );
        assert_eq!(m.findings[0].fixed_in[0].to_string(), "2.36-9+deb12u3");
    }

    #[test]
    fn language_names_normalise_and_bad_versions_are_reported() {
        let mut db = AdvisoryDb::new();
        db.insert(advisory("PYSEC-1", Ecosystem::PyPI, None, "PyYAML", "5.4"));
        let mut withdrawn = advisory("PYSEC-2", Ecosystem::PyPI, None, "pyyaml", "9.0");
        withdrawn.withdrawn = Some("2023-01-01T00:00:00Z".into());
        db.insert(withdrawn);
        let m = db.match_inventory(&[
            package(Ecosystem::PyPI, "pyyaml", "5.3.1", None, None),
            package(Ecosystem::PyPI, "py_yaml", "5.3.1", None, None),
            package(Ecosystem::PyPI, "PyYAML", "not a version", None, None),
        ]);
        assert_eq!(m.findings.len(), 1);
        assert_eq!(m.findings[0].advisory.id, "PYSEC-1");
        assert_eq!(m.unparsable.len(), 1);
        assert_eq!(m.unparsable[0].error.scheme, Scheme::Pep440);
        assert_eq!(db.withdrawn(), 1);
    }

    #[test]
    fn enumerated_versions_outside_ranges_still_name_a_fix() {
        let parse = |s| Version::parse(Scheme::Pep440, s).unwrap();
        let mut a = advisory("PYSEC-3", Ecosystem::PyPI, None, "x", "1.0");
        a.affected[0].ranges.push(Range::new(vec![
            Event::Introduced(Bound::At(parse("2.0"))),
            Event::Fixed(parse("3.0")),
        ]));
        a.affected[0].versions.push(parse("1.5"));
        a.affected[0].unparsed_versions.push("1.5-legacy!".into());
        let mut db = AdvisoryDb::new();
        db.insert(a);
        let m = db.match_inventory(&[
            package(Ecosystem::PyPI, "x", "1.5", None, None),
            package(Ecosystem::PyPI, "x", "1.5-legacy!", None, None),
        ]);
        let fixes: Vec<_> = m
            .findings
            .iter()
            .map(|f| (f.package, f.status, f.fixed_in[0].to_string()))
            .collect();
        // The unparsable one names the lowest fix of all; it is also reported as unparsable.
        assert_eq!(
            fixes,
            [
                (0, Status::Fixed, "3.0".into()),
                (1, Status::Fixed, "1.0".into())
            ]
        );
        assert_eq!(m.unparsable.len(), 1);
    }

    proptest::proptest! {
        /// An OS package meets only advisories of its own distribution and release.
        #[test]
        fn os_packages_never_cross_releases(
            advisory_at in (0usize..3, 0usize..3),
            package_at in (0usize..3, 0usize..3),
        ) {
            let ecosystems = [Ecosystem::Debian, Ecosystem::Ubuntu, Ecosystem::Alpine];
            let releases = ["11", "12", "v3.20"];
            let (e, r) = advisory_at;
            let fixed = if ecosystems[e] == Ecosystem::Alpine { "9.0-r0" } else { "9.0-1" };
            let mut db = AdvisoryDb::new();
            db.insert(advisory("CVE-1", ecosystems[e], Some(releases[r]), "zlib", fixed));
            let (pe, pr) = package_at;
            let version = if ecosystems[pe] == Ecosystem::Alpine { "1.0-r0" } else { "1.0-1" };
            let inventory = [package(ecosystems[pe], "zlib1g", version, Some(releases[pr]), Some("zlib"))];
            let found = db.match_inventory(&inventory).findings.len();
            proptest::prop_assert_eq!(found == 1, advisory_at == package_at);
        }
    }
}
