//! A library folder: one file per repository, named after it.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::model::{Entry, LibraryFile};
use crate::parse::{parse, ParseError};

/// Every repository of a library folder that parsed.
#[derive(Debug, Clone, Default)]
pub struct Library {
    repos: BTreeMap<String, LibraryFile>,
    skipped: Vec<PathBuf>,
}

/// A file of the folder that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file did not parse.
    #[error("{}", error.diagnostics.iter().map(|d| format!("{}:{d}", path.display())).collect::<Vec<_>>().join("\n"))]
    Parse {
        /// The file.
        path: PathBuf,
        /// Every problem in it.
        error: ParseError,
    },
}

impl FileError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            FileError::Read { path, .. } | FileError::Parse { path, .. } => path,
        }
    }
}

/// A `REPO[:TAG]` that names nothing in the library.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// No file for the repository.
    #[error("no library file for repository {0:?}: check the name or the --library folder")]
    UnknownRepository(String),
    /// The repository has no such tag.
    #[error("repository {repo:?} has no tag {tag:?} (see `hallmark library list {repo}`)")]
    UnknownTag {
        /// The repository.
        repo: String,
        /// The tag asked for.
        tag: String,
    },
}

impl Library {
    /// Reads every file of `dir` whose name is a repository name. Files that fail are returned
    /// beside the library, so one broken file never hides the others; files whose names cannot
    /// be repositories (`README.txt`, dotfiles) are listed in [`Library::skipped`].
    pub fn load_dir(dir: &Path) -> io::Result<(Library, Vec<FileError>)> {
        let mut paths: Vec<PathBuf> = fs::read_dir(dir)?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<io::Result<_>>()?;
        paths.sort();
        let mut library = Library::default();
        let mut errors = Vec::new();
        for path in paths {
            let name = path.file_name().and_then(|n| n.to_str()).map(str::to_owned);
            match name.filter(|n| is_repository_name(n)) {
                Some(name) if path.is_file() => match load_file(&path) {
                    Ok(file) => library.insert(name, file),
                    Err(error) => errors.push(error),
                },
                _ => library.skipped.push(path),
            }
        }
        Ok((library, errors))
    }

    /// Adds (or replaces) a repository.
    pub fn insert(&mut self, name: String, file: LibraryFile) {
        self.repos.insert(name, file);
    }

    /// The repository's library file.
    pub fn repo(&self, name: &str) -> Option<&LibraryFile> {
        self.repos.get(name)
    }

    /// Every repository, sorted by name.
    pub fn repos(&self) -> impl Iterator<Item = (&str, &LibraryFile)> {
        self.repos.iter().map(|(name, file)| (name.as_str(), file))
    }

    /// Paths in the folder that were not read because their names are not repository names.
    pub fn skipped(&self) -> &[PathBuf] {
        &self.skipped
    }

    /// The entries `REPO` (all of them) or `REPO:TAG` (the owner of the tag, or every entry
    /// sharing it) names.
    pub fn resolve<'a>(&'a self, spec: &str) -> Result<Vec<(&'a str, &'a Entry)>, LookupError> {
        let (repo, tag) = match spec.split_once(':') {
            Some((repo, tag)) => (repo, Some(tag)),
            None => (spec, None),
        };
        let (name, file) = self
            .repos
            .get_key_value(repo)
            .ok_or_else(|| LookupError::UnknownRepository(repo.to_owned()))?;
        let entries = match tag {
            None => file.entries.iter().collect(),
            Some(tag) => file.entries_for_tag(tag),
        };
        if entries.is_empty() {
            if let Some(tag) = tag {
                return Err(LookupError::UnknownTag {
                    repo: repo.to_owned(),
                    tag: tag.to_owned(),
                });
            }
        }
        Ok(entries.into_iter().map(|e| (name.as_str(), e)).collect())
    }
}

/// Reads and parses one library file.
pub fn load_file(path: &Path) -> Result<LibraryFile, FileError> {
    let text = fs::read_to_string(path).map_err(|source| FileError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text).map_err(|error| FileError::Parse {
        path: path.to_owned(),
        error,
    })
}

/// One path component of a distribution repository name: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn is_repository_name(name: &str) -> bool {
    oci::ImageReference::parse(name).is_ok_and(|r| r.official_repository() == Some(name))
}
