//! OSV records (schema 1.x), JSON or YAML, one per file.
//!
//! Kept: id, aliases, summary (or the first line of the details), withdrawn, severity, and per
//! affected package the `ECOSYSTEM` and `SEMVER` ranges and the enumerated `versions`. `GIT`
//! ranges are dropped because an installed package carries no commit to test against. Severity
//! comes from the first CVSS v3 vector (scored here), else from the database's own label
//! (GitHub's `database_specific.severity`, Debian's `ecosystem_specific.urgency`). RustSec
//! marks unmaintained or unsound crates in `database_specific.informational`, kept so that
//! callers can show them apart from vulnerabilities.
//!
//! [`to_osv`] writes any advisory back as an OSV record, so advisories from every importer can
//! be stored in one form and read back by [`import`] unchanged. What OSV has no field for goes
//! in `database_specific`: the importer that first read the record (`source`), the severity
//! label and the CVSS score when no vector is kept, and per package the distribution's status
//! (`fixed`, `unfixed`, `no-dsa`, `wont-fix`, `not-affected`) and severity.

use std::collections::BTreeMap;
use std::io::Read;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{one_line, read_document, ImportReport, RecordError};
use crate::advisory::{Advisory, Affected, Bound, Event, Range, Source, Status};
use crate::cvss::{self, Severity};
use crate::ecosystem::Ecosystem;
use crate::version::Version;

#[derive(Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    aliases: Option<Vec<String>>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    severity: Option<Vec<SeverityEntry>>,
    #[serde(default)]
    affected: Option<Vec<AffectedEntry>>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct SeverityEntry {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct AffectedEntry {
    #[serde(default)]
    package: Option<Package>,
    #[serde(default)]
    ranges: Option<Vec<RangeEntry>>,
    #[serde(default)]
    versions: Option<Vec<String>>,
    #[serde(default)]
    severity: Option<Vec<SeverityEntry>>,
    #[serde(default)]
    ecosystem_specific: Option<Value>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct Package {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct RangeEntry {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<BTreeMap<String, String>>,
}

/// Parses one OSV record and hands it to `sink`; problems go to `report`.
pub fn import(
    file: &str,
    reader: impl Read,
    sink: &mut dyn FnMut(Advisory),
    report: &mut ImportReport,
) {
    match read_document::<Record>(file, reader) {
        Ok(record) => {
            let advisory = convert(file, record, report);
            report.advisories += 1;
            sink(advisory);
        }
        Err(e) => report.problem(file, None, e),
    }
}

/// The first CVSS v3 vector's score, if any entry has one that scores.
fn cvss_v3(entries: &[SeverityEntry]) -> Option<f64> {
    entries
        .iter()
        .filter(|e| e.kind == "CVSS_V3")
        .find_map(|e| cvss::base_score(&e.score).ok())
}

/// A severity word under `key` in a `*_specific` object.
fn label(object: &Option<Value>, key: &str) -> Option<Severity> {
    let word = object.as_ref()?.get(key)?.as_str()?;
    Some(Severity::from_label(word)).filter(|s| *s != Severity::Unknown)
}

fn convert(file: &str, record: Record, report: &mut ImportReport) -> Advisory {
    let id = record.id;
    let cvss_score = cvss_v3(record.severity.as_deref().unwrap_or_default()).or_else(|| {
        record
            .database_specific
            .as_ref()?
            .get("cvss_score")?
            .as_f64()
    });
    let severity = cvss_score
        .map(Severity::from_score)
        .or_else(|| label(&record.database_specific, "severity"))
        .unwrap_or(Severity::Unknown);
    let mut informational = None;
    let mut affected = Vec::new();
    for entry in record.affected.unwrap_or_default() {
        let Some(package) = entry.package else {
            report.problem(
                file,
                Some(&id),
                RecordError::Shape("an affected entry has no package".into()),
            );
            continue;
        };
        let Some((ecosystem, release)) = Ecosystem::parse_osv(&package.ecosystem) else {
            report.unsupported_ecosystems += 1;
            continue;
        };
        if ecosystem.is_os() && release.is_none() {
            // A distribution's advisory is only meaningful for one of its releases.
            let reason = RecordError::Shape(format!(
                "ecosystem {:?} names no release",
                package.ecosystem
            ));
            report.problem(file, Some(&id), reason);
            continue;
        }
        if let Some(word) = entry
            .database_specific
            .as_ref()
            .and_then(|d| d.get("informational"))
            .and_then(Value::as_str)
        {
            informational = Some(word.to_owned());
        }
        let scheme = ecosystem.scheme();
        let parse = |s: &str| Version::parse(scheme, s);
        let mut ranges = Vec::new();
        for range in entry.ranges.unwrap_or_default() {
            if range.kind != "ECOSYSTEM" && range.kind != "SEMVER" {
                continue;
            }
            match range_events(&range.events, &parse) {
                Ok(events) => ranges.push(Range::new(events)),
                Err(e) => report.problem(file, Some(&format!("{id} {}", package.name)), e),
            }
        }
        let (mut versions, mut unparsed_versions) = (Vec::new(), Vec::new());
        for v in entry.versions.unwrap_or_default() {
            match parse(&v) {
                Ok(parsed) => versions.push(parsed),
                Err(_) => unparsed_versions.push(v),
            }
        }
        let severity = cvss_v3(entry.severity.as_deref().unwrap_or_default())
            .map(Severity::from_score)
            .or_else(|| label(&entry.ecosystem_specific, "severity"))
            .or_else(|| label(&entry.ecosystem_specific, "urgency"))
            .or_else(|| label(&entry.database_specific, "severity"));
        affected.push(Affected {
            ecosystem,
            release: release.map(str::to_owned),
            name: package.name,
            ranges,
            versions,
            unparsed_versions,
            status: entry
                .database_specific
                .as_ref()
                .and_then(|d| d.get("status"))
                .and_then(|s| Status::deserialize(s).ok()),
            severity,
        });
    }
    let summary = record
        .summary
        .or(record.details)
        .map(|s| one_line(&s))
        .unwrap_or_default();
    Advisory {
        id,
        aliases: record.aliases.unwrap_or_default(),
        summary,
        severity,
        cvss_score,
        withdrawn: record.withdrawn,
        informational,
        source: stored_source(&record.database_specific),
        affected,
    }
}

/// The importer [`to_osv`] recorded; [`Source::Osv`] for every record from elsewhere.
fn stored_source(database_specific: &Option<Value>) -> Source {
    match database_specific
        .as_ref()
        .and_then(|d| d.get("source"))
        .and_then(Value::as_str)
    {
        Some("debian-tracker") => Source::DebianTracker,
        Some("alpine-secdb") => Source::AlpineSecdb,
        _ => Source::Osv,
    }
}

/// `advisory` as an OSV 1.6 record whose `modified` is `modified` (RFC 3339); [`import`] reads
/// it back as the same advisory.
pub fn to_osv(advisory: &Advisory, modified: &str) -> Value {
    let mut record = json!({
        "schema_version": "1.6.0",
        "id": advisory.id,
        "modified": modified,
        "aliases": advisory.aliases,
        "summary": advisory.summary,
        "affected": advisory.affected.iter().map(|a| affected_to_osv(a, advisory)).collect::<Vec<_>>(),
    });
    if let Some(withdrawn) = &advisory.withdrawn {
        record["withdrawn"] = json!(withdrawn);
    }
    let mut specific = Map::new();
    match advisory.source {
        Source::Osv => {}
        Source::DebianTracker => _ = specific.insert("source".into(), json!("debian-tracker")),
        Source::AlpineSecdb => _ = specific.insert("source".into(), json!("alpine-secdb")),
    }
    if advisory.severity != Severity::Unknown {
        specific.insert("severity".into(), json!(advisory.severity.to_string()));
    }
    if let Some(score) = advisory.cvss_score {
        specific.insert("cvss_score".into(), json!(score));
    }
    if !specific.is_empty() {
        record["database_specific"] = Value::Object(specific);
    }
    record
}

fn affected_to_osv(affected: &Affected, advisory: &Advisory) -> Value {
    let ecosystem = match &affected.release {
        Some(release) => format!("{}:{release}", affected.ecosystem.osv_name()),
        None => affected.ecosystem.osv_name().to_owned(),
    };
    let ranges: Vec<Value> = affected
        .ranges
        .iter()
        .map(|r| json!({"type": "ECOSYSTEM", "events": r.events().iter().map(event_to_osv).collect::<Vec<_>>()}))
        .collect();
    let versions: Vec<String> = affected
        .versions
        .iter()
        .map(ToString::to_string)
        .chain(affected.unparsed_versions.iter().cloned())
        .collect();
    let mut specific = Map::new();
    if let Some(status) = affected.status {
        specific.insert("status".into(), json!(status));
    }
    if let Some(severity) = affected.severity {
        specific.insert("severity".into(), json!(severity.to_string()));
    }
    if let Some(word) = &advisory.informational {
        specific.insert("informational".into(), json!(word));
    }
    json!({
        "package": {"ecosystem": ecosystem, "name": affected.name},
        "ranges": ranges,
        "versions": versions,
        "database_specific": specific,
    })
}

fn event_to_osv(event: &Event) -> Value {
    match event {
        Event::Introduced(Bound::Zero) => json!({"introduced": "0"}),
        Event::Introduced(Bound::At(v)) => json!({"introduced": v.to_string()}),
        Event::Fixed(v) => json!({"fixed": v.to_string()}),
        Event::LastAffected(v) => json!({"last_affected": v.to_string()}),
        Event::Limit(v) => json!({"limit": v.to_string()}),
    }
}

/// Converts one range's events; an event with no known kind or an unparsable version fails
/// the whole range, since a range missing a bound would widen or narrow what it covers.
fn range_events(
    events: &[BTreeMap<String, String>],
    parse: &dyn Fn(&str) -> Result<Version, crate::version::VersionError>,
) -> Result<Vec<Event>, RecordError> {
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        let mut kinds = event.iter();
        let (Some((kind, value)), None) = (kinds.next(), kinds.next()) else {
            return Err(RecordError::Shape(
                "a range event must have exactly one field".into(),
            ));
        };
        out.push(match kind.as_str() {
            // "0" means "since the beginning" in every scheme, even where it is no valid version.
            "introduced" if value == "0" => Event::Introduced(Bound::Zero),
            "introduced" => Event::Introduced(Bound::At(parse(value)?)),
            "fixed" => Event::Fixed(parse(value)?),
            "last_affected" => Event::LastAffected(parse(value)?),
            "limit" if value == "*" => continue,
            "limit" => Event::Limit(parse(value)?),
            other => return Err(RecordError::Shape(format!("unknown range event {other:?}"))),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, text: &str) -> (Vec<Advisory>, ImportReport) {
        crate::import::import_text(crate::import::Format::Osv, name, text)
    }

    #[test]
    fn yaml_and_json_read_alike() {
        let yaml = "id: PYSEC-1\naliases: [CVE-2020-1]\naffected:\n- package: {name: Jinja2, ecosystem: PyPI}\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: \"0\"\n    - fixed: 2.11.3\n  versions: [2.11.2, not-a-version!]\n";
        let json = r#"{"id":"PYSEC-1","aliases":["CVE-2020-1"],"affected":[{"package":{"name":"Jinja2","ecosystem":"PyPI"},
            "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.11.3"}]}],"versions":["2.11.2","not-a-version!"]}]}"#;
        for (name, text) in [("a.yaml", yaml), ("a.json", json)] {
            let (out, report) = run(name, text);
            assert!(report.problems.is_empty(), "{:?}", report.problems);
            let a = &out[0].affected[0];
            assert_eq!((a.ecosystem, a.name.as_str()), (Ecosystem::PyPI, "Jinja2"));
            assert_eq!(a.ranges[0].events().len(), 2);
            assert_eq!(a.versions.len(), 1);
            assert_eq!(a.unparsed_versions, ["not-a-version!"]);
        }
    }

    #[test]
    fn malformed_records_are_reported_not_fatal() {
        for (name, text, expect) in [
            ("a.json", "{", "JSON"),
            ("a.json", r#"{"affected":[]}"#, "missing field `id`"),
            ("a.yaml", "id: [unclosed", "YAML"),
            (
                "a.json",
                r#"{"id":"X","affected":[{"package":{"name":"p","ecosystem":"npm"},"ranges":[{"type":"SEMVER","events":[{"fixed":"1.x"}]}]}]}"#,
                "invalid semver",
            ),
            (
                "a.json",
                r#"{"id":"X","affected":[{"package":{"name":"p","ecosystem":"npm"},"ranges":[{"type":"SEMVER","events":[{"fixed":"1.0.0","introduced":"0"}]}]}]}"#,
                "exactly one",
            ),
            (
                "a.json",
                r#"{"id":"X","affected":[{"ranges":[]}]}"#,
                "no package",
            ),
            (
                "a.json",
                r#"{"id":"X","affected":[{"package":{"name":"glibc","ecosystem":"Debian"}}]}"#,
                "names no release",
            ),
        ] {
            let (_, report) = run(name, text);
            let problem = report.problems.first().unwrap_or_else(|| panic!("{text}"));
            assert!(problem.to_string().contains(expect), "{problem}");
            assert!(problem.to_string().starts_with(name), "{problem}");
        }
    }

    /// Every advisory of the real data, from each importer, written with [`to_osv`] and read
    /// back, is the advisory it was.
    #[test]
    fn stored_form_reads_back_unchanged() {
        use crate::import::{import_path, Format};
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/testdata/advisories");
        let mut count = 0;
        for (format, dir) in [
            (Format::Osv, "pypi/vulns/jinja2"),
            (Format::Osv, "npm"),
            (Format::Osv, "rust-crates/crates"),
            (Format::AlpineSecdb, "alpine-secdb/v3.11"),
            (Format::DebianTracker, "debian-tracker-json/debian.json"),
        ] {
            let mut originals = Vec::new();
            import_path(format, &data.join(dir), &mut |a| originals.push(a)).unwrap();
            assert!(!originals.is_empty(), "{dir}");
            for original in originals {
                let text = to_osv(&original, "2026-11-23T00:00:00Z").to_string();
                let (back, report) = run("stored.json", &text);
                assert!(report.problems.is_empty(), "{:?}", report.problems);
                assert_eq!(format!("{:?}", back[0]), format!("{original:?}"));
                count += 1;
            }
        }
        assert!(count > 1000, "{count}");
    }

    #[test]
    fn git_ranges_and_unknown_ecosystems_are_skipped() {
        let json = r#"{"id":"X","affected":[
            {"package":{"name":"p","ecosystem":"Hex"}},
            {"package":{"name":"q","ecosystem":"Go"},"ranges":[{"type":"GIT","events":[{"introduced":"abc"}]}]}]}"#;
        let (out, report) = run("x.json", json);
        assert_eq!(report.unsupported_ecosystems, 1);
        assert!(out[0].affected[0].ranges.is_empty());
    }
}
