//! `hallmark library list` (placeholder until implemented).

use std::path::Path;
use std::process::ExitCode;

use crate::output::Format;

/// Arguments of `hallmark library list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {}

/// Runs the command.
pub fn run(_library: &Path, _args: ListArgs, _format: Format) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
