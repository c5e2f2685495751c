//! Library entries' sources, fetched into one bare git repository and read without a worktree.
//!
//! Every entry names a GitRepo, a GitFetch ref that makes its GitCommit reachable, and the
//! Directory/File of its Dockerfile. [`GitCache`] keeps all fetched objects in one bare
//! repository (bashbrew keeps one too), so sources shared by many entries and architectures
//! are fetched once, and a commit already in the cache is never fetched again. Each commit it
//! has verified is pinned under `refs/hallmark/commits/` so that no garbage collection drops it.
//!
//! It drives the `git` command line: the only git implementation that speaks every transport,
//! credential helper and configuration the maintainers' repositories need.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use library::{dockerfile_froms, BuildSource, Entry, FromsError, FromsResolver};
use oci::{Architecture, ImageReference};

/// The builder whose "Dockerfile" is an OCI image layout to import: it has no FROM.
const OCI_IMPORT_BUILDER: &str = "oci-import";
/// Where the refs pinning verified commits live.
const PINNED_COMMITS: &str = "refs/hallmark/commits";
/// What the fallback fetch asks for when GitFetch does not lead to the commit: every branch
/// and tag, into a scratch namespace that each fallback overwrites.
const EVERY_BRANCH_AND_TAG: [&str; 2] = [
    "+refs/heads/*:refs/hallmark/scan/heads/*",
    "+refs/tags/*:refs/hallmark/scan/tags/*",
];

/// Why a source could not be fetched or read, in words for the maintainer.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// `git` could not be run at all.
    #[error("cannot run git: {0} (install git and put it on PATH)")]
    GitNotFound(io::Error),
    /// The cache folder could not be created.
    #[error("cannot create the git cache {}: {source} (choose another folder with --cache or HALLMARK_CACHE)", path.display())]
    CacheDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A git command on the cache itself failed.
    #[error("git {command} failed in {}: {stderr}", dir.display())]
    Git {
        /// The arguments given to git.
        command: String,
        /// The cache folder.
        dir: PathBuf,
        /// What git said.
        stderr: String,
    },
    /// GitCommit is not a commit id.
    #[error("GitCommit {0:?} is not a commit id: give the full hexadecimal commit hash")]
    InvalidCommit(String),
    /// The repository could not be fetched from.
    #[error("cannot fetch from {url}: {stderr} (check GitRepo, the network and any credentials it needs)")]
    Unreachable {
        /// GitRepo.
        url: String,
        /// What git said.
        stderr: String,
    },
    /// The repository was fetched but does not have the commit.
    #[error("commit {commit} is not in {url}: neither {git_fetch} nor any other branch or tag leads to it (check GitCommit and GitFetch)")]
    CommitNotFound {
        /// GitRepo.
        url: String,
        /// GitFetch.
        git_fetch: String,
        /// GitCommit.
        commit: String,
    },
    /// Directory/File names no file at the commit.
    #[error("{path} is not a file at commit {commit} of {url} (check Directory and File)")]
    FileMissing {
        /// GitRepo.
        url: String,
        /// The commit.
        commit: String,
        /// Directory/File.
        path: String,
    },
    /// The file is not UTF-8 text.
    #[error("{path} at commit {commit} is not UTF-8 text")]
    NotText {
        /// The commit.
        commit: String,
        /// Directory/File.
        path: String,
    },
}

/// What one build's source is, as git names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSnapshot {
    /// The full commit id.
    pub commit: String,
    /// The tree id of `Directory` at the commit: exactly the build context's content.
    pub tree: String,
    /// The blob id of `Directory/File`.
    pub dockerfile: String,
    /// The commit time, seconds since the Unix epoch: the build's SOURCE_DATE_EPOCH.
    pub commit_time: i64,
}

/// A fetch about to start, for progress reports.
#[derive(Debug, Clone, Copy)]
pub struct FetchNotice<'a> {
    /// The repository fetched from.
    pub url: &'a str,
    /// What is fetched: GitFetch, or every branch and tag.
    pub what: &'a str,
}

impl fmt::Display for FetchNotice<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fetching {} from {}", self.what, self.url)
    }
}

type Progress = Box<dyn Fn(FetchNotice<'_>) + Send + Sync>;

/// A bare git repository holding the sources of library entries.
pub struct GitCache {
    dir: PathBuf,
    progress: Option<Progress>,
    /// The FROMs already read in this process, by source, so that architectures and entries
    /// sharing a Dockerfile cost one read.
    froms: Mutex<HashMap<String, Result<Vec<ImageReference>, FromsError>>>,
}

impl fmt::Debug for GitCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitCache").field("dir", &self.dir).finish()
    }
}

/// Hallmark's cache folder when none is given: `$XDG_CACHE_HOME/hallmark`, else
/// `~/.cache/hallmark`; `None` when neither variable is set.
pub fn default_cache_dir() -> Option<PathBuf> {
    let non_empty = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    let base = non_empty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| Path::new(&home).join(".cache")))?;
    Some(base.join("hallmark"))
}

impl GitCache {
    /// Opens (creating it if needed) the git cache inside Hallmark's cache folder
    /// `cache_dir`, at `cache_dir/git`.
    pub fn open(cache_dir: &Path) -> Result<Self, SourceError> {
        let dir = cache_dir.join("git");
        std::fs::create_dir_all(&dir).map_err(|source| SourceError::CacheDir {
            path: dir.clone(),
            source,
        })?;
        let cache = GitCache {
            dir,
            progress: None,
            froms: Mutex::new(HashMap::new()),
        };
        if !cache.dir.join("HEAD").exists() {
            cache.git_ok(["init", "--quiet", "--bare"])?;
        }
        // Fetched commits that no branch reaches must survive until pinned.
        cache.git_ok(["config", "gc.auto", "0"])?;
        Ok(cache)
    }

    /// Reports each fetch to `progress` before it starts.
    pub fn with_progress(
        mut self,
        progress: impl Fn(FetchNotice<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Box::new(progress));
        self
    }

    /// The bare repository's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Makes sure the source's commit is in the cache, fetching GitFetch from GitRepo (and
    /// then every branch and tag) only if it is not, and returns the full commit id.
    pub fn ensure_commit(&self, source: &BuildSource<'_>) -> Result<String, SourceError> {
        let wanted = source.git_commit;
        if !(4..=64).contains(&wanted.len()) || !wanted.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SourceError::InvalidCommit(wanted.to_owned()));
        }
        let commit = match self.find_commit(wanted)? {
            Some(commit) => commit,
            None => self.fetch_commit(source)?,
        };
        // Pinning also commits that came along with another fetch keeps them past any gc.
        let pin = format!("{PINNED_COMMITS}/{commit}");
        self.git_ok(["update-ref", pin.as_str(), commit.as_str()])?;
        Ok(commit)
    }

    /// Fetches GitFetch, then every branch and tag, until the cache has the commit.
    fn fetch_commit(&self, source: &BuildSource<'_>) -> Result<String, SourceError> {
        let wanted = source.git_commit;
        let first = self.fetch(source.git_repo, &[source.git_fetch]);
        if let Some(commit) = self.find_commit(wanted)? {
            return Ok(commit);
        }
        let fallback = self.fetch(source.git_repo, &EVERY_BRANCH_AND_TAG);
        match (self.find_commit(wanted)?, first, fallback) {
            (Some(commit), _, _) => Ok(commit),
            // When both fetches fail the repository itself is the problem.
            (None, Err(stderr), Err(_)) => Err(SourceError::Unreachable {
                url: source.git_repo.to_owned(),
                stderr,
            }),
            (None, _, _) => Err(SourceError::CommitNotFound {
                url: source.git_repo.to_owned(),
                git_fetch: source.git_fetch.to_owned(),
                commit: wanted.to_owned(),
            }),
        }
    }

    /// The text of the source's `Directory/File` at its commit, fetching the commit first if
    /// the cache does not have it.
    pub fn read_file(&self, source: &BuildSource<'_>) -> Result<String, SourceError> {
        let commit = self.ensure_commit(source)?;
        let path = source_path(source);
        let object = format!("{commit}:{path}");
        let output = self.git(["cat-file", "blob", object.as_str()])?;
        if !output.status.success() {
            return Err(SourceError::FileMissing {
                url: source.git_repo.to_owned(),
                commit,
                path,
            });
        }
        String::from_utf8(output.stdout).map_err(|_| SourceError::NotText { commit, path })
    }

    /// What a build of the source is made of: the commit, the tree of its Directory, the
    /// Dockerfile's blob and the commit time. Fetches the commit first if need be.
    pub fn snapshot(&self, source: &BuildSource<'_>) -> Result<SourceSnapshot, SourceError> {
        let commit = self.ensure_commit(source)?;
        let directory = clean_path(source.directory.split('/'));
        let file = source_path(source);
        let missing = |path: String| SourceError::FileMissing {
            url: source.git_repo.to_owned(),
            commit: commit.clone(),
            path,
        };
        let tree = self
            .object_id(&format!("{commit}:{directory}"), "tree")?
            .ok_or_else(|| missing(format!("{directory}/ (a folder)")))?;
        let dockerfile = self
            .object_id(&format!("{commit}:{file}"), "blob")?
            .ok_or_else(|| missing(file.clone()))?;
        let time = self.git_ok(["show", "-s", "--format=%ct", commit.as_str()])?;
        let commit_time = String::from_utf8_lossy(&time.stdout)
            .trim()
            .parse()
            .map_err(|_| SourceError::Git {
                command: format!("show -s --format=%ct {commit}"),
                dir: self.dir.clone(),
                stderr: "the commit time is not a number".into(),
            })?;
        Ok(SourceSnapshot {
            commit,
            tree,
            dockerfile,
            commit_time,
        })
    }

    /// Writes the tree `snapshot.tree` (the build context) into the empty or missing folder
    /// `dest`, as git checks files out (modes 0644/0755, symbolic links as links).
    pub fn export_context(&self, tree: &str, dest: &Path) -> Result<(), SourceError> {
        std::fs::create_dir_all(dest).map_err(|source| SourceError::CacheDir {
            path: dest.to_path_buf(),
            source,
        })?;
        let index = dest.with_extension("git-index");
        let with_index = |args: &[&str]| -> Result<(), SourceError> {
            let output = Command::new("git")
                .arg("-C")
                .arg(&self.dir)
                .arg("--work-tree")
                .arg(dest)
                .args(args)
                .env("GIT_INDEX_FILE", &index)
                .env("GIT_TERMINAL_PROMPT", "0")
                .output()
                .map_err(SourceError::GitNotFound)?;
            match output.status.success() {
                true => Ok(()),
                false => Err(SourceError::Git {
                    command: args.join(" "),
                    dir: self.dir.clone(),
                    stderr: stderr_text(&output),
                }),
            }
        };
        let result = with_index(&["read-tree", tree])
            .and_then(|()| with_index(&["checkout-index", "--all", "--force"]));
        let _ = std::fs::remove_file(&index);
        result
    }

    /// The id of the git object `revision` names, if it exists and is of type `kind`.
    fn object_id(&self, revision: &str, kind: &str) -> Result<Option<String>, SourceError> {
        let output = self.git([
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            revision,
        ])?;
        let id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if !output.status.success() {
            return Ok(None);
        }
        let found = self.git(["cat-file", "-t", id.as_str()])?;
        Ok((String::from_utf8_lossy(&found.stdout).trim() == kind).then_some(id))
    }

    /// The full id of `commit` if the cache has it.
    fn find_commit(&self, commit: &str) -> Result<Option<String>, SourceError> {
        let revision = format!("{commit}^{{commit}}");
        let output = self.git([
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &revision,
        ])?;
        let id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        Ok(output.status.success().then_some(id))
    }

    /// Fetches `refspecs` from `url` into the cache; on failure, returns what git said.
    fn fetch(&self, url: &str, refspecs: &[&str]) -> Result<(), String> {
        if let Some(progress) = &self.progress {
            let what = match refspecs {
                [one] => *one,
                _ => "every branch and tag",
            };
            progress(FetchNotice { url, what });
        }
        let fixed = [
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--",
            url,
        ];
        let output = self
            .git(fixed.into_iter().chain(refspecs.iter().copied()))
            .map_err(|err| err.to_string())?;
        match output.status.success() {
            true => Ok(()),
            false => Err(stderr_text(&output)),
        }
    }

    /// Runs git in the cache and fails unless it succeeds.
    fn git_ok<I, S>(&self, args: I) -> Result<Output, SourceError>
    where
        I: IntoIterator<Item = S> + Clone,
        S: AsRef<OsStr>,
    {
        let output = self.git(args.clone())?;
        if output.status.success() {
            return Ok(output);
        }
        let command: Vec<String> = args
            .into_iter()
            .map(|arg| arg.as_ref().to_string_lossy().into_owned())
            .collect();
        Err(SourceError::Git {
            command: command.join(" "),
            dir: self.dir.clone(),
            stderr: stderr_text(&output),
        })
    }

    /// Runs git in the cache and returns whatever it did.
    fn git<I, S>(&self, args: I) -> Result<Output, SourceError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Command::new("git")
            .arg("-C")
            .arg(&self.dir)
            .args(args)
            // A repository that wants credentials must fail, not wait for someone to type them.
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .map_err(SourceError::GitNotFound)
    }

    /// The FROMs of one source, read once per process.
    fn source_froms(&self, source: &BuildSource<'_>) -> Result<Vec<ImageReference>, FromsError> {
        let key = [
            source.git_repo,
            source.git_fetch,
            source.git_commit,
            &source_path(source),
        ]
        .join("\n");
        if let Some(known) = self.froms.lock().expect("froms cache lock").get(&key) {
            return known.clone();
        }
        let froms = self
            .read_file(source)
            .map_err(|err| FromsError(err.to_string()))
            .and_then(|text| {
                dockerfile_froms(&text).map_err(|err| {
                    let path = source_path(source);
                    FromsError(format!("{path} at commit {}: {err}", source.git_commit))
                })
            });
        self.froms
            .lock()
            .expect("froms cache lock")
            .insert(key, froms.clone());
        froms
    }
}

impl FromsResolver for GitCache {
    fn froms(
        &self,
        _repo: &str,
        entry: &Entry,
        arch: Architecture,
    ) -> Result<Vec<ImageReference>, FromsError> {
        let source = entry.source(arch);
        if source.builder == OCI_IMPORT_BUILDER {
            return Ok(Vec::new());
        }
        self.source_froms(&source)
    }
}

/// `Directory/File` as a path inside the commit's tree, without `.` or empty components.
fn source_path(source: &BuildSource<'_>) -> String {
    clean_path(source.directory.split('/').chain(source.file.split('/')))
}

/// Path components joined without `.` or empty ones (`""` for the root).
fn clean_path<'a>(components: impl Iterator<Item = &'a str>) -> String {
    let kept: Vec<&str> = components.filter(|c| !c.is_empty() && *c != ".").collect();
    kept.join("/")
}

fn stderr_text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_directory_and_file_inside_the_tree() {
        let cases = [
            (".", "Dockerfile", "Dockerfile"),
            ("3.12/bookworm", "Dockerfile", "3.12/bookworm/Dockerfile"),
            ("./alpine/", "Dockerfile.slim", "alpine/Dockerfile.slim"),
            ("a", "sub/Dockerfile", "a/sub/Dockerfile"),
        ];
        for (directory, file, expected) in cases {
            let source = BuildSource {
                git_repo: "",
                git_fetch: "",
                git_commit: "",
                directory,
                file,
                builder: "",
            };
            assert_eq!(source_path(&source), expected);
        }
    }
}
