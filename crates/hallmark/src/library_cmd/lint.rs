//! `hallmark library lint`: the official-images pull-request checks over a library folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use library::Severity;

use super::load::LoadedLibrary;
use crate::output::{print_json, print_lines, Format};

/// Arguments of `hallmark library lint`.
///
/// The checks that need Dockerfiles (FROM architectures, pinning, constraints) are not run
/// here yet: they need a git checkout of every entry's commit.
#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// The folder to check; defaults to the --library folder.
    dir: Option<PathBuf>,
}

/// Runs the command: prints every finding (`file:line: severity: [rule] message`, or a JSON
/// array) and fails when any finding is an error.
pub fn run(library: &Path, args: LintArgs, format: Format) -> anyhow::Result<ExitCode> {
    let dir = args.dir.as_deref().unwrap_or(library);
    let loaded = LoadedLibrary::open(dir)?;
    let findings = library::lint(dir, &loaded.library, &loaded.errors, None);
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
