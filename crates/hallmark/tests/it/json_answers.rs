//! Reading `hallmark --format json` answers the same way in every test that checks them.

use serde_json::Value;

/// The predicate types a build's signed attestations carry: provenance and both SBOMs.
pub(crate) const SIGNED_PREDICATES: [&str; 3] = [
    "https://cyclonedx.org/bom",
    "https://slsa.dev/provenance/v1",
    "https://spdx.dev/Document",
];

/// The predicate types of the attestations `verify` found for one manifest (an entry of its
/// answer's `manifests`), sorted.
pub(crate) fn predicate_types(manifest: &Value) -> Vec<&str> {
    let mut found: Vec<&str> = manifest["report"]["attestations"]
        .as_array()
        .unwrap_or_else(|| panic!("no attestations: {manifest:#}"))
        .iter()
        .map(|a| a["predicateType"].as_str().unwrap())
        .collect();
    found.sort_unstable();
    found
}

/// `db import`'s changes as `tag kind advisory package@version`, in the answer's order.
pub(crate) fn db_changes(report: &Value) -> Vec<String> {
    report["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("no changes: {report:#}"))
        .iter()
        .map(|change| {
            let finding = &change["finding"];
            format!(
                "{} {} {} {}@{}",
                change["tag"].as_str().unwrap(),
                change["kind"].as_str().unwrap(),
                finding["advisory"].as_str().unwrap(),
                finding["package"].as_str().unwrap(),
                finding["version"].as_str().unwrap()
            )
        })
        .collect()
}
