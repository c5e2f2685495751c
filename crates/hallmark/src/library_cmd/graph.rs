//! `hallmark library parents|children|build-order`: bashbrew's FROM-graph commands, with the
//! Dockerfiles read from a git cache of every entry's commit.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use library::{FromsResolver, GraphError, Library, MissingParent, Walk};
use oci::Architecture;

use super::cache::open_git_cache;
use super::load::LoadedLibrary;
use crate::output::{print_json, print_lines, Format};

/// Which Dockerfiles to read, and where to keep their sources.
#[derive(Debug, clap::Args)]
struct SourceArgs {
    /// Only this architecture (default: every architecture of each entry).
    #[arg(long)]
    arch: Option<Architecture>,
    /// Hallmark's cache folder; git sources are kept in its `git` subfolder
    /// (default: $XDG_CACHE_HOME/hallmark or ~/.cache/hallmark).
    #[arg(long, env = "HALLMARK_CACHE")]
    cache: Option<PathBuf>,
}

/// Arguments of `hallmark library parents` and `children`.
#[derive(Debug, clap::Args)]
pub struct WalkArgs {
    /// REPO or REPO:TAG of the library; `children` also takes any image a library Dockerfile
    /// builds FROM (`debian`, `mcr.microsoft.com/windows/servercore:ltsc2022`).
    #[arg(required = true)]
    specs: Vec<String>,
    /// How many levels to walk; 0 walks all of them.
    #[arg(long, default_value_t = 0)]
    depth: usize,
    #[command(flatten)]
    source: SourceArgs,
}

/// Arguments of `hallmark library parents`.
pub type ParentsArgs = WalkArgs;
/// Arguments of `hallmark library children`.
pub type ChildrenArgs = WalkArgs;

/// Arguments of `hallmark library build-order`.
#[derive(Debug, clap::Args)]
pub struct BuildOrderArgs {
    /// Repositories (or REPO:TAG) to order.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    specs: Vec<String>,
    /// Order every entry of the library folder.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    source: SourceArgs,
}

/// Runs `parents`: one image per line, nearest first.
pub fn run_parents(library: &Path, args: ParentsArgs, format: Format) -> anyhow::Result<ExitCode> {
    let loaded = LoadedLibrary::open(library)?;
    // Checked before any fetch, so that a typo fails at once.
    for spec in &args.specs {
        loaded.resolve(spec)?;
    }
    walk(&loaded, &args, format, library::parents)
}

/// Runs `children`: one `repo:tag` per line, nearest first.
pub fn run_children(
    library: &Path,
    args: ChildrenArgs,
    format: Format,
) -> anyhow::Result<ExitCode> {
    // Arguments may be images from outside the library, known only once every FROM is read.
    let loaded = LoadedLibrary::open(library)?;
    walk(&loaded, &args, format, library::children)
}

/// `library::parents` or `library::children`.
type Direction = fn(
    &Library,
    &dyn FromsResolver,
    &[String],
    Option<Architecture>,
    Option<usize>,
) -> Result<Walk, GraphError>;

/// Walks the graph in `direction` and prints what it finds.
fn walk(
    loaded: &LoadedLibrary,
    args: &WalkArgs,
    format: Format,
    direction: Direction,
) -> anyhow::Result<ExitCode> {
    let cache = open_git_cache(args.source.cache.clone())?;
    let depth = (args.depth > 0).then_some(args.depth);
    let walk = direction(
        &loaded.library,
        &cache,
        &args.specs,
        args.source.arch,
        depth,
    )?;
    match format {
        Format::Json => print_json(&walk)?,
        Format::Text => print_lines(walk.relatives.iter().map(|r| &r.image))?,
    }
    Ok(finish(loaded, &walk.missing))
}

/// Runs `build-order`: one `repo:tag` per entry, every parent before its children.
pub fn run_build_order(
    library: &Path,
    args: BuildOrderArgs,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let loaded = LoadedLibrary::open(library)?;
    for spec in &args.specs {
        loaded.resolve(spec)?;
    }
    let cache = open_git_cache(args.source.cache.clone())?;
    let specs = (!args.all).then_some(args.specs.as_slice());
    let order = library::build_order(&loaded.library, &cache, specs, args.source.arch)?;
    match format {
        Format::Json => print_json(&order)?,
        Format::Text => print_lines(order.steps.iter().map(|step| &step.entry))?,
    }
    Ok(finish(&loaded, &order.missing))
}

/// Reports what makes the answer incomplete, FROMs of tags the library lacks and files that
/// did not parse, on stderr after the answer, and fails if there was any.
fn finish(loaded: &LoadedLibrary, missing: &[MissingParent]) -> ExitCode {
    for problem in missing {
        eprintln!("missing parent: {problem}");
    }
    let broken = loaded.report_errors();
    match missing.is_empty() && !broken {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    }
}
