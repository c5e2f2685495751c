//! `hallmark library lint` (placeholder until implemented).

use std::path::Path;
use std::process::ExitCode;

use crate::output::Format;

/// Arguments of `hallmark library lint`.
#[derive(Debug, clap::Args)]
pub struct LintArgs {}

/// Runs the command.
pub fn run(_library: &Path, _args: LintArgs, _format: Format) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
