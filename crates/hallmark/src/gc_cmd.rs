//! `hallmark gc`: removes untagged manifests, unreferenced blobs and expired uploads from a data
//! folder, safely beside a running `hallmark serve` (see the store's `collect_garbage`).

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde::Serialize;
use store::{GcOptions, GcReport};

use crate::data_dir::{block_on, DataArgs};
use crate::output::{print_json, print_lines, Format};

/// Remove what no tag, index or live subject keeps.
#[derive(Debug, Args)]
pub struct GcArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Report what would be removed, and remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// Leave alone whatever was pushed, recorded or linked this recently: 90s, 30m, 1h, 2d.
    /// It must exceed your longest push.
    #[arg(long, value_parser = parse_duration, default_value = "1h")]
    grace: Duration,
    /// Keep untagged manifests (pulled by digest); remove only blobs no manifest references.
    #[arg(long)]
    keep_untagged: bool,
}

/// The report as `--format json` prints it.
#[derive(Debug, Serialize)]
struct JsonReport {
    dry_run: bool,
    manifests: Vec<JsonManifest>,
    blobs: Vec<JsonBlob>,
    uploads: Vec<String>,
    bytes_freed: u64,
    spared: usize,
}

#[derive(Debug, Serialize)]
struct JsonManifest {
    repository: String,
    digest: String,
}

#[derive(Debug, Serialize)]
struct JsonBlob {
    digest: String,
    size: u64,
}

pub fn run(args: GcArgs, format: Format) -> anyhow::Result<ExitCode> {
    let options = GcOptions {
        grace: args.grace,
        dry_run: args.dry_run,
        delete_untagged: !args.keep_untagged,
    };
    let report = block_on(async {
        let (blobs, meta) = args.data.open().await?;
        Ok(store::collect_garbage(&blobs, &meta, &options).await?)
    })?;
    match format {
        Format::Json => print_json(&json(&report))?,
        Format::Text => print_lines(text(&report))?,
    }
    Ok(ExitCode::SUCCESS)
}

fn json(report: &GcReport) -> JsonReport {
    JsonReport {
        dry_run: report.dry_run,
        manifests: report
            .manifests
            .iter()
            .map(|m| JsonManifest {
                repository: m.repository.clone(),
                digest: m.digest.to_string(),
            })
            .collect(),
        blobs: report
            .blobs
            .iter()
            .map(|b| JsonBlob {
                digest: b.digest.to_string(),
                size: b.size,
            })
            .collect(),
        uploads: report.uploads.iter().map(ToString::to_string).collect(),
        bytes_freed: report.bytes_freed(),
        spared: report.spared,
    }
}

fn text(report: &GcReport) -> Vec<String> {
    let verb = if report.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let mut lines: Vec<String> = report
        .manifests
        .iter()
        .map(|m| format!("{verb} manifest {}@{}", m.repository, m.digest))
        .chain(
            report
                .blobs
                .iter()
                .map(|b| format!("{verb} blob {} ({} bytes)", b.digest, b.size)),
        )
        .chain(report.uploads.iter().map(|u| format!("{verb} upload {u}")))
        .collect();
    let mut summary = format!(
        "{verb} {} manifests, {} blobs ({} bytes), {} uploads",
        report.manifests.len(),
        report.blobs.len(),
        report.bytes_freed(),
        report.uploads.len()
    );
    if report.spared > 0 {
        summary.push_str(&format!(
            "; {} kept because pushes used them again",
            report.spared
        ));
    }
    lines.push(summary);
    lines
}

/// A duration as a number and a unit: `ms`, `s`, `m`, `h` or `d`.
fn parse_duration(input: &str) -> Result<Duration, String> {
    let split = input
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(input.len());
    let (number, unit) = input.split_at(split);
    let invalid =
        || format!("{input:?} is not a duration: write a number and a unit, as 90s, 30m, 1h or 2d");
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "ms" => return Ok(Duration::from_millis(number)),
        "s" => 1,
        "m" => 60,
        "h" => 60 * 60,
        "d" => 24 * 60 * 60,
        _ => return Err(invalid()),
    };
    number
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_their_units() {
        let cases = [
            ("0s", Some(Duration::ZERO)),
            ("250ms", Some(Duration::from_millis(250))),
            ("90s", Some(Duration::from_secs(90))),
            ("30m", Some(Duration::from_secs(1800))),
            ("1h", Some(Duration::from_secs(3600))),
            ("2d", Some(Duration::from_secs(172_800))),
            ("1", None),
            ("h", None),
            ("1.5h", None),
            ("-1h", None),
            ("1w", None),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_duration(input).ok(), expected, "{input}");
        }
    }
}
