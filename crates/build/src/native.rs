//! The native builder: `FROM scratch` images made of `ADD`/`COPY` and metadata instructions,
//! built without any engine and bit-for-bit reproducibly.
//!
//! Everything that could vary between two builds of the same source is pinned: every
//! timestamp is clamped to SOURCE_DATE_EPOCH (the commit time), entries are written sorted by
//! name as GNU `tar --sort=name` does, owners come from the archive being added or are 0,
//! files copied from the build context get git's modes (0644 or 0755) whatever the checkout's
//! umask made of them, and layers are compressed by one pinned gzip implementation (flate2's
//! zlib-rs backend) at one pinned level .

use std::io;
use std::path::PathBuf;

/// Why the native builder refused or failed a build.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    /// The Dockerfile needs something only an engine that runs containers can do.
    #[error("line {line}: {instruction} needs the docker engine: set Builder or use --engine docker")]
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
