//! A signed image as data: keys, a library entry, its provenance, and every kind of evidence.

use attest::cosign::{Bundle, SimpleSigning};
use attest::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use attest::keyset::KeySet;
use attest::provenance::{BuildRecord, ParentImage, Provenance};
use attest::verify::Evidence;
use attest::{PrivateKey, Timestamp};

pub const LIBRARY: &str = "\
Maintainers: Tianon Gravi <admwiggin@gmail.com> (@tianon)
GitRepo: https://github.com/docker-library/python.git

Tags: 3.13.1-bookworm, 3.13-bookworm
SharedTags: 3.13.1, 3.13
Architectures: amd64, arm64v8
GitCommit: 0123456789abcdef0123456789abcdef01234567
arm64v8-GitCommit: 89abcdef0123456789abcdef0123456789abcdef
Directory: 3.13/bookworm
";

pub const REPOSITORY: &str = "library/python";
pub const BUILDER_ID: &str = "https://hallmark.test/builders/official";

pub fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

pub fn digest_of(bytes: &[u8]) -> oci::Digest {
    oci::Digest::of(oci::DigestAlgorithm::Sha256, bytes)
}

pub fn entry() -> library::Entry {
    library::parse(LIBRARY).unwrap().entries.remove(0)
}

/// One image, the key that signs it, and when.
pub struct Signed {
    pub key: PrivateKey,
    pub digest: oci::Digest,
    pub signed_at: Timestamp,
}

impl Signed {
    pub fn new() -> Self {
        Self {
            key: PrivateKey::generate().unwrap(),
            digest: digest_of(b"the image index"),
            signed_at: at("2025-06-01T12:00:00Z"),
        }
    }

    /// Another image, signed by the same key at the same time.
    pub fn another_image(&self) -> Self {
        Self {
            digest: digest_of(b"another image"),
            key: self.key.clone(),
            signed_at: self.signed_at,
        }
    }

    pub fn provenance(&self, arch: oci::Architecture) -> Provenance {
        let entry = entry();
        Provenance::from_build(&BuildRecord {
            entry: &entry,
            arch,
            parents: vec![ParentImage {
                reference: "docker.io/library/buildpack-deps:bookworm".into(),
                digest: digest_of(b"parent"),
            }],
            builder_id: BUILDER_ID.into(),
            invocation_id: "run-42".into(),
            started_on: at("2025-06-01T11:00:00Z"),
            finished_on: self.signed_at,
        })
    }

    pub fn simple_signing(&self) -> Evidence {
        let payload =
            SimpleSigning::new("registry.test/library/python", &self.digest, self.signed_at);
        Evidence::SimpleSigning(payload.sign(&self.key))
    }

    pub fn bundle(&self) -> Evidence {
        Evidence::Bundle(Bundle::sign_image(
            "registry.test/library/python",
            &self.digest,
            self.signed_at,
            &self.key,
        ))
    }

    pub fn provenance_envelope(&self) -> Envelope {
        let statement = self
            .provenance(oci::Architecture::Amd64)
            .statement("registry.test/library/python", &self.digest);
        Envelope::sign(IN_TOTO_PAYLOAD_TYPE, statement.to_payload(), &self.key)
    }

    pub fn evidence(&self) -> Vec<Evidence> {
        vec![
            self.simple_signing(),
            self.bundle(),
            Evidence::Attestation(self.provenance_envelope()),
        ]
    }

    /// A key set holding the signing key with `extra` TOML lines for it.
    pub fn keys(&self, extra: &str) -> KeySet {
        let text = format!(
            "[[key]]\nname = \"release\"\npublic-key = \"\"\"\n{}\"\"\"\n{extra}\n",
            self.key.public_key().to_pem()
        );
        KeySet::from_toml(&text).unwrap()
    }
}
