//! `hallmark publish`: assembles every Tag and SharedTag of the library under
//! `library/<repo>` as a multi-architecture index from the per-architecture images the build
//! agents pushed to `<arch>/<repo>:<tag>`.

use std::collections::BTreeSet;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use attest::attach::{attestation_subject, platform_manifests};
use attest::{PrivateKey, Timestamp};
use build::publish::{arch_sources, publish_tag, ArchSource, PlatformOutcome, TagEntry};
use client::Repository;
use library::{Entry, Library};
use serde::Serialize;

use crate::key_cmd::load_private_key;
use crate::output::{print_json, print_lines, Format};
use crate::provenance_attest::build_envelopes;
use crate::remote::RegistryArgs;
use crate::signatures::{platform_name, push_attestation, sign_manifest, store_in_index, Signed};

/// Publish the library's tags under library/ from the per-architecture builds.
#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// The library folder (one file per repository).
    #[arg(long, value_name = "DIR")]
    library: PathBuf,
    /// The registry, HOST[:PORT].
    #[arg(long, value_name = "HOST")]
    registry: String,
    /// A publisher's credentials and the registry's transport.
    #[command(flatten)]
    access: RegistryArgs,
    /// Sign the index and every platform manifest with this private key (PKCS#8 PEM or
    /// cosign.key; password in $HALLMARK_KEY_PASSWORD).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Repositories to publish (default: every repository of the library).
    repos: Vec<String>,
}

/// One published tag, for `--format json`.
#[derive(Debug, Serialize)]
struct Published {
    repository: String,
    tag: String,
    digest: String,
    /// What happened to each entry's architectures, in the index's order.
    platforms: Vec<PlatformOutcome>,
    /// The signatures `--key` made: the index's and each platform manifest's.
    signed: Vec<Signed>,
}

pub fn run(args: PublishArgs, format: Format) -> anyhow::Result<ExitCode> {
    let (library, errors) = Library::load_dir(&args.library)
        .with_context(|| format!("reading the library folder {}", args.library.display()))?;
    for error in &errors {
        eprintln!("hallmark: {error}");
    }
    let client = args.access.client()?;
    let key = args.key.as_deref().map(load_private_key).transpose()?;
    let verbose = std::io::stderr().is_terminal() || format == Format::Text;
    let mut progress = |line: &str| {
        if verbose {
            eprintln!("{line}");
        }
    };
    let mut published = Vec::new();
    for (repo, file) in library.repos() {
        if !args.repos.is_empty() && !args.repos.iter().any(|r| r == repo) {
            continue;
        }
        let mut tags: Vec<(&str, Vec<&Entry>)> = Vec::new();
        for entry in &file.entries {
            tags.extend(entry.tags.iter().map(|tag| (tag.as_str(), vec![entry])));
        }
        for group in file.shared_tag_groups() {
            for tag in group.shared_tags {
                tags.push((tag, group.entries.clone()));
            }
        }
        let target = repository(&args.registry, &format!("library/{repo}"))?;
        for (tag, entries) in tags {
            let entries: Vec<TagEntry> = entries
                .into_iter()
                .filter_map(|entry| TagEntry::of(repo, entry, None))
                .collect();
            let sources = arch_sources(&target, &entries)?;
            let done = publish_tag(&client, &target, tag, &entries, &sources, &mut progress)
                .with_context(|| format!("publishing library/{repo}:{tag}"))?;
            let signed = match &key {
                Some(key) => attest_and_sign(&args, repo, tag, &sources, key)
                    .with_context(|| format!("signing library/{repo}:{tag}"))?,
                None => Vec::new(),
            };
            published.push(Published {
                repository: format!("library/{repo}"),
                tag: tag.to_owned(),
                // Attestations in the index give it a new digest; the index's signature
                // comes first.
                digest: signed
                    .first()
                    .map_or(&done.digest, |s| &s.digest)
                    .to_string(),
                platforms: done.assembled.outcomes,
                signed,
            });
        }
    }
    match format {
        Format::Json => print_json(&published)?,
        Format::Text => print_lines(published.iter().map(|p| {
            let platforms: Vec<String> = p
                .platforms
                .iter()
                .map(|o| format!("{}@{}={}", o.entry, o.arch, o.outcome.as_str()))
                .collect();
            let signed = if p.signed.is_empty() {
                String::new()
            } else {
                format!(" signed={}", p.signed.len())
            };
            format!(
                "{}:{} {} {}{signed}",
                p.repository,
                p.tag,
                p.digest,
                platforms.join(" ")
            )
        }))?,
    }
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Carries the provenance each agent pushed beside its image into `library/<repo>:<tag>`
/// (referrers and the index's attestation manifests) and signs the index and every platform
/// manifest.
fn attest_and_sign(
    args: &PublishArgs,
    repo: &str,
    tag: &str,
    sources: &[ArchSource],
    key: &PrivateKey,
) -> anyhow::Result<Vec<Signed>> {
    let now = Timestamp::now();
    let target = args
        .access
        .open(&format!("{}/library/{repo}:{tag}", args.registry))?;
    let published = target.resolve()?;
    let index = published
        .index()?
        .context("publish wrote an index, but the registry serves an image manifest")?;
    // Entries sharing the tag on one architecture were pushed to one repository.
    let repositories: BTreeSet<&Repository> = sources.iter().map(|s| &s.repository).collect();
    let mut envelopes = Vec::new();
    let attested: Vec<oci::Digest> = index
        .manifests
        .iter()
        .filter_map(attestation_subject)
        .collect();
    // A platform kept from an earlier publish carries its provenance already.
    for platform in platform_manifests(&index).filter(|p| !attested.contains(&p.digest)) {
        for repository in &repositories {
            let image = format!("{repository}@{}", platform.digest);
            let source = args.access.open(&image)?;
            if source.manifest(platform.digest.as_str())?.is_none() {
                continue;
            }
            let found = build_envelopes(&source, &platform.digest)?;
            for envelope in &found {
                push_attestation(&target, platform, envelope, now)?;
            }
            if !found.is_empty() {
                envelopes.push((platform.clone(), found));
            }
        }
    }
    let mut signed = Vec::new();
    if envelopes.is_empty() {
        signed.push(sign_manifest(
            &target,
            &published.descriptor,
            None,
            key,
            now,
        )?);
    } else {
        signed.push(store_in_index(&target, &index, &envelopes, key, now)?.1);
    }
    for platform in platform_manifests(&index) {
        signed.push(sign_manifest(
            &target,
            platform,
            platform_name(platform),
            key,
            now,
        )?);
    }
    Ok(signed)
}

fn repository(registry: &str, name: &str) -> anyhow::Result<Repository> {
    Repository::parse(&format!("{registry}/{name}")).with_context(|| {
        format!("{registry}/{name} is not a repository: give --registry as HOST[:PORT]")
    })
}
