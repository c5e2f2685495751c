//! The advisory data a scan matches against: files named with `--advisories [FORMAT=]PATH`,
//! imported into one in-memory database.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Context as _;
use scan::{AdvisoryDb, Format};

/// One `--advisories` value.
#[derive(Debug, Clone)]
pub struct AdvisoryInput {
    format: Format,
    path: PathBuf,
}

impl FromStr for AdvisoryInput {
    type Err = String;

    fn from_str(text: &str) -> Result<AdvisoryInput, String> {
        let formats = [
            ("osv", Format::Osv),
            ("debian-tracker", Format::DebianTracker),
            ("alpine-secdb", Format::AlpineSecdb),
        ];
        let (format, path) = match text.split_once('=') {
            Some((name, path)) => {
                let format = formats
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, f)| *f)
                    .ok_or_else(|| {
                        format!("{name:?} is not an advisory format; use osv, debian-tracker or alpine-secdb")
                    })?;
                (format, path)
            }
            None => (Format::Osv, text),
        };
        if path.is_empty() {
            return Err("the advisory path is empty; write [FORMAT=]PATH".to_owned());
        }
        Ok(AdvisoryInput {
            format,
            path: path.into(),
        })
    }
}

/// Imports every input into `db`. Records that fail to import are reported on stderr with
/// the count; a source that cannot be opened at all is an error.
pub fn load(inputs: &[AdvisoryInput], db: &mut AdvisoryDb) -> anyhow::Result<()> {
    for input in inputs {
        let report = scan::import_path(input.format, &input.path, &mut |a| db.insert(a))
            .with_context(|| format!("importing advisories from {}", input.path.display()))?;
        if !report.problems.is_empty() {
            eprintln!(
                "hallmark: {} of the advisory records in {} could not be used; the first: {}",
                report.problems.len(),
                input.path.display(),
                report.problems[0]
            );
        }
    }
    Ok(())
}
