//! `hallmark build logs REPO:TAG`: the newest build log of a tag for one architecture, from
//! the data folder the builds wrote to (the registry serves the same files over HTTP).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use build::logs::BuildLogs;
use oci::Architecture;
use serde::Serialize;

use crate::library_cmd::LoadedLibrary;
use crate::output::{print_json, Format};

/// `hallmark build`'s subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum BuildCommand {
    /// Print the newest build log of REPO:TAG.
    Logs(LogsArgs),
}

/// Arguments of `hallmark build logs`.
#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// The tag whose build to show, REPO:TAG.
    image: String,
    /// The architecture whose build to show.
    #[arg(long, default_value = "amd64")]
    arch: Architecture,
    /// The folder of library files.
    #[arg(long, env = "HALLMARK_LIBRARY", default_value = "library")]
    library: PathBuf,
    /// The data folder the builds wrote to.
    #[arg(long, env = "HALLMARK_DATA", default_value = "hallmark-data")]
    data: PathBuf,
}

#[derive(Debug, Serialize)]
struct Log {
    path: PathBuf,
    log: String,
}

/// Runs `hallmark build logs`.
pub fn run(args: LogsArgs, format: Format) -> anyhow::Result<ExitCode> {
    let loaded = LoadedLibrary::open(&args.library)?;
    let entries = loaded.resolve(&args.image)?;
    let [(repo, entry)] = entries.as_slice() else {
        anyhow::bail!(
            "{} names {} entries: name one tag of one entry",
            args.image,
            entries.len()
        );
    };
    // Builds log under the entry's first tag, whichever tag names it.
    let tag = entry.tags.first().context("the entry has no tags")?;
    let path = BuildLogs::new(&args.data)
        .latest(args.arch, repo, tag)?
        .with_context(|| {
            format!(
                "no build log of {repo}:{tag} for {} in {}: build it with --data {0}",
                args.arch,
                args.data.display()
            )
        })?;
    let log =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    match format {
        Format::Json => print_json(&Log { path, log })?,
        Format::Text => print!("{log}"),
    }
    Ok(ExitCode::SUCCESS)
}
