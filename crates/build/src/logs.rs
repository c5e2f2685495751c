//! Build logs, kept under the data folder so that the registry serves them to anyone who may
//! pull the image (the open build process).
//!
//! Layout: `<data>/build-logs/<arch>/<repo>/<tag>/<start>-<identity>.log`, one file per
//! build attempt, `<start>` the start time in Unix seconds padded to 12 digits so that names
//! sort by time. A build appends to its log as it runs, so the newest log of a tag is the
//! running build's, followed live; a failed build's log stays as readable as a good one's.
//! The registry reads the newest file by name (`registry`'s `build_log` service); the two
//! agree on this layout and nothing else.

use std::fs;
use std::io;
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

    /// The log file of a build of `arch/repo:tag` with `identity`, started at `start`; its
    /// folder is created.
    pub fn path(
        &self,
        arch: Architecture,
        repo: &str,
        tag: &str,
        identity: &BuildIdentity,
        start: i64,
    ) -> io::Result<PathBuf> {
        let folder = self.folder(arch, repo, tag);
        fs::create_dir_all(&folder)?;
        let hex = identity.0.hex();
        Ok(folder.join(format!("{start:012}-{}.log", &hex[..hex.len().min(12)])))
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

#[cfg(test)]
mod tests {
    use super::*;
    use oci::{Digest, DigestAlgorithm};

    #[test]
    fn the_newest_log_of_a_tag_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let logs = BuildLogs::new(dir.path());
        let identity = BuildIdentity(Digest::of(DigestAlgorithm::Sha256, b"build"));
        let arch = Architecture::Amd64;
        assert_eq!(logs.latest(arch, "hello", "1").unwrap(), None);
        for (start, text) in [(2_000, "second\n"), (100, "first\n")] {
            let path = logs.path(arch, "hello", "1", &identity, start).unwrap();
            fs::write(path, text).unwrap();
        }
        // Temporary files of other writers are not logs.
        fs::write(dir.path().join("build-logs/amd64/hello/1/.tmp123"), "x").unwrap();
        let latest = logs.latest(arch, "hello", "1").unwrap().unwrap();
        assert_eq!(fs::read_to_string(&latest).unwrap(), "second\n");
        let name = format!("000000002000-{}.log", &identity.0.hex()[..12]);
        assert!(latest.ends_with(Path::new("amd64/hello/1").join(name)));
        assert_eq!(
            logs.latest(Architecture::Arm64v8, "hello", "1").unwrap(),
            None
        );
    }
}
