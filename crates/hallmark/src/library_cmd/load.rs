//! Loading the library folder for a command, with every broken file reported on stderr.

use std::path::Path;

use anyhow::Context;
use library::{Entry, FileError, Library};

/// The library folder as read: the files that parsed and the ones that did not.
#[derive(Debug)]
pub struct LoadedLibrary {
    /// The repositories that parsed.
    pub library: Library,
    /// The files that did not, each with all of its problems.
    pub errors: Vec<FileError>,
}

impl LoadedLibrary {
    /// Reads every library file in `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let (library, errors) = Library::load_dir(dir).with_context(|| {
            format!(
                "cannot read the library folder {}: pass --library DIR or set HALLMARK_LIBRARY",
                dir.display()
            )
        })?;
        Ok(LoadedLibrary { library, errors })
    }

    /// Prints every broken file's problems as `file:line: message` on stderr and returns
    /// whether there were any.
    pub fn report_errors(&self) -> bool {
        for error in &self.errors {
            eprintln!("{error}");
        }
        !self.errors.is_empty()
    }

    /// The entries `REPO[:TAG]` names. A repository whose file is broken is reported with that
    /// file's problems rather than as unknown.
    pub fn resolve(&self, spec: &str) -> anyhow::Result<Vec<(&str, &Entry)>> {
        let repo = spec.split_once(':').map_or(spec, |(repo, _)| repo);
        if let Some(broken) = self
            .errors
            .iter()
            .find(|e| e.path().file_name().is_some_and(|n| n == repo))
        {
            anyhow::bail!("{broken}");
        }
        Ok(self.library.resolve(spec)?)
    }

    /// The names of every repository that parsed, sorted.
    pub fn all_repos(&self) -> Vec<String> {
        self.library
            .repos()
            .map(|(name, _)| name.to_owned())
            .collect()
    }
}
