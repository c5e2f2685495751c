//! The advisory model every importer produces: OSV's shape, with versions already parsed by
//! the ecosystem's scheme and the distribution-specific states OSV has no word for.

use crate::cvss::Severity;
use crate::ecosystem::Ecosystem;
use crate::version::Version;

/// Where an advisory came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// An OSV record (JSON or YAML).
    Osv,
    /// The Debian security tracker's JSON export.
    DebianTracker,
    /// Alpine's secdb.
    AlpineSecdb,
}

/// A known vulnerability and the packages it affects.
#[derive(Debug, Clone)]
pub struct Advisory {
    /// The record's own id (`GHSA-…`, `PYSEC-…`, `CVE-…`).
    pub id: String,
    /// Other ids for the same vulnerability, CVE ids among them.
    pub aliases: Vec<String>,
    /// A one-line summary, or the start of the details when there is none.
    pub summary: String,
    /// The advisory-wide severity; an affected package may override it.
    pub severity: Severity,
    /// The CVSS v3 base score the severity was computed from, if any.
    pub cvss_score: Option<f64>,
    /// When set (an RFC 3339 time), the advisory was withdrawn and matches nothing.
    pub withdrawn: Option<String>,
    /// For RustSec's informational advisories: `unmaintained`, `unsound`, `notice`.
    pub informational: Option<String>,
    /// The importer that produced it.
    pub source: Source,
    /// The affected packages.
    pub affected: Vec<Affected>,
}

impl Advisory {
    /// The CVE id: the advisory's own id or its first CVE alias.
    pub fn cve(&self) -> Option<&str> {
        std::iter::once(&self.id)
            .chain(&self.aliases)
            .map(String::as_str)
            .find(|id| id.starts_with("CVE-"))
    }

    /// A link to the record: the CVE record when there is a CVE id, else the OSV page.
    pub fn link(&self) -> String {
        match self.cve() {
            Some(cve) => format!("https://www.cve.org/CVERecord?id={cve}"),
            None => format!("https://osv.dev/vulnerability/{}", self.id),
        }
    }
}

/// The state of a package in a distribution release, as the distribution reports it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// A fixed version exists.
    Fixed,
    /// Affected and not fixed yet.
    Unfixed,
    /// Debian will not issue a security advisory; a fix may come through a point release.
    NoDsa,
    /// The distribution decided not to fix it (Debian `ignored`, end of life).
    WontFix,
    /// The distribution's package was never affected.
    NotAffected,
}

/// One bound of a range: OSV's `introduced: "0"` is below every version, whatever the scheme.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bound {
    /// Below every version.
    Zero,
    /// A real version.
    At(Version),
}

/// An OSV range event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Versions from here on are affected.
    Introduced(Bound),
    /// Versions from here on are fixed.
    Fixed(Version),
    /// Versions after this one are not affected.
    LastAffected(Version),
    /// Versions from here on are outside this range.
    Limit(Version),
}

impl Event {
    fn bound(&self) -> Bound {
        match self {
            Event::Introduced(b) => b.clone(),
            Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => Bound::At(v.clone()),
        }
    }
}

/// An ordered list of events (OSV `ECOSYSTEM` or `SEMVER` range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    events: Vec<Event>,
}

/// What one range says about one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeVerdict<'a> {
    /// The version is inside the range.
    pub affected: bool,
    /// The first fixed version above it, if any.
    pub fixed_in: Option<&'a Version>,
}

impl Range {
    /// Builds a range, sorting its events by version as the OSV evaluation requires.
    pub fn new(mut events: Vec<Event>) -> Range {
        events.sort_by_cached_key(Event::bound);
        Range { events }
    }

    /// The events, sorted.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// OSV's evaluation: walk the sorted events and let the last one at or below `v` decide.
    pub fn evaluate(&self, v: &Version) -> RangeVerdict<'_> {
        let mut affected = false;
        let mut fixed_in = None;
        for event in &self.events {
            match event {
                Event::Introduced(Bound::Zero) => affected = true,
                Event::Introduced(Bound::At(i)) if v >= i => affected = true,
                Event::Fixed(f) | Event::Limit(f) if v >= f => affected = false,
                Event::LastAffected(l) if v > l => affected = false,
                Event::Fixed(f) if affected && fixed_in.is_none() => fixed_in = Some(f),
                _ => {}
            }
        }
        RangeVerdict {
            affected,
            fixed_in: fixed_in.filter(|_| affected),
        }
    }

    /// Every fixed version in the range.
    pub fn fixed_versions(&self) -> impl Iterator<Item = &Version> {
        self.events.iter().filter_map(|e| match e {
            Event::Fixed(v) => Some(v),
            _ => None,
        })
    }
}

/// One package an advisory affects, in one ecosystem (and release, for distributions).
#[derive(Debug, Clone)]
pub struct Affected {
    /// The ecosystem.
    pub ecosystem: Ecosystem,
    /// The distribution release (`12`, `v3.20`, `22.04:LTS`); `None` for language ecosystems.
    pub release: Option<String>,
    /// The package name as the advisory writes it; the source package for distributions.
    pub name: String,
    /// The affected ranges (`GIT` ranges are not kept: installed packages carry no commit).
    pub ranges: Vec<Range>,
    /// Enumerated affected versions that parse in the ecosystem's scheme.
    pub versions: Vec<Version>,
    /// Enumerated affected versions that do not parse; they match by exact text.
    pub unparsed_versions: Vec<String>,
    /// A state the distribution gave explicitly; `None` derives it from the ranges.
    pub status: Option<Status>,
    /// A per-package severity (OSV `affected[].severity`, Debian urgency).
    pub severity: Option<Severity>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::Scheme;

    fn v(s: &str) -> Version {
        Version::parse(Scheme::Semver, s).unwrap()
    }

    #[test]
    fn osv_range_evaluation() {
        // Two backport windows: [0, 0.2.1) and [1.0.0, 1.2.3), like minimist's GHSA-vh95.
        let range = Range::new(vec![
            Event::Fixed(v("1.2.3")),
            Event::Introduced(Bound::At(v("1.0.0"))),
            Event::Fixed(v("0.2.1")),
            Event::Introduced(Bound::Zero),
        ]);
        for (version, affected, fix) in [
            ("0.0.1", true, Some("0.2.1")),
            ("0.2.1", false, None),
            ("0.9.9", false, None),
            ("1.0.0", true, Some("1.2.3")),
            ("1.2.2", true, Some("1.2.3")),
            ("1.2.3", false, None),
        ] {
            let verdict = range.evaluate(&v(version));
            assert_eq!(verdict.affected, affected, "{version}");
            assert_eq!(
                verdict.fixed_in.map(ToString::to_string).as_deref(),
                fix,
                "{version}"
            );
        }
        let last = Range::new(vec![
            Event::Introduced(Bound::Zero),
            Event::LastAffected(v("2.0.0")),
        ]);
        assert!(last.evaluate(&v("2.0.0")).affected);
        assert!(!last.evaluate(&v("2.0.1")).affected);
    }

    #[test]
    fn links_prefer_the_cve_record() {
        let mut a = Advisory {
            id: "GHSA-jf85-cpcp-j695".into(),
            aliases: vec!["CVE-2019-10744".into()],
            summary: String::new(),
            severity: Severity::Unknown,
            cvss_score: None,
            withdrawn: None,
            informational: None,
            source: Source::Osv,
            affected: Vec::new(),
        };
        assert_eq!(a.link(), "https://www.cve.org/CVERecord?id=CVE-2019-10744");
        a.aliases.clear();
        assert_eq!(
            a.link(),
            "https://osv.dev/vulnerability/GHSA-jf85-cpcp-j695"
        );
    }

    proptest::proptest! {
        /// OSV's event walk equals membership in the union of [introduced, fixed) windows,
        /// whatever order the events come in, and names the window's own fix.
        #[test]
        fn evaluation_is_window_membership(
            mut bounds in proptest::collection::btree_set(0u64..60, 0..8),
            shuffle in proptest::collection::vec(0usize..16, 8),
            probe in 0u64..64,
        ) {
            let bounds: Vec<u64> = std::mem::take(&mut bounds).into_iter().collect();
            let at = |n: u64| v(&format!("{n}.0.0"));
            let mut events: Vec<Event> = bounds
                .iter()
                .enumerate()
                .map(|(i, &n)| if i % 2 == 0 { Event::Introduced(Bound::At(at(n))) } else { Event::Fixed(at(n)) })
                .collect();
            for (i, &j) in shuffle.iter().enumerate() {
                if !events.is_empty() {
                    let len = events.len();
                    events.swap(i % len, j % len);
                }
            }
            let window = bounds.chunks(2).find(|w| w[0] <= probe && w.get(1).is_none_or(|&f| probe < f));
            let range = Range::new(events);
            let verdict = range.evaluate(&at(probe));
            proptest::prop_assert_eq!(verdict.affected, window.is_some());
            let fix = window.and_then(|w| w.get(1)).map(|&f| at(f));
            proptest::prop_assert_eq!(verdict.fixed_in.cloned(), fix);
        }
    }
}
