//! `hallmark sign`: cosign-compatible signatures of an image, its index and every platform
//! manifest: the legacy `sha256-<hex>.sig` tag and a Sigstore bundle v0.3 referrer each.

use std::path::PathBuf;
use std::process::ExitCode;

use attest::attach::{bundle_referrer, platform_manifests, signature_manifest};
use attest::cosign::{legacy_signature_tag, Bundle, SimpleSigning};
use attest::{PrivateKey, Timestamp};
use oci::manifest::Descriptor;
use serde::Serialize;

use crate::key_cmd::load_private_key;
use crate::output::{print_json, print_lines, Format};
use crate::remote::{Fetched, RegistryArgs, Remote};

/// Sign an image (its index and every platform manifest) the way cosign does.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// The image: HOST/NAME:TAG or HOST/NAME@DIGEST.
    image: String,
    /// The private key (PKCS#8 PEM or cosign.key; password in $HALLMARK_KEY_PASSWORD).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    #[command(flatten)]
    registry: RegistryArgs,
}

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

/// Runs `hallmark sign`.
pub fn run(args: SignArgs, format: Format) -> anyhow::Result<ExitCode> {
    let key = load_private_key(&args.key)?;
    let remote = args.registry.open(&args.image)?;
    let signed = sign_image(&remote, &key, Timestamp::now())?;
    match format {
        Format::Json => print_json(&signed)?,
        Format::Text => print_lines(signed.iter().map(describe))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Signs the image `remote` names: the manifest itself and, for an index, every platform
/// manifest in it.
pub fn sign_image(
    remote: &Remote,
    key: &PrivateKey,
    now: Timestamp,
) -> anyhow::Result<Vec<Signed>> {
    let image = remote.resolve()?;
    targets(&image)?
        .iter()
        .map(|(descriptor, platform)| sign_manifest(remote, descriptor, platform.clone(), key, now))
        .collect()
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
