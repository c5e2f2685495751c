//! Assembling a multi-architecture tag under `library/<repo>` from the per-architecture
//! images, as pure data: what the registry holds goes in, the index to push comes out
//! ([`remote`] does the reading and writing).
//!
//! The rules, as the Official Images program keeps them:
//! - a Tag names one entry, a SharedTag every entry that shares it; the index lists each of
//!   those entries' images for each architecture it declares, in the library file's entry
//!   order, so two Windows entries on `windows-amd64` (servercore and nanoserver, told apart
//!   by `os.version`) or any two entries on one architecture both stay in it, as Docker Hub
//!   lists them;
//! - each image's descriptor carries the platform its config states (`os`, `architecture`,
//!   `variant`, `os.version`, `os.features`), which must be the architecture's own;
//! - every (entry, architecture) gets the image its agent pushed last to
//!   `<arch>/<repo>:<the entry's first tag>`;
//! - an (entry, architecture) that was published before but whose new image is missing (its
//!   agent has not built it yet, or its build failed) keeps its published descriptor, so a
//!   slow or broken agent never takes an image away from users. Each descriptor names its
//!   entry in an annotation ([`ENTRY_ANNOTATION`]), so one entry's kept image is never taken
//!   for, nor replaced by, another entry's on the same architecture;
//! - an (entry, architecture) the tag no longer names is dropped;
//! - attestation manifests (Docker's `vnd.docker.reference.type: attestation-manifest`
//!   entries) stay while the image they describe stays.

use std::collections::BTreeMap;

use attest::attach::attestation_subject;
use library::Entry;
use oci::manifest::{Descriptor, ImageConfig, ImageIndex, Platform};
use oci::Architecture;

pub mod remote;

pub use remote::{arch_sources, publish_tag, ArchSource, PublishError, PublishedTag};

/// The index annotation naming the library entry (`repo:first-tag`) a platform's image was
/// built from: what tells two entries' images on one architecture apart when a new build is
/// missing and the published one must stay.
pub const ENTRY_ANNOTATION: &str = "com.github.hallmark-oci.entry";

/// One library entry a tag names, with the architectures it is published for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagEntry {
    /// The library repository.
    pub repo: String,
    /// The entry's first tag: its name, unique in the repository, and the tag its agents
    /// push to `<arch>/<repo>`.
    pub first_tag: String,
    /// The architectures, in the entry's order.
    pub architectures: Vec<Architecture>,
}

impl TagEntry {
    /// `entry` of `repo`, with its architectures (only `arch`, when given); `None` when the
    /// entry has no tag or not that architecture, so nothing of it can be published.
    pub fn of(repo: &str, entry: &Entry, arch: Option<Architecture>) -> Option<Self> {
        let architectures: Vec<Architecture> = entry
            .architectures
            .iter()
            .copied()
            .filter(|a| arch.is_none_or(|only| only == *a))
            .collect();
        Some(TagEntry {
            repo: repo.to_owned(),
            first_tag: entry.tags.first()?.clone(),
            architectures,
        })
        .filter(|found| !found.architectures.is_empty())
    }

    /// `repo:first-tag`, as plans and records name the entry.
    pub fn name(&self) -> String {
        format!("{}:{}", self.repo, self.first_tag)
    }
}

/// One entry's newly built image for one architecture, as found under `<arch>/<repo>`.
#[derive(Debug, Clone)]
pub struct ArchImage {
    /// The entry's name ([`TagEntry::name`]).
    pub entry: String,
    /// The architecture.
    pub arch: Architecture,
    /// The image manifest's descriptor (media type, digest, size).
    pub manifest: Descriptor,
    /// The platform its config states ([`image_platform`]).
    pub platform: Platform,
}

/// What happened to one entry's architecture in a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArchOutcome {
    /// The new build went in.
    Updated,
    /// The new build is what was published already.
    Unchanged,
    /// No new build: the published image stays.
    KeptPublished,
    /// No new build and nothing published: the tag lacks this image for now.
    Missing,
}

impl ArchOutcome {
    /// The word `hallmark publish` prints, as in its JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ArchOutcome::Updated => "updated",
            ArchOutcome::Unchanged => "unchanged",
            ArchOutcome::KeptPublished => "kept-published",
            ArchOutcome::Missing => "missing",
        }
    }
}

/// The outcome of one (entry, architecture) of a tag.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlatformOutcome {
    /// The entry's name ([`TagEntry::name`]).
    pub entry: String,
    /// The architecture.
    pub arch: Architecture,
    /// What happened.
    pub outcome: ArchOutcome,
}

/// The index to publish and what it did per entry and architecture.
#[derive(Debug, Clone)]
pub struct Assembled {
    /// The new index.
    pub index: ImageIndex,
    /// Each (entry, architecture)'s outcome, in the index's order.
    pub outcomes: Vec<PlatformOutcome>,
}

/// An image whose config states another platform than the architecture it was pushed for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("its config says {found}, not {arch}'s {wanted}: the {arch} agent pushed another architecture's image")]
pub struct PlatformMismatch {
    /// The architecture it was pushed for.
    pub arch: Architecture,
    /// The platform that architecture builds, `os/architecture[/variant]`.
    pub wanted: String,
    /// The platform the config states.
    pub found: String,
}

/// The platform of an image pushed for `arch`, as its config states it: `os.version` (which
/// tells Windows releases apart) and `os.features` come from the config, a `variant` the
/// config leaves out (Docker often does for arm64) from the architecture.
pub fn image_platform(
    arch: Architecture,
    config: &ImageConfig,
) -> Result<Platform, PlatformMismatch> {
    let wanted = arch.platform();
    let mut platform = config.platform.clone();
    if platform.variant.is_none() {
        platform.variant = wanted.variant.map(str::to_owned);
    }
    if !platform.satisfies(&wanted) || platform.variant.as_deref() != wanted.variant {
        return Err(PlatformMismatch {
            arch,
            wanted: platform_name(&Platform::from(wanted)),
            found: platform_name(&platform),
        });
    }
    Ok(platform)
}

fn platform_name(platform: &Platform) -> String {
    let variant = platform.variant.as_deref().map(|v| format!("/{v}"));
    format!(
        "{}/{}{}",
        platform.os,
        platform.architecture,
        variant.unwrap_or_default()
    )
}

/// Assembles the index of one tag from the entries it names (in library file order), the
/// images built for them, and the index published now (if any).
pub fn assemble_index(
    entries: &[TagEntry],
    built: &[ArchImage],
    current: Option<&ImageIndex>,
) -> Assembled {
    let mut manifests = Vec::new();
    let mut outcomes = Vec::new();
    for entry in entries {
        let name = entry.name();
        for &arch in &entry.architectures {
            let published = current.and_then(|index| published_for(index, entries, entry, arch));
            let new = built.iter().find(|i| i.entry == name && i.arch == arch);
            let (descriptor, outcome) = match (new, published) {
                (Some(new), Some(old)) if new.manifest.digest == old.digest => {
                    (Some(platform_entry(new)), ArchOutcome::Unchanged)
                }
                (Some(new), _) => (Some(platform_entry(new)), ArchOutcome::Updated),
                (None, Some(old)) => (Some(old.clone()), ArchOutcome::KeptPublished),
                (None, None) => (None, ArchOutcome::Missing),
            };
            manifests.extend(descriptor);
            outcomes.push(PlatformOutcome {
                entry: name.clone(),
                arch,
                outcome,
            });
        }
    }
    let kept: Vec<oci::Digest> = manifests.iter().map(|d| d.digest.clone()).collect();
    let attestations = current.into_iter().flat_map(|index| &index.manifests);
    manifests.extend(
        attestations
            .filter(|d| attestation_subject(d).is_some_and(|subject| kept.contains(&subject)))
            .cloned(),
    );
    let index = ImageIndex::new(manifests);
    Assembled { index, outcomes }
}

/// The descriptor `current` publishes for `entry` on `arch`: the one its annotation names
/// the entry on. An index published before entries were annotated held one image per
/// architecture, the first entry's that declared it, so an unannotated descriptor is that
/// entry's.
fn published_for<'a>(
    current: &'a ImageIndex,
    entries: &[TagEntry],
    entry: &TagEntry,
    arch: Architecture,
) -> Option<&'a Descriptor> {
    let name = entry.name();
    let first_declaring = entries
        .iter()
        .find(|e| e.architectures.contains(&arch))
        .is_some_and(|e| e.name() == name);
    let wanted = arch.platform();
    current.manifests.iter().find(|d| {
        attestation_subject(d).is_none()
            && d.platform.as_ref().is_some_and(|p| p.satisfies(&wanted))
            && match d.annotations.get(ENTRY_ANNOTATION) {
                Some(owner) => *owner == name,
                None => first_declaring,
            }
    })
}

fn platform_entry(image: &ArchImage) -> Descriptor {
    let mut descriptor = image.manifest.clone();
    descriptor.platform = Some(image.platform.clone());
    descriptor.annotations = BTreeMap::from([(ENTRY_ANNOTATION.to_owned(), image.entry.clone())]);
    descriptor
}

#[cfg(test)]
mod tests;
