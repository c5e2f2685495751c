//! How commands print: plain text for people, JSON for programs, and for `hallmark scan` the
//! document formats of security tools (SARIF, SPDX, CycloneDX).

use std::io::{self, Write};

use serde::Serialize;

/// The `--format` option as given: every format some command prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    Text,
    /// One JSON document on standard output.
    Json,
    /// SARIF 2.1.0 (`hallmark scan` only).
    Sarif,
    /// An SPDX 2.3 JSON document (`hallmark scan` only).
    SpdxJson,
    /// A CycloneDX 1.6 JSON document (`hallmark scan` only).
    CyclonedxJson,
}

/// The `--format` every data-printing command accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// One JSON document on standard output.
    Json,
}

impl OutputFormat {
    /// The format for a command that prints text or JSON only; the others are refused with
    /// the formats it does take.
    pub fn plain(self) -> anyhow::Result<Format> {
        match self {
            OutputFormat::Text => Ok(Format::Text),
            OutputFormat::Json => Ok(Format::Json),
            other => anyhow::bail!(
                "--format {} is only for `hallmark scan`; this command prints text or json",
                other.name()
            ),
        }
    }

    /// The name as given on the command line.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Text => "text",
            OutputFormat::Json => "json",
            OutputFormat::Sarif => "sarif",
            OutputFormat::SpdxJson => "spdx-json",
            OutputFormat::CyclonedxJson => "cyclonedx-json",
        }
    }
}

/// Prints `value` as pretty JSON followed by a newline.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Prints each line of `lines` on standard output.
pub fn print_lines<I, S>(lines: I) -> anyhow::Result<()>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = io::stdout().lock();
    for line in lines {
        writeln!(out, "{}", line.as_ref())?;
    }
    Ok(())
}
