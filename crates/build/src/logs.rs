//! Build logs, kept under the data folder so that the registry serves them to anyone who may
//! pull the image (the open build process).
//!
//! Layout: `<data>/build-logs/<arch>/<repo>/<tag>/<start>-<identity>.log`, one file per
//! build attempt, `<start>` the start time in Unix seconds padded to 12 digits so that names
//! sort by time. A log is written to a temporary file while the build runs and renamed into
//! place when it ends, succeeded or failed, so a reader never sees half a log and a failed
//! build's log is as readable as a good one's. The registry reads the newest file by name
//! (`registry`'s `build_log` service); the two agree on this layout and nothing else.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use oci::Architecture;

use crate::identity::BuildIdentity;

/// The folder under the data folder that holds every build log.
pub const BUILD_LOGS_DIR: &str = "build-logs";

/// The build logs of one data folder.
#[derive(Debug, Clone)]
pub struct BuildLogs {
    root: PathBuf,
}

/// A log being written; [`LogFile::finish`] puts it in place.
#[derive(Debug)]
pub struct LogFile {
    temp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl BuildLogs {
    /// The logs under `data_dir/build-logs`.
    pub fn new(data_dir: &Path) -> Self {
        BuildLogs {
            root: data_dir.join(BUILD_LOGS_DIR),
        }
    }

    /// The folder of one tag's logs. `repo` and `tag` are names the library validated, so
    /// they hold no `..` or separators that could leave the folder.
    fn folder(&self, arch: Architecture, repo: &str, tag: &str) -> PathBuf {
        self.root.join(arch.as_str()).join(repo).join(tag)
    }

    /// Starts the log of a build of `arch/repo:tag` with `identity`, begun at `start`.
    pub fn start(
        &self,
        arch: Architecture,
        repo: &str,
        tag: &str,
        identity: &BuildIdentity,
        start: u64,
    ) -> io::Result<LogFile> {
        let folder = self.folder(arch, repo, tag);
        fs::create_dir_all(&folder)?;
        let hex = identity.0.hex();
        let name = format!("{start:012}-{}.log", &hex[..hex.len().min(12)]);
        Ok(LogFile {
            temp: tempfile::NamedTempFile::new_in(&folder)?,
            path: folder.join(name),
        })
    }

    /// The newest log of `arch/repo:tag`, if any build of it ran.
    pub fn latest(&self, arch: Architecture, repo: &str, tag: &str) -> io::Result<Option<PathBuf>> {
        latest_log(&self.folder(arch, repo, tag))
    }
}

/// The newest `*.log` in `folder` by name; `None` when there is none or no folder.
pub fn latest_log(folder: &Path) -> io::Result<Option<PathBuf>> {
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    let mut newest: Option<PathBuf> = None;
    for entry in entries {
        let path = entry?.path();
        let is_log = path.extension().is_some_and(|ext| ext == "log");
        if is_log
            && newest
                .as_ref()
                .is_none_or(|n| path.file_name() > n.file_name())
        {
            newest = Some(path);
        }
    }
    Ok(newest)
}

impl LogFile {
    /// Syncs the log and renames it into place; returns where it lies.
    pub fn finish(self) -> io::Result<PathBuf> {
        self.temp.as_file().sync_all()?;
        self.temp.persist(&self.path).map_err(|err| err.error)?;
        Ok(self.path)
    }
}

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci::{Digest, DigestAlgorithm};

    #[test]
    fn the_newest_finished_log_is_read_and_unfinished_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let logs = BuildLogs::new(dir.path());
        let identity = BuildIdentity(Digest::of(DigestAlgorithm::Sha256, b"build"));
        let arch = Architecture::Amd64;
        assert_eq!(logs.latest(arch, "hello", "1").unwrap(), None);
        for (start, text) in [(100, "first\n"), (2_000, "second\n")] {
            let mut log = logs.start(arch, "hello", "1", &identity, start).unwrap();
            log.write_all(text.as_bytes()).unwrap();
            log.finish().unwrap();
        }
        let mut running = logs.start(arch, "hello", "1", &identity, 3_000).unwrap();
        running.write_all(b"still running\n").unwrap();
        let latest = logs.latest(arch, "hello", "1").unwrap().unwrap();
        assert_eq!(fs::read_to_string(&latest).unwrap(), "second\n");
        assert!(latest.ends_with(
            "amd64/hello/1/000000002000-".to_owned() + &identity.0.hex()[..12] + ".log"
        ));
        assert_eq!(
            logs.latest(Architecture::Arm64v8, "hello", "1").unwrap(),
            None
        );
    }
}
