//! A build's attestations through its life: the agent that built an image knows what went in
//! (entry, commit, parents by digest, its own id, the times) and has the image's layout at
//! hand, so it signs the SLSA provenance and the SPDX and CycloneDX SBOMs of the layout when
//! the build finishes and pushes them beside the image under `<arch>/<repo>`; `publish` carries them to
//! `library/<repo>` with the image, into the index's attestation manifests and as referrers,
//! where the index's digest is final.

use anyhow::Context as _;
use attest::attach::{attestation_artifact_type, envelope_layers};
use attest::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use attest::predicate::{PredicateKind, CYCLONEDX_BOM, SPDX_DOCUMENT};
use attest::provenance::{BuildRecord, ParentImage, Provenance, SLSA_PROVENANCE_V1};
use attest::{PrivateKey, Timestamp};
use build::engine::PinnedParent;
use build::plan::PlannedBuild;
use oci::manifest::Descriptor;
use scan::image::source::ImageInventory;
use scan::report::{cyclonedx, spdx};
use scan::{AdvisoryDb, Report, ReportOptions};

use crate::remote::Remote;

/// The builder id of an architecture's agent (`runDetails.builder.id`).
pub fn builder_id(agent: &str) -> String {
    format!("https://github.com/hallmark-oci/hallmark/agents/{agent}")
}

/// The signed provenance of `build`, about `image` (the pushed manifest's descriptor).
pub fn sign_provenance(
    entry: &library::Entry,
    build: &PlannedBuild,
    record: &build::records::BuildRecord,
    parents: &[PinnedParent],
    (image_name, image): (&str, &Descriptor),
    key: &PrivateKey,
) -> Envelope {
    let provenance = Provenance::from_build(&BuildRecord {
        entry,
        arch: build.arch,
        parents: parents
            .iter()
            .map(|parent| ParentImage {
                reference: parent.image.to_string(),
                digest: parent.digest.clone(),
            })
            .collect(),
        builder_id: builder_id(&build.agent),
        invocation_id: format!("{}-{}", build.identity.0.hex(), record.started),
        started_on: Timestamp::from_unix_seconds(record.started),
        finished_on: Timestamp::from_unix_seconds(record.finished),
    });
    let statement = provenance.statement(image_name, &image.digest);
    Envelope::sign(IN_TOTO_PAYLOAD_TYPE, statement.to_payload(), key)
}

/// The signed SBOMs of a built image, SPDX and CycloneDX, made from one scan of it, about
/// `image` (the pushed manifest's descriptor).
pub fn sign_sboms(
    scanned: Vec<ImageInventory>,
    (image_name, image): (&str, &Descriptor),
    key: &PrivateKey,
) -> anyhow::Result<Vec<Envelope>> {
    // An SBOM lists what is in the image; findings are `hallmark scan`'s business.
    let no_advisories = AdvisoryDb::new();
    let options = ReportOptions {
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        created: crate::document_time::created()?,
    };
    let report = Report::new(image_name, scanned, &no_advisories, options);
    [
        (PredicateKind::Spdx, spdx::write(&report)),
        (PredicateKind::CycloneDx, cyclonedx::write(&report)),
    ]
    .into_iter()
    .map(|(kind, document)| {
        let document = serde_json::to_vec(&document)?;
        let statement = kind.statement(image_name, &image.digest, &document)?;
        Ok(Envelope::sign(
            IN_TOTO_PAYLOAD_TYPE,
            statement.to_payload(),
            key,
        ))
    })
    .collect()
}

/// The provenance and SBOM envelopes (both formats) the agent pushed beside `image` in `remote`'s
/// repository.
pub fn build_envelopes(remote: &Remote, image: &oci::Digest) -> anyhow::Result<Vec<Envelope>> {
    let wanted = [SLSA_PROVENANCE_V1, SPDX_DOCUMENT, CYCLONEDX_BOM].map(attestation_artifact_type);
    let mut envelopes = Vec::new();
    for referrer in remote.referrers(image)? {
        if !wanted.contains(&referrer.artifact_type.as_deref().unwrap_or_default()) {
            continue;
        }
        let Some(manifest) = remote.manifest(referrer.digest.as_str())? else {
            continue;
        };
        for layer in envelope_layers(&manifest.image()?) {
            let bytes = remote.blob(layer)?;
            envelopes.push(
                Envelope::from_json(&bytes)
                    .with_context(|| format!("{} is not a DSSE envelope", layer.digest))?,
            );
        }
    }
    Ok(envelopes)
}
