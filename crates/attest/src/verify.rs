//! Verification: every signature and attestation found for an image, checked against a key
//! set and the repository's policy. Every check is recorded, passed or not, so a command can
//! print what it checked; the first failure the policy's level enforces is the verdict.

use serde::Serialize;

use crate::cosign::{
    Bundle, SignedPayload, SimpleSigning, COSIGN_SIGN_PREDICATE_TYPE, SIMPLE_SIGNING_TYPE,
};
use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::keyset::{KeyRejection, KeySet, TrustedKey};
use crate::policy::{Category, Level, TrustPolicy};
use crate::provenance::Provenance;
use crate::statement::Statement;
use crate::time::Timestamp;

/// What is verified: a manifest digest in a repository of some tier.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The repository's stored name (`library/python`), which picks the policy.
    pub repository: &'a str,
    /// The manifest (or index) digest.
    pub digest: &'a oci::Digest,
    /// Whether the digest is an index or one image.
    pub kind: TargetKind,
    /// The repository's trust tier, when the registry says (Hallmark's does; others have
    /// none).
    pub tier: Option<oci::TrustTier>,
}

/// What a target digest names, which decides what is expected of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    /// A single image manifest, built for one platform: it is signed and carries provenance.
    Image,
    /// An index over platform images: it is signed, while provenance belongs to each platform
    /// image, so a policy's provenance rules are not asked of the index itself.
    Index,
}

/// Signed material found for the target.
#[derive(Debug, Clone)]
pub enum Evidence {
    /// A legacy `sha256-<hex>.sig` simple-signing payload and its signature.
    SimpleSigning(SignedPayload),
    /// A Sigstore bundle referrer (cosign's image signature).
    Bundle(Bundle),
    /// A DSSE envelope over an in-toto statement (provenance, SBOM, …).
    Attestation(Envelope),
}

/// Why verification fails, one variant per reason a user acts on differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Failure {
    /// No signature of the digest was found.
    #[error("not signed: no signature for this digest")]
    NotSigned,
    /// Signed attestations travelled with the image but its signature did not: the image was
    /// copied without its signature tag and referrers.
    #[error("signature not mirrored: attestations signed by a trusted key are here but no image signature is; copy the sha256-<hex>.sig tag and the signature referrers along with the image")]
    SignatureNotMirrored,
    /// The signing key is not in the key set.
    #[error("untrusted key: {key_id} is not in the trusted keys")]
    UntrustedKey {
        /// The key id the signature names.
        key_id: String,
    },
    /// The key was outside its validity window when it signed.
    #[error("key expired: {detail}")]
    KeyExpired {
        /// Which key, when it signed, and its window.
        detail: String,
    },
    /// The key is distrusted.
    #[error("key distrusted: {detail}")]
    KeyDistrusted {
        /// Which key.
        detail: String,
    },
    /// The signature does not verify.
    #[error("signature invalid: {detail}")]
    SignatureInvalid {
        /// What did not verify.
        detail: String,
    },
    /// The signed claim is about something else.
    #[error("claim mismatch: signed for {found}, expected {expected}")]
    ClaimMismatch {
        /// The target digest.
        expected: String,
        /// What the signed payload names.
        found: String,
    },
    /// Provenance names another source or builder than the policy.
    #[error("provenance does not match policy: {field} is {found:?}, policy wants {expected:?}")]
    ProvenanceMismatch {
        /// Which field.
        field: String,
        /// What the policy wants.
        expected: String,
        /// What the provenance says.
        found: String,
    },
    /// The policy requires a tier and the registry does not say the repository's.
    #[error(
        "tier unknown: the policy requires {required} and this registry does not publish tiers"
    )]
    TierUnknown {
        /// The policy's minimum.
        required: oci::TrustTier,
    },
    /// The repository's tier is less trusted than the policy accepts.
    #[error("tier below policy: {actual} is below {required}")]
    TierBelowPolicy {
        /// The policy's minimum.
        required: oci::TrustTier,
        /// The repository's tier.
        actual: oci::TrustTier,
    },
}

impl Failure {
    /// The reason's stable name, as in JSON reports (`untrusted-key`).
    pub fn reason(&self) -> &'static str {
        match self {
            Failure::NotSigned => "not-signed",
            Failure::SignatureNotMirrored => "signature-not-mirrored",
            Failure::UntrustedKey { .. } => "untrusted-key",
            Failure::KeyExpired { .. } => "key-expired",
            Failure::KeyDistrusted { .. } => "key-distrusted",
            Failure::SignatureInvalid { .. } => "signature-invalid",
            Failure::ClaimMismatch { .. } => "claim-mismatch",
            Failure::ProvenanceMismatch { .. } => "provenance-mismatch",
            Failure::TierUnknown { .. } => "tier-unknown",
            Failure::TierBelowPolicy { .. } => "tier-below-policy",
        }
    }
}

/// How one check came out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// It held; the detail says what was established.
    Passed {
        /// What held.
        detail: String,
    },
    /// It failed and the policy's level enforces it.
    Failed {
        /// Why.
        failure: Failure,
    },
    /// It failed but the policy's level only records it.
    Logged {
        /// Why.
        failure: Failure,
    },
}

/// One check made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Which evidence it was about (`signature 1 (bundle)`, `image`).
    pub about: String,
    /// What kind of check.
    pub category: Category,
    /// Its result.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// An attestation that verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttestationFound {
    /// Its predicate type.
    pub predicate_type: String,
    /// The key that signed it.
    pub key: String,
}

/// Everything verification did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The policy applied.
    pub policy: String,
    /// Its level.
    pub level: Level,
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// The attestations whose signatures and subjects verified.
    pub attestations: Vec<AttestationFound>,
}

impl Report {
    /// The first enforced failure, if any: the answer to "may this image be used?".
    pub fn verdict(&self) -> Result<(), &Failure> {
        match self.checks.iter().find_map(|check| match &check.outcome {
            Outcome::Failed { failure } => Some(failure),
            _ => None,
        }) {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }
}

/// Verifies `evidence` for `target` with `keys`, under `policy` (or
/// [`TrustPolicy::signatures_only`]). `now` judges keys for signatures that carry no signing
/// time.
pub fn verify(
    target: &Target<'_>,
    evidence: &[Evidence],
    keys: &KeySet,
    policy: Option<&TrustPolicy>,
    now: Timestamp,
) -> Report {
    let default_policy = TrustPolicy::signatures_only();
    let policy = policy.unwrap_or(&default_policy);
    let mut run = Run {
        target,
        keys,
        policy,
        now,
        report: Report {
            policy: policy.name.clone(),
            level: policy.level,
            checks: Vec::new(),
            attestations: Vec::new(),
        },
        signed: false,
        provenance_checked: false,
    };
    for (index, item) in evidence.iter().enumerate() {
        run.evidence(index + 1, item);
    }
    run.finish()
}

/// The state of one verification.
struct Run<'a> {
    target: &'a Target<'a>,
    keys: &'a KeySet,
    policy: &'a TrustPolicy,
    now: Timestamp,
    report: Report,
    /// Whether an image signature verified.
    signed: bool,
    /// Whether a provenance attestation was checked against the policy.
    provenance_checked: bool,
}

/// Which key signed, as far as it can be told.
enum Signer<'a> {
    Verified(&'a TrustedKey),
    Untrusted(String),
    Invalid(String),
}

impl<'a> Run<'a> {
    fn record(&mut self, about: &str, category: Category, result: Result<String, Failure>) -> bool {
        let outcome = match result {
            Ok(detail) => Outcome::Passed { detail },
            Err(failure) if self.policy.level.enforces(category) => Outcome::Failed { failure },
            Err(failure) => Outcome::Logged { failure },
        };
        let passed = matches!(outcome, Outcome::Passed { .. });
        self.report.checks.push(Check {
            about: about.to_owned(),
            category,
            outcome,
        });
        passed
    }

    fn evidence(&mut self, index: usize, item: &Evidence) {
        match item {
            Evidence::SimpleSigning(signed) => {
                let about = format!("signature {index} (simple signing)");
                let signer = self.signer(&signed.payload, &[("", &signed.signature)]);
                let Some(key) = self.authenticate(&about, signer) else {
                    return;
                };
                let payload = SimpleSigning::from_payload(&signed.payload);
                let signed_at = payload.as_ref().ok().and_then(SimpleSigning::signed_at);
                self.judge_key(&about, key, signed_at);
                let found = match &payload {
                    // Another `type` is another kind of claim, whatever digest it names.
                    Ok(payload) if payload.critical.signature_type != SIMPLE_SIGNING_TYPE => {
                        format!("a claim of type {:?}", payload.critical.signature_type)
                    }
                    Ok(payload) => payload.critical.image.docker_manifest_digest.clone(),
                    Err(error) => format!("an unreadable payload ({error})"),
                };
                if self.claim(&about, found == self.target.digest.as_str(), found) {
                    self.signed = true;
                }
            }
            Evidence::Bundle(bundle) => {
                let about = format!("signature {index} (bundle)");
                let hint = &bundle.verification_material.public_key.hint;
                self.statement(&about, &bundle.dsse_envelope, Some(hint));
            }
            Evidence::Attestation(envelope) => {
                self.statement(&format!("attestation {index}"), envelope, None);
            }
        }
    }

    /// Checks a signed statement: cosign's image signature counts as the image being signed;
    /// anything else is an attestation, checked against the policy when it is provenance.
    fn statement(&mut self, about: &str, envelope: &Envelope, hint: Option<&str>) {
        let Some((statement, key)) = self.envelope(about, envelope, hint) else {
            return;
        };
        if statement.predicate_type == COSIGN_SIGN_PREDICATE_TYPE {
            self.signed |= self.statement_claim(about, &statement);
            return;
        }
        let about = format!("{about} ({})", statement.predicate_type);
        if self.statement_claim(&about, &statement) {
            self.report.attestations.push(AttestationFound {
                predicate_type: statement.predicate_type.clone(),
                key: key.name.clone(),
            });
            self.attestation(&about, &statement);
        }
    }

    /// Authenticates a DSSE envelope and reads its statement; `None` when there is nothing
    /// trustworthy to read.
    fn envelope(
        &mut self,
        about: &str,
        envelope: &Envelope,
        hint: Option<&str>,
    ) -> Option<(Statement, &'a TrustedKey)> {
        let signatures: Vec<(&str, &[u8])> = envelope
            .signatures
            .iter()
            .map(|signature| (hint.unwrap_or(&signature.keyid), signature.sig.as_slice()))
            .collect();
        let signer = self.signer(&envelope.signed_bytes(), &signatures);
        let key = self.authenticate(about, signer)?;
        let statement = Statement::from_payload(&envelope.payload);
        let signed_at = statement.as_ref().ok().and_then(signed_time);
        self.judge_key(about, key, signed_at);
        // The type is signed too (PAE); a statement under another type is not a claim we read.
        if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
            let found = format!("a payload of type {:?}", envelope.payload_type);
            self.claim(about, false, found);
            return None;
        }
        match statement {
            Ok(statement) => Some((statement, key)),
            Err(error) => {
                let found = format!("an unreadable statement ({error})");
                self.claim(about, false, found);
                None
            }
        }
    }

    /// Which trusted key made one of `signatures` over `message`. A signature that names its
    /// key is checked against that key alone, so a wrong key reads as untrusted and a damaged
    /// signature as invalid; one that names no key is tried against every trusted key.
    fn signer(&self, message: &[u8], signatures: &[(&str, &[u8])]) -> Signer<'a> {
        let (mut untrusted, mut invalid) = (None, None);
        for (key_id, signature) in signatures {
            let candidates: Vec<&'a TrustedKey> = if key_id.is_empty() {
                self.keys.keys().iter().collect()
            } else if let Some(key) = self.keys.find(key_id) {
                vec![key]
            } else {
                untrusted.get_or_insert_with(|| (*key_id).to_owned());
                continue;
            };
            if let Some(key) = candidates
                .into_iter()
                .find(|key| key.key.verifies(message, signature))
            {
                return Signer::Verified(key);
            }
            invalid.get_or_insert_with(|| {
                if key_id.is_empty() {
                    "no trusted key verifies it (damaged, or made by a key not in the key set)"
                        .to_owned()
                } else {
                    format!("it does not verify with key {key_id}")
                }
            });
        }
        match (invalid, untrusted) {
            (Some(detail), _) => Signer::Invalid(detail),
            (None, Some(key_id)) => Signer::Untrusted(key_id),
            (None, None) => Signer::Invalid("there are no signatures".to_owned()),
        }
    }

    fn authenticate(&mut self, about: &str, signer: Signer<'a>) -> Option<&'a TrustedKey> {
        match signer {
            Signer::Verified(key) => {
                self.record(
                    about,
                    Category::Authenticity,
                    Ok(format!("signed by trusted key {}", key.name)),
                );
                self.record(
                    about,
                    Category::Integrity,
                    Ok("signature verifies".to_owned()),
                );
                Some(key)
            }
            Signer::Untrusted(key_id) => {
                self.record(
                    about,
                    Category::Authenticity,
                    Err(Failure::UntrustedKey { key_id }),
                );
                None
            }
            Signer::Invalid(detail) => {
                self.record(
                    about,
                    Category::Integrity,
                    Err(Failure::SignatureInvalid { detail }),
                );
                None
            }
        }
    }

    /// Judges the key at the signed time, or now when the payload carries none.
    fn judge_key(&mut self, about: &str, key: &TrustedKey, signed_at: Option<Timestamp>) {
        let at = signed_at.unwrap_or(self.now);
        let result = key
            .judge(at)
            .map(|()| format!("key {} valid at {at}", key.name))
            .map_err(|rejection| match rejection {
                KeyRejection::Distrusted(_) => Failure::KeyDistrusted {
                    detail: rejection.to_string(),
                },
                _ => Failure::KeyExpired {
                    detail: rejection.to_string(),
                },
            });
        self.record(about, Category::KeyValidity, result);
    }

    fn claim(&mut self, about: &str, matches: bool, found: String) -> bool {
        let expected = self.target.digest.to_string();
        let result = if matches {
            Ok(format!("signed claim names {expected}"))
        } else {
            Err(Failure::ClaimMismatch { expected, found })
        };
        self.record(about, Category::Integrity, result)
    }

    fn statement_claim(&mut self, about: &str, statement: &Statement) -> bool {
        let found = statement
            .subject
            .iter()
            .flat_map(|subject| {
                subject
                    .digest
                    .iter()
                    .map(|(algorithm, hex)| format!("{algorithm}:{hex}"))
            })
            .collect::<Vec<_>>()
            .join(", ");
        self.claim(about, statement.is_about(self.target.digest), found)
    }

    fn attestation(&mut self, about: &str, statement: &Statement) {
        match Provenance::from_statement(statement) {
            Some(Ok(provenance)) => self.provenance(about, &provenance),
            Some(Err(error)) => {
                self.record(
                    about,
                    Category::Provenance,
                    Err(Failure::ProvenanceMismatch {
                        field: "predicate".to_owned(),
                        expected: "SLSA Provenance v1".to_owned(),
                        found: error.to_string(),
                    }),
                );
            }
            None => {}
        }
    }

    /// Whether this target must carry provenance the policy checks.
    fn expects_provenance(&self) -> bool {
        self.policy.requires_provenance() && self.target.kind == TargetKind::Image
    }

    fn provenance(&mut self, about: &str, provenance: &Provenance) {
        if !self.expects_provenance() {
            return;
        }
        self.provenance_checked = true;
        let parameters = &provenance.build_definition.external_parameters;
        let fields = [
            (
                "GitRepo",
                self.policy.source_repository.as_deref(),
                parameters.git_repo.as_str(),
            ),
            (
                "GitCommit",
                self.policy.commit.as_deref(),
                parameters.git_commit.as_str(),
            ),
            (
                "builder.id",
                self.policy.builder_id.as_deref(),
                provenance.run_details.builder.id.as_str(),
            ),
        ];
        for (field, expected, found) in fields {
            let Some(expected) = expected else { continue };
            let same = if field == "GitRepo" {
                normalise_repository(expected) == normalise_repository(found)
            } else {
                expected.eq_ignore_ascii_case(found)
            };
            let result = if same {
                Ok(format!("{field} is {found}"))
            } else {
                Err(Failure::ProvenanceMismatch {
                    field: field.to_owned(),
                    expected: expected.to_owned(),
                    found: found.to_owned(),
                })
            };
            self.record(about, Category::Provenance, result);
        }
    }

    fn finish(mut self) -> Report {
        if !self.signed {
            let failure = if self.report.attestations.is_empty() {
                Failure::NotSigned
            } else {
                Failure::SignatureNotMirrored
            };
            self.record("image", Category::Authenticity, Err(failure));
        }
        if self.expects_provenance() && !self.provenance_checked {
            self.record(
                "image",
                Category::Provenance,
                Err(Failure::ProvenanceMismatch {
                    field: "provenance".to_owned(),
                    expected: "a signed SLSA provenance for this digest".to_owned(),
                    found: "none".to_owned(),
                }),
            );
        }
        if let Some(required) = self.policy.minimum_tier {
            // Tiers order from most trusted (official) down.
            let result = match self.target.tier {
                Some(actual) if actual <= required => Ok(format!("tier {actual} meets {required}")),
                Some(actual) => Err(Failure::TierBelowPolicy { required, actual }),
                None => Err(Failure::TierUnknown { required }),
            };
            self.record("image", Category::Tier, result);
        }
        self.report
    }
}

/// When a statement says it was signed: provenance's `finishedOn` (it is signed when the build
/// finishes), or the `timestamp` Hallmark writes in cosign's image-signature predicate.
fn signed_time(statement: &Statement) -> Option<Timestamp> {
    if statement.predicate_type == COSIGN_SIGN_PREDICATE_TYPE {
        return statement.predicate.get("timestamp")?.as_str()?.parse().ok();
    }
    let provenance = Provenance::from_statement(statement)?.ok()?;
    Some(provenance.run_details.metadata.finished_on)
}

/// `https://github.com/x/y.git/` and `https://github.com/x/y` name the same repository.
fn normalise_repository(url: &str) -> &str {
    let url = url.trim_end_matches('/');
    url.strip_suffix(".git").unwrap_or(url)
}
