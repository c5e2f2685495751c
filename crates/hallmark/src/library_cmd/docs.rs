//! `hallmark library docs` (placeholder until implemented).

use std::path::Path;
use std::process::ExitCode;

use crate::output::Format;

/// Arguments of `hallmark library docs`.
#[derive(Debug, clap::Args)]
pub struct DocsArgs {}

/// Runs the command.
pub fn run(_library: &Path, _args: DocsArgs, _format: Format) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
