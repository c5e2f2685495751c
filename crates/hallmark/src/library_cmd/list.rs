//! `hallmark library list`: the repo:tag combinations of library entries, as `bashbrew list`
//! prints them.

use std::path::Path;
use std::process::ExitCode;

use oci::Architecture;
use serde::Serialize;

use super::load::LoadedLibrary;
use crate::output::{print_json, print_lines, Format};

/// Arguments of `hallmark library list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Repositories or repo:tag to list (a SharedTag names every entry sharing it).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    specs: Vec<String>,
    /// List every repository in the library folder.
    #[arg(long)]
    all: bool,
    /// Only the first tag of each entry (one line per build).
    #[arg(long)]
    uniq: bool,
    /// Only entries built for this architecture.
    #[arg(long)]
    arch: Option<Architecture>,
    /// Only the repository names.
    #[arg(long, conflicts_with = "uniq")]
    repos: bool,
}

#[derive(Debug, Serialize)]
struct ListedEntry<'a> {
    repo: &'a str,
    tags: Vec<&'a str>,
    architectures: &'a [Architecture],
}

/// Runs the command.
pub fn run(library: &Path, args: ListArgs, format: Format) -> anyhow::Result<ExitCode> {
    let loaded = LoadedLibrary::open(library)?;
    let specs = if args.all {
        loaded.all_repos()
    } else {
        args.specs.clone()
    };
    let mut listed = Vec::new();
    for spec in &specs {
        for (repo, entry) in loaded.resolve(spec)? {
            if args.arch.is_some_and(|arch| !entry.has_architecture(arch)) {
                continue;
            }
            let take = if args.uniq { 1 } else { usize::MAX };
            listed.push(ListedEntry {
                repo,
                tags: entry.all_tags().take(take).collect(),
                architectures: &entry.architectures,
            });
        }
    }
    match (format, args.repos) {
        (Format::Json, _) => print_json(&listed)?,
        (Format::Text, true) => {
            let mut repos: Vec<&str> = listed.iter().map(|l| l.repo).collect();
            repos.dedup();
            print_lines(repos)?;
        }
        (Format::Text, false) => print_lines(
            listed
                .iter()
                .flat_map(|l| l.tags.iter().map(move |tag| format!("{}:{tag}", l.repo))),
        )?,
    }
    // With --all, broken files are reported after the listing of the good ones.
    let broken = args.all && loaded.report_errors();
    Ok(if broken {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
