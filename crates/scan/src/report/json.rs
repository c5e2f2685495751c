//! The report as one JSON document for programs. Field names are part of the interface:
//! `target`, `created`, `tool`, `images[]` (`platform`, `digest`, `tags`, `os`, `layers[]`,
//! `packages[]`, `findings[]`, `problems[]`), `summary` and `attributions`. Additions are
//! allowed; renames and removals are not.

use serde_json::{json, Value};

use super::{fixed_in_text, Report, ScannedImage};
use crate::cvss::Severity;
use crate::inventory::InstalledPackage;
use crate::matching::Finding;

/// Writes the report.
pub fn write(report: &Report<'_>) -> Value {
    json!({
        "target": report.target,
        "created": report.options.created,
        "tool": {"name": "hallmark", "version": report.options.tool_version},
        "images": report.images.iter().map(image).collect::<Vec<_>>(),
        "summary": summary(report),
        "attributions": report.attributions(),
    })
}

fn image(scanned: &ScannedImage<'_>) -> Value {
    let inventory = &scanned.image.inventory;
    let layers: Vec<Value> = inventory
        .layers
        .iter()
        .enumerate()
        .map(|(index, l)| json!({"index": index, "digest": l.digest, "created_by": l.created_by}))
        .collect();
    let os = inventory.os.as_ref().map(|os| {
        json!({
            "id": os.id,
            "version_id": os.version_id,
            "pretty_name": os.pretty_name,
            "release": os.release(),
        })
    });
    let mut problems = inventory.problems.clone();
    problems.extend(scanned.unmatched.iter().cloned());
    json!({
        "platform": scanned.image.platform,
        "digest": scanned.image.image,
        "tags": scanned.image.tags,
        "os": os,
        "layers": layers,
        "packages": inventory.packages.iter().map(package).collect::<Vec<_>>(),
        "findings": scanned.findings.iter().map(|f| finding(scanned, f)).collect::<Vec<_>>(),
        "problems": problems,
    })
}

fn package(p: &InstalledPackage) -> Value {
    json!({
        "name": p.package.name,
        "version": p.package.version,
        "ecosystem": p.package.ecosystem.osv_name(),
        "release": p.package.release,
        "source": p.package.source.as_ref().map(|(name, version)| json!({"name": name, "version": version})),
        "purl": p.purl,
        "licenses": p.licenses,
        "layer": p.layer,
        "path": p.path,
    })
}

fn finding(scanned: &ScannedImage<'_>, f: &Finding<'_>) -> Value {
    let p = scanned.package_of(f);
    let layer = scanned.layer_of(p);
    json!({
        "id": f.advisory.id,
        "aliases": f.advisory.aliases,
        "cve": f.advisory.cve(),
        "summary": f.advisory.summary,
        "severity": f.severity,
        "cvss_score": f.advisory.cvss_score,
        "status": f.status,
        "package": p.package.name,
        "ecosystem": p.package.ecosystem.osv_name(),
        "installed": p.package.version,
        "purl": p.purl,
        "fixed_in": f.fixed_in.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "fixed_in_text": fixed_in_text(f),
        "layer": {
            "index": p.layer,
            "digest": layer.and_then(|l| l.digest.clone()),
            "created_by": layer.and_then(|l| l.created_by.clone()),
        },
        "path": p.path,
        "link": f.advisory.link(),
    })
}

fn summary(report: &Report<'_>) -> Value {
    let findings = report.images.iter().flat_map(|i| &i.findings);
    let mut by_severity = serde_json::Map::new();
    for severity in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Unknown,
    ] {
        let n = findings.clone().filter(|f| f.severity == severity).count();
        by_severity.insert(severity.to_string(), n.into());
    }
    json!({
        "images": report.images.len(),
        "packages": report.images.iter().map(|i| i.image.inventory.packages.len()).sum::<usize>(),
        "findings": findings.count(),
        "by_severity": by_severity,
    })
}
