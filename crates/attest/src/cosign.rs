//! cosign's formats, as data: the simple-signing payload and its detached signature (the legacy
//! `sha256-<hex>.sig` tag), and the Sigstore bundle v0.3 that newer cosign attaches as an OCI
//! referrer. Registry I/O lives elsewhere; these are the bytes it stores.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::encoding::{base64_decode, base64_encode};
use crate::keys::PrivateKey;
use crate::statement::{ResourceDescriptor, Statement};
use crate::time::Timestamp;

/// `critical.type` of a simple-signing payload.
pub const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";
/// The media type of the layer that holds a simple-signing payload.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The layer annotation that holds the base64 signature of the payload.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The media type of a Sigstore bundle v0.3 (JSON).
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The predicate type of the statement cosign signs for an image signature in a bundle.
pub const COSIGN_SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";

/// The tag cosign's legacy scheme stores the signatures of `digest` under: `sha256-<hex>.sig`.
pub fn legacy_signature_tag(digest: &oci::Digest) -> String {
    format!("{}-{}.sig", digest.algorithm().name(), digest.hex())
}

/// The simple-signing payload (containers/image's "atomic" signature format as cosign writes
/// it). Field order matches cosign's, though verifiers only ever see the stored bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimpleSigning {
    /// What is signed.
    pub critical: Critical,
    /// Unsigned-by-convention extras; signed all the same, since they are in the payload. We
    /// write the signing time here as `timestamp` (Unix seconds), as containers/image does.
    #[serde(default)]
    pub optional: Option<BTreeMap<String, serde_json::Value>>,
}

/// `critical`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Critical {
    /// `identity`.
    pub identity: Identity,
    /// `image`.
    pub image: Image,
    /// Always [`SIMPLE_SIGNING_TYPE`].
    #[serde(rename = "type")]
    pub signature_type: String,
}

/// `critical.identity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The repository the image was signed in (`registry.example/library/python`).
    #[serde(rename = "docker-reference")]
    pub docker_reference: String,
}

/// `critical.image`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The manifest digest signed.
    #[serde(rename = "docker-manifest-digest")]
    pub docker_manifest_digest: String,
}

/// A simple-signing payload with its signature, as stored: the payload is the layer's exact
/// bytes, the signature the annotation's base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPayload {
    /// The payload bytes (the layer blob).
    pub payload: Vec<u8>,
    /// ECDSA P-256 SHA-256 over `payload`, ASN.1 DER.
    pub signature: Vec<u8>,
}

impl SimpleSigning {
    /// The payload for `digest` in `repository`, signed at `signed_at`.
    pub fn new(docker_reference: &str, digest: &oci::Digest, signed_at: Timestamp) -> Self {
        Self {
            critical: Critical {
                identity: Identity {
                    docker_reference: docker_reference.to_owned(),
                },
                image: Image {
                    docker_manifest_digest: digest.to_string(),
                },
                signature_type: SIMPLE_SIGNING_TYPE.to_owned(),
            },
            optional: Some(BTreeMap::from([(
                "timestamp".to_owned(),
                serde_json::Value::from(signed_at.unix_seconds()),
            )])),
        }
    }

    /// Reads a payload from its stored bytes.
    pub fn from_payload(payload: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(payload)
    }

    /// The signing time written in `optional.timestamp`, if any.
    pub fn signed_at(&self) -> Option<Timestamp> {
        self.optional
            .as_ref()?
            .get("timestamp")?
            .as_i64()
            .map(Timestamp::from_unix_seconds)
    }

    /// Serialises the payload once and signs those bytes.
    pub fn sign(&self, key: &PrivateKey) -> SignedPayload {
        let payload = serde_json::to_vec(self).expect("a payload always serialises");
        let signature = key.sign(&payload);
        SignedPayload { payload, signature }
    }
}

impl SignedPayload {
    /// The value of the [`SIGNATURE_ANNOTATION`] annotation.
    pub fn signature_annotation(&self) -> String {
        base64_encode(&self.signature)
    }

    /// The stored form back: payload bytes and the annotation's value.
    pub fn from_stored(payload: Vec<u8>, signature_annotation: &str) -> Option<Self> {
        Some(Self {
            payload,
            signature: base64_decode(signature_annotation)?,
        })
    }
}

/// A Sigstore bundle v0.3 holding a DSSE envelope, verified with a public key (no
/// certificate, no transparency log: `cosign verify --key … --insecure-ignore-tlog=true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// [`BUNDLE_MEDIA_TYPE`].
    pub media_type: String,
    /// Which key verifies it.
    pub verification_material: VerificationMaterial,
    /// The signed statement.
    pub dsse_envelope: Envelope,
}

/// `verificationMaterial`, for a bundle signed with a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    /// The key's hint: our key id.
    pub public_key: PublicKeyHint,
    /// Empty: nothing is logged in a transparency log.
    #[serde(default)]
    pub tlog_entries: Vec<serde_json::Value>,
}

/// `verificationMaterial.publicKey`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyHint {
    /// Names the key out of band; verifiers look it up in their trusted keys.
    pub hint: String,
}

/// Why bytes are not a bundle we read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Not JSON of a bundle with a DSSE envelope and a public key hint.
    #[error("not a Sigstore bundle with a DSSE envelope and a public key: {0}")]
    Json(#[from] serde_json::Error),
    /// Another version of the bundle format.
    #[error("bundle media type {0:?} is not {BUNDLE_MEDIA_TYPE}")]
    MediaType(String),
}

impl Bundle {
    /// cosign's image signature as a bundle: a DSSE envelope over a statement of type
    /// [`COSIGN_SIGN_PREDICATE_TYPE`] whose subject is the image. The predicate carries the
    /// signing time as `timestamp` (RFC 3339), signed with the rest, so that a key retired
    /// later is still judged at the time it signed; offline there is no log or timestamp
    /// authority to say when.
    pub fn sign_image(
        image_name: &str,
        digest: &oci::Digest,
        signed_at: Timestamp,
        key: &PrivateKey,
    ) -> Self {
        let statement = Statement::new(
            vec![ResourceDescriptor::image(image_name, digest)],
            COSIGN_SIGN_PREDICATE_TYPE,
            serde_json::json!({ "timestamp": signed_at }),
        );
        Self::wrap(
            Envelope::sign(IN_TOTO_PAYLOAD_TYPE, statement.to_payload(), key),
            key,
        )
    }

    /// Any signed envelope as a bundle verified by `key`'s public half.
    pub fn wrap(envelope: Envelope, key: &PrivateKey) -> Self {
        Self {
            media_type: BUNDLE_MEDIA_TYPE.to_owned(),
            verification_material: VerificationMaterial {
                public_key: PublicKeyHint {
                    hint: key.public_key().key_id().to_owned(),
                },
                tlog_entries: Vec::new(),
            },
            dsse_envelope: envelope,
        }
    }

    /// Reads a bundle; only v0.3 with a public key is accepted.
    pub fn from_json(json: &[u8]) -> Result<Self, BundleError> {
        let bundle: Bundle = serde_json::from_slice(json)?;
        if bundle.media_type != BUNDLE_MEDIA_TYPE {
            return Err(BundleError::MediaType(bundle.media_type));
        }
        Ok(bundle)
    }

    /// The bundle as JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a bundle always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest() -> oci::Digest {
        oci::Digest::of(oci::DigestAlgorithm::Sha256, b"manifest")
    }

    #[test]
    fn simple_signing_payloads_have_cosigns_shape() {
        let payload = SimpleSigning::new(
            "localhost:5000/library/python",
            &digest(),
            Timestamp::from_unix_seconds(7),
        );
        let json = serde_json::to_string(&payload).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"critical":{{"identity":{{"docker-reference":"localhost:5000/library/python"}},"image":{{"docker-manifest-digest":"{}"}},"type":"cosign container image signature"}},"optional":{{"timestamp":7}}}}"#,
                digest()
            )
        );
        assert_eq!(payload.signed_at(), Some(Timestamp::from_unix_seconds(7)));
        // cosign writes `"optional":null` when there are no annotations.
        let bare = json.replace(r#"{"timestamp":7}"#, "null");
        assert_eq!(
            SimpleSigning::from_payload(bare.as_bytes())
                .unwrap()
                .signed_at(),
            None
        );
        assert_eq!(
            legacy_signature_tag(&digest()),
            format!("sha256-{}.sig", digest().hex())
        );
    }

    #[test]
    fn signed_payloads_survive_their_stored_form() {
        let key = PrivateKey::generate().unwrap();
        let signed =
            SimpleSigning::new("r/x", &digest(), Timestamp::from_unix_seconds(0)).sign(&key);
        let stored =
            SignedPayload::from_stored(signed.payload.clone(), &signed.signature_annotation());
        assert_eq!(stored.as_ref(), Some(&signed));
        assert!(key
            .public_key()
            .verifies(&signed.payload, &signed.signature));
    }

    #[test]
    fn bundles_round_trip_and_name_their_key() {
        let key = PrivateKey::generate().unwrap();
        let at = Timestamp::from_unix_seconds(0);
        let bundle = Bundle::sign_image("localhost/library/python", &digest(), at, &key);
        let json = bundle.to_json();
        let text = String::from_utf8(json.clone()).unwrap();
        assert!(text.starts_with(r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":""#), "{text}");
        let read = Bundle::from_json(&json).unwrap();
        assert_eq!(read, bundle);
        let statement = Statement::from_payload(&read.dsse_envelope.payload).unwrap();
        assert_eq!(statement.predicate_type, COSIGN_SIGN_PREDICATE_TYPE);
        assert_eq!(statement.predicate["timestamp"], "1970-01-01T00:00:00Z");
        assert!(statement.is_about(&digest()));
        let old = text.replace("bundle.v0.3+json", "bundle+json;version=0.2");
        assert!(matches!(
            Bundle::from_json(old.as_bytes()),
            Err(BundleError::MediaType(_))
        ));
    }
}
