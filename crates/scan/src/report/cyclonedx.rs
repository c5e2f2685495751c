//! The report as a CycloneDX 1.6 JSON BOM: the target as the BOM's subject, one `container`
//! component per scanned image holding its operating system and packages as sub-components
//! (each with a purl, licences and the introducing layer as properties), and a
//! `vulnerabilities` section, one entry per advisory, with its rating, the CVE record, the
//! fixed versions and the packages it affects.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::licenses::{classify, License};
use super::{attribution, fixed_in_text, identity_seed, uuid_from, Report, ScannedImage};
use crate::advisory::Advisory;
use crate::cvss::Severity;
use crate::inventory::InstalledPackage;
use crate::matching::Finding;

/// Writes the BOM.
pub fn write(report: &Report<'_>) -> Value {
    let components: Vec<Value> = report
        .images
        .iter()
        .enumerate()
        .map(|(i, scanned)| image_component(i, scanned))
        .collect();
    let mut bom = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", uuid_from(&identity_seed(report))),
        "version": 1,
        "metadata": {
            "timestamp": report.options.created,
            "tools": {"components": [{
                "type": "application",
                "name": "hallmark",
                "version": report.options.tool_version,
            }]},
            "component": {"type": "container", "bom-ref": "target", "name": report.target},
        },
        "components": components,
    });
    let vulnerabilities = vulnerabilities(report);
    if !vulnerabilities.is_empty() {
        bom["vulnerabilities"] = Value::Array(vulnerabilities);
    }
    bom
}

fn package_ref(image: usize, package: usize) -> String {
    format!("image-{image}/package-{package}")
}

fn image_component(i: usize, scanned: &ScannedImage<'_>) -> Value {
    let image = &scanned.image;
    let mut children = Vec::new();
    if let Some(os) = &image.inventory.os {
        let mut component = json!({
            "type": "operating-system",
            "bom-ref": format!("image-{i}/os"),
            "name": os.id,
        });
        if let Some(version) = &os.version_id {
            component["version"] = json!(version);
        }
        if let Some(pretty) = &os.pretty_name {
            component["description"] = json!(pretty);
        }
        children.push(component);
    }
    children.extend(
        image
            .inventory
            .packages
            .iter()
            .enumerate()
            .map(|(j, p)| package_component(scanned, p, package_ref(i, j))),
    );
    let mut properties = Vec::new();
    if let Some(platform) = &image.platform {
        properties.push(property("hallmark:image:platform", platform));
    }
    for tag in &image.tags {
        properties.push(property("hallmark:image:tag", tag));
    }
    let mut component = json!({
        "type": "container",
        "bom-ref": format!("image-{i}"),
        "name": scanned.label(),
        "components": children,
    });
    if let Some(digest) = &image.image {
        component["version"] = json!(digest);
    }
    if !properties.is_empty() {
        component["properties"] = Value::Array(properties);
    }
    component
}

fn package_component(scanned: &ScannedImage<'_>, p: &InstalledPackage, bom_ref: String) -> Value {
    let mut properties = vec![
        property("hallmark:package:ecosystem", p.package.ecosystem.osv_name()),
        property("hallmark:package:path", &p.path),
        property("hallmark:layer:index", &p.layer.to_string()),
    ];
    if let Some((source, _)) = &p.package.source {
        properties.push(property("hallmark:package:source", source));
    }
    if let Some(layer) = scanned.layer_of(p) {
        if let Some(digest) = &layer.digest {
            properties.push(property("hallmark:layer:digest", digest));
        }
        if let Some(created_by) = &layer.created_by {
            properties.push(property("hallmark:layer:created_by", created_by));
        }
    }
    let mut component = json!({
        "type": "library",
        "bom-ref": bom_ref,
        "name": p.package.name,
        "version": p.package.version,
        "purl": p.purl,
        "properties": properties,
    });
    let licenses = licenses(&p.licenses);
    if !licenses.is_empty() {
        component["licenses"] = Value::Array(licenses);
    }
    component
}

/// CycloneDX takes either licences (a listed `id` or a free `name`) or exactly one
/// expression, never both: a lone compound statement is the expression, and any other
/// compound statement goes in as a named licence.
fn licenses(statements: &[String]) -> Vec<Value> {
    let statements: Vec<License<'_>> = statements
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| classify(s))
        .collect();
    if let [License::Expression(e)] = statements.as_slice() {
        return vec![json!({"expression": e})];
    }
    statements
        .iter()
        .map(|l| match l {
            License::Id(id) => json!({"license": {"id": id}}),
            License::Expression(text) | License::Text(text) => {
                json!({"license": {"name": text}})
            }
        })
        .collect()
}

/// One entry per advisory, affecting every package (in every image) it was found in.
fn vulnerabilities(report: &Report<'_>) -> Vec<Value> {
    let mut by_id: BTreeMap<&str, Vec<(usize, &ScannedImage<'_>, &Finding<'_>)>> = BTreeMap::new();
    for (i, scanned) in report.images.iter().enumerate() {
        for f in &scanned.findings {
            by_id
                .entry(f.advisory.id.as_str())
                .or_default()
                .push((i, scanned, f));
        }
    }
    by_id
        .into_values()
        .map(|findings| vulnerability(&findings))
        .collect()
}

fn vulnerability(findings: &[(usize, &ScannedImage<'_>, &Finding<'_>)]) -> Value {
    let advisory: &Advisory = findings[0].2.advisory;
    let severity = findings
        .iter()
        .map(|(.., f)| f.severity)
        .max()
        .unwrap_or(Severity::Unknown);
    let mut rating = json!({"severity": severity.to_string().to_ascii_lowercase()});
    if let Some(score) = advisory.cvss_score {
        rating["score"] = json!(score);
        rating["method"] = json!("CVSSv3");
    }
    let affects: Vec<Value> = findings
        .iter()
        .map(|(i, scanned, f)| {
            let p = scanned.package_of(f);
            json!({
                "ref": package_ref(*i, f.package),
                "versions": [{"version": p.package.version, "status": "affected"}],
            })
        })
        .collect();
    let recommendation: Vec<String> = findings
        .iter()
        .map(|(_, scanned, f)| {
            let p = scanned.package_of(f);
            format!(
                "{} {}: fixed in {}",
                p.package.name,
                p.package.version,
                fixed_in_text(f)
            )
        })
        .collect();
    let statuses: Vec<Value> = findings
        .iter()
        .map(|(i, _, f)| {
            property(
                &format!("hallmark:status:{}", package_ref(*i, f.package)),
                &status_text(f),
            )
        })
        .collect();
    let mut entry = json!({
        "bom-ref": format!("vulnerability/{}", advisory.id),
        "id": advisory.id,
        "ratings": [rating],
        "advisories": [{"url": advisory.link()}],
        "recommendation": recommendation.join("; "),
        "affects": affects,
        "properties": statuses,
    });
    if let Some(credit) = attribution::of(advisory) {
        entry["source"] = json!({"name": credit.name, "url": credit.url});
    }
    if !advisory.summary.is_empty() {
        entry["description"] = json!(advisory.summary);
    }
    let references: Vec<Value> = advisory
        .aliases
        .iter()
        .filter(|a| a.starts_with("CVE-"))
        .map(|cve| {
            json!({"id": cve, "source": {"name": "CVE", "url": format!("https://www.cve.org/CVERecord?id={cve}")}})
        })
        .collect();
    if !references.is_empty() {
        entry["references"] = Value::Array(references);
    }
    entry
}

fn status_text(f: &Finding<'_>) -> String {
    serde_json::to_value(f.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn property(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}
