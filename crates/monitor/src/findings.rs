//! The stored form of an image's findings: one compact JSON array per finding, naming the
//! package by its index in the stored inventory instead of repeating its path, name and
//! version. A re-match compares this text with the stored text, so an image whose findings did
//! not change is neither decoded, diffed nor written again.

use scan::changes::StoredFinding;
use scan::{Inventory, Matches, Severity, Status};
use serde::de::Error as _;

/// One finding as stored: package index, advisory id, status, severity, fixed versions.
type CompactFinding = (usize, String, Status, Severity, Vec<String>);

/// The stored text of the findings of `matches`, a match of some inventory: sorted and
/// without repeats, so the same findings always give the same text.
pub(crate) fn encode(matches: &Matches<'_>) -> Result<String, serde_json::Error> {
    let mut compact: Vec<CompactFinding> = matches
        .findings
        .iter()
        .map(|f| {
            (
                f.package,
                f.advisory.id.clone(),
                f.status,
                f.severity,
                f.fixed_in.iter().map(ToString::to_string).collect(),
            )
        })
        .collect();
    compact.sort();
    compact.dedup();
    serde_json::to_string(&compact)
}

/// The findings stored as `text` for `inventory`, in the form [`scan::changes::diff`] takes.
pub(crate) fn decode(
    text: &str,
    inventory: &Inventory,
) -> Result<Vec<StoredFinding>, serde_json::Error> {
    let compact: Vec<CompactFinding> = serde_json::from_str(text)?;
    let mut findings = compact
        .into_iter()
        .map(|(package, advisory, status, severity, fixed_in)| {
            let installed = inventory.packages.get(package).ok_or_else(|| {
                serde_json::Error::custom(format!(
                    "package {package} is not in the inventory's {} packages",
                    inventory.packages.len()
                ))
            })?;
            Ok(StoredFinding {
                advisory,
                path: installed.path.clone(),
                package: installed.package.name.clone(),
                version: installed.package.version.clone(),
                status,
                fixed_in,
                severity,
            })
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()?;
    findings.sort();
    findings.dedup();
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scan::analyzer::PackageKind;
    use scan::{Ecosystem, InstalledPackage, Package};

    fn inventory() -> Inventory {
        let package = InstalledPackage {
            package: Package {
                ecosystem: Ecosystem::Npm,
                name: "lodash".into(),
                version: "4.17.15".into(),
                release: None,
                source: None,
            },
            kind: PackageKind::Npm,
            purl: String::new(),
            licenses: vec![],
            layer: 0,
            path: "lodash/package.json".into(),
        };
        Inventory {
            packages: vec![package],
            ..Inventory::default()
        }
    }

    #[test]
    fn stored_text_names_packages_by_index() {
        let text =
            r#"[[0,"GHSA-1","fixed","HIGH",["4.17.21"]],[0,"GHSA-1","fixed","HIGH",["4.17.21"]]]"#;
        let findings = decode(text, &inventory()).unwrap();
        assert_eq!(findings.len(), 1, "repeats are dropped");
        let f = &findings[0];
        assert_eq!(
            (
                f.advisory.as_str(),
                f.path.as_str(),
                f.package.as_str(),
                f.version.as_str()
            ),
            ("GHSA-1", "lodash/package.json", "lodash", "4.17.15")
        );
        assert_eq!((f.status, f.severity), (Status::Fixed, Severity::High));
        assert_eq!(f.fixed_in, ["4.17.21"]);
    }

    #[test]
    fn unreadable_stored_text_is_an_error() {
        for text in [
            r#"[[1,"GHSA-1","fixed","HIGH",[]]]"#,
            r#"[{"advisory":"GHSA-1"}]"#,
            "",
        ] {
            assert!(decode(text, &inventory()).is_err(), "{text}");
        }
    }
}
