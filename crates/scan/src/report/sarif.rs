//! The report as SARIF 2.1.0, the format code-scanning dashboards read: one rule per
//! advisory (with a help link to its CVE record and GitHub's `security-severity` score), one
//! result per finding, located at the metadata file that records the package inside the
//! image, with the package URL as a logical location.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{fixed_in_text, Report, ScannedImage};
use crate::advisory::Advisory;
use crate::cvss::Severity;
use crate::matching::Finding;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Writes the report.
pub fn write(report: &Report<'_>) -> Value {
    // Rules are keyed by id so that each advisory appears once, in a stable order, with the
    // worst severity any finding gave it.
    let mut rules: BTreeMap<&str, (&Advisory, Severity)> = BTreeMap::new();
    for f in report.images.iter().flat_map(|i| &i.findings) {
        let entry = rules
            .entry(f.advisory.id.as_str())
            .or_insert((f.advisory, f.severity));
        entry.1 = entry.1.max(f.severity);
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, id)| (*id, i)).collect();
    let results: Vec<Value> = report
        .images
        .iter()
        .flat_map(|scanned| {
            scanned
                .findings
                .iter()
                .map(|f| result(report, scanned, f, index[f.advisory.id.as_str()]))
        })
        .collect();
    let attributions: Vec<String> = report
        .attributions()
        .iter()
        .map(ToString::to_string)
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "hallmark",
                "version": report.options.tool_version,
                "rules": rules.values().map(|(a, s)| rule(a, *s)).collect::<Vec<_>>(),
            }},
            "invocations": [{"executionSuccessful": true, "endTimeUtc": report.options.created}],
            "results": results,
            "properties": {"target": report.target, "attributions": attributions},
        }],
    })
}

fn rule(advisory: &Advisory, severity: Severity) -> Value {
    let summary = if advisory.summary.is_empty() {
        advisory.id.clone()
    } else {
        advisory.summary.clone()
    };
    let mut properties = json!({"tags": ["security", "vulnerability"], "severity": severity});
    if let Some(score) = security_severity(advisory, severity) {
        properties["security-severity"] = json!(format!("{score:.1}"));
    }
    json!({
        "id": advisory.id,
        "name": advisory.cve().unwrap_or(&advisory.id),
        "shortDescription": {"text": summary},
        "helpUri": advisory.link(),
        "help": {"text": format!("{summary}\n{}", advisory.link())},
        "defaultConfiguration": {"level": level(severity)},
        "properties": properties,
    })
}

fn result(report: &Report<'_>, scanned: &ScannedImage<'_>, f: &Finding<'_>, rule: usize) -> Value {
    let p = scanned.package_of(f);
    let layer = scanned.layer_of(p);
    let layer_digest = layer.and_then(|l| l.digest.as_deref());
    let message = format!(
        "{} {} in {} (layer {}{}) is affected by {}; fixed in: {}",
        p.package.name,
        p.package.version,
        scanned.label(),
        p.layer,
        layer_digest.map(|d| format!(" {d}")).unwrap_or_default(),
        f.advisory.id,
        fixed_in_text(f),
    );
    json!({
        "ruleId": f.advisory.id,
        "ruleIndex": rule,
        "level": level(f.severity),
        "message": {"text": message},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": p.path}},
            "logicalLocations": [{"name": p.package.name, "fullyQualifiedName": p.purl, "kind": "package"}],
        }],
        "partialFingerprints": {
            "hallmark/v1": format!("{}|{}|{}|{}", report.target, scanned.label(), p.purl, f.advisory.id),
        },
        "properties": {
            "purl": p.purl,
            "installed": p.package.version,
            "fixed_in": f.fixed_in.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "status": f.status,
            "severity": f.severity,
            "layer": p.layer,
            "layer_digest": layer_digest,
            "created_by": layer.and_then(|l| l.created_by.as_deref()),
            "image": scanned.image.image,
            "platform": scanned.image.platform,
        },
    })
}

/// SARIF's levels: what a gate should stop on is an error.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Unknown => "note",
    }
}

/// GitHub's `security-severity`: the CVSS score, or the middle of the rating's band.
fn security_severity(advisory: &Advisory, severity: Severity) -> Option<f64> {
    advisory.cvss_score.or(match severity {
        Severity::Critical => Some(9.5),
        Severity::High => Some(8.0),
        Severity::Medium => Some(5.5),
        Severity::Low => Some(2.0),
        Severity::Unknown => None,
    })
}
