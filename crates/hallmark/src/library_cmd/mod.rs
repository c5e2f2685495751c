//! `hallmark library …`: bashbrew's commands over a folder of library files.

mod cache;
mod cat;
mod docs;
mod graph;
mod lint;
mod list;
mod load;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::output::Format;

pub(crate) use cache::open_git_cache;
pub(crate) use load::LoadedLibrary;

/// Options shared by every `library` command.
#[derive(Debug, Args)]
pub struct LibraryArgs {
    /// The folder of library files (one file per repository, named after it).
    #[arg(
        long,
        global = true,
        env = "HALLMARK_LIBRARY",
        default_value = "library"
    )]
    library: PathBuf,

    #[command(subcommand)]
    command: LibraryCommand,
}

#[derive(Debug, Subcommand)]
enum LibraryCommand {
    /// List repo:tag combinations (bashbrew list).
    List(list::ListArgs),
    /// Print library files in canonical form (bashbrew cat).
    Cat(cat::CatArgs),
    /// Print the images a tag builds FROM, transitively (bashbrew parents).
    Parents(graph::ParentsArgs),
    /// Print the library tags that build FROM a tag, transitively (bashbrew children).
    Children(graph::ChildrenArgs),
    /// Print tags so that every parent comes before its children.
    BuildOrder(graph::BuildOrderArgs),
    /// Run the official-images pull-request checks over a library folder.
    Lint(lint::LintArgs),
    /// Print the "Supported tags and respective Dockerfile links" markdown.
    Docs(docs::DocsArgs),
}

/// Runs one `library` command.
pub fn run(args: LibraryArgs, format: Format) -> anyhow::Result<ExitCode> {
    let library = args.library;
    match args.command {
        LibraryCommand::List(cmd) => list::run(&library, cmd, format),
        LibraryCommand::Cat(cmd) => cat::run(&library, cmd, format),
        LibraryCommand::Parents(cmd) => graph::run_parents(&library, cmd, format),
        LibraryCommand::Children(cmd) => graph::run_children(&library, cmd, format),
        LibraryCommand::BuildOrder(cmd) => graph::run_build_order(&library, cmd, format),
        LibraryCommand::Lint(cmd) => lint::run(&library, cmd, format),
        LibraryCommand::Docs(cmd) => docs::run(&library, cmd, format),
    }
}
