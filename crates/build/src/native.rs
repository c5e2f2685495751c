//! The native builder: `FROM scratch` images made of `ADD`/`COPY` and metadata instructions,
//! built without any engine and bit-for-bit reproducibly.
//!
//! Everything that could vary between two builds of the same source is pinned: every
//! timestamp is clamped to SOURCE_DATE_EPOCH (the commit time), entries are written sorted by
//! name as GNU `tar --sort=name` does, owners come from the archive being added or are 0,
//! files copied from the build context get git's modes (0644 or 0755) whatever the checkout's
//! umask made of them, and layers are compressed by one pinned gzip implementation (flate2's
//! zlib-rs backend) at one pinned level ([`layer::GZIP_LEVEL`]).

mod archive;
mod context;
pub mod dockerfile;
mod image;
mod layer;
mod layout;

use std::io;
use std::path::PathBuf;

pub use dockerfile::{parse_dockerfile, DockerfileError, Instruction, InstructionKind};
pub use image::{native_instructions, NativeEngine};
pub use layer::GZIP_LEVEL;

/// Why the native builder refused or failed a build.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    /// The Dockerfile does not parse.
    #[error("{path}: {source}")]
    Dockerfile {
        /// The Dockerfile.
        path: PathBuf,
        /// What is wrong with it.
        source: DockerfileError,
    },
    /// The Dockerfile needs something only an engine that runs containers can do.
    #[error(
        "line {line}: {instruction} needs the docker engine: set Builder or use --engine docker"
    )]
    NeedsEngine {
        /// The instruction's line.
        line: usize,
        /// What it asks for (`RUN`, `FROM debian`, `COPY --from`).
        instruction: String,
    },
    /// An ADD or COPY source is not inside the build context.
    #[error("line {line}: {source_path} is not in the build context (sources must be files or folders under the entry's Directory)")]
    SourceMissing {
        /// The instruction's line.
        line: usize,
        /// The source as written.
        source_path: String,
    },
    /// An ADD or COPY source leaves the build context (`..`, or a symlink pointing out).
    #[error("line {line}: {source_path} points outside the build context: keep sources inside the entry's Directory")]
    SourceEscapes {
        /// The instruction's line.
        line: usize,
        /// The source as written.
        source_path: String,
    },
    /// An archive that ADD extracts is malformed or hostile.
    #[error("line {line}: cannot extract {source_path}: {reason}")]
    Archive {
        /// The instruction's line.
        line: usize,
        /// The archive as written.
        source_path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading the context or writing the image failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The build context has a `.dockerignore`, which the native builder does not apply.
    #[error("{}: the native builder does not apply .dockerignore files: remove it or use --engine docker", .0.display())]
    DockerIgnore(PathBuf),
    /// `--chmod` is not an octal mode.
    #[error("line {line}: --chmod={value} is not an octal mode such as 755")]
    BadChmod {
        /// The instruction's line.
        line: usize,
        /// The value given.
        value: String,
    },
    /// An EXPOSE item is not `port[-port][/tcp|udp|sctp]`.
    #[error("line {line}: cannot expose {value:?}: write a port (80), a range (8000-8010) and optionally /tcp, /udp or /sctp")]
    BadPort {
        /// The instruction's line.
        line: usize,
        /// The item.
        value: String,
    },
    /// A destination path runs through a file or link.
    #[error("line {line}: cannot copy to {path}: something on the way is a file or a link, not a folder")]
    NotAFolder {
        /// The instruction's line.
        line: usize,
        /// The destination.
        path: String,
    },
    /// The output folder exists already.
    #[error("{} exists already: choose a new output folder", .0.display())]
    OutputExists(PathBuf),
}

impl NativeError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> NativeError {
        let path = path.into();
        move |source| NativeError::Io { path, source }
    }
}
