//! Advisory importers: OSV records (JSON or YAML, from a folder or a zip), the Debian security
//! tracker's JSON export, and Alpine's secdb.
//!
//! Every importer streams: records go to the caller's sink one at a time, and a malformed
//! record becomes a [`Problem`] naming the file, the record and the reason while the import
//! carries on. Only a source that cannot be opened at all stops an import.

pub mod debian;
pub mod osv;
pub mod secdb;

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use crate::advisory::Advisory;
use crate::version::VersionError;

/// Why one record (or one file) could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The JSON is malformed or does not have the expected shape.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The YAML is malformed or does not have the expected shape.
    #[error("YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    /// A version in a range or a fix does not parse in the ecosystem's scheme.
    #[error("{0}")]
    Version(#[from] VersionError),
    /// A field has the wrong shape.
    #[error("{0}")]
    Shape(String),
    /// The file could not be read.
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
    /// An entry of a zip archive could not be read.
    #[error("zip entry: {0}")]
    Zip(#[from] zip::result::ZipError),
}

/// A record that was skipped or imported only in part.
#[derive(Debug)]
pub struct Problem {
    /// The file (or zip entry) it came from.
    pub file: String,
    /// The record's id or path inside the file, where known.
    pub record: Option<String>,
    /// What was wrong.
    pub reason: RecordError,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.record {
            Some(record) => write!(f, "{}: {record}: {}", self.file, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

/// The outcome of an import.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Files (or zip entries) read.
    pub files: usize,
    /// Advisories handed to the sink.
    pub advisories: usize,
    /// Affected entries dropped because their ecosystem is not supported.
    pub unsupported_ecosystems: usize,
    /// Records skipped or imported in part, with the reason.
    pub problems: Vec<Problem>,
}

impl ImportReport {
    pub(crate) fn problem(
        &mut self,
        file: &str,
        record: Option<&str>,
        reason: impl Into<RecordError>,
    ) {
        self.problems.push(Problem {
            file: file.to_owned(),
            record: record.map(str::to_owned),
            reason: reason.into(),
        });
    }
}

/// A source that could not be opened at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The path could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The zip archive's directory could not be read.
    #[error("{path} is not a readable zip archive: {source}")]
    Zip {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: zip::result::ZipError,
    },
}

/// The kinds of advisory data the importers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OSV records, one per `.json`, `.yaml` or `.yml` file.
    Osv,
    /// The Debian security tracker's JSON export (one file).
    DebianTracker,
    /// Alpine secdb files (`main.yaml`, `community.json`, …), each one branch's repository.
    AlpineSecdb,
}

/// Whether a file holds YAML rather than JSON, by its name.
fn is_yaml(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

fn is_data_file(name: &str) -> bool {
    name.ends_with(".json") || is_yaml(name)
}

/// Imports `path` (a file, a folder searched recursively, or for OSV a `.zip`), handing each
/// advisory to `sink`.
pub fn import_path(
    format: Format,
    path: &Path,
    sink: &mut dyn FnMut(Advisory),
) -> Result<ImportReport, ImportError> {
    let io_error = |source| ImportError::Io {
        path: path.to_owned(),
        source,
    };
    let mut report = ImportReport::default();
    let meta = std::fs::metadata(path).map_err(io_error)?;
    if meta.is_file()
        && path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    {
        let file = File::open(path).map_err(io_error)?;
        import_zip(format, BufReader::new(file), sink, &mut report).map_err(|source| {
            ImportError::Zip {
                path: path.to_owned(),
                source,
            }
        })?;
        return Ok(report);
    }
    let mut files = Vec::new();
    if meta.is_dir() {
        collect_files(path, &mut files).map_err(io_error)?;
        files.sort();
    } else {
        files.push(path.to_owned());
    }
    for file in files {
        let name = file.display().to_string();
        match File::open(&file) {
            Ok(f) => import_reader(format, &name, BufReader::new(f), sink, &mut report),
            Err(e) => report.problem(&name, None, e),
        }
    }
    Ok(report)
}

/// Lists the data files under `dir`. Symbolic links are not followed, so a link cannot lead
/// the import out of the folder or round in a loop.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            collect_files(&path, out)?;
        } else if kind.is_file() && is_data_file(&entry.file_name().to_string_lossy()) {
            out.push(path);
        }
    }
    Ok(())
}

/// Imports every data file inside a zip archive, in archive order.
pub fn import_zip<R: Read + Seek>(
    format: Format,
    reader: R,
    sink: &mut dyn FnMut(Advisory),
    report: &mut ImportReport,
) -> Result<(), zip::result::ZipError> {
    let mut archive = zip::ZipArchive::new(reader)?;
    for i in 0..archive.len() {
        let entry = match archive.by_index(i) {
            Ok(entry) => entry,
            Err(e) => {
                report.problem(&format!("entry #{i}"), None, e);
                continue;
            }
        };
        let name = match entry.name() {
            Ok(name) => name.into_owned(),
            Err(e) => {
                report.problem(&format!("entry #{i}"), None, e);
                continue;
            }
        };
        if entry.is_file() && is_data_file(&name) {
            import_reader(format, &name, entry, sink, report);
        }
    }
    Ok(())
}

/// Imports one file's content; `name` decides JSON or YAML and names the file in problems.
pub fn import_reader(
    format: Format,
    name: &str,
    reader: impl Read,
    sink: &mut dyn FnMut(Advisory),
    report: &mut ImportReport,
) {
    report.files += 1;
    match format {
        Format::Osv => osv::import(name, reader, sink, report),
        Format::DebianTracker => debian::import(name, reader, sink, report),
        Format::AlpineSecdb => secdb::import(name, reader, sink, report),
    }
}

/// Reads a whole file as JSON or YAML by its name; records are small, so buffering one is fine.
fn read_document<T: serde::de::DeserializeOwned>(
    name: &str,
    mut reader: impl Read,
) -> Result<T, RecordError> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    if is_yaml(name) {
        Ok(serde_yaml_ng::from_slice(&bytes)?)
    } else {
        Ok(serde_json::from_slice(&bytes)?)
    }
}

/// The first line of a text, cut to a length a table cell can show.
pub(crate) fn one_line(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or("");
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

/// Runs one importer over `text`, for the importers' unit tests.
#[cfg(test)]
pub(crate) fn import_text(format: Format, name: &str, text: &str) -> (Vec<Advisory>, ImportReport) {
    let mut out = Vec::new();
    let mut report = ImportReport::default();
    import_reader(
        format,
        name,
        text.as_bytes(),
        &mut |a| out.push(a),
        &mut report,
    );
    (out, report)
}
