//! Credits for advisory data. The PyPA, GitHub and Go databases are CC-BY-4.0, which asks
//! for attribution wherever their data is shown; the Debian security tracker states no
//! licence but is Debian's work and is credited the same way. Every output that shows
//! findings names the sources they came from.

use crate::advisory::{Advisory, Source};
use crate::ecosystem::Ecosystem;

/// Where advisory data came from and under which terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Attribution {
    /// The database's name.
    pub name: &'static str,
    /// Its licence (an SPDX id) or, where none is stated, how it is published.
    pub license: &'static str,
    /// Where it lives.
    pub url: &'static str,
}

impl std::fmt::Display for Attribution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, {})", self.name, self.license, self.url)
    }
}

const DEBIAN: Attribution = Attribution {
    name: "Debian Security Tracker",
    license: "published by the Debian Security Team",
    url: "https://security-tracker.debian.org/tracker/",
};
const ALPINE: Attribution = Attribution {
    name: "Alpine secdb",
    license: "published by Alpine Linux",
    url: "https://secdb.alpinelinux.org/",
};
const PYPA: Attribution = Attribution {
    name: "PyPA Advisory Database",
    license: "CC-BY-4.0",
    url: "https://github.com/pypa/advisory-database",
};
const GITHUB: Attribution = Attribution {
    name: "GitHub Advisory Database",
    license: "CC-BY-4.0",
    url: "https://github.com/github/advisory-database",
};
const GO: Attribution = Attribution {
    name: "Go Vulnerability Database",
    license: "CC-BY-4.0",
    url: "https://pkg.go.dev/vuln/",
};
const RUSTSEC: Attribution = Attribution {
    name: "RustSec Advisory Database",
    license: "CC0-1.0",
    url: "https://rustsec.org/",
};

/// The source to credit for an advisory, by importer and then by the record's id prefix
/// (OSV records from every database share one importer).
pub fn of(advisory: &Advisory) -> Option<&'static Attribution> {
    match advisory.source {
        Source::DebianTracker => return Some(&DEBIAN),
        Source::AlpineSecdb => return Some(&ALPINE),
        Source::Osv => {}
    }
    let id = advisory.id.as_str();
    let by_prefix = [
        ("PYSEC-", &PYPA),
        ("GHSA-", &GITHUB),
        ("GO-", &GO),
        ("RUSTSEC-", &RUSTSEC),
        ("DSA-", &DEBIAN),
        ("DLA-", &DEBIAN),
        ("DTSA-", &DEBIAN),
        ("DEBIAN-", &DEBIAN),
    ];
    if let Some((_, credit)) = by_prefix.iter().find(|(p, _)| id.starts_with(p)) {
        return Some(credit);
    }
    // Other OSV records for Debian packages (CVE-named ones) come from Debian's own feed.
    advisory
        .affected
        .iter()
        .any(|a| a.ecosystem == Ecosystem::Debian)
        .then_some(&DEBIAN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cvss::Severity;

    #[test]
    fn credits_follow_the_source_and_the_id() {
        let advisory = |id: &str, source| Advisory {
            id: id.into(),
            aliases: vec![],
            summary: String::new(),
            severity: Severity::Unknown,
            cvss_score: None,
            withdrawn: None,
            informational: None,
            source,
            affected: vec![],
        };
        for (id, source, expected) in [
            ("PYSEC-2021-1", Source::Osv, Some("PyPA Advisory Database")),
            ("GHSA-x", Source::Osv, Some("GitHub Advisory Database")),
            ("DSA-5514-1", Source::Osv, Some("Debian Security Tracker")),
            (
                "CVE-2023-1",
                Source::DebianTracker,
                Some("Debian Security Tracker"),
            ),
            ("CVE-2023-1", Source::AlpineSecdb, Some("Alpine secdb")),
            ("CVE-2023-1", Source::Osv, None),
        ] {
            assert_eq!(of(&advisory(id, source)).map(|a| a.name), expected, "{id}");
        }
    }
}
