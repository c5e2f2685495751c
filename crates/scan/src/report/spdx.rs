//! The inventory as an SPDX 2.3 JSON document: one package per scanned image (the
//! document DESCRIBES it), which CONTAINS a package per installed package, each with its purl,
//! version, declared licence and, as `sourceInfo`, the layer that introduced it. Findings are
//! not part of SPDX 2.3; the CycloneDX and SARIF outputs carry them.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::licenses::{classify, license_ref, License};
use super::{identity_seed, uuid_from, Report, ScannedImage};
use crate::inventory::InstalledPackage;

/// Writes the document.
pub fn write(report: &Report<'_>) -> Value {
    let mut packages = Vec::new();
    let mut relationships = Vec::new();
    let mut extracted: BTreeMap<String, String> = BTreeMap::new();
    for (i, scanned) in report.images.iter().enumerate() {
        let image_id = format!("SPDXRef-Image-{i}");
        packages.push(image_package(report, scanned, &image_id));
        relationships.push(relationship("SPDXRef-DOCUMENT", "DESCRIBES", &image_id));
        for (j, p) in scanned.image.inventory.packages.iter().enumerate() {
            let id = format!("SPDXRef-Package-{i}-{j}");
            packages.push(package(scanned, p, &id, &mut extracted));
            relationships.push(relationship(&image_id, "CONTAINS", &id));
        }
    }
    let mut document = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": report.target,
        "documentNamespace": format!(
            "https://spdx.org/spdxdocs/hallmark/{}-{}",
            namespace_safe(&report.target),
            uuid_from(&identity_seed(report))
        ),
        "creationInfo": {
            "created": report.options.created,
            "creators": [format!("Tool: hallmark-{}", report.options.tool_version)],
        },
        "packages": packages,
        "relationships": relationships,
    });
    if !extracted.is_empty() {
        document["hasExtractedLicensingInfos"] = extracted
            .into_iter()
            .map(|(id, text)| json!({"licenseId": id, "extractedText": text, "name": text}))
            .collect();
    }
    document
}

fn image_package(report: &Report<'_>, scanned: &ScannedImage<'_>, id: &str) -> Value {
    let image = &scanned.image;
    let mut name = report.target.clone();
    if let Some(platform) = &image.platform {
        name.push_str(&format!(" ({platform})"));
    }
    let mut package = json!({
        "SPDXID": id,
        "name": name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "CONTAINER",
    });
    if let Some(digest) = &image.image {
        package["versionInfo"] = json!(digest);
        if let Some(hex) = digest.strip_prefix("sha256:") {
            package["checksums"] = json!([{"algorithm": "SHA256", "checksumValue": hex}]);
        }
    }
    package
}

fn package(
    scanned: &ScannedImage<'_>,
    p: &InstalledPackage,
    id: &str,
    extracted: &mut BTreeMap<String, String>,
) -> Value {
    let mut package = json!({
        "SPDXID": id,
        "name": p.package.name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": declared(&p.licenses, extracted),
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "LIBRARY",
        "sourceInfo": source_info(scanned, p),
        "externalRefs": [{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": p.purl,
        }],
    });
    if !p.package.version.is_empty() {
        package["versionInfo"] = json!(p.package.version);
    }
    package
}

/// Where the package came from: its layer (index, digest, history entry) and the file that
/// records it.
fn source_info(scanned: &ScannedImage<'_>, p: &InstalledPackage) -> String {
    let mut text = format!("layer {}", p.layer);
    if let Some(layer) = scanned.layer_of(p) {
        if let Some(digest) = &layer.digest {
            text.push_str(&format!(" ({digest})"));
        }
        if let Some(created_by) = &layer.created_by {
            text.push_str(&format!(", created by: {created_by}"));
        }
    }
    text.push_str(&format!("; recorded in /{}", p.path));
    text
}

/// The declared licence: listed identifiers as an expression, anything else as a
/// `LicenseRef-` whose text goes to `hasExtractedLicensingInfos`; several statements are
/// all declared (`AND`).
fn declared(licenses: &[String], extracted: &mut BTreeMap<String, String>) -> String {
    let parts: Vec<(String, bool)> = licenses
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match classify(l) {
            License::Id(id) => (id.to_owned(), false),
            License::Expression(e) => (e.to_owned(), true),
            License::Text(text) => {
                let id = license_ref(text);
                extracted.insert(id.clone(), text.to_owned());
                (id, false)
            }
        })
        .collect();
    match parts.as_slice() {
        [] => "NOASSERTION".to_owned(),
        [(one, _)] => one.clone(),
        // Compound parts are parenthesised so that AND binds them as they were written.
        _ => parts
            .iter()
            .map(|(p, compound)| {
                if *compound {
                    format!("({p})")
                } else {
                    p.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" AND "),
    }
}

/// The target made safe for a URI path segment.
fn namespace_safe(target: &str) -> String {
    target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn relationship(from: &str, kind: &str, to: &str) -> Value {
    json!({"spdxElementId": from, "relationshipType": kind, "relatedSpdxElement": to})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_licenses() {
        let mut extracted = BTreeMap::new();
        let mut declare = |l: &[&str]| {
            declared(
                &l.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                &mut extracted,
            )
        };
        assert_eq!(declare(&[]), "NOASSERTION");
        assert_eq!(declare(&["MIT"]), "MIT");
        assert_eq!(declare(&["MIT OR ISC"]), "MIT OR ISC");
        assert_eq!(declare(&["MIT OR ISC", "Zlib"]), "(MIT OR ISC) AND Zlib");
        let free = declare(&["BSD License"]);
        assert!(free.starts_with("LicenseRef-BSD-License-"), "{free}");
        assert_eq!(
            extracted.get(&free).map(String::as_str),
            Some("BSD License")
        );
    }
}
