//! Real git repositories and library folders in a temporary folder.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use build::source::GitCache;
use tempfile::TempDir;

/// A temporary folder holding source repositories, a library folder and a cache.
pub struct Workspace {
    pub root: TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        Workspace {
            root: tempfile::tempdir().expect("temporary folder"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// A new source repository whose first branch is `master`, bashbrew's default GitFetch.
    pub fn repo(&self, name: &str) -> SourceRepo {
        let dir = self.path(name);
        fs::create_dir_all(&dir).unwrap();
        git(&dir, &["init", "--quiet", "--initial-branch=master"]);
        SourceRepo { dir }
    }

    /// Writes `library/<repo>` files, each given a header pointing at `url` and `commit`.
    pub fn library(&self, files: &[(&str, String)]) -> PathBuf {
        let dir = self.path("library");
        fs::create_dir_all(&dir).unwrap();
        for (repo, text) in files {
            fs::write(dir.join(repo), text).unwrap();
        }
        dir
    }

    /// A git cache in this workspace that records every fetch it starts.
    pub fn cache(&self) -> (GitCache, Arc<Mutex<Vec<String>>>) {
        let fetches = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&fetches);
        let cache = GitCache::open(&self.path("cache"))
            .expect("git cache")
            .with_progress(move |notice| log.lock().unwrap().push(notice.to_string()));
        (cache, fetches)
    }
}

/// A git repository the tests commit Dockerfiles to.
pub struct SourceRepo {
    pub dir: PathBuf,
}

impl SourceRepo {
    pub fn url(&self) -> String {
        format!("file://{}", self.dir.display())
    }

    /// Writes `files` (path, content), commits them and returns the commit id.
    pub fn commit(&self, files: &[(&str, &str)]) -> String {
        for (path, content) in files {
            let path = self.dir.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }
        git(&self.dir, &["add", "--all"]);
        git(&self.dir, &["commit", "--quiet", "--message", "change"]);
        git(&self.dir, &["rev-parse", "HEAD"])
    }

    pub fn checkout_new_branch(&self, branch: &str) {
        git(&self.dir, &["checkout", "--quiet", "-b", branch]);
    }
}

/// The header of a library file whose entries come from `url` at `commit`.
pub fn header(url: &str, commit: &str) -> String {
    format!(
        "Maintainers: Jane Doe <jane@example.com> (@jane)\nGitRepo: {url}\nGitCommit: {commit}\n"
    )
}

/// Runs git in `dir` with a fixed identity and no user configuration, returning its output.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Jane Doe")
        .env("GIT_AUTHOR_EMAIL", "jane@example.com")
        .env("GIT_COMMITTER_NAME", "Jane Doe")
        .env("GIT_COMMITTER_EMAIL", "jane@example.com")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}
