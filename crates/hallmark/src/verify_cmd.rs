//! `hallmark verify`: everything signed about an image, read from the registry and checked
//! with `attest`'s verification: the index and each platform manifest, their cosign
//! signatures, and the attestations stored in the index and as referrers. Every check is
//! printed; the first enforced failure sets the exit code, one per reason.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use attest::attach::{attestation_subject, envelope_layers, signature_layers};
use attest::cosign::{legacy_signature_tag, Bundle, SignedPayload, BUNDLE_MEDIA_TYPE};
use attest::dsse::Envelope;
use attest::policy::PolicySet;
use attest::verify::{verify, Evidence, Failure, Outcome, Report, Target, TargetKind};
use attest::Timestamp;
use oci::manifest::{Descriptor, ImageIndex};
use serde::Serialize;

use crate::key_cmd::load_trusted_keys;
use crate::output::{print_json, print_lines, Format};
use crate::remote::{RegistryArgs, Remote};
use crate::signatures::targets;

/// Verify an image's signatures and attestations before use.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The image: HOST/NAME:TAG or HOST/NAME@DIGEST.
    image: String,
    /// Trust this public key (PEM).
    #[arg(long, value_name = "FILE", conflicts_with = "keys")]
    key: Option<PathBuf>,
    /// Trust the keys of this key set (TOML, with validity windows and distrust).
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    /// The trust policy (TOML, policies scoped by repository); without one, signatures are
    /// checked and attestations listed.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// One manifest verified.
#[derive(Debug, Serialize)]
struct Verified {
    digest: oci::Digest,
    platform: Option<String>,
    kind: TargetKind,
    /// Evidence that could not be read at all (not JSON of its kind).
    unreadable: Vec<String>,
    report: Report,
}

#[derive(Debug, Serialize)]
struct Answer<'a> {
    image: String,
    digest: &'a oci::Digest,
    tier: Option<oci::TrustTier>,
    manifests: &'a [Verified],
    verified: bool,
    failure: Option<&'a Failure>,
}

/// Runs `hallmark verify`.
pub fn run(args: VerifyArgs, format: Format) -> anyhow::Result<ExitCode> {
    let keys = load_trusted_keys(args.key.as_deref(), args.keys.as_deref())?;
    let policies = match &args.policy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("read {}", path.display()))?;
            PolicySet::from_toml(&text).with_context(|| format!("{}", path.display()))?
        }
        None => PolicySet::default(),
    };
    let remote = args.registry.open(&args.image)?;
    let image = remote.resolve()?;
    let index = image.index()?;
    let tier = remote.tier();
    let policy = policies.for_repository(remote.repository());
    let now = Timestamp::now();
    let mut verified = Vec::new();
    // Platform manifests first: what they carry decides whether a missing signature means
    // "not signed" or "not mirrored", and that is the more useful first answer.
    let mut all = targets(&image)?;
    all.rotate_left(1);
    for (descriptor, platform) in all {
        let kind = if index.is_some() && platform.is_none() {
            TargetKind::Index
        } else {
            TargetKind::Image
        };
        let (evidence, unreadable) = gather(&remote, &descriptor.digest, index.as_ref())?;
        let target = Target {
            repository: remote.repository(),
            digest: &descriptor.digest,
            kind,
            tier,
        };
        let report = verify(&target, &evidence, &keys, policy, now);
        verified.push(Verified {
            digest: descriptor.digest,
            platform,
            kind,
            unreadable,
            report,
        });
    }
    let failure = verified.iter().find_map(|v| v.report.verdict().err());
    let answer = Answer {
        image: remote.name(),
        digest: &image.descriptor.digest,
        tier,
        manifests: &verified,
        verified: failure.is_none(),
        failure,
    };
    match format {
        Format::Json => print_json(&answer)?,
        Format::Text => print_lines(describe(&answer))?,
    }
    Ok(match failure {
        None => ExitCode::SUCCESS,
        Some(failure) => {
            eprintln!("hallmark: verification failed: {failure}");
            ExitCode::from(exit_code(failure))
        }
    })
}

/// One exit code per reason, so scripts can tell them apart; 1 stays "could not verify".
fn exit_code(failure: &Failure) -> u8 {
    match failure {
        Failure::NotSigned => 10,
        Failure::SignatureNotMirrored => 11,
        Failure::UntrustedKey { .. } => 12,
        Failure::KeyExpired { .. } => 13,
        Failure::KeyDistrusted { .. } => 14,
        Failure::SignatureInvalid { .. } => 15,
        Failure::ClaimMismatch { .. } => 16,
        Failure::ProvenanceMismatch { .. } => 17,
        Failure::TierBelowPolicy { .. } => 18,
        Failure::TierUnknown { .. } => 19,
    }
}

/// Everything signed about `digest`: its referrers (bundles and DSSE attestations), the DSSE
/// layers of its attestation manifest in `index`, and its `.sig` tag's payloads, in that
/// order: signatures that name their key come first, so a key outside the trusted set reads
/// as "untrusted key" rather than as a signature nothing verifies. The same blob found twice
/// is checked once; blobs that do not parse are named, not checked.
fn gather(
    remote: &Remote,
    digest: &oci::Digest,
    index: Option<&ImageIndex>,
) -> anyhow::Result<(Vec<Evidence>, Vec<String>)> {
    let mut found = Found::default();
    let mut manifests: Vec<Descriptor> = remote.referrers(digest)?;
    manifests.extend(
        index
            .into_iter()
            .flat_map(|index| &index.manifests)
            .filter(|entry| attestation_subject(entry).as_ref() == Some(digest))
            .cloned(),
    );
    for descriptor in manifests {
        let Some(fetched) = remote.manifest(descriptor.digest.as_str())? else {
            continue;
        };
        let manifest = fetched.image()?;
        if manifest.artifact_type.as_deref() == Some(BUNDLE_MEDIA_TYPE) {
            for layer in manifest
                .layers
                .iter()
                .filter(|l| l.media_type == BUNDLE_MEDIA_TYPE)
            {
                match Bundle::from_json(&remote.blob(layer)?) {
                    Ok(bundle) => found.add(layer, Evidence::Bundle(bundle)),
                    Err(error) => found.unreadable(layer, &error.to_string()),
                }
            }
        }
        for layer in envelope_layers(&manifest) {
            match Envelope::from_json(&remote.blob(layer)?) {
                Ok(envelope) => found.add(layer, Evidence::Attestation(envelope)),
                Err(error) => found.unreadable(layer, &error.to_string()),
            }
        }
    }
    if let Some(signatures) = remote.manifest(&legacy_signature_tag(digest))? {
        let manifest = signatures.image()?;
        for (layer, signature) in signature_layers(&manifest) {
            let payload = remote.blob(layer)?;
            match SignedPayload::from_stored(payload, signature) {
                Some(signed) => found.add(layer, Evidence::SimpleSigning(signed)),
                None => found.unreadable(layer, "a signature annotation that is not base64"),
            }
        }
    }
    Ok((found.evidence, found.unreadable))
}

#[derive(Default)]
struct Found {
    seen: BTreeSet<String>,
    evidence: Vec<Evidence>,
    unreadable: Vec<String>,
}

impl Found {
    /// A layer is the same evidence when its digest and annotations (a `.sig` layer's
    /// signature) are.
    fn add(&mut self, layer: &Descriptor, evidence: Evidence) {
        if self
            .seen
            .insert(format!("{} {:?}", layer.digest, layer.annotations))
        {
            self.evidence.push(evidence);
        }
    }

    fn unreadable(&mut self, layer: &Descriptor, why: &str) {
        if self
            .seen
            .insert(format!("{} {:?}", layer.digest, layer.annotations))
        {
            self.unreadable.push(format!("{}: {why}", layer.digest));
        }
    }
}

fn describe(answer: &Answer<'_>) -> Vec<String> {
    let mut lines = vec![format!("{}@{}", answer.image, answer.digest)];
    lines.push(match answer.tier {
        Some(tier) => format!("tier {tier}"),
        None => "tier unknown (the registry does not publish tiers)".to_owned(),
    });
    for manifest in answer.manifests {
        lines.push(format!(
            "{} {} (policy {}, {:?}):",
            manifest.platform.as_deref().unwrap_or("index"),
            manifest.digest,
            manifest.report.policy,
            manifest.report.level
        ));
        for check in &manifest.report.checks {
            let (mark, text) = match &check.outcome {
                Outcome::Passed { detail } => ("ok", detail.clone()),
                Outcome::Failed { failure } => ("FAIL", failure.to_string()),
                Outcome::Logged { failure } => ("logged", failure.to_string()),
            };
            lines.push(format!("  {mark:6} {}: {text}", check.about));
        }
        for attestation in &manifest.report.attestations {
            lines.push(format!(
                "  attestation {} signed by {}",
                attestation.predicate_type, attestation.key
            ));
        }
        for unreadable in &manifest.unreadable {
            lines.push(format!("  unreadable {unreadable}"));
        }
    }
    lines.push(match answer.failure {
        None => "verified".to_owned(),
        Some(failure) => format!("FAILED: {failure}"),
    });
    lines
}
