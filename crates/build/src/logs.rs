//! Build logs, kept under the data folder so that the registry serves them to anyone who may
//! pull the image (the open build process).
//!
//! Layout, per architecture and repository, under `<data>/build-logs/<arch>/<repo>/`:
//! - `logs/<start>-<identity>.log`: one file per build attempt, `<start>` the start time in
//!   Unix seconds padded to 12 digits, `<identity>` the first 12 hex digits of the build's
//!   identity. A build appends to its log as it runs, and a failed build's log stays as
//!   readable as a good one's.
//! - `tags/<tag>`: for each Tag and SharedTag of the entry, the name of the log of the
//!   newest build that carries it (one line). A build points every one of its tags at its
//!   log when it starts, each by an atomic rename, so whichever tag a reader names it follows
//!   the running build live and finds its log after it ends, however it ended, with one copy
//!   of the log on disk. A SharedTag that several entries hold on one architecture names the
//!   newest build of any of them.
//!
//! The registry reads `tags/<tag>`, then that file in `logs/` (`registry`'s `build_log`
//! service); the two agree on this layout and nothing else.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use oci::Architecture;

use crate::identity::BuildIdentity;
use crate::plan::PlannedBuild;

/// The folder under the data folder that holds every build log.
pub const BUILD_LOGS_DIR: &str = "build-logs";
/// The folder of a repository's log files.
const LOGS: &str = "logs";
/// The folder of a repository's tag index.
const TAGS: &str = "tags";

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

    /// The folder of one repository's logs and tag index. `repo` is a name the library
    /// validated, or one [`BuildLogs::latest`] checked, so it cannot leave the folder.
    fn repo_folder(&self, arch: Architecture, repo: &str) -> PathBuf {
        self.root.join(arch.as_str()).join(repo)
    }

    /// The log of a build of `build` started at `start`, named by each of the entry's Tags
    /// and SharedTags; nothing is written until [`NewLog::create`].
    pub fn for_build(&self, build: &PlannedBuild, start: i64) -> NewLog {
        let tags = build.tags.iter().chain(&build.shared_tags).cloned();
        self.new_log(
            build.arch,
            &build.repo,
            tags.collect(),
            &build.identity,
            start,
        )
    }

    /// The log of a build of `arch/repo` with `identity` started at `start`, named by `tags`.
    pub fn new_log(
        &self,
        arch: Architecture,
        repo: &str,
        tags: Vec<String>,
        identity: &BuildIdentity,
        start: i64,
    ) -> NewLog {
        let hex = identity.0.hex();
        NewLog {
            folder: self.repo_folder(arch, repo),
            name: format!("{start:012}-{}.log", &hex[..hex.len().min(12)]),
            tags,
        }
    }

    /// The newest log of a build that carries `arch/repo:tag`, if any build of it ran.
    pub fn latest(&self, arch: Architecture, repo: &str, tag: &str) -> io::Result<Option<PathBuf>> {
        if !oci::is_valid_path_component(repo) || !oci::is_valid_tag(tag) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{repo}:{tag} is not a repository and tag"),
            ));
        }
        let folder = self.repo_folder(arch, repo);
        let index = folder.join(TAGS).join(tag);
        let pointer = match fs::read_to_string(&index) {
            Ok(pointer) => pointer,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        let name = log_name(&pointer).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} does not name a log: remove it", index.display()),
            )
        })?;
        Ok(Some(folder.join(LOGS).join(name)))
    }
}

/// The log file name a tag index file holds: one plain `*.log` name (no folder, not
/// hidden), so that what the index says never leads out of the logs folder.
pub fn log_name(pointer: &str) -> Option<&str> {
    let name = pointer.trim_end_matches('\n');
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name.ends_with(".log")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    plain.then_some(name)
}

/// A build's log before the build runs.
#[derive(Debug, Clone)]
pub struct NewLog {
    folder: PathBuf,
    name: String,
    tags: Vec<String>,
}

impl NewLog {
    /// Where the log is written.
    pub fn path(&self) -> PathBuf {
        self.folder.join(LOGS).join(&self.name)
    }

    /// Creates the log file, then points each of the entry's tags at it: from here on every
    /// tag reads this build's log, as it runs and after it ends.
    pub fn create(&self) -> io::Result<File> {
        let path = self.path();
        fs::create_dir_all(path.parent().expect("a log is in a folder"))?;
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let tags = self.folder.join(TAGS);
        fs::create_dir_all(&tags)?;
        for tag in &self.tags {
            // A tag's name never starts with `.`, so the temporary file is no tag's.
            let mut temp = tempfile::Builder::new().prefix(".").tempfile_in(&tags)?;
            writeln!(temp, "{}", self.name)?;
            temp.as_file().sync_all()?;
            temp.persist(tags.join(tag)).map_err(|err| err.error)?;
        }
        // The renames must reach the disk, or a crash could point a tag back at an older log.
        File::open(&tags)?.sync_all()?;
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci::{Digest, DigestAlgorithm};

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn every_tag_of_an_entry_reads_its_newest_build_log() {
        let dir = tempfile::tempdir().unwrap();
        let logs = BuildLogs::new(dir.path());
        let arch = Architecture::WindowsAmd64;
        // Two entries share `latest` and `3` on one architecture (python's Server Core and
        // Nano Server); Server Core builds again later and fails. (tags, start, what it logs)
        let builds: [(&[&str], i64, &str); 3] = [
            (&["core", "3-core", "latest", "3"], 100, "core built\n"),
            (&["nano", "latest", "3"], 200, "nano built\n"),
            (
                &["core", "3-core", "latest", "3"],
                300,
                "core failed: exit 7\n",
            ),
        ];
        for (tags_of_entry, start, text) in builds {
            let identity = BuildIdentity(Digest::of(DigestAlgorithm::Sha256, text.as_bytes()));
            let log = logs.new_log(arch, "python", tags(tags_of_entry), &identity, start);
            log.create().unwrap().write_all(text.as_bytes()).unwrap();
        }
        // (tag, the log it reads)
        let cases = [
            ("core", Some("core failed: exit 7\n")),
            ("3-core", Some("core failed: exit 7\n")),
            ("latest", Some("core failed: exit 7\n")),
            ("3", Some("core failed: exit 7\n")),
            ("nano", Some("nano built\n")),
            ("2", None),
        ];
        for (tag, expected) in cases {
            let found = logs.latest(arch, "python", tag).unwrap();
            let text = found.map(|path| fs::read_to_string(path).unwrap());
            assert_eq!(text.as_deref(), expected, "{tag}");
        }
        assert_eq!(
            logs.latest(Architecture::Amd64, "python", "latest")
                .unwrap(),
            None
        );
        let folder = dir.path().join("build-logs/windows-amd64/python");
        let mut written: Vec<String> = fs::read_dir(folder.join("logs"))
            .unwrap()
            .chain(fs::read_dir(folder.join("tags")).unwrap())
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        written.sort();
        assert_eq!(
            written.len(),
            3 + 5,
            "three logs, five tags, no temporary file: {written:?}"
        );
        assert!(written[0].starts_with("000000000100-"), "{written:?}");
    }

    #[test]
    fn a_tag_index_names_only_a_log_in_its_folder() {
        // (what the index holds, the log it names)
        let cases = [
            (
                "000000000100-0123456789ab.log\n",
                Some("000000000100-0123456789ab.log"),
            ),
            (
                "000000000100-0123456789ab.log",
                Some("000000000100-0123456789ab.log"),
            ),
            ("../../../etc/passwd.log\n", None),
            ("sub/x.log\n", None),
            (".hidden.log\n", None),
            ("notes.txt\n", None),
            ("\n", None),
            ("a.log\nb.log\n", None),
        ];
        for (pointer, expected) in cases {
            assert_eq!(log_name(pointer), expected, "{pointer:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        let logs = BuildLogs::new(dir.path());
        let tags = dir.path().join("build-logs/amd64/hello/tags");
        fs::create_dir_all(&tags).unwrap();
        fs::write(tags.join("1.0"), "../../../../secret.log\n").unwrap();
        let err = logs
            .latest(Architecture::Amd64, "hello", "1.0")
            .unwrap_err();
        assert!(err.to_string().contains("does not name a log"), "{err}");
        for (repo, tag) in [("..", "1.0"), ("hello", "../1.0"), ("hello", ".x")] {
            let err = logs.latest(Architecture::Amd64, repo, tag).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{repo}:{tag}");
        }
    }
}
