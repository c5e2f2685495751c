//! `hallmark library docs`: the "Supported tags and respective `Dockerfile` links" markdown of
//! one repository, as docker-library/docs generates it.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use library::SupportedTags;

use super::load::LoadedLibrary;
use crate::output::{print_json, Format};

/// Arguments of `hallmark library docs`.
#[derive(Debug, clap::Args)]
pub struct DocsArgs {
    /// The repository (`python`); the docs cover all of its tags.
    repo: String,
}

/// Runs the command: markdown on stdout, or with `--format json` the simple and shared tag
/// groups with their links.
pub fn run(library: &Path, args: DocsArgs, format: Format) -> anyhow::Result<ExitCode> {
    if args.repo.contains(':') {
        anyhow::bail!(
            "docs cover a whole repository: pass {:?} without the tag",
            args.repo.split(':').next().unwrap_or_default()
        );
    }
    let loaded = LoadedLibrary::open(library)?;
    // Resolving first reports a broken file with its problems rather than as missing.
    loaded.resolve(&args.repo)?;
    let file = loaded
        .library
        .repo(&args.repo)
        .with_context(|| format!("no library file for repository {:?}", args.repo))?;
    let docs = SupportedTags::new(file);
    match format {
        Format::Json => print_json(&docs)?,
        Format::Text => io::stdout().lock().write_all(docs.to_string().as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}
