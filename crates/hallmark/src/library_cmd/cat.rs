//! `hallmark library cat` (placeholder until implemented).

use std::path::Path;
use std::process::ExitCode;

use crate::output::Format;

/// Arguments of `hallmark library cat`.
#[derive(Debug, clap::Args)]
pub struct CatArgs {}

/// Runs the command.
pub fn run(_library: &Path, _args: CatArgs, _format: Format) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
