//! DSSE envelopes (secure-systems-lab's Dead Simple Signing Envelope, v1): the payload's exact
//! bytes, its type, and signatures over PAE(type, payload). The payload is kept as the bytes
//! that were signed and is never re-serialised.

use serde::{Deserialize, Serialize};

use crate::encoding::base64_field;
use crate::keys::{PrivateKey, PublicKey};

/// The payload type of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// DSSE's pre-authentication encoding: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`,
/// lengths as ASCII decimal byte counts. Signatures cover this, never the bare payload, so a
/// payload cannot be replayed under another type.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut encoded = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    encoded.extend_from_slice(b"DSSEv1 ");
    encoded.extend_from_slice(payload_type.len().to_string().as_bytes());
    encoded.push(b' ');
    encoded.extend_from_slice(payload_type.as_bytes());
    encoded.push(b' ');
    encoded.extend_from_slice(payload.len().to_string().as_bytes());
    encoded.push(b' ');
    encoded.extend_from_slice(payload);
    encoded
}

/// A DSSE envelope as JSON: `payload` and `sig` in base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// The exact payload bytes that were signed.
    #[serde(with = "base64_field")]
    pub payload: Vec<u8>,
    /// What the payload is, e.g. [`IN_TOTO_PAYLOAD_TYPE`].
    pub payload_type: String,
    /// One signature per signing key.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature in an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// The signing key's id (hex SHA-256 of its SubjectPublicKeyInfo); DSSE makes it optional
    /// and unauthenticated, so it only picks the key to try.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyid: String,
    /// ECDSA P-256 SHA-256, ASN.1 DER.
    #[serde(with = "base64_field")]
    pub sig: Vec<u8>,
}

/// Why bytes are not a DSSE envelope.
#[derive(Debug, thiserror::Error)]
#[error("not a DSSE envelope: {0}")]
pub struct EnvelopeError(#[from] serde_json::Error);

impl Envelope {
    /// Signs `payload` (kept byte for byte) as `payload_type` with `key`.
    pub fn sign(payload_type: &str, payload: Vec<u8>, key: &PrivateKey) -> Self {
        let sig = key.sign(&pae(payload_type, &payload));
        Self {
            payload,
            payload_type: payload_type.to_owned(),
            signatures: vec![EnvelopeSignature {
                keyid: key.public_key().key_id().to_owned(),
                sig,
            }],
        }
    }

    /// Reads an envelope from JSON.
    pub fn from_json(json: &[u8]) -> Result<Self, EnvelopeError> {
        Ok(serde_json::from_slice(json)?)
    }

    /// The envelope as compact JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an envelope always serialises")
    }

    /// The bytes every signature covers.
    pub fn signed_bytes(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// Whether `signature` is `key`'s signature of this envelope's payload and type.
    pub fn verifies_with(&self, signature: &EnvelopeSignature, key: &PublicKey) -> bool {
        key.verifies(&self.signed_bytes(), &signature.sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_specification() {
        // The DSSE specification's own example (protocol.md, "Test Vectors" in spirit).
        for (payload_type, payload, expected) in [
            (
                "http://example.com/HelloWorld",
                &b"hello world"[..],
                &b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"[..],
            ),
            ("", b"", b"DSSEv1 0  0 "),
            ("t", "é".as_bytes(), "DSSEv1 1 t 2 é".as_bytes()),
        ] {
            assert_eq!(pae(payload_type, payload), expected, "{payload_type:?}");
        }
    }

    #[test]
    fn envelopes_sign_verify_and_round_trip_through_json() {
        let key = PrivateKey::generate().unwrap();
        // Whitespace and key order that a re-serialisation would change.
        let payload = b"{ \"b\": 1,\n  \"a\": 2 }".to_vec();
        let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, payload.clone(), &key);
        let read = Envelope::from_json(&envelope.to_json()).unwrap();
        assert_eq!(read, envelope);
        assert_eq!(read.payload, payload);
        assert_eq!(read.signatures[0].keyid, key.public_key().key_id());
        assert!(read.verifies_with(&read.signatures[0], key.public_key()));

        let mut retyped = read.clone();
        retyped.payload_type = "text/plain".into();
        assert!(!retyped.verifies_with(&retyped.signatures[0], key.public_key()));
    }

    #[test]
    fn url_safe_base64_from_other_producers_is_read() {
        let json = br#"{"payload":"-_8","payloadType":"x","signatures":[{"sig":"AA"}]}"#;
        let envelope = Envelope::from_json(json).unwrap();
        assert_eq!(envelope.payload, [0xfb, 0xff]);
        assert_eq!(envelope.signatures[0].keyid, "");
        assert!(
            Envelope::from_json(br#"{"payload":"%","payloadType":"x","signatures":[]}"#).is_err()
        );
    }
}
