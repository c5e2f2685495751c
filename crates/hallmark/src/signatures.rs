//! Signatures and attestations as they are stored in a registry, shared by the commands that
//! store them (`sign`, `attest`, `build --key`, `publish --key`) and the one that reads them
//! back (`verify`): cosign's `.sig` tag and bundle referrer per manifest, in-toto attestations
//! as referrers, and BuildKit's attestation manifests in an image index.

use attest::attach::{
    attestation_manifest, attestation_referrer, attestation_subject, bundle_referrer,
    index_with_attestations, platform_manifests, signature_manifest,
};
use attest::cosign::{legacy_signature_tag, Bundle, SimpleSigning};
use attest::dsse::Envelope;
use attest::{PrivateKey, Timestamp};
use oci::manifest::{Descriptor, ImageIndex};
use serde::Serialize;

use crate::remote::{Fetched, Remote};

/// What one signing stored.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Signed {
    /// The manifest signed.
    pub digest: oci::Digest,
    /// `os/architecture[/variant]` for platform manifests.
    pub platform: Option<String>,
    /// The tag of cosign's signature manifest.
    pub signature_tag: String,
    /// The digest of the bundle referrer.
    pub bundle_referrer: oci::Digest,
}

/// `os/architecture[/variant]`.
pub fn platform_name(descriptor: &Descriptor) -> Option<String> {
    let platform = descriptor.platform.as_ref()?;
    let mut name = format!("{}/{}", platform.os, platform.architecture);
    if let Some(variant) = &platform.variant {
        name.push('/');
        name.push_str(variant);
    }
    Some(name)
}

/// What a signature covers: the manifest named, and for an index each platform manifest in it
/// (not its attestation manifests, which are covered by their own signatures).
pub fn targets(image: &Fetched) -> anyhow::Result<Vec<(Descriptor, Option<String>)>> {
    let mut targets = vec![(image.descriptor.clone(), None)];
    if let Some(index) = image.index()? {
        targets
            .extend(platform_manifests(&index).map(|entry| (entry.clone(), platform_name(entry))));
    }
    Ok(targets)
}

/// Signs one manifest twice over: a simple-signing payload added to its `.sig` tag, and a
/// bundle referrer.
pub fn sign_manifest(
    remote: &Remote,
    descriptor: &Descriptor,
    platform: Option<String>,
    key: &PrivateKey,
    now: Timestamp,
) -> anyhow::Result<Signed> {
    let digest = &descriptor.digest;
    let signature_tag = legacy_signature_tag(digest);
    let existing = remote
        .manifest(&signature_tag)?
        .map(|fetched| fetched.image())
        .transpose()?;
    let signed = SimpleSigning::new(&remote.name(), digest, now).sign(key);
    remote.push(
        &signature_manifest(existing.as_ref(), &signed),
        Some(&signature_tag),
    )?;
    let bundle = Bundle::sign_image(&remote.name(), digest, now, key);
    let bundle_referrer = remote.push(&bundle_referrer(descriptor, &bundle, now)?, None)?;
    Ok(Signed {
        digest: digest.clone(),
        platform,
        signature_tag,
        bundle_referrer,
    })
}

/// One line per signed manifest.
pub fn describe(signed: &Signed) -> String {
    format!(
        "signed {}{}: tag {}, bundle referrer {}",
        signed.digest,
        signed
            .platform
            .as_ref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default(),
        signed.signature_tag,
        signed.bundle_referrer
    )
}

/// Pushes `envelope` as a referrer of `image` in `remote`'s repository; returns the
/// referrer's digest.
pub fn push_attestation(
    remote: &Remote,
    image: &Descriptor,
    envelope: &Envelope,
    now: Timestamp,
) -> anyhow::Result<oci::Digest> {
    remote.push(&attestation_referrer(image, envelope, now)?, None)
}

/// Adds the envelopes to the index's attestation manifests (one per subject manifest), pushes
/// the new index under the image's tag, and signs it: the tag must not move to an unsigned
/// index. Returns the attestation manifests' digests, one per subject, and the new index's
/// signature.
pub fn store_in_index(
    remote: &Remote,
    index: &ImageIndex,
    envelopes: &[(Descriptor, Vec<Envelope>)],
    key: &PrivateKey,
    now: Timestamp,
) -> anyhow::Result<(Vec<oci::Digest>, Signed)> {
    let mut entries = Vec::new();
    let mut manifests = Vec::new();
    for (subject, envelopes) in envelopes {
        let existing = match index
            .manifests
            .iter()
            .find(|entry| attestation_subject(entry).as_ref() == Some(&subject.digest))
        {
            Some(entry) => remote
                .manifest(entry.digest.as_str())?
                .map(|fetched| fetched.image())
                .transpose()?,
            None => None,
        };
        let (upload, entry) = attestation_manifest(subject, existing.as_ref(), envelopes)?;
        manifests.push(remote.push(&upload, None)?);
        entries.push(entry);
    }
    let blob = index_with_attestations(index, &entries);
    remote.put_manifest(&blob, remote.tag())?;
    Ok((
        manifests,
        sign_manifest(remote, &blob.descriptor, None, key, now)?,
    ))
}
