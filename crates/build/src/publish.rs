//! Assembling a multi-architecture tag under `library/<repo>` from the per-architecture
//! images, as pure data: what the registry holds goes in, the index to push comes out.
//!
//! The rules, as the Official Images program keeps them:
//! - every architecture the tag's entries declare gets the image its agent pushed last to
//!   `<arch>/<repo>:<tag>`;
//! - an architecture that was published before but whose new image is missing (its agent
//!   has not built it yet, or its build failed) keeps its published descriptor, so a slow or
//!   broken agent never takes an architecture away from users;
//! - an architecture no entry declares any more is dropped;
//! - attestation manifests (Docker's `vnd.docker.reference.type: attestation-manifest`
//!   entries) stay while the image they describe stays.

use std::collections::BTreeMap;

use oci::manifest::{Descriptor, ImageIndex, MediaType, Platform};
use oci::Architecture;

pub mod remote;

pub use remote::{publish_tag, ArchSource, PublishError, PublishedTag};

/// Docker's annotation naming what an index entry is (`attestation-manifest`).
const REFERENCE_TYPE: &str = "vnd.docker.reference.type";
/// Docker's annotation naming the image an attestation manifest describes.
const REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";

/// One architecture's newly built image, as found under `<arch>/<repo>`.
#[derive(Debug, Clone)]
pub struct ArchImage {
    /// The architecture.
    pub arch: Architecture,
    /// The image manifest's descriptor (media type, digest, size).
    pub manifest: Descriptor,
}

/// What happened to each architecture of a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArchOutcome {
    /// The new build went in.
    Updated,
    /// The new build is what was published already.
    Unchanged,
    /// No new build: the published image stays.
    KeptPublished,
    /// No new build and nothing published: the tag lacks this architecture for now.
    Missing,
}

/// The index to publish and what it did per architecture.
#[derive(Debug, Clone)]
pub struct Assembled {
    /// The new index.
    pub index: ImageIndex,
    /// Each declared architecture's outcome.
    pub outcomes: BTreeMap<Architecture, ArchOutcome>,
}

/// Assembles the index of one tag from the architectures its entries declare, the images
/// built for them, and the index published now (if any).
pub fn assemble_index(
    declared: &[Architecture],
    built: &[ArchImage],
    current: Option<&ImageIndex>,
) -> Assembled {
    let mut manifests = Vec::new();
    let mut outcomes = BTreeMap::new();
    for &arch in declared {
        if outcomes.contains_key(&arch) {
            continue;
        }
        let wanted = arch.platform();
        let published = current.and_then(|index| {
            index.manifests.iter().find(|d| {
                !is_attestation(d) && d.platform.as_ref().is_some_and(|p| p.satisfies(&wanted))
            })
        });
        let new = built.iter().find(|image| image.arch == arch);
        let (descriptor, outcome) = match (new, published) {
            (Some(new), Some(old)) if new.manifest.digest == old.digest => {
                (Some(old.clone()), ArchOutcome::Unchanged)
            }
            (Some(new), _) => (Some(platform_entry(new)), ArchOutcome::Updated),
            (None, Some(old)) => (Some(old.clone()), ArchOutcome::KeptPublished),
            (None, None) => (None, ArchOutcome::Missing),
        };
        outcomes.insert(arch, outcome);
        manifests.extend(descriptor);
    }
    let kept: Vec<String> = manifests.iter().map(|d| d.digest.to_string()).collect();
    let attestations = current.into_iter().flat_map(|index| &index.manifests);
    manifests.extend(
        attestations
            .filter(|d| {
                is_attestation(d)
                    && d.annotations
                        .get(REFERENCE_DIGEST)
                        .is_some_and(|subject| kept.contains(subject))
            })
            .cloned(),
    );
    let index = ImageIndex {
        schema_version: 2,
        media_type: Some(MediaType::OCI_INDEX.to_owned()),
        artifact_type: None,
        manifests,
        subject: None,
        annotations: BTreeMap::new(),
        extra: BTreeMap::new(),
    };
    Assembled { index, outcomes }
}

fn is_attestation(descriptor: &Descriptor) -> bool {
    descriptor
        .annotations
        .get(REFERENCE_TYPE)
        .map(String::as_str)
        == Some("attestation-manifest")
}

fn platform_entry(image: &ArchImage) -> Descriptor {
    let mut descriptor = image.manifest.clone();
    descriptor.platform = Some(Platform::from(image.arch.platform()));
    descriptor.annotations.clear();
    descriptor
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci::Digest;

    fn image(arch: Architecture, content: &str) -> ArchImage {
        ArchImage {
            arch,
            manifest: Descriptor::of(MediaType::OCI_MANIFEST, content.as_bytes()),
        }
    }

    fn attestation_for(subject: &Descriptor) -> Descriptor {
        let mut d = Descriptor::of(MediaType::OCI_MANIFEST, b"attestation");
        d.platform = Some(Platform {
            architecture: "unknown".into(),
            os: "unknown".into(),
            ..Platform::default()
        });
        d.annotations
            .insert(REFERENCE_TYPE.into(), "attestation-manifest".into());
        d.annotations
            .insert(REFERENCE_DIGEST.into(), subject.digest.to_string());
        d
    }

    fn digests(index: &ImageIndex) -> Vec<Digest> {
        index.manifests.iter().map(|d| d.digest.clone()).collect()
    }

    #[test]
    fn architectures_are_updated_kept_or_missing() {
        use Architecture::{Amd64, Arm64v8, I386};
        let old_amd = image(Amd64, "amd64 v1");
        let old_arm = image(Arm64v8, "arm64 v1");
        let previous =
            assemble_index(&[Amd64, Arm64v8], &[old_amd.clone(), old_arm.clone()], None).index;
        let new_amd = image(Amd64, "amd64 v2");
        // (declared, built, outcomes, the index's manifests)
        type Case<'a> = (
            &'a [Architecture],
            Vec<ArchImage>,
            Vec<(Architecture, ArchOutcome)>,
            Vec<Digest>,
        );
        let cases: [Case; 4] = [
            // The arm64v8 agent has not built yet: its published image stays.
            (
                &[Amd64, Arm64v8],
                vec![new_amd.clone()],
                vec![
                    (Amd64, ArchOutcome::Updated),
                    (Arm64v8, ArchOutcome::KeptPublished),
                ],
                vec![
                    new_amd.manifest.digest.clone(),
                    old_arm.manifest.digest.clone(),
                ],
            ),
            // Rebuilt to the same digests: nothing changes.
            (
                &[Amd64, Arm64v8],
                vec![old_amd.clone(), old_arm.clone()],
                vec![
                    (Amd64, ArchOutcome::Unchanged),
                    (Arm64v8, ArchOutcome::Unchanged),
                ],
                digests(&previous),
            ),
            // arm64v8 is no longer declared: dropped.
            (
                &[Amd64],
                vec![new_amd.clone()],
                vec![(Amd64, ArchOutcome::Updated)],
                vec![new_amd.manifest.digest.clone()],
            ),
            // A new architecture with no build yet is missing, not invented.
            (
                &[Amd64, Arm64v8, I386],
                vec![],
                vec![
                    (Amd64, ArchOutcome::KeptPublished),
                    (Arm64v8, ArchOutcome::KeptPublished),
                    (I386, ArchOutcome::Missing),
                ],
                digests(&previous),
            ),
        ];
        for (declared, built, outcomes, expected) in cases {
            let assembled = assemble_index(declared, &built, Some(&previous));
            assert_eq!(assembled.outcomes.into_iter().collect::<Vec<_>>(), outcomes);
            assert_eq!(digests(&assembled.index), expected);
        }
        let platforms: Vec<String> = previous
            .manifests
            .iter()
            .map(|d| {
                let p = d.platform.as_ref().unwrap();
                format!(
                    "{}/{}{}",
                    p.os,
                    p.architecture,
                    p.variant
                        .as_deref()
                        .map(|v| format!("/{v}"))
                        .unwrap_or_default()
                )
            })
            .collect();
        assert_eq!(platforms, ["linux/amd64", "linux/arm64/v8"]);
    }

    #[test]
    fn attestations_follow_the_image_they_describe() {
        use Architecture::{Amd64, Arm64v8};
        let amd = image(Amd64, "amd64 v1");
        let arm = image(Arm64v8, "arm64 v1");
        let mut current =
            assemble_index(&[Amd64, Arm64v8], &[amd.clone(), arm.clone()], None).index;
        let amd_attestation = attestation_for(&current.manifests[0]);
        let arm_attestation = attestation_for(&current.manifests[1]);
        current
            .manifests
            .extend([amd_attestation.clone(), arm_attestation.clone()]);
        let new_amd = image(Amd64, "amd64 v2");
        let assembled = assemble_index(
            &[Amd64, Arm64v8],
            std::slice::from_ref(&new_amd),
            Some(&current),
        );
        assert_eq!(
            digests(&assembled.index),
            [
                new_amd.manifest.digest,
                arm.manifest.digest,
                arm_attestation.digest
            ],
            "the replaced amd64 image's attestation goes with it"
        );
    }
}
