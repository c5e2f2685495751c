//! in-toto Statement v1: what is attested (subjects by digest) and the claim about it (a typed
//! predicate). Statements are serialised once, signed as those bytes, and read back from the
//! signed bytes only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `_type` of every v1 statement.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// An in-toto Statement v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    /// Always [`STATEMENT_TYPE`] for statements we accept.
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// The artifacts the claim is about.
    pub subject: Vec<ResourceDescriptor>,
    /// What kind of claim `predicate` is.
    pub predicate_type: String,
    /// The claim; its shape depends on `predicate_type`.
    #[serde(default)]
    pub predicate: serde_json::Value,
}

/// An in-toto ResourceDescriptor: a subject, or a dependency in provenance.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResourceDescriptor {
    /// A human name for the artifact (an image reference, for images).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Where the artifact lives.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uri: String,
    /// Algorithm (`sha256`, `gitCommit`) to lowercase hex.
    #[serde(default)]
    pub digest: BTreeMap<String, String>,
}

/// Why payload bytes are not a statement we can use.
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    /// The bytes are not a statement's JSON.
    #[error("not an in-toto statement: {0}")]
    Json(#[from] serde_json::Error),
    /// The `_type` is another version or another format.
    #[error("statement type {0:?} is not {STATEMENT_TYPE}")]
    Type(String),
}

impl ResourceDescriptor {
    /// An image by name and content digest.
    pub fn image(name: &str, digest: &oci::Digest) -> Self {
        Self {
            name: name.to_owned(),
            uri: String::new(),
            digest: BTreeMap::from([(
                digest.algorithm().name().to_owned(),
                digest.hex().to_owned(),
            )]),
        }
    }

    /// Whether this descriptor names `digest` (same algorithm, same hex).
    pub fn has_digest(&self, digest: &oci::Digest) -> bool {
        self.digest
            .get(digest.algorithm().name())
            .is_some_and(|hex| hex.eq_ignore_ascii_case(digest.hex()))
    }
}

impl Statement {
    /// A statement about `subject` of `predicate_type`.
    pub fn new(
        subject: Vec<ResourceDescriptor>,
        predicate_type: &str,
        predicate: serde_json::Value,
    ) -> Self {
        Self {
            statement_type: STATEMENT_TYPE.to_owned(),
            subject,
            predicate_type: predicate_type.to_owned(),
            predicate,
        }
    }

    /// The bytes to sign: compact JSON, produced once.
    pub fn to_payload(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a statement always serialises")
    }

    /// Reads a statement from the exact bytes that were signed.
    pub fn from_payload(payload: &[u8]) -> Result<Self, StatementError> {
        let statement: Statement = serde_json::from_slice(payload)?;
        if statement.statement_type != STATEMENT_TYPE {
            return Err(StatementError::Type(statement.statement_type));
        }
        Ok(statement)
    }

    /// Whether one of the subjects is `digest`.
    pub fn is_about(&self, digest: &oci::Digest) -> bool {
        self.subject
            .iter()
            .any(|subject| subject.has_digest(digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_round_trip_and_find_their_subject() {
        let digest = oci::Digest::of(oci::DigestAlgorithm::Sha256, b"manifest");
        let other = oci::Digest::of(oci::DigestAlgorithm::Sha256, b"other");
        let statement = Statement::new(
            vec![ResourceDescriptor::image(
                "localhost/library/python",
                &digest,
            )],
            "https://example.com/p",
            serde_json::json!({"k": 1}),
        );
        let payload = statement.to_payload();
        let text = String::from_utf8(payload.clone()).unwrap();
        assert!(
            text.starts_with(r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"#),
            "{text}"
        );
        let read = Statement::from_payload(&payload).unwrap();
        assert_eq!(read, statement);
        assert!(read.is_about(&digest));
        assert!(!read.is_about(&other));
        let old = text.replace("Statement/v1", "Statement/v0.1");
        assert!(matches!(
            Statement::from_payload(old.as_bytes()),
            Err(StatementError::Type(_))
        ));
    }
}
