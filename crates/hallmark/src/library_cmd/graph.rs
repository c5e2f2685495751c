//! `hallmark library parents|children|build-order` (placeholder until implemented).

use std::path::Path;
use std::process::ExitCode;

use crate::output::Format;

/// Arguments of `hallmark library parents`.
#[derive(Debug, clap::Args)]
pub struct ParentsArgs {}
/// Arguments of `hallmark library children`.
#[derive(Debug, clap::Args)]
pub struct ChildrenArgs {}
/// Arguments of `hallmark library build-order`.
#[derive(Debug, clap::Args)]
pub struct BuildOrderArgs {}

/// Runs `parents`.
pub fn run_parents(
    _library: &Path,
    _args: ParentsArgs,
    _format: Format,
) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
/// Runs `children`.
pub fn run_children(
    _library: &Path,
    _args: ChildrenArgs,
    _format: Format,
) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
/// Runs `build-order`.
pub fn run_build_order(
    _library: &Path,
    _args: BuildOrderArgs,
    _format: Format,
) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
