//! `hallmark key`: signing keys as files, and reading the key files `sign`, `attest` and
//! `verify` are given.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use attest::keyset::KeySet;
use attest::{PrivateKey, PublicKey};
use clap::Subcommand;
use serde::Serialize;

use crate::output::{print_json, print_lines, Format};

/// The environment variable holding the private key's password.
pub const PASSWORD_VARIABLE: &str = "HALLMARK_KEY_PASSWORD";
/// cosign's password variable, read for cosign's own key files.
const COSIGN_PASSWORD_VARIABLE: &str = "COSIGN_PASSWORD";

/// Make and manage signing keys.
#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Write a new ECDSA P-256 key pair: PREFIX.key (PKCS#8 PEM, encrypted with
    /// $HALLMARK_KEY_PASSWORD when it is set) and PREFIX.pub (SubjectPublicKeyInfo PEM).
    Generate {
        /// Path prefix of the two files.
        prefix: PathBuf,
    },
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Generated {
    private_key: PathBuf,
    public_key: PathBuf,
    key_id: String,
    encrypted: bool,
}

/// Runs `hallmark key`.
pub fn run(args: KeyArgs, format: Format) -> anyhow::Result<ExitCode> {
    let KeyCommand::Generate { prefix } = args.command;
    let generated = generate(&prefix)?;
    match format {
        Format::Json => print_json(&generated)?,
        Format::Text => print_lines([
            format!(
                "wrote {} ({}) and {}",
                generated.private_key.display(),
                if generated.encrypted {
                    "encrypted"
                } else {
                    "not encrypted: set HALLMARK_KEY_PASSWORD to encrypt"
                },
                generated.public_key.display()
            ),
            format!("key id {}", generated.key_id),
        ])?,
    }
    Ok(ExitCode::SUCCESS)
}

fn generate(prefix: &Path) -> anyhow::Result<Generated> {
    let with_extension = |extension: &str| {
        let mut path = prefix.as_os_str().to_owned();
        path.push(extension);
        PathBuf::from(path)
    };
    let (private_path, public_path) = (with_extension(".key"), with_extension(".pub"));
    for path in [&private_path, &public_path] {
        anyhow::ensure!(
            !path.exists(),
            "{} exists; choose another prefix or remove it (keys are never overwritten)",
            path.display()
        );
    }
    let password = password(PASSWORD_VARIABLE);
    let key = PrivateKey::generate()?;
    let private_pem = key.to_pem(password.as_deref().map(str::as_bytes))?;
    write_new(&private_path, private_pem.as_bytes(), 0o600)?;
    write_new(&public_path, key.public_key().to_pem().as_bytes(), 0o644)?;
    Ok(Generated {
        private_key: private_path,
        public_key: public_path,
        key_id: key.public_key().key_id().to_owned(),
        encrypted: password.is_some(),
    })
}

/// Writes `content` to a temporary file beside `path`, syncs it, and links it into place
/// only if `path` still does not exist.
fn write_new(path: &Path, content: &[u8], mode: u32) -> anyhow::Result<()> {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(folder)
        .with_context(|| format!("create a file in {}", folder.display()))?;
    file.write_all(content)?;
    file.as_file().sync_all()?;
    set_mode(file.path(), mode)?;
    file.persist_noclobber(path)
        .map_err(|error| error.error)
        .with_context(|| format!("write {} (it must not exist yet)", path.display()))?;
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
}

fn password(variable: &str) -> Option<String> {
    std::env::var(variable).ok().filter(|p| !p.is_empty())
}

/// Reads a private key file: PKCS#8 PEM (encrypted with $HALLMARK_KEY_PASSWORD) or cosign's
/// `cosign.key` (with $HALLMARK_KEY_PASSWORD or $COSIGN_PASSWORD).
pub fn load_private_key(path: &Path) -> anyhow::Result<PrivateKey> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("read the key file {}", path.display()))?;
    let hallmark = password(PASSWORD_VARIABLE);
    let key = if pem.contains("SIGSTORE PRIVATE KEY") || pem.contains("COSIGN PRIVATE KEY") {
        let password = hallmark
            .or_else(|| password(COSIGN_PASSWORD_VARIABLE))
            .unwrap_or_default();
        PrivateKey::from_cosign_pem(&pem, password.as_bytes())
    } else {
        PrivateKey::from_pem(&pem, hallmark.as_deref().map(str::as_bytes))
    };
    key.with_context(|| {
        format!(
            "{}: set {PASSWORD_VARIABLE} if the key is encrypted",
            path.display()
        )
    })
}

/// The keys `verify` trusts: one public key file, or a key set file.
pub fn load_trusted_keys(key: Option<&Path>, keys: Option<&Path>) -> anyhow::Result<KeySet> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))
    };
    match (key, keys) {
        (Some(path), None) => {
            let key = PublicKey::from_pem(&read(path)?)
                .with_context(|| format!("{} is not a public key", path.display()))?;
            Ok(KeySet::single(key))
        }
        (None, Some(path)) => KeySet::from_toml(&read(path)?)
            .with_context(|| format!("{} is not a key set", path.display())),
        _ => anyhow::bail!("give the trusted keys: --key PUBLIC.pem or --keys KEYSET.toml"),
    }
}
