//! `hallmark fsck`: re-hashes every blob of a data folder and checks every manifest's
//! references; prints each problem and exits non-zero on any.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;
use store::{Problem, ReferenceProblem, VerifyReport};

use crate::data_dir::{block_on, DataArgs};
use crate::output::{print_json, print_lines, Format};

/// How often progress goes to standard error while blobs are re-hashed.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Check a data folder: blob contents against their digests, metadata against storage.
#[derive(Debug, Args)]
pub struct FsckArgs {
    #[command(flatten)]
    data: DataArgs,
}

/// The report as `--format json` prints it.
#[derive(Debug, Serialize)]
struct JsonReport {
    clean: bool,
    blobs_checked: usize,
    problems: Vec<JsonProblem>,
    unrecorded_blobs: Vec<String>,
}

#[derive(Debug, Serialize)]
struct JsonProblem {
    kind: &'static str,
    /// The blob or manifest at fault.
    digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    repository: Option<String>,
    message: String,
}

pub fn run(args: FsckArgs, format: Format) -> anyhow::Result<ExitCode> {
    let report = block_on(async {
        let (blobs, meta) = args.data.open().await?;
        let mut progress = Progress::new();
        let report =
            store::verify_with_progress(&blobs, &meta, |done, total| progress.show(done, total))
                .await?;
        progress.finish(report.blobs_checked);
        Ok(report)
    })?;
    let problems: Vec<JsonProblem> = report.problems.iter().map(describe).collect();
    match format {
        Format::Json => print_json(&JsonReport {
            clean: report.is_clean(),
            blobs_checked: report.blobs_checked,
            unrecorded_blobs: report
                .unrecorded_blobs
                .iter()
                .map(ToString::to_string)
                .collect(),
            problems,
        })?,
        Format::Text => print_lines(text(&report, &problems))?,
    }
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn text(report: &VerifyReport, problems: &[JsonProblem]) -> Vec<String> {
    let mut lines: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
    lines.extend(report.unrecorded_blobs.iter().map(|d| {
        format!("note: blob {d} is stored but not recorded; gc removes it after its grace period")
    }));
    lines.push(format!(
        "{} blobs re-hashed, {} problems",
        report.blobs_checked,
        report.problems.len()
    ));
    lines
}

fn describe(problem: &Problem) -> JsonProblem {
    let (kind, digest, repository, message) = match problem {
        Problem::BlobCorrupt { digest, actual } => (
            "blob-corrupt",
            digest,
            None,
            format!("blob {digest} is corrupt: its content hashes to {actual}"),
        ),
        Problem::BlobMissing { digest } => (
            "blob-missing",
            digest,
            None,
            format!("blob {digest} is recorded but missing from storage"),
        ),
        Problem::BlobSizeMismatch {
            digest,
            recorded,
            stored,
        } => (
            "blob-size-mismatch",
            digest,
            None,
            format!("blob {digest} is recorded with {recorded} bytes but storage has {stored}"),
        ),
        Problem::Reference(ReferenceProblem::BlobNotLinked {
            repository,
            manifest,
            blob,
        }) => (
            "blob-not-linked",
            manifest,
            Some(repository),
            format!("manifest {repository}@{manifest} references blob {blob}, which is not in the repository"),
        ),
        Problem::Reference(ReferenceProblem::PayloadMismatch {
            repository,
            manifest,
        }) => (
            "payload-mismatch",
            manifest,
            Some(repository),
            format!("manifest {repository}@{manifest}: the stored bytes do not hash to its digest"),
        ),
    };
    JsonProblem {
        kind,
        digest: digest.to_string(),
        repository: repository.cloned(),
        message,
    }
}

/// Progress lines on standard error, at most one a second, so long runs show they are alive
/// and short ones stay quiet.
struct Progress {
    started: Instant,
    last: Instant,
    shown: bool,
}

impl Progress {
    fn new() -> Self {
        let now = Instant::now();
        Self {
            started: now,
            last: now,
            shown: false,
        }
    }

    fn show(&mut self, done: usize, total: usize) {
        if self.last.elapsed() >= PROGRESS_EVERY {
            self.last = Instant::now();
            self.shown = true;
            // Progress is best effort: a closed standard error must not fail the check.
            let _ = writeln!(
                std::io::stderr(),
                "hallmark fsck: {done}/{total} blobs re-hashed"
            );
        }
    }

    fn finish(&self, checked: usize) {
        if self.shown {
            let took = self.started.elapsed().as_secs_f64();
            let _ = writeln!(
                std::io::stderr(),
                "hallmark fsck: {checked} blobs re-hashed in {took:.1}s"
            );
        }
    }
}
