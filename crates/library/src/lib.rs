//! The Official Images library file format, as bashbrew reads it.
//!
//! A library file (`library/python`) names, for every tag of one repository, the git commit,
//! directory and Dockerfile it is built from and the architectures it is built for. This crate
//! parses those files (the RFC 2822 format and the legacy line-based one) into a [`LibraryFile`]
//! with bashbrew's exact inheritance and merging rules, reports every problem with its line,
//! prints the canonical form back, and reasons over a whole library folder: the FROM graph
//! (parents, children, build order), the official-images PR checks, and the "Supported tags"
//! documentation.
//!
//! It does no network I/O: Dockerfile contents come in through [`FromsResolver`], which the
//! `build` crate implements on a git cache.

#![deny(missing_docs)]

mod collection;
mod dockerfile;
mod docs;
mod froms;
mod graph;
mod line_based;
mod lint;
mod model;
mod parse;
mod print;
mod values;

pub use collection::{load_file, FileError, Library, LookupError};
pub use dockerfile::{dockerfile_froms, parser_directives, DockerfileError};
pub use docs::{DockerfileLink, SharedTagLinks, SupportedTags};
pub use froms::{FromsError, FromsResolver};
pub use graph::{
    build_order, children, parents, BuildOrder, BuildStep, GraphError, MissingParent,
    MissingReason, Relative, RelativeKind, Walk,
};
pub use lint::{lint, Finding, Rule, Severity};
pub use model::{
    ArchField, BuildSource, Entry, LibraryFile, SharedTagGroup, SourceLine, DEFAULT_ARCHITECTURES,
    DEFAULT_DIRECTORY, DEFAULT_FILE, DEFAULT_GIT_FETCH,
};
pub use parse::{parse, parse_rfc2822, Diagnostic, ParseError, Problem};
pub use print::print;
