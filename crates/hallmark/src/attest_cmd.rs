//! `hallmark attest`: a predicate file wrapped in an in-toto statement per platform manifest,
//! signed as DSSE, and stored twice: in the image index as BuildKit does (which gives the index
//! a new digest, signed again here) and as OCI 1.1 referrers.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use attest::attach::platform_manifests;
use attest::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use attest::predicate::PredicateKind;
use attest::provenance::Provenance;
use attest::Timestamp;
use oci::manifest::Descriptor;
use serde::Serialize;

use crate::key_cmd::load_private_key;
use crate::output::{print_json, print_lines, Format};
use crate::remote::{Fetched, RegistryArgs};
use crate::signatures::{describe, platform_name, push_attestation, store_in_index, Signed};

/// Attach a signed attestation (SLSA provenance, SPDX or CycloneDX SBOM) to an image.
#[derive(Debug, clap::Args)]
pub struct AttestArgs {
    /// The image: HOST/NAME:TAG or HOST/NAME@DIGEST.
    image: String,
    /// The predicate: a JSON document of the kind --type names.
    #[arg(long, value_name = "FILE")]
    predicate: PathBuf,
    /// What the predicate is: slsaprovenance1, spdx or cyclonedx.
    #[arg(long = "type", value_name = "TYPE")]
    kind: PredicateKind,
    /// The private key (PKCS#8 PEM or cosign.key; password in $HALLMARK_KEY_PASSWORD).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Attest only this architecture's manifest (library names: amd64, arm64v8, …). SLSA
    /// provenance goes to the architecture it names unless this is given; other kinds go to
    /// every platform manifest.
    #[arg(long, value_name = "ARCH")]
    platform: Option<oci::Architecture>,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Attested {
    subject: oci::Digest,
    platform: Option<String>,
    predicate_type: String,
    referrer: oci::Digest,
    attestation_manifest: Option<oci::Digest>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Outcome {
    attested: Vec<Attested>,
    /// The index with the attestation manifests, and its signature, when the image is one.
    index: Option<Signed>,
}

/// Runs `hallmark attest`.
pub fn run(args: AttestArgs, format: Format) -> anyhow::Result<ExitCode> {
    let key = load_private_key(&args.key)?;
    let predicate = std::fs::read(&args.predicate)
        .with_context(|| format!("read {}", args.predicate.display()))?;
    let architecture = match (args.platform, args.kind) {
        (Some(architecture), _) => Some(architecture),
        (None, PredicateKind::SlsaProvenance1) => Some(provenance_architecture(&predicate)?),
        (None, _) => None,
    };
    let remote = args.registry.open(&args.image)?;
    let image = remote.resolve()?;
    let now = Timestamp::now();
    let subjects = subjects(&image, architecture)?;
    let mut attested = Vec::new();
    let mut envelopes = Vec::new();
    for (descriptor, platform) in subjects {
        let statement = args
            .kind
            .statement(&remote.name(), &descriptor.digest, &predicate)
            .with_context(|| {
                format!(
                    "{} is not a {} predicate",
                    args.predicate.display(),
                    args.kind
                )
            })?;
        let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, statement.to_payload(), &key);
        let referrer = push_attestation(&remote, &descriptor, &envelope, now)?;
        attested.push(Attested {
            subject: descriptor.digest.clone(),
            platform,
            predicate_type: statement.predicate_type,
            referrer,
            attestation_manifest: None,
        });
        envelopes.push((descriptor, vec![envelope]));
    }
    let index = match image.index()? {
        Some(index) => {
            let (manifests, signed) = store_in_index(&remote, &index, &envelopes, &key, now)?;
            for (record, manifest) in attested.iter_mut().zip(manifests) {
                record.attestation_manifest = Some(manifest);
            }
            Some(signed)
        }
        None => None,
    };
    let outcome = Outcome { attested, index };
    match format {
        Format::Json => print_json(&outcome)?,
        Format::Text => print_lines(describe_outcome(&outcome))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The architecture a provenance predicate says it was built for.
fn provenance_architecture(predicate: &[u8]) -> anyhow::Result<oci::Architecture> {
    let provenance: Provenance =
        serde_json::from_slice(predicate).context("the predicate is not SLSA Provenance v1")?;
    let arch = &provenance.build_definition.external_parameters.arch;
    arch.parse()
        .with_context(|| format!("the provenance names architecture {arch:?}; give --platform"))
}

/// The manifests to attest: the image itself, or the index's platform manifests (those of
/// `architecture` when one is given).
fn subjects(
    image: &Fetched,
    architecture: Option<oci::Architecture>,
) -> anyhow::Result<Vec<(Descriptor, Option<String>)>> {
    let Some(index) = image.index()? else {
        return Ok(vec![(image.descriptor.clone(), None)]);
    };
    let wanted = architecture.map(oci::Architecture::platform);
    let subjects: Vec<_> = platform_manifests(&index)
        .filter(|entry| {
            wanted.is_none_or(|wanted| {
                entry
                    .platform
                    .as_ref()
                    .is_some_and(|p| p.satisfies(&wanted))
            })
        })
        .map(|entry| (entry.clone(), platform_name(entry)))
        .collect();
    anyhow::ensure!(
        !subjects.is_empty(),
        "the index has no manifest for {}",
        architecture.map_or("any platform", oci::Architecture::as_str)
    );
    Ok(subjects)
}

fn describe_outcome(outcome: &Outcome) -> Vec<String> {
    let mut lines: Vec<String> = outcome
        .attested
        .iter()
        .map(|a| {
            format!(
                "attested {} ({}) on {}: referrer {}{}",
                a.predicate_type,
                a.platform.as_deref().unwrap_or("image"),
                a.subject,
                a.referrer,
                a.attestation_manifest
                    .as_ref()
                    .map(|d| format!(", attestation manifest {d}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    if let Some(index) = &outcome.index {
        lines.push(format!("the index is now {} and is signed", index.digest));
        lines.push(describe(index));
    }
    lines
}
