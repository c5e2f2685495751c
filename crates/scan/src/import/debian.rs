//! The Debian security tracker's JSON export: `{source package: {CVE: {description,
//! releases: {codename: {status, fixed_version, urgency, nodsa?, nodsa_reason?}}}}}`.
//!
//! The export is large (tens of MB), so it is read as a stream: serde visits the top-level map
//! one source package at a time and each package's advisories go to the sink before the next
//! package is read. One advisory per (source package, CVE) comes out, with an affected entry
//! per release, named the way OSV names Debian (`Debian:12`, from the codename).
//!
//! States, as the tracker means them: `resolved` with fixed version `0` is not affected;
//! `resolved` with a version is fixed there; `open` is unfixed, unless marked `nodsa` (no
//! security advisory planned: "no-dsa", or "ignored" when the reason says so, which is a
//! won't-fix) or urgency `end-of-life` (no support, so no fix will come: won't fix);
//! `undetermined` is treated as unfixed, since nobody has shown it is not affected.

use std::fmt;
use std::io::Read;

use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{one_line, ImportReport, RecordError};
use crate::advisory::{Advisory, Affected, Bound, Event, Range, Source, Status};
use crate::cvss::Severity;
use crate::ecosystem::Ecosystem;
use crate::version::{Scheme, Version};

/// Debian's codenames and release numbers, so tracker data lines up with `Debian:12`.
const RELEASES: [(&str, &str); 11] = [
    ("squeeze", "6"),
    ("wheezy", "7"),
    ("jessie", "8"),
    ("stretch", "9"),
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
    ("duke", "15"),
    ("sid", "sid"),
];

/// The release number for a codename; unknown codenames are kept as they are.
pub fn release_number(codename: &str) -> &str {
    RELEASES
        .iter()
        .find(|(name, _)| *name == codename)
        .map_or(codename, |(_, number)| number)
}

#[derive(Deserialize)]
struct ReleaseEntry {
    status: String,
    #[serde(default)]
    fixed_version: Option<String>,
    #[serde(default)]
    urgency: Option<String>,
    #[serde(default)]
    nodsa: Option<Value>,
    #[serde(default)]
    nodsa_reason: Option<String>,
}

/// Streams the export at `reader` into `sink`.
pub fn import(
    file: &str,
    reader: impl Read,
    sink: &mut dyn FnMut(Advisory),
    report: &mut ImportReport,
) {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let visitor = PackagesVisitor {
        file,
        sink,
        report: &mut *report,
    };
    let result = visitor.deserialize(&mut de).and_then(|()| de.end());
    if let Err(e) = result {
        report.problem(file, None, e);
    }
}

struct PackagesVisitor<'a, 'b> {
    file: &'a str,
    sink: &'b mut dyn FnMut(Advisory),
    report: &'b mut ImportReport,
}

impl<'de> DeserializeSeed<'de> for PackagesVisitor<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PackagesVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of source packages")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(package) = map.next_key::<String>()? {
            // One package's CVEs are small; holding them as values lets a malformed CVE entry
            // be reported alone instead of ending the stream.
            let cves: Value = map.next_value()?;
            let Value::Object(cves) = cves else {
                let reason = RecordError::Shape("expected an object of CVEs".into());
                self.report.problem(self.file, Some(&package), reason);
                continue;
            };
            for (cve, entry) in cves {
                match convert(&package, &cve, entry) {
                    Ok(Some(advisory)) => {
                        self.report.advisories += 1;
                        (self.sink)(advisory);
                    }
                    Ok(None) => {}
                    Err(e) => self
                        .report
                        .problem(self.file, Some(&format!("{package} {cve}")), e),
                }
            }
        }
        Ok(())
    }
}

/// One (package, CVE) entry; `None` when it names no release (the tracker writes `[]` then).
fn convert(package: &str, cve: &str, entry: Value) -> Result<Option<Advisory>, RecordError> {
    let Value::Object(mut entry) = entry else {
        return Err(RecordError::Shape("expected an object".into()));
    };
    let summary = entry
        .get("description")
        .and_then(Value::as_str)
        .map(one_line)
        .unwrap_or_default();
    let releases = match entry.remove("releases") {
        Some(Value::Object(releases)) => releases,
        Some(Value::Array(list)) if list.is_empty() => Map::new(),
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(RecordError::Shape("releases must be an object".into())),
    };
    let mut affected = Vec::new();
    for (codename, release) in releases {
        let release: ReleaseEntry = serde_json::from_value(release)?;
        affected.push(release_affected(package, &codename, release)?);
    }
    if affected.is_empty() {
        return Ok(None);
    }
    let severity = affected
        .iter()
        .filter_map(|a| a.severity)
        .max()
        .unwrap_or(Severity::Unknown);
    Ok(Some(Advisory {
        id: cve.to_owned(),
        aliases: Vec::new(),
        summary,
        severity,
        cvss_score: None,
        withdrawn: None,
        informational: None,
        source: Source::DebianTracker,
        affected,
    }))
}

fn release_affected(
    package: &str,
    codename: &str,
    release: ReleaseEntry,
) -> Result<Affected, RecordError> {
    let fixed = match release.fixed_version.as_deref() {
        Some("0") => None,
        Some(v) => Some(Version::parse(Scheme::Dpkg, v)?),
        None => None,
    };
    let open = match release.status.as_str() {
        "resolved" => false,
        "open" | "undetermined" => true,
        other => {
            return Err(RecordError::Shape(format!(
                "unknown status {other:?} for {codename}"
            )))
        }
    };
    let urgency = release.urgency.as_deref().unwrap_or("");
    let status = if !open {
        if fixed.is_some() {
            Status::Fixed
        } else {
            Status::NotAffected
        }
    } else if release.nodsa_reason.as_deref() == Some("ignored") || urgency == "end-of-life" {
        Status::WontFix
    } else if release.nodsa.is_some() {
        Status::NoDsa
    } else {
        Status::Unfixed
    };
    let mut events = vec![Event::Introduced(Bound::Zero)];
    events.extend(fixed.map(Event::Fixed));
    let severity = Some(Severity::from_label(urgency)).filter(|s| *s != Severity::Unknown);
    Ok(Affected {
        ecosystem: Ecosystem::Debian,
        release: Some(release_number(codename).to_owned()),
        name: package.to_owned(),
        ranges: vec![Range::new(events)],
        versions: Vec::new(),
        unparsed_versions: Vec::new(),
        status: Some(status),
        severity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (Vec<Advisory>, ImportReport) {
        crate::import::import_text(crate::import::Format::DebianTracker, "debian.json", text)
    }

    #[test]
    fn states() {
        let (out, report) = run(r#"{"openssl": {"CVE-1": {"releases": {
                "bookworm": {"status": "resolved", "fixed_version": "3.0.11-1~deb12u2", "urgency": "medium"},
                "bullseye": {"status": "open", "urgency": "low", "nodsa": "Minor issue", "nodsa_reason": ""},
                "buster": {"status": "open", "urgency": "end-of-life"},
                "trixie": {"status": "resolved", "fixed_version": "0", "urgency": "unimportant"},
                "sid": {"status": "open", "urgency": "not yet assigned"},
                "forky": {"status": "open", "nodsa": "", "nodsa_reason": "ignored"}}}}}"#);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        // Releases come back in codename order.
        let statuses: Vec<_> = out[0]
            .affected
            .iter()
            .map(|a| (a.release.clone().unwrap(), a.status.unwrap()))
            .collect();
        assert_eq!(
            statuses,
            [
                ("12".into(), Status::Fixed),
                ("11".into(), Status::NoDsa),
                ("10".into(), Status::WontFix),
                ("14".into(), Status::WontFix),
                ("sid".into(), Status::Unfixed),
                ("13".into(), Status::NotAffected),
            ]
        );
        assert_eq!(out[0].severity, Severity::Medium);
    }

    #[test]
    fn malformed_entries_do_not_stop_the_stream() {
        let (out, report) = run(
            r#"{"a": [], "b": {"CVE-1": {"releases": {"sid": {"status": "weird"}}},
                             "CVE-2": {"releases": {"sid": {"status": "resolved", "fixed_version": "x y"}}},
                             "CVE-3": {"releases": []}},
                "c": {"CVE-4": {"releases": {"sid": {"status": "open"}}}}}"#,
        );
        let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("debian.json: a: "), "{problems:?}");
        assert!(
            problems[1].contains("b CVE-1") && problems[1].contains("weird"),
            "{problems:?}"
        );
        assert!(
            problems[2].contains("b CVE-2") && problems[2].contains("dpkg"),
            "{problems:?}"
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].id, "CVE-4");
    }

    #[test]
    fn truncated_json_is_one_problem() {
        let (out, report) =
            run(r#"{"c": {"CVE-4": {"releases": {"sid": {"status": "open"}}}}, "d": {"#);
        assert_eq!(out.len(), 1);
        assert_eq!(report.problems.len(), 1);
    }
}
