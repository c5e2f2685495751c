//! `hallmark library cat`: library files in canonical form, as `bashbrew cat` prints them.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use library::LibraryFile;
use serde::Serialize;

use super::load::LoadedLibrary;
use crate::output::{print_json, Format};

/// Arguments of `hallmark library cat`.
#[derive(Debug, clap::Args)]
pub struct CatArgs {
    /// Repositories (or repo:tag, for just those entries) in the library folder, or paths to
    /// library files.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    specs: Vec<String>,
    /// Print every repository in the library folder.
    #[arg(long)]
    all: bool,
}

#[derive(Debug, Serialize)]
struct NamedFile<'a> {
    repo: String,
    #[serde(flatten)]
    file: &'a LibraryFile,
}

/// The repository's file, narrowed to the entries a `:TAG` names.
fn select(loaded: &LoadedLibrary, spec: &str) -> anyhow::Result<(String, LibraryFile)> {
    let entries = loaded.resolve(spec)?;
    let repo = spec.split_once(':').map_or(spec, |(repo, _)| repo);
    let file = loaded
        .library
        .repo(repo)
        .with_context(|| format!("no library file for repository {repo:?}"))?;
    let file = LibraryFile {
        global: file.global.clone(),
        entries: entries
            .into_iter()
            .map(|(_, entry)| entry.clone())
            .collect(),
    };
    Ok((repo.to_owned(), file))
}

/// Runs the command.
pub fn run(library: &Path, args: CatArgs, format: Format) -> anyhow::Result<ExitCode> {
    let loaded = LoadedLibrary::open(library)?;
    let specs = if args.all {
        loaded.all_repos()
    } else {
        args.specs
    };
    let mut files = Vec::new();
    for spec in specs {
        let path = Path::new(&spec);
        if spec.contains('/') && path.is_file() {
            files.push((spec.clone(), library::load_file(path)?));
        } else {
            files.push(select(&loaded, &spec)?);
        }
    }
    match format {
        Format::Json => print_json(
            &files
                .iter()
                .map(|(repo, file)| NamedFile {
                    repo: repo.clone(),
                    file,
                })
                .collect::<Vec<_>>(),
        )?,
        Format::Text => {
            let printed: Vec<String> = files.iter().map(|(_, file)| library::print(file)).collect();
            print!("{}", printed.join("\n\n"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
