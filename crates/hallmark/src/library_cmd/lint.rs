//! `hallmark library lint`: the official-images pull-request checks over a library folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use library::Severity;

use super::cache::open_git_cache;
use super::load::LoadedLibrary;
use crate::output::{print_json, print_lines, Format};

/// Arguments of `hallmark library lint`.
#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// The folder to check; defaults to the --library folder.
    dir: Option<PathBuf>,
    /// Skip the checks that read Dockerfiles (FROM architectures, pinning, Constraints), which
    /// fetch every entry's GitCommit into the git cache.
    #[arg(long)]
    offline: bool,
    /// Hallmark's cache folder, which holds the git cache
    /// [default: $XDG_CACHE_HOME/hallmark or ~/.cache/hallmark].
    #[arg(long, env = "HALLMARK_CACHE")]
    cache: Option<PathBuf>,
}

/// Runs the command: prints every finding (`file:line: severity: [rule] message`, or a JSON
/// array) and fails when any finding is an error.
pub fn run(library: &Path, args: LintArgs, format: Format) -> anyhow::Result<ExitCode> {
    let dir = args.dir.as_deref().unwrap_or(library);
    let loaded = LoadedLibrary::open(dir)?;
    let cache = match args.offline {
        true => None,
        false => Some(open_git_cache(args.cache)?),
    };
    let resolver = cache.as_ref().map(|c| c as &dyn library::FromsResolver);
    let findings = library::lint(dir, &loaded.library, &loaded.errors, resolver);
    match format {
        Format::Json => print_json(&findings)?,
        Format::Text => print_lines(findings.iter().map(ToString::to_string))?,
    }
    let failed = findings.iter().any(|f| f.severity == Severity::Error);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
