//! `hallmark sign`: cosign-compatible signatures of an image, its index and every platform
//! manifest: the legacy `sha256-<hex>.sig` tag and a Sigstore bundle v0.3 referrer each.

use std::path::PathBuf;
use std::process::ExitCode;

use attest::{PrivateKey, Timestamp};

use crate::key_cmd::load_private_key;
use crate::output::{print_json, print_lines, Format};
use crate::remote::{RegistryArgs, Remote};
use crate::signatures::{describe, sign_manifest, targets, Signed};

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
