//! The kinds of attestation `hallmark attest --type` makes, named as cosign names them, and the
//! statement that wraps a predicate file of each kind. SBOM documents come from the scanner;
//! here they are only checked to be JSON of their kind and wrapped.

use std::fmt;
use std::str::FromStr;

use crate::provenance::{Provenance, SLSA_PROVENANCE_V1};
use crate::statement::{ResourceDescriptor, Statement};

/// `predicateType` of SPDX documents (cosign's `spdx`).
pub const SPDX_DOCUMENT: &str = "https://spdx.dev/Document";
/// `predicateType` of CycloneDX documents (cosign's `cyclonedx`).
pub const CYCLONEDX_BOM: &str = "https://cyclonedx.org/bom";

/// A kind of predicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredicateKind {
    /// SLSA Provenance v1 (`slsaprovenance1`).
    SlsaProvenance1,
    /// An SPDX 2.3 JSON document (`spdx`).
    Spdx,
    /// A CycloneDX 1.6 JSON document (`cyclonedx`).
    CycloneDx,
}

/// Why a predicate file cannot be wrapped.
#[derive(Debug, thiserror::Error)]
pub enum PredicateError {
    /// A `--type` we do not make.
    #[error("{0:?} is not a predicate type here: use slsaprovenance1, spdx or cyclonedx")]
    UnknownKind(String),
    /// The file is not JSON.
    #[error("the predicate is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The JSON is not a document of the kind named.
    #[error("the predicate is not {kind}: {reason}")]
    Shape {
        /// The kind named.
        kind: PredicateKind,
        /// What is missing.
        reason: String,
    },
}

impl PredicateKind {
    /// Every kind.
    pub const ALL: [PredicateKind; 3] = [Self::SlsaProvenance1, Self::Spdx, Self::CycloneDx];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::SlsaProvenance1 => "slsaprovenance1",
            Self::Spdx => "spdx",
            Self::CycloneDx => "cyclonedx",
        }
    }

    /// The statement's `predicateType`.
    pub fn predicate_type(self) -> &'static str {
        match self {
            Self::SlsaProvenance1 => SLSA_PROVENANCE_V1,
            Self::Spdx => SPDX_DOCUMENT,
            Self::CycloneDx => CYCLONEDX_BOM,
        }
    }

    /// Wraps `predicate` (a file's bytes) in a statement about `image` (name and digest),
    /// after checking it is a document of this kind: provenance must read as SLSA v1, SPDX
    /// must say `spdxVersion`, CycloneDX must say `bomFormat: CycloneDX`.
    pub fn statement(
        self,
        image_name: &str,
        image_digest: &oci::Digest,
        predicate: &[u8],
    ) -> Result<Statement, PredicateError> {
        let value: serde_json::Value = serde_json::from_slice(predicate)?;
        let shape = |reason: &str| PredicateError::Shape {
            kind: self,
            reason: reason.to_owned(),
        };
        match self {
            Self::SlsaProvenance1 => {
                serde_json::from_value::<Provenance>(value.clone())
                    .map_err(|error| shape(&error.to_string()))?;
            }
            Self::Spdx if !value["spdxVersion"].is_string() => {
                return Err(shape("no spdxVersion"));
            }
            Self::CycloneDx if value["bomFormat"] != "CycloneDX" => {
                return Err(shape("bomFormat is not \"CycloneDX\""));
            }
            Self::Spdx | Self::CycloneDx => {}
        }
        Ok(Statement::new(
            vec![ResourceDescriptor::image(image_name, image_digest)],
            self.predicate_type(),
            value,
        ))
    }
}

impl fmt::Display for PredicateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PredicateKind {
    type Err = PredicateError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| PredicateError::UnknownKind(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicate_files_are_checked_then_wrapped() {
        let digest = oci::Digest::of(oci::DigestAlgorithm::Sha256, b"image");
        let spdx = br#"{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT"}"#;
        let cyclonedx = br#"{"bomFormat":"CycloneDX","specVersion":"1.6"}"#;
        for (kind, file, expected) in [
            ("spdx", &spdx[..], Ok(SPDX_DOCUMENT)),
            ("cyclonedx", cyclonedx, Ok(CYCLONEDX_BOM)),
            ("spdx", cyclonedx, Err("no spdxVersion")),
            ("cyclonedx", spdx, Err("bomFormat")),
            ("slsaprovenance1", spdx, Err("buildDefinition")),
            ("spdx", b"not json", Err("not JSON")),
            ("sbom", spdx, Err("slsaprovenance1, spdx or cyclonedx")),
        ] {
            let made = kind
                .parse::<PredicateKind>()
                .and_then(|kind| kind.statement("r/p", &digest, file));
            match (made, expected) {
                (Ok(statement), Ok(predicate_type)) => {
                    assert_eq!(statement.predicate_type, predicate_type);
                    assert!(statement.is_about(&digest));
                    let document: serde_json::Value = serde_json::from_slice(file).unwrap();
                    assert_eq!(statement.predicate, document);
                }
                (Err(error), Err(text)) => {
                    assert!(error.to_string().contains(text), "{kind}: {error}")
                }
                (made, expected) => panic!("{kind}: {made:?} but expected {expected:?}"),
            }
        }
        for kind in PredicateKind::ALL {
            assert_eq!(kind.to_string().parse::<PredicateKind>().ok(), Some(kind));
        }
    }
}
